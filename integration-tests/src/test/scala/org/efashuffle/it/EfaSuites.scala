package org.efashuffle.it

import org.apache.spark.SparkConf

/** What Spark's suites need to run with efa-shuffle: the manager, over tcp;ofi_rxm on loopback. */
object EfaSuites {
  def useEfaShuffle(conf: SparkConf): Unit = {
    conf.set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
    conf.set("spark.shuffle.efa.provider", "tcp;ofi_rxm")
    conf.set("spark.shuffle.efa.domain", "lo")
  }
}
