package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.spark.ExecutorAllocationClient;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.network.TransportContext;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.netty.SparkTransportConf;
import org.apache.spark.network.server.OneForOneStreamManager;
import org.apache.spark.network.server.TransportServer;
import org.apache.spark.network.shuffle.ExternalBlockHandler;
import org.apache.spark.network.shuffle.ExternalShuffleBlockResolver;
import org.apache.spark.network.util.TransportConf;
import org.apache.spark.storage.BlockManagerId;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import scala.Option;
import scala.Tuple2;

/**
 * The external shuffle service with dynamic allocation, as on YARN and EMR: a local cluster of
 * three executors whose map outputs the service (an {@link ExternalBlockHandler} in this JVM, as
 * Spark's ExternalShuffleServiceSuite runs it) serves too. After a first job, dynamic allocation's
 * client releases the executor that wrote the most map outputs (the call dynamic allocation makes
 * for an idle executor; {@code SparkContext.killExecutor} is refused while it is on); the same
 * shuffle is read again, its map stage skipped. With efa-shuffle the live executors' blocks are
 * read over the fabric and the released executor's from the service, and the rows equal sort
 * shuffle's under the same scenario.
 */
class ExternalShuffleServiceTest {
  private static final int EXECUTORS = 3;
  private static final int MAP_PARTITIONS = 12;
  private static final int REDUCE_PARTITIONS = 6;
  private static final int RECORDS_PER_MAP = 200;

  private static TransportServer service;
  /** Bytes the service handed out, by application and executor id. */
  private static final Map<String, AtomicLong> SERVED = new ConcurrentHashMap<>();

  /** The rows and time of the read after the release, what the service served for the released executor, and the live executors' counters. */
  private record Outcome(List<String> rows, double seconds, long serviceBytesOfReleased, TransportMetrics.Snapshot live) {}

  @TempDir
  Path dir;

  @BeforeAll
  static void startService() throws IOException {
    TransportConf conf = SparkTransportConf.fromSparkConf(new SparkConf(), "shuffle", 2, Option.empty(), Option.empty());
    ExternalBlockHandler handler = new ExternalBlockHandler(new OneForOneStreamManager(), new CountingResolver(conf));
    service = new TransportContext(conf, handler).createServer();
  }

  @AfterAll
  static void stopService() {
    if (service != null) {
      service.close();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"shm, ", "tcp;ofi_rxm, lo"})
  void liveExecutorsAreReadOverTheFabricAndAReleasedOneFromTheService(String provider, String domain) throws Exception {
    Outcome sort = run(conf().set("spark.shuffle.manager", "sort"), Files.createDirectory(dir.resolve("sort")));
    Outcome efa = run(conf()
            .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
            .set("spark.shuffle.efa.provider", provider)
            .set("spark.shuffle.efa.domain", domain == null ? "" : domain),
        Files.createDirectory(dir.resolve("efa")));
    boolean same = sort.rows().equals(efa.rows());
    System.out.printf("ESS dynamic-allocation %s efa %.1f s sort %.1f s rows %s (fabric %d bytes from live executors, "
            + "service %d bytes for released executor; efa: %d Netty bytes, %d fabric fetches fell back, %d breakers "
            + "opened)%n", provider.equals("shm") ? "shm" : "tcp", efa.seconds(), sort.seconds(), same ? "same" : "DIFFER",
        efa.live().fabricBytes(), efa.serviceBytesOfReleased(), efa.live().nettyBytes(), efa.live().fallbacks(),
        efa.live().breakerOpenings());
    assertEquals(MAP_PARTITIONS * RECORDS_PER_MAP, sort.rows().size(), "sort shuffle's row count");
    assertEquals(sort.rows(), efa.rows(), "rows differ from sort shuffle's");
    assertTrue(sort.serviceBytesOfReleased() > 0, "sort shuffle read the released executor's blocks from the service");
    assertTrue(efa.live().fabricBytes() > 0, "live executors' blocks were read over the fabric: " + efa.live());
    assertTrue(efa.serviceBytesOfReleased() > 0, "the released executor's blocks were read from the service");
  }

  private static SparkConf conf() {
    return LocalClusters.conf("local-cluster[" + EXECUTORS + ",1,1024]")
        .set("spark.shuffle.service.enabled", "true")
        .set("spark.shuffle.service.port", Integer.toString(service.getPort()))
        .set("spark.dynamicAllocation.enabled", "true")
        .set("spark.dynamicAllocation.initialExecutors", Integer.toString(EXECUTORS))
        .set("spark.dynamicAllocation.minExecutors", Integer.toString(EXECUTORS - 1))
        .set("spark.dynamicAllocation.maxExecutors", Integer.toString(EXECUTORS))
        // The test releases the executor it chooses; dynamic allocation neither releases nor adds one of its own.
        .set("spark.dynamicAllocation.executorIdleTimeout", "600s")
        .set("spark.dynamicAllocation.schedulerBacklogTimeout", "600s");
  }

  /**
   * Job 1 writes the map outputs and reads them; the executor with the most map outputs is
   * released once idle; job 2 reads the same shuffle again (its map stage skipped).
   */
  private static Outcome run(SparkConf conf, Path marks) throws Exception {
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      awaitExecutors(sc, EXECUTORS);
      String app = sc.sc().applicationId();
      String markDir = marks.toString();
      List<Integer> maps = new ArrayList<>();
      for (int p = 0; p < MAP_PARTITIONS; p++) {
        maps.add(p);
      }
      JavaPairRDD<Integer, byte[]> shuffled = sc.parallelize(maps, MAP_PARTITIONS)
          .flatMapToPair(p -> mapOutput(p, markDir))
          .partitionBy(new HashPartitioner(REDUCE_PARTITIONS));
      List<String> first = rows(shuffled);

      Map<String, Integer> mapsByExecutor = mapsByExecutor(marks);
      String released = Collections.max(mapsByExecutor.entrySet(), Map.Entry.comparingByValue()).getKey();
      assertTrue(mapsByExecutor.size() > 1, "map outputs on one executor only: " + mapsByExecutor);
      assertTrue(((ExecutorAllocationClient) sc.sc().schedulerBackend()).killExecutor(released),
          "release of executor " + released);
      awaitGone(sc, released);

      boolean sort = conf.get("spark.shuffle.manager").equals("sort");
      TransportMetrics.Snapshot before = sort ? TransportMetrics.Snapshot.zero()
          : ExecutorMetrics.total(ExecutorMetrics.byExecutor(sc, EXECUTORS - 1));
      long servedBefore = served(app, released);
      long start = System.nanoTime();
      List<String> second = rows(shuffled);
      double seconds = (System.nanoTime() - start) / 1e9;
      TransportMetrics.Snapshot live = sort ? TransportMetrics.Snapshot.zero()
          : ExecutorMetrics.total(ExecutorMetrics.byExecutor(sc, EXECUTORS - 1)).since(before);
      assertEquals(first, second, "the read after the release gives the first read's rows");
      return new Outcome(second, seconds, served(app, released) - servedBefore, live);
    }
  }

  private static List<String> rows(JavaPairRDD<Integer, byte[]> shuffled) {
    List<String> rows = new ArrayList<>(shuffled.map(r -> r._1 + ":" + ShuffleJobs.hash(r._2)).collect());
    Collections.sort(rows);
    return rows;
  }

  /** Deterministic records of about 20 KB (map partition p always yields the same), noting where it ran. */
  private static Iterator<Tuple2<Integer, byte[]>> mapOutput(int partition, String markDir) throws IOException {
    TaskContext task = TaskContext.get();
    if (task.stageAttemptNumber() == 0 && task.attemptNumber() == 0) {
      Files.createFile(Paths.get(markDir, "map-" + partition + "-on-" + SparkEnv.get().executorId()));
    }
    Random random = new Random(partition);
    List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
    for (int i = 0; i < RECORDS_PER_MAP; i++) {
      byte[] value = new byte[10_000 + random.nextInt(20_000)];
      random.nextBytes(value);
      out.add(new Tuple2<>(random.nextInt(1000), value));
    }
    return out.iterator();
  }

  private static Map<String, Integer> mapsByExecutor(Path marks) throws IOException {
    Map<String, Integer> counts = new HashMap<>();
    try (Stream<Path> files = Files.list(marks)) {
      files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith("map-"))
          .forEach(n -> counts.merge(n.substring(n.indexOf("-on-") + 4), 1, Integer::sum));
    }
    return counts;
  }

  private static void awaitExecutors(JavaSparkContext sc, int executors) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (executorIds(sc).size() < executors) {
      assertTrue(System.nanoTime() < deadline, "executors registered: " + executorIds(sc));
      Thread.sleep(100); // polling the driver's block manager master
    }
  }

  /** Waits until the driver's block manager master, which the reducers ask, no longer lists the executor. */
  private static void awaitGone(JavaSparkContext sc, String executor) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (executorIds(sc).contains(executor)) {
      assertTrue(System.nanoTime() < deadline, "executor " + executor + " still listed");
      Thread.sleep(100); // polling the driver's block manager master
    }
  }

  private static Set<String> executorIds(JavaSparkContext sc) {
    Set<String> ids = new TreeSet<>();
    scala.collection.Iterator<BlockManagerId> it = sc.sc().env().blockManager().master().getMemoryStatus().keysIterator();
    while (it.hasNext()) {
      BlockManagerId id = it.next();
      if (!id.isDriver()) {
        ids.add(id.executorId());
      }
    }
    return ids;
  }

  private static long served(String app, String executor) {
    AtomicLong bytes = SERVED.get(app + "/" + executor);
    return bytes == null ? 0 : bytes.get();
  }

  /** Spark's service-side resolver, counting the bytes of the blocks it hands out per application and executor. */
  private static final class CountingResolver extends ExternalShuffleBlockResolver {
    CountingResolver(TransportConf conf) throws IOException {
      super(conf, null);
    }

    @Override
    public ManagedBuffer getContinuousBlocksData(String appId, String execId, int shuffleId, long mapId,
        int startReduceId, int endReduceId) {
      ManagedBuffer block = super.getContinuousBlocksData(appId, execId, shuffleId, mapId, startReduceId, endReduceId);
      SERVED.computeIfAbsent(appId + "/" + execId, k -> new AtomicLong()).addAndGet(block.size());
      return block;
    }
  }
}
