// efa-shuffle's first run on EFA hosts (README, "First run on two EFA instances"):
// spark-shell ... -i conf/efa-first-run.scala
// One shuffle of MAPS x ROWS_PER_MAP rows of 108 bytes (defaults: 2 map tasks per executor core,
// 5M rows each: about 8.6 GB with 8 executor cores), then prints rows, an order-independent
// checksum (equal under every shuffle manager) and the job's seconds.
// One block, so that the REPL reads it whole.
def firstRun(): Unit = {
  val maps = sys.env.getOrElse("MAPS", (2 * sc.defaultParallelism).toString).toInt
  val rowsPerMap = sys.env.getOrElse("ROWS_PER_MAP", "5000000").toInt
  val t0 = System.nanoTime
  val perPartition = sc.range(0L, maps.toLong, 1L, maps)
    .flatMap { m =>
      val random = new java.util.Random(m)
      Iterator.fill(rowsPerMap) {
        val value = new Array[Byte](100)
        random.nextBytes(value)
        (random.nextLong(), value)
      }
    }
    .partitionBy(new org.apache.spark.HashPartitioner(maps))
    .mapPartitions { rows =>
      var n = 0L
      var sum = 0L
      rows.foreach { case (k, v) => n += 1; sum += k * 31 + java.util.Arrays.hashCode(v) }
      Iterator((n, sum))
    }
    .collect()
  val seconds = (System.nanoTime - t0) / 1e9
  println(f"FIRST-RUN manager=${sc.getConf.get("spark.shuffle.manager", "sort")} rows=${perPartition.map(_._1).sum} " +
    f"checksum=${perPartition.map(_._2).sum} seconds=$seconds%.1f")
}
firstRun()
System.exit(0)
