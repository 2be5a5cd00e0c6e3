package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Spark's fetch-to-disk on the fabric: with spark.network.maxRemoteBlockSizeFetchToMem at 1 MiB,
 * Spark asks for every request over 1 MiB to be written to disk; those blocks are read over the
 * fabric into Spark's download files (Spark counts them as remote bytes read to disk), none goes
 * to Netty, and the rows are sort shuffle's.
 */
class FetchToDiskTest {
  private static Map<String, List<String>> expected;


  @BeforeAll
  static void sortShuffleBaseline() {
    try (JavaSparkContext sc = new JavaSparkContext(LocalClusters.conf("local[2]").set("spark.shuffle.manager", "sort"))) {
      expected = ShuffleJobs.runAll(sc);
    }
  }

  /** Map outputs pinned (the default budget), and not pinned (0: every served block staged from disk). */
  @ParameterizedTest(name = "{0} mapOutputBytes={2}")
  @CsvSource({"tcp;ofi_rxm, lo, 1g", "shm, , 1g", "tcp;ofi_rxm, lo, 0"})
  void requestsSparkWantsOnDiskAreReadOverTheFabricIntoFiles(String provider, String domain, String mapOutputBytes)
      throws Exception {
    SparkConf conf = LocalClusters.conf("local-cluster[2,1,1024]")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", provider)
        .set("spark.shuffle.efa.domain", domain == null ? "" : domain)
        .set("spark.shuffle.efa.memory.mapOutputBytes", mapOutputBytes)
        .set("spark.network.maxRemoteBlockSizeFetchToMem", "1m");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      AtomicLong toDisk = new AtomicLong();
      AtomicLong remote = new AtomicLong();
      sc.sc().addSparkListener(new SparkListener() {
        @Override
        public void onTaskEnd(SparkListenerTaskEnd end) {
          if (end.taskMetrics() != null) {
            toDisk.addAndGet(end.taskMetrics().shuffleReadMetrics().remoteBytesReadToDisk());
            remote.addAndGet(end.taskMetrics().shuffleReadMetrics().remoteBytesRead());
          }
        }
      });
      assertEquals(expected, ShuffleJobs.runAll(sc));
      sc.sc().listenerBus().waitUntilEmpty();
      Map<String, TransportMetrics.Snapshot> byExecutor = ExecutorMetrics.byExecutor(sc, 2);
      assertEquals(2, byExecutor.size(), "executors that reported: " + byExecutor.keySet());
      TransportMetrics.Snapshot total = ExecutorMetrics.total(byExecutor);
      assertTrue(total.fabricBytes() > 0, total.toString());
      assertEquals(0, total.nettyBytes(), total.toString());
      assertEquals(0, total.fallbacks(), total.toString());
      assertTrue(toDisk.get() > 0, "remote bytes read to disk: " + toDisk + " of " + remote);
      System.out.printf("fetch-to-disk on %s, mapOutputBytes=%s: %d of %d remote bytes read into download files; %s%n",
          provider, mapOutputBytes, toDisk.get(), remote.get(), total);
    }
  }
}
