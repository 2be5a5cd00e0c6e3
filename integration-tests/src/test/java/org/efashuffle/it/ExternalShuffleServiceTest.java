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
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
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
import org.apache.spark.network.server.OneForOneStreamManager;
import org.apache.spark.network.server.TransportServer;
import org.apache.spark.network.shuffle.ExternalBlockHandler;
import org.apache.spark.network.shuffle.ExternalShuffleBlockResolver;
import org.apache.spark.network.util.MapConfigProvider;
import org.apache.spark.network.util.TransportConf;
import org.apache.spark.storage.BlockManagerId;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import scala.Tuple2;
// JavaConverters, not scala.jdk.javaapi: these compile with Scala 2.12 (Spark 3.5) and 2.13 alike.
import scala.collection.JavaConverters;

/**
 * The external shuffle service with dynamic allocation, as on YARN and EMR: a local cluster of
 * three executors whose map outputs the service (an {@link ExternalBlockHandler} in this JVM, as
 * Spark's ExternalShuffleServiceSuite runs it) serves too. After a first job, dynamic allocation's
 * client releases the idle executor that wrote the most map outputs (the call dynamic allocation
 * makes for an idle executor; {@code SparkContext.killExecutor} is refused while it is on), and
 * the same shuffle is read again, its map stage skipped: {@code between-reads} releases it before
 * the second read, {@code mid-read} while the other executors' reduce tasks are reading it (they
 * have sent their first requests and wait at a gate; the released executor, whose own reduce tasks
 * are done, is gone from the driver's block manager master before they go on). With efa-shuffle
 * the live executors' blocks are read over the fabric and the released executor's from the
 * service, and the rows equal sort shuffle's under the same scenario.
 */
class ExternalShuffleServiceTest {
  private static final int EXECUTORS = 3;
  private static final int MAP_PARTITIONS = 12;
  private static final int REDUCE_PARTITIONS = 6;
  private static final int RECORDS_PER_MAP = 200;
  private static final long GATE_TIMEOUT_MINUTES = 5;
  /** Sort shuffle's outcome per scenario, measured once. */
  private static final Map<String, Outcome> SORT = new ConcurrentHashMap<>();

  private static TransportServer service;
  /** Bytes the service handed out, by application and executor id. */
  private static final Map<String, AtomicLong> SERVED = new ConcurrentHashMap<>();

  /** The rows and time of the read after the release, what the service served for the released executor, and the live executors' counters. */
  private record Outcome(List<String> rows, double seconds, long serviceBytesOfReleased, TransportMetrics.Snapshot live) {}

  @TempDir
  Path dir;

  @BeforeAll
  static void startService() throws IOException {
    // Not SparkTransportConf.fromSparkConf: its parameters differ between Spark lines.
    TransportConf conf = new TransportConf("shuffle", new MapConfigProvider(Map.of("spark.shuffle.io.serverThreads", "2",
        "spark.shuffle.io.clientThreads", "2")));
    ExternalBlockHandler handler = new ExternalBlockHandler(new OneForOneStreamManager(), new CountingResolver(conf));
    service = new TransportContext(conf, handler).createServer();
  }

  @AfterAll
  static void stopService() {
    if (service != null) {
      service.close();
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"between-reads, shm, ", "between-reads, tcp;ofi_rxm, lo", "mid-read, tcp;ofi_rxm, lo"})
  void liveExecutorsAreReadOverTheFabricAndAReleasedOneFromTheService(String when, String provider, String domain)
      throws Exception {
    boolean midRead = when.equals("mid-read");
    Outcome sort = SORT.get(when);
    if (sort == null) {
      sort = run(conf().set("spark.shuffle.manager", "sort"), Files.createDirectory(dir.resolve("sort")), midRead);
      SORT.put(when, sort);
    }
    Outcome efa = run(conf()
            .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
            .set("spark.shuffle.efa.provider", provider)
            .set("spark.shuffle.efa.domain", domain == null ? "" : domain),
        Files.createDirectory(dir.resolve("efa")), midRead);
    boolean same = sort.rows().equals(efa.rows());
    System.out.printf("ESS dynamic-allocation %s %s efa %.1f s sort %.1f s rows %s (fabric %d bytes from live executors, "
            + "service %d bytes for released executor; efa: %d Netty bytes, %d fabric fetches fell back, %d breakers "
            + "opened)%n", when, provider.equals("shm") ? "shm" : "tcp", efa.seconds(), sort.seconds(), same ? "same" : "DIFFER",
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
        .set("spark.dynamicAllocation.schedulerBacklogTimeout", "600s")
        // One request in flight per reduce task: most of its blocks are fetched after the gate (mid-read).
        .set("spark.reducer.maxSizeInFlight", "1m");
  }

  /**
   * Job 1 writes the map outputs and reads them; the executor with the most map outputs is
   * released once idle, before job 2 reads the same shuffle again (its map stage skipped) or, with
   * {@code midRead}, while job 2's reduce tasks on the other executors are reading.
   */
  private static Outcome run(SparkConf conf, Path marks, boolean midRead) throws Exception {
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      awaitExecutors(sc, EXECUTORS);
      String app = sc.sc().applicationId();
      String markDir = marks.toString();
      List<Integer> maps = new ArrayList<>();
      for (int p = 0; p < MAP_PARTITIONS; p++) {
        maps.add(p);
      }
      JavaPairRDD<Integer, byte[]> shuffled = sc.parallelize(maps, MAP_PARTITIONS)
          .flatMapToPair(p -> ShuffleJobs.recordsNotingExecutor(p, markDir, RECORDS_PER_MAP))
          .partitionBy(new HashPartitioner(REDUCE_PARTITIONS));
      List<String> first = rows(shuffled, markDir, null);

      Map<String, Integer> mapsByExecutor = mapsByExecutor(marks);
      String released = Collections.max(mapsByExecutor.entrySet(), Map.Entry.comparingByValue()).getKey();
      assertTrue(mapsByExecutor.size() > 1, "map outputs on one executor only: " + mapsByExecutor);
      if (!midRead) {
        release(sc, released);
      }

      boolean sort = conf.get("spark.shuffle.manager").equals("sort");
      int live = midRead ? EXECUTORS : EXECUTORS - 1;
      Map<String, TransportMetrics.Snapshot> before = sort ? Map.of() : ExecutorMetrics.byExecutor(sc, live);
      long servedBefore = served(app, released);
      long start = System.nanoTime();
      CompletableFuture<List<String>> job = CompletableFuture.supplyAsync(
          () -> rows(shuffled, markDir, midRead ? released : null));
      if (midRead) {
        awaitGate(marks, released, job);
        release(sc, released);
        Files.createFile(marks.resolve("go"));
      }
      List<String> second = job.get(10, TimeUnit.MINUTES);
      double seconds = (System.nanoTime() - start) / 1e9;
      // The live executors' reads during job 2 (the released executor's counters are gone with it).
      TransportMetrics.Snapshot job2 = TransportMetrics.Snapshot.zero();
      if (!sort) {
        for (Map.Entry<String, TransportMetrics.Snapshot> e : ExecutorMetrics.byExecutor(sc, EXECUTORS - 1).entrySet()) {
          job2 = job2.plus(e.getValue().since(before.getOrDefault(e.getKey(), TransportMetrics.Snapshot.zero())));
        }
      }
      assertEquals(first, second, "the read after the release gives the first read's rows");
      return new Outcome(second, seconds, served(app, released) - servedBefore, job2);
    }
  }

  /** Dynamic allocation's release of an idle executor; returns once the driver's block manager master no longer lists it. */
  private static void release(JavaSparkContext sc, String executor) throws InterruptedException {
    ExecutorAllocationClient client = (ExecutorAllocationClient) sc.sc().schedulerBackend();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    // Refused while the executor still counts as busy (its last task's end not yet seen by the scheduler).
    while (client.killExecutors(JavaConverters.asScalaBuffer(List.of(executor)).toSeq(), true, false, false).isEmpty()) {
      assertTrue(System.nanoTime() < deadline, "executor " + executor + " was never idle");
      Thread.sleep(100); // polling the scheduler's view of the executor
    }
    awaitGone(sc, executor);
  }

  /**
   * Waits until a reduce task of job 2 waits at the gate on each executor but the one to release,
   * and that one has run all the others.
   */
  private static void awaitGate(Path marks, String released, CompletableFuture<?> job) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (true) {
      List<String> waiting = names(marks, "reduce-");
      List<String> done = names(marks, "reduced-");
      if (waiting.stream().map(n -> n.substring(n.indexOf("-on-"))).distinct().count() == EXECUTORS - 1
          && done.size() == REDUCE_PARTITIONS - (EXECUTORS - 1)) {
        return;
      }
      assertTrue(!job.isDone(), () -> "job 2 ended before the release: " + job);
      assertTrue(System.nanoTime() < deadline, "reduce tasks waiting: " + waiting + ", done: " + done);
      Thread.sleep(20); // polling for the tasks' files
    }
  }

  /**
   * The shuffle's rows, sorted. With {@code gatedBut}: a first-attempt reduce task on any executor
   * but that one waits (its fetch iterator made, first request sent) for the test's marker, and one
   * on that executor notes that it is done.
   */
  private static List<String> rows(JavaPairRDD<Integer, byte[]> shuffled, String markDir, String gatedBut) {
    List<String> rows = new ArrayList<>(shuffled
        .mapPartitionsWithIndex((p, records) -> reduce(p, records, markDir, gatedBut), false).collect());
    Collections.sort(rows);
    return rows;
  }

  private static Iterator<String> reduce(int partition, Iterator<Tuple2<Integer, byte[]>> records, String markDir,
      String gatedBut) throws Exception {
    TaskContext task = TaskContext.get();
    String executor = SparkEnv.get().executorId();
    boolean gated = gatedBut != null && task.stageAttemptNumber() == 0 && task.attemptNumber() == 0;
    if (gated && !executor.equals(gatedBut)) {
      Files.createFile(Paths.get(markDir, "reduce-" + partition + "-on-" + executor));
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(GATE_TIMEOUT_MINUTES);
      while (!Files.exists(Paths.get(markDir, "go"))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("no marker from the test in " + GATE_TIMEOUT_MINUTES + " minutes");
        }
        Thread.sleep(20); // polling for the test's marker file
      }
    }
    List<String> rows = new ArrayList<>();
    while (records.hasNext()) {
      Tuple2<Integer, byte[]> r = records.next();
      rows.add(r._1 + ":" + ShuffleJobs.hash(r._2));
    }
    if (gated && executor.equals(gatedBut)) {
      Files.createFile(Paths.get(markDir, "reduced-" + partition + "-on-" + executor));
    }
    return rows.iterator();
  }

  private static List<String> names(Path dir, String prefix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(prefix)).sorted().toList();
    }
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
