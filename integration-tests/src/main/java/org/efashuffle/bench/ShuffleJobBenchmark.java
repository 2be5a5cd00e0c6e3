package org.efashuffle.bench;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.spark.TransportMetrics;
import scala.Tuple2;

/**
 * The main job: one shuffle of a few GB on a local cluster of two executor JVMs, run with Spark's
 * sort shuffle and then with efa-shuffle in the same run. Prints rows shuffled, time, and the
 * fabric/Netty split of remote reads, and checks both runs produced the same rows (an
 * order-independent checksum per reduce partition).
 *
 * <p>Usage: ShuffleJobBenchmark [bytes, default 2g] [provider[@domain][+unpinned] ...], default
 * {@code tcp;ofi_rxm@lo tcp;ofi_rxm@lo+unpinned shm}: one efa-shuffle run per argument;
 * {@code +unpinned} turns map-output pinning off (every served block staged from disk), to show
 * what pinning changes.
 */
public final class ShuffleJobBenchmark {
  private static final int MAPS = 16;
  private static final int REDUCES = 16;
  private static final int VALUE_BYTES = 100;

  private ShuffleJobBenchmark() {}

  /** Seconds the executors are left idle after the job while their CPU use is measured. */
  private static final int IDLE_SECONDS = 5;

  /**
   * @param idleProcessCores CPU of an executor JVM while idle after the job, in cores (the mean of the executors)
   * @param idleProgressCores the same for its fabric progress threads alone
   */
  record Run(String name, long rows, double seconds, long[] checksums, TransportMetrics.Snapshot metrics,
      double idleProcessCores, double idleProgressCores) {}

  public static void main(String[] args) {
    long bytes = args.length > 0 ? org.efashuffle.common.config.ByteSizes.parse(args[0]) : 2L << 30;
    List<String> providers = args.length > 1 ? List.of(args).subList(1, args.length)
        : List.of("tcp;ofi_rxm@lo", "tcp;ofi_rxm@lo+unpinned", "shm");
    long rowsPerMap = bytes / MAPS / (VALUE_BYTES + 8);

    List<Run> runs = new ArrayList<>();
    runs.add(run("sort shuffle (Netty)", new SparkConf().set("spark.shuffle.manager", "sort"), rowsPerMap, false));
    for (String p : providers) {
      boolean unpinned = p.endsWith("+unpinned");
      String[] nameAndDomain = p.replace("+unpinned", "").split("@", 2);
      runs.add(run("efa-shuffle (" + p + ")", new SparkConf()
          .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
          .set("spark.shuffle.efa.provider", nameAndDomain[0])
          .set("spark.shuffle.efa.domain", nameAndDomain.length > 1 ? nameAndDomain[1] : "")
          .set("spark.shuffle.efa.memory.mapOutputBytes", unpinned ? "0" : "1g")
          .set("spark.shuffle.efa.memory.stagingBytes", unpinned ? "512m" : "128m"), rowsPerMap, true));
    }

    System.out.printf("%nefa-shuffle main job: %d map x %d reduce tasks on 2 executor JVMs, %.2f GB of %d-byte rows%n",
        MAPS, REDUCES, bytes / 1e9, VALUE_BYTES + 8);
    System.out.printf("%-36s %12s %8s %7s %9s | %s%n", "run", "rows", "seconds", "MB/s", "vs sort", "remote reads");
    Run sort = runs.get(0);
    boolean same = true;
    for (Run r : runs) {
      boolean sameRows = java.util.Arrays.equals(sort.checksums, r.checksums) && sort.rows == r.rows;
      same &= sameRows;
      System.out.printf("%-36s %,12d %8.1f %7.1f %8.2fx | %s%s%n", r.name, r.rows, r.seconds,
          r.rows * (VALUE_BYTES + 8) / r.seconds / 1e6, sort.seconds / r.seconds,
          r.metrics == null ? "all over Netty (Spark's own client)" : r.metrics, sameRows ? "" : " ROWS DIFFER");
    }
    System.out.printf("same rows in every run: %s (\"vs sort\": sort shuffle's time / this run's time)%n",
        same ? "yes" : "NO");
    System.out.printf("%nidle for %d s after the job, CPU per executor JVM (%% of one core, mean of the executors)%n",
        IDLE_SECONDS);
    System.out.printf("%-36s %12s %16s%n", "run", "whole JVM", "progress thread");
    for (Run r : runs) {
      System.out.printf("%-36s %11.1f%% %15.1f%%%n", r.name, 100 * r.idleProcessCores, 100 * r.idleProgressCores);
    }
    if (!same) {
      System.exit(1);
    }
  }

  private static Run run(String name, SparkConf conf, long rowsPerMap, boolean counted) {
    conf.setMaster("local-cluster[2,1,3072]").setAppName("efa-shuffle main job: " + name)
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.ui.enabled", "false").set("spark.executor.memory", "3g");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      List<Integer> maps = new ArrayList<>();
      for (int m = 0; m < MAPS; m++) {
        maps.add(m);
      }
      // Warm the executors up (JIT, connections) so the timed job measures the shuffle.
      sc.parallelize(maps, MAPS).mapToPair(m -> new Tuple2<>(m, m)).partitionBy(new HashPartitioner(REDUCES)).count();
      TransportMetrics.Snapshot before = metrics(sc);
      long start = System.nanoTime();
      JavaPairRDD<Long, byte[]> data = sc.parallelize(maps, MAPS).flatMapToPair(m -> rows(m, rowsPerMap));
      List<long[]> perPartition = data.partitionBy(new HashPartitioner(REDUCES)).mapPartitionsWithIndex((p, it) -> {
        long rows = 0;
        long sum = 0;
        while (it.hasNext()) {
          Tuple2<Long, byte[]> row = it.next();
          rows++;
          sum += row._1 * 31 + java.util.Arrays.hashCode(row._2);
        }
        return List.of(new long[] {p, rows, sum}).iterator();
      }, true).collect();
      double seconds = (System.nanoTime() - start) / 1e9;
      TransportMetrics.Snapshot after = metrics(sc);
      long rows = 0;
      long[] checksums = new long[REDUCES];
      for (long[] p : perPartition) {
        rows += p[1];
        checksums[(int) p[0]] = p[2];
      }
      TransportMetrics.Snapshot used = after.since(before);
      double[] idle = idleCores(sc);
      return new Run(name, rows, seconds, checksums, counted ? used : null, idle[0], idle[1]);
    }
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
  private static double[] idleCores(JavaSparkContext sc) {
    Map<String, ExecutorMetrics.CpuTime> before = ExecutorMetrics.cpuTime(sc, 2);
    long start = System.nanoTime();
    try {
      Thread.sleep(IDLE_SECONDS * 1000L);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Map<String, ExecutorMetrics.CpuTime> after = ExecutorMetrics.cpuTime(sc, 2);
    double window = System.nanoTime() - start;
    double process = 0;
    double progress = 0;
    int executors = 0;
    for (Map.Entry<String, ExecutorMetrics.CpuTime> e : after.entrySet()) {
      ExecutorMetrics.CpuTime was = before.get(e.getKey());
      if (was != null) {
        process += (e.getValue().processNanos() - was.processNanos()) / window;
        progress += (e.getValue().progressThreadNanos() - was.progressThreadNanos()) / window;
        executors++;
      }
    }
    return executors == 0 ? new double[] {Double.NaN, Double.NaN} : new double[] {process / executors, progress / executors};
  }

  /** The transport counters of both executors, summed (only efa-shuffle's executors count). */
  private static TransportMetrics.Snapshot metrics(JavaSparkContext sc) {
    return ExecutorMetrics.total(ExecutorMetrics.byExecutor(sc, 2));
  }
}
