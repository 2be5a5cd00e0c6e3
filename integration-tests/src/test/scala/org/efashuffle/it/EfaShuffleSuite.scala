package org.efashuffle.it

import org.apache.spark.ShuffleSuite

/**
 * Spark's own ShuffleSuite (spark-core 4.1 tests jar), every test, with efa-shuffle as the
 * shuffle manager over tcp;ofi_rxm on loopback. ShuffleSuite builds its conf with
 * `new SparkConf(false)`, so the manager is set here, after the suite's own beforeAll.
 */
class EfaShuffleSuite extends ShuffleSuite {
  override def beforeAll(): Unit = {
    super.beforeAll()
    EfaSuites.useEfaShuffle(conf)
  }
}
