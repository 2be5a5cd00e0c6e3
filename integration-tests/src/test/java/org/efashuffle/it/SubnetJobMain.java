package org.efashuffle.it;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;

/**
 * The driver of {@link SubnetFallbackTest}, run inside the router namespace of {@link TwoSubnets}:
 * the RDD jobs with sort shuffle (local), then on a local cluster of three executors that the
 * test's java wrapper starts in the subnets' namespaces, with efa-shuffle over tcp;ofi_rxm.
 * Prints {@code ROWS same|differ} and one {@code EXECUTOR id fabricBytes nettyBytes} line each.
 */
public final class SubnetJobMain {
  private SubnetJobMain() {}

  public static void main(String[] args) {
    Map<String, List<String>> expected;
    try (JavaSparkContext sc = new JavaSparkContext(conf("local[2]").set("spark.shuffle.manager", "sort"))) {
      expected = ShuffleJobs.runAll(sc);
    }
    SparkConf efa = conf("local-cluster[3,1,1024]")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", "tcp;ofi_rxm")
        .set("spark.shuffle.efa.domain", TwoSubnets.INTERFACE);
    try (JavaSparkContext sc = new JavaSparkContext(efa)) {
      Map<String, List<String>> actual = ShuffleJobs.runAll(sc);
      System.out.println("ROWS " + (expected.equals(actual) ? "same" : "differ"));
      for (Map.Entry<String, TransportMetrics.Snapshot> e : ExecutorMetrics.byExecutor(sc, 3).entrySet()) {
        System.out.println("EXECUTOR " + e.getKey() + " " + e.getValue().fabricBytes() + " " + e.getValue().nettyBytes());
      }
    }
  }

  private static SparkConf conf(String master) {
    return new SparkConf().setMaster(master).setAppName("efa-shuffle-subnets")
        .set("spark.driver.host", TwoSubnets.ROUTER_IP)
        .set("spark.driver.bindAddress", TwoSubnets.ROUTER_IP)
        .set("spark.ui.enabled", "false")
        .set("spark.executor.memory", "1024m");
  }
}
