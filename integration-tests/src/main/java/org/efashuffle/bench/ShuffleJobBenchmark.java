package org.efashuffle.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.tpcds.ShuffleReadListener;
import org.efashuffle.common.config.ByteSizes;
import org.efashuffle.spark.TransportMetrics;
import scala.Tuple2;

/**
 * The main job: one shuffle of a few GB (random 100-byte values under random long keys, 16 map
 * x 16 reduce tasks) on a local cluster of two executor JVMs of one core each, run with Spark's
 * sort shuffle, with efa-shuffle per provider, and as the ceiling: sort shuffle on ONE executor
 * JVM with the same two cores, where every read is local and no transport runs. Kryo
 * serialization (as Spark's tuning guide advises for RDD jobs); sort shuffle and efa-shuffle
 * over the first provider once more with Java serialization. Every configuration runs once per
 * round as an application of its own, the order reversed every other round so that a drift over
 * time hits all. Map and reduce stages are timed apart (Spark's stage submission and completion
 * times, {@link StageTimes}). Every run must produce sort shuffle's rows (an order-independent
 * checksum per reduce partition). See {@link ShuffleJobReport} for what is printed.
 *
 * <p>Usage: ShuffleJobBenchmark [--rounds N] [--no-java] [bytes, default 2g]
 * [provider[@domain][+unpinned] ...], default {@code tcp;ofi_rxm@lo shm}: one efa-shuffle
 * configuration per provider; {@code +unpinned} turns map-output pinning off (every served block
 * staged from disk), to show what pinning changes.
 */
public final class ShuffleJobBenchmark {
  static final int MAPS = 16;
  static final int REDUCES = 16;
  static final int VALUE_BYTES = 100;
  /** Seconds the executors are left idle after the job of the first round while their CPU use is measured. */
  static final int IDLE_SECONDS = 5;
  private static final String TIMED = "timed shuffle";
  private static final String KRYO = "org.apache.spark.serializer.KryoSerializer";
  private static final String JAVA = "org.apache.spark.serializer.JavaSerializer";

  private ShuffleJobBenchmark() {}

  /** What a configuration is, for the report: sort shuffle, the one-executor ceiling, or efa-shuffle. */
  enum Kind { SORT, CEILING, EFA }

  /** One configuration of the job. {@code serializer} is "kryo" or "java". */
  record Setup(String name, Kind kind, String serializer, String master, int executors, Map<String, String> conf) {}

  /**
   * One run of a configuration (one application).
   *
   * @param remoteBytes shuffle bytes reduce tasks read from another executor (Spark's task metrics)
   * @param fetchWaitSeconds time reduce tasks spent blocked waiting for shuffle blocks, summed over the tasks
   * @param cpuSeconds CPU the executor JVMs used during the job (every thread), summed over the executors
   * @param progressCpuSeconds of it, the fabric progress threads' (0 for sort shuffle)
   * @param transport efa-shuffle's counters summed over the executors, null for sort shuffle
   * @param idleProcessCores CPU of an executor JVM while idle after the job, in cores (mean of the
   *     executors); NaN when not measured (rounds after the first)
   * @param idleProgressCores the same for its fabric progress threads alone
   */
  record Sample(Setup setup, int round, double mapSeconds, double reduceSeconds, double totalSeconds, long rows,
      long[] checksums, long remoteBytes, double fetchWaitSeconds, double cpuSeconds, double progressCpuSeconds,
      TransportMetrics.Snapshot transport, double idleProcessCores, double idleProgressCores) {}

  public static void main(String[] args) {
    int rounds = 3;
    boolean java = true;
    List<String> rest = new ArrayList<>(List.of(args));
    while (!rest.isEmpty() && rest.get(0).startsWith("--")) {
      String option = rest.remove(0);
      if (option.equals("--rounds") && !rest.isEmpty()) {
        rounds = Integer.parseInt(rest.remove(0));
      } else if (option.equals("--no-java")) {
        java = false;
      } else {
        throw new IllegalArgumentException("unknown option " + option + "; usage: ShuffleJobBenchmark [--rounds N]"
            + " [--no-java] [bytes] [provider[@domain][+unpinned] ...]");
      }
    }
    long bytes = rest.isEmpty() ? 2L << 30 : ByteSizes.parse(rest.remove(0));
    List<String> providers = rest.isEmpty() ? List.of("tcp;ofi_rxm@lo", "shm") : rest;
    List<Setup> setups = setups(providers, java);

    // Measured here (2 cores, quiet): about 20 s to start an application and warm it up, and
    // about 9 s per GB for the job.
    double estimate = rounds * setups.size() * (20 + 9 * bytes / 1e9) + setups.size() * IDLE_SECONDS;
    System.out.printf(Locale.ROOT, "efa-shuffle main job: %d map x %d reduce tasks, %.2f GB of %d-byte rows;"
        + " %d rounds x %d applications (%s), order reversed every other round;"
        + " about %.0f min on a quiet 2-core machine%n", MAPS, REDUCES, bytes / 1e9, VALUE_BYTES + 8, rounds,
        setups.size(), String.join(", ", setups.stream().map(Setup::name).toList()), estimate / 60);

    long rowsPerMap = bytes / MAPS / (VALUE_BYTES + 8);
    List<Sample> samples = new ArrayList<>();
    for (int round = 1; round <= rounds; round++) {
      List<Setup> order = new ArrayList<>(setups);
      if (round % 2 == 0) {
        Collections.reverse(order);
      }
      for (Setup setup : order) {
        Sample s = run(setup, round, rowsPerMap);
        samples.add(s);
        System.out.printf(Locale.ROOT, "round %d/%d %-36s map %6.2f s  reduce %6.2f s  total %6.2f s  %,d rows%n",
            round, rounds, setup.name, s.mapSeconds, s.reduceSeconds, s.totalSeconds, s.rows);
      }
    }
    ShuffleJobReport report = new ShuffleJobReport(setups, samples);
    System.out.println();
    System.out.print(report.table());
    System.out.println();
    System.out.print(report.costs());
    System.out.println();
    System.out.print(report.samples());
    System.out.println();
    System.out.print(report.idle());
    if (!report.sameRows()) {
      System.exit(1);
    }
  }

  /** Sort shuffle, the ceiling, efa-shuffle per provider; then the Java-serialization pair. */
  static List<Setup> setups(List<String> providers, boolean java) {
    List<Setup> setups = new ArrayList<>();
    setups.add(sort("kryo"));
    setups.add(new Setup("ceiling: sort, 1 executor x 2 cores", Kind.CEILING, "kryo", "local-cluster[1,2,6144]", 1,
        Map.of("spark.shuffle.manager", "sort", "spark.executor.memory", "6g")));
    for (String p : providers) {
      setups.add(efa(p, "kryo"));
    }
    if (java) {
      setups.add(sort("java"));
      setups.add(efa(providers.get(0), "java"));
    }
    return setups;
  }

  private static Setup sort(String serializer) {
    return new Setup("sort shuffle" + suffix(serializer), Kind.SORT, serializer, "local-cluster[2,1,3072]", 2,
        Map.of("spark.shuffle.manager", "sort", "spark.executor.memory", "3g"));
  }

  private static Setup efa(String provider, String serializer) {
    boolean unpinned = provider.endsWith("+unpinned");
    String[] nameAndDomain = provider.replace("+unpinned", "").split("@", 2);
    return new Setup("efa " + provider + suffix(serializer), Kind.EFA, serializer, "local-cluster[2,1,3072]", 2,
        Map.of("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager",
            "spark.executor.memory", "3g",
            "spark.shuffle.efa.provider", nameAndDomain[0],
            "spark.shuffle.efa.domain", nameAndDomain.length > 1 ? nameAndDomain[1] : "",
            "spark.shuffle.efa.memory.mapOutputBytes", unpinned ? "0" : "1g",
            "spark.shuffle.efa.memory.stagingBytes", unpinned ? "512m" : "128m"));
  }

  private static String suffix(String serializer) {
    return serializer.equals("kryo") ? "" : " (" + serializer + " serializer)";
  }

  private static Sample run(Setup setup, int round, long rowsPerMap) {
    // new SparkConf() also takes -Dspark.* settings of this JVM (e.g. spark.executor.extraJavaOptions for JFR).
    SparkConf conf = new SparkConf().setMaster(setup.master)
        .setAppName("efa-shuffle main job: " + setup.name + ", round " + round)
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.ui.enabled", "false").set("spark.serializer", setup.serializer.equals("kryo") ? KRYO : JAVA);
    setup.conf.forEach(conf::set);
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      List<Integer> maps = new ArrayList<>();
      for (int m = 0; m < MAPS; m++) {
        maps.add(m);
      }
      // Warm the executors up with the same job on 1% of the rows (JIT of the row generator, Kryo and
      // the shuffle paths; connections), so that the timed job runs on warm JVMs: after a warm-up of
      // a few integers, C2 still took about 18% of the executors' CPU in the timed map stage (perf).
      shuffle(sc, maps, Math.max(1, rowsPerMap / 100));
      boolean efa = setup.kind == Kind.EFA;
      TransportMetrics.Snapshot before = efa ? transport(sc, setup.executors) : null;
      Map<String, ExecutorMetrics.CpuTime> cpuBefore = ExecutorMetrics.cpuTime(sc, setup.executors);
      StageTimes stages = StageTimes.register(sc.sc(), TIMED);
      ShuffleReadListener reads = ShuffleReadListener.register(sc.sc());
      reads.takeTotals();
      sc.setJobGroup(TIMED, TIMED, false);
      long start = System.nanoTime();
      List<long[]> perPartition = shuffle(sc, maps, rowsPerMap);
      double seconds = (System.nanoTime() - start) / 1e9;
      sc.clearJobGroup();
      StageTimes.Seconds stageSeconds = stages.seconds();
      ShuffleReadListener.Totals read = reads.takeTotals();
      double[] cpu = cpuUsed(cpuBefore, ExecutorMetrics.cpuTime(sc, setup.executors));
      TransportMetrics.Snapshot used = efa ? transport(sc, setup.executors).since(before) : null;
      long rows = 0;
      long[] checksums = new long[REDUCES];
      for (long[] p : perPartition) {
        rows += p[1];
        checksums[(int) p[0]] = p[2];
      }
      double[] idle = round == 1 ? idleCores(sc, setup.executors) : new double[] {Double.NaN, Double.NaN};
      return new Sample(setup, round, stageSeconds.map(), stageSeconds.result(), seconds, rows, checksums,
          read.remoteBytesRead(), read.fetchWaitMillis() / 1e3, cpu[0] / 1e9, cpu[1] / 1e9, used, idle[0], idle[1]);
    }
  }

  /** The job: rows per map task, shuffled to the reduce tasks; each returns {partition, rows, checksum}. */
  private static List<long[]> shuffle(JavaSparkContext sc, List<Integer> maps, long rowsPerMap) {
    JavaPairRDD<Long, byte[]> data = sc.parallelize(maps, MAPS).flatMapToPair(m -> rows(m, rowsPerMap));
    return data.partitionBy(new HashPartitioner(REDUCES)).mapPartitionsWithIndex((p, it) -> {
      long rows = 0;
      long sum = 0;
      while (it.hasNext()) {
        Tuple2<Long, byte[]> row = it.next();
        rows++;
        sum += row._1 * 31 + java.util.Arrays.hashCode(row._2);
      }
      return List.of(new long[] {p, rows, sum}).iterator();
    }, true).collect();
  }

  private static Iterator<Tuple2<Long, byte[]>> rows(int map, long count) {
    Random random = new Random(map);
    return new Iterator<>() {
      long left = count;

      @Override
      public boolean hasNext() {
        return left > 0;
      }

      @Override
      public Tuple2<Long, byte[]> next() {
        left--;
        byte[] value = new byte[VALUE_BYTES];
        random.nextBytes(value);
        return new Tuple2<>(random.nextLong(), value);
      }
    };
  }

  /**
   * The executors' CPU use while nothing runs, in cores (mean of the executors): whole JVM, and
   * fabric progress threads. The wait is the measurement window itself.
   */
  private static double[] idleCores(JavaSparkContext sc, int executors) {
    Map<String, ExecutorMetrics.CpuTime> before = ExecutorMetrics.cpuTime(sc, executors);
    long start = System.nanoTime();
    try {
      Thread.sleep(IDLE_SECONDS * 1000L);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    double[] used = cpuUsed(before, ExecutorMetrics.cpuTime(sc, executors));
    double window = System.nanoTime() - start;
    return used[2] == 0 ? new double[] {Double.NaN, Double.NaN}
        : new double[] {used[0] / window / used[2], used[1] / window / used[2]};
  }

  /**
   * CPU nanoseconds the executors used between two probes, summed over the executors both saw:
   * {every thread, progress threads, number of executors}.
   */
  private static double[] cpuUsed(Map<String, ExecutorMetrics.CpuTime> before, Map<String, ExecutorMetrics.CpuTime> after) {
    double process = 0;
    double progress = 0;
    int seen = 0;
    for (Map.Entry<String, ExecutorMetrics.CpuTime> e : after.entrySet()) {
      ExecutorMetrics.CpuTime was = before.get(e.getKey());
      if (was != null) {
        process += e.getValue().processNanos() - was.processNanos();
        progress += e.getValue().progressThreadNanos() - was.progressThreadNanos();
        seen++;
      }
    }
    return new double[] {process, progress, seen};
  }

  /** efa-shuffle's counters of the executors, summed. */
  private static TransportMetrics.Snapshot transport(JavaSparkContext sc, int executors) {
    return ExecutorMetrics.total(ExecutorMetrics.byExecutor(sc, executors));
  }
}
