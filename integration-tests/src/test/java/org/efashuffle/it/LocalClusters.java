package org.efashuffle.it;

import org.apache.spark.SparkConf;

/** The settings every test application here starts from: a driver on loopback, no UI, 1 GiB executors. */
final class LocalClusters {
  private LocalClusters() {}

  /** {@code master}: local[n] for a baseline in one JVM, local-cluster[executors,cores,memory] for executor JVMs. */
  static SparkConf conf(String master) {
    return new SparkConf()
        .setMaster(master)
        .setAppName("efa-shuffle-it")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.ui.enabled", "false")
        .set("spark.executor.memory", "1024m");
  }
}
