package org.efashuffle.it

import org.apache.spark.SortShuffleSuite

/**
 * Spark's SortShuffleSuite (ShuffleSuite's tests plus sort-shuffle file clean-up checks), every
 * test, with efa-shuffle in place of the "sort" manager it sets in its own beforeAll.
 */
class EfaSortShuffleSuite extends SortShuffleSuite {
  override def beforeAll(): Unit = {
    super.beforeAll()
    EfaSuites.useEfaShuffle(conf)
  }
}
