package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * RDD jobs on a local cluster of two executor JVMs with efa-shuffle, against the same jobs with
 * Spark's sort shuffle: the same rows, and the blocks moved by the transport the settings ask for.
 */
class SparkShuffleTest {
  private static Map<String, List<String>> expected;


  @BeforeAll
  static void sortShuffleBaseline() {
    try (JavaSparkContext sc = new JavaSparkContext(LocalClusters.conf("local[2]").set("spark.shuffle.manager", "sort"))) {
      expected = ShuffleJobs.runAll(sc);
    }
  }

  /**
   * Each job with efa-shuffle over tcp;ofi_rxm and shm (shm runs in a JVM only because the shim
   * keeps the JVM's SIGSEGV handler from libfabric 1.17's shm: see native-bridge's efab_common.c
   * and SignalHandlersTest), and with transport=tcp. An empty domain is the provider's first.
   */
  @ParameterizedTest(name = "{0} {1} transport={2} compress={3} {4} authenticate={5}")
  @CsvSource({
      "tcp;ofi_rxm, lo,  auto,   true,  org.apache.spark.serializer.KryoSerializer, true",
      "tcp;ofi_rxm, lo,  fabric, false, org.apache.spark.serializer.JavaSerializer, false",
      "tcp;ofi_rxm, lo,  tcp,    true,  org.apache.spark.serializer.JavaSerializer, false",
      "shm,         ,    auto,   true,  org.apache.spark.serializer.KryoSerializer, false"})
  void jobsOnTwoExecutorJvmsReturnTheSortShuffleRows(String provider, String domain, String transport,
      boolean compress, String serializer, boolean authenticate) {
    SparkConf conf = LocalClusters.conf("local-cluster[2,1,1024]")
        .set("spark.authenticate", Boolean.toString(authenticate))
        .set("spark.authenticate.secret", "efa-shuffle-it")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", provider)
        .set("spark.shuffle.efa.domain", domain == null ? "" : domain)
        .set("spark.shuffle.efa.transport", transport)
        .set("spark.shuffle.compress", Boolean.toString(compress))
        .set("spark.serializer", serializer);
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      Map<String, List<String>> actual = ShuffleJobs.runAll(sc);
      for (Map.Entry<String, List<String>> job : expected.entrySet()) {
        List<String> rows = actual.get(job.getKey());
        assertEquals(job.getValue().size(), rows.size(), job.getKey() + ": row count");
        assertEquals(job.getValue(), rows, job.getKey() + ": rows differ from sort shuffle");
      }
      TransportMetrics.Snapshot total = executorMetrics(sc);
      if (transport.equals("tcp")) {
        assertEquals(0, total.fabricBytes(), total.toString());
        assertTrue(total.nettyBytes() > 0, total.toString());
      } else {
        assertTrue(total.fabricBytes() > 0, total.toString());
        assertEquals(0, total.nettyBytes(), total.toString());
        assertEquals(0, total.fallbacks(), total.toString());
        startLinesSayWhatWasOpened(sc, provider, domain);
      }
    }
  }

  /** Each executor's start line: one INFO line with provider, fabric, domain, libfabric version, reads, event queue. */
  private static void startLinesSayWhatWasOpened(JavaSparkContext sc, String provider, String domain) {
    List<ExecutorLogs.Line> lines = ExecutorLogs.lines(sc, l -> l.contains("reads same-subnet peers over the fabric"));
    assertEquals(2, lines.stream().map(ExecutorLogs.Line::executorId).distinct().count(), "start lines: " + lines);
    assertEquals(2, lines.size(), "one start line per executor: " + lines);
    System.out.println("start line of executor " + lines.get(0).executorId() + ": " + lines.get(0).text());
    for (ExecutorLogs.Line line : lines) {
      for (String part : List.of(" INFO ", "provider " + provider + ", fabric ",
          domain == null ? ", domain " : ", domain " + domain + ",", ", libfabric " + Fabric.runtimeVersion() + ",",
          "read emulation not applicable", "event queue bound", "; subnet ")) {
        assertTrue(line.text().contains(part), "'" + part + "' missing from executor " + line.executorId()
            + "'s start line: " + line.text());
      }
    }
  }

  /**
   * No map output pinned and a staging budget (1 MiB) far below the largest blocks (8 MiB
   * records): those blocks are refused by the serving executor and fetched over Netty, the rest
   * staged and read over the fabric; the rows are still exactly sort shuffle's.
   */
  @org.junit.jupiter.api.Test
  void blocksBeyondTheStagingBudgetGoOverNettyAndNothingIsLost() {
    SparkConf conf = LocalClusters.conf("local-cluster[2,1,1024]")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", "tcp;ofi_rxm")
        .set("spark.shuffle.efa.domain", "lo")
        .set("spark.shuffle.efa.memory.mapOutputBytes", "0")
        .set("spark.shuffle.efa.memory.stagingBytes", "1m");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      assertEquals(expected, ShuffleJobs.runAll(sc));
      TransportMetrics.Snapshot total = executorMetrics(sc);
      assertTrue(total.fabricBytes() > 0, total.toString());
      assertTrue(total.nettyBytes() > 0 && total.fallbacks() > 0, total.toString());
      assertEquals(0, total.servedPinned(), total.toString());
    }
  }

  /**
   * Map outputs far past the pinned-memory budget (8 MiB per executor, the jobs write well over 4x
   * that): what fits is served from registered memory, the rest staged from disk, the rows are
   * sort shuffle's, no executor ever pins more than the budget, and once Spark removes the
   * shuffles (the context cleaner's path, as when an RDD is garbage collected) nothing is pinned.
   */
  @org.junit.jupiter.api.Test
  void mapOutputsPastThePinnedBudgetAreServedStagedAndUnpinnedWhenShufflesAreRemoved() throws Exception {
    long budget = 8L << 20;
    SparkConf conf = LocalClusters.conf("local-cluster[2,1,1024]")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", "tcp;ofi_rxm")
        .set("spark.shuffle.efa.domain", "lo")
        .set("spark.shuffle.efa.memory.mapOutputBytes", Long.toString(budget));
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
      java.util.Set<Integer> shuffles = java.util.concurrent.ConcurrentHashMap.newKeySet();
      sc.sc().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
        @Override
        public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
          if (end.taskMetrics() != null) {
            written.addAndGet(end.taskMetrics().shuffleWriteMetrics().bytesWritten());
          }
        }

        @Override
        public void onStageSubmitted(org.apache.spark.scheduler.SparkListenerStageSubmitted stage) {
          stage.stageInfo().shuffleDepId().foreach(id -> shuffles.add((Integer) id));
        }
      });
      assertEquals(expected, ShuffleJobs.runAll(sc));
      Map<String, TransportMetrics.Snapshot> byExecutor = ExecutorMetrics.byExecutor(sc, 2);
      assertEquals(2, byExecutor.size(), "executors that reported: " + byExecutor.keySet());
      sc.sc().listenerBus().waitUntilEmpty();
      assertTrue(written.get() > 4 * 2 * budget, "map output bytes " + written.get() + " vs 2 x " + budget);
      TransportMetrics.Snapshot total = ExecutorMetrics.total(byExecutor);
      assertTrue(total.servedPinned() > 0 && total.servedStaged() > 0, total.toString());
      assertEquals(0, total.nettyBytes(), total.toString());
      for (Map.Entry<String, TransportMetrics.Snapshot> e : byExecutor.entrySet()) {
        assertTrue(e.getValue().peakPinnedBytes() <= budget, "executor " + e.getKey() + ": " + e.getValue());
      }

      assertTrue(shuffles.size() > 0);
      for (int shuffle : shuffles) {
        sc.sc().cleaner().get().doCleanupShuffle(shuffle, true);
      }
      for (Map.Entry<String, TransportMetrics.Snapshot> e : ExecutorMetrics.byExecutor(sc, 2).entrySet()) {
        assertEquals(0, e.getValue().pinnedBytes(), "executor " + e.getKey() + " after the shuffles were removed: "
            + e.getValue());
      }
    }
  }

  /** Sums the transport counters of both executors (runs tasks until each has reported). */
  private static TransportMetrics.Snapshot executorMetrics(JavaSparkContext sc) {
    Map<String, TransportMetrics.Snapshot> byExecutor = ExecutorMetrics.byExecutor(sc, 2);
    assertEquals(2, byExecutor.size(), "executors that reported: " + byExecutor.keySet());
    return ExecutorMetrics.total(byExecutor);
  }
}
