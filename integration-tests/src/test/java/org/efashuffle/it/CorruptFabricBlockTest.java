package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A bit flipped in blocks read over the fabric (the test-only fault
 * spark.shuffle.efa.test.corruptFabricBlocks: each block damaged on its first read) is caught by
 * Spark's corruption detection on compressed shuffle data, the block is fetched again (clean), and
 * the rows are exactly sort shuffle's: never wrong rows.
 */
class CorruptFabricBlockTest {
  private static Map<String, List<String>> expected;

  @BeforeAll
  static void sortShuffleBaseline() {
    try (JavaSparkContext sc = new JavaSparkContext(LocalClusters.conf("local[2]").set("spark.shuffle.manager", "sort"))) {
      expected = ShuffleJobs.runAll(sc);
    }
  }

  @Test
  void aFlippedBitIsCaughtAndTheBlockFetchedAgain() throws Exception {
    SparkConf conf = LocalClusters.conf("local-cluster[2,1,1024]")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", "tcp;ofi_rxm")
        .set("spark.shuffle.efa.domain", "lo")
        .set("spark.shuffle.efa.test.corruptFabricBlocks", "true")
        .set("spark.shuffle.compress", "true")
        .set("spark.shuffle.detectCorrupt", "true")
        // Decompress each block's start on arrival, so a damaged block is fetched again at once
        // (without it, damage found later fails the fetch and Spark retries the stage).
        .set("spark.shuffle.detectCorrupt.useExtraMemory", "true");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      AtomicInteger failedStages = new AtomicInteger();
      sc.sc().addSparkListener(new SparkListener() {
        @Override
        public void onStageCompleted(SparkListenerStageCompleted stage) {
          if (stage.stageInfo().failureReason().isDefined()) {
            failedStages.incrementAndGet();
          }
        }
      });
      assertEquals(expected, ShuffleJobs.runAll(sc));
      sc.sc().listenerBus().waitUntilEmpty();
      Map<String, TransportMetrics.Snapshot> byExecutor = ExecutorMetrics.byExecutor(sc, 2);
      TransportMetrics.Snapshot total = ExecutorMetrics.total(byExecutor);
      long corrupted = corruptedBlocks(sc);
      System.out.printf("corrupt fabric blocks: %d blocks damaged, %d stages failed and retried; %s%n",
          corrupted, failedStages.get(), total);
      assertTrue(corrupted > 0, "blocks damaged: " + corrupted);
      assertTrue(total.fabricBlocks() > corrupted, total.toString());
      assertEquals(0, total.nettyBytes(), total.toString());
    }
  }

  /** The damaged-block counts of both executors, summed. */
  private static long corruptedBlocks(JavaSparkContext sc) {
    Map<String, Long> byExecutor = ExecutorMetrics.probe(sc, 2, () -> TransportMetrics.get().testCorruptedBlocks());
    assertEquals(2, byExecutor.size(), "executors that reported: " + byExecutor.keySet());
    return byExecutor.values().stream().mapToLong(Long::longValue).sum();
  }
}
