package org.efashuffle.it;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;

/**
 * The driver of the namespace tests ({@link NamespaceNetwork#runDriver}), run inside the router
 * namespace: the RDD jobs with sort shuffle (local), then, per run, on a local cluster whose
 * executors the test's java wrapper starts in the namespaces, with efa-shuffle over tcp;ofi_rxm.
 *
 * <p>Arguments: the router's address, the number of executors, then one run each: a name,
 * optionally followed by {@code :key=value,key=value} settings. Prints per run
 * {@code ROWS name same|differ} and one {@code EXECUTOR name id fabricBytes nettyBytes} line per executor.
 */
public final class SubnetJobMain {
  private SubnetJobMain() {}

  public static void main(String[] args) {
    String routerIp = args[0];
    int executors = Integer.parseInt(args[1]);
    Map<String, List<String>> expected;
    try (JavaSparkContext sc = new JavaSparkContext(conf(routerIp, "local[2]").set("spark.shuffle.manager", "sort"))) {
      expected = ShuffleJobs.runAll(sc);
    }
    for (String run : List.of(args).subList(2, args.length)) {
      String[] nameAndSettings = run.split(":", 2);
      String name = nameAndSettings[0];
      SparkConf efa = conf(routerIp, "local-cluster[" + executors + ",1,1024]")
          .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
          .set("spark.shuffle.efa.provider", "tcp;ofi_rxm")
          .set("spark.shuffle.efa.domain", NamespaceNetwork.INTERFACE);
      if (nameAndSettings.length > 1) {
        for (String setting : nameAndSettings[1].split(",")) {
          String[] kv = setting.split("=", 2);
          efa.set(kv[0], kv[1]);
        }
      }
      try (JavaSparkContext sc = new JavaSparkContext(efa)) {
        Map<String, List<String>> actual = ShuffleJobs.runAll(sc);
        System.out.println("ROWS " + name + " " + (expected.equals(actual) ? "same" : "differ"));
        for (Map.Entry<String, TransportMetrics.Snapshot> e : ExecutorMetrics.byExecutor(sc, executors).entrySet()) {
          System.out.println("EXECUTOR " + name + " " + e.getKey() + " " + e.getValue().fabricBytes() + " "
              + e.getValue().nettyBytes());
        }
      }
    }
  }

  private static SparkConf conf(String routerIp, String master) {
    return new SparkConf().setMaster(master).setAppName("efa-shuffle-subnets")
        .set("spark.driver.host", routerIp)
        .set("spark.driver.bindAddress", routerIp)
        .set("spark.ui.enabled", "false")
        .set("spark.executor.memory", "1024m");
  }
}
