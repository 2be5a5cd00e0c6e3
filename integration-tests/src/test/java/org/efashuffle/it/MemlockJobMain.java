package org.efashuffle.it;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;

/**
 * The driver of {@link MemlockTest}: the RDD jobs with sort shuffle (local), then on a local
 * cluster whose executors the test's java wrapper starts under a low locked-memory limit, with
 * efa-shuffle asked for provider efa. Prints {@code ROWS same|differ}, one
 * {@code EXECUTOR id fabricBytes nettyBytes} line each, and each executor's efa-shuffle warnings
 * as {@code WARNING id text} (read from its log before the cluster stops and deletes it).
 */
public final class MemlockJobMain {
  private MemlockJobMain() {}

  public static void main(String[] args) {
    Map<String, List<String>> expected;
    try (JavaSparkContext sc = new JavaSparkContext(LocalClusters.conf("local[2]").set("spark.shuffle.manager", "sort"))) {
      expected = ShuffleJobs.runAll(sc);
    }
    SparkConf efa = LocalClusters.conf("local-cluster[2,1,1024]")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", "efa");
    try (JavaSparkContext sc = new JavaSparkContext(efa)) {
      Map<String, List<String>> actual = ShuffleJobs.runAll(sc);
      System.out.println("ROWS " + (expected.equals(actual) ? "same" : "differ"));
      for (Map.Entry<String, TransportMetrics.Snapshot> e : ExecutorMetrics.byExecutor(sc, 2).entrySet()) {
        System.out.println("EXECUTOR " + e.getKey() + " " + e.getValue().fabricBytes() + " " + e.getValue().nettyBytes());
      }
      for (ExecutorLogs.Line line : ExecutorLogs.lines(sc, l -> l.contains(" WARN ") && l.contains("efa-shuffle"))) {
        System.out.println("WARNING " + line.executorId() + " " + line.text());
      }
    }
  }
}
