package org.efashuffle.bench;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.apache.spark.HashPartitioner;
import org.apache.spark.MapOutputTrackerMaster;
import org.apache.spark.ShuffleDependency;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.shuffle.BlockStoreClient;
import org.apache.spark.rdd.RDD;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BlockManager;
import org.apache.spark.storage.BlockManagerId;
import org.efashuffle.common.config.ByteSizes;
import org.efashuffle.spark.TransportMetrics;
import scala.Tuple2;
import scala.Tuple3;
// JavaConverters, not scala.jdk.javaapi: these compile with Scala 2.12 (Spark 3.5) and 2.13 alike.
import scala.collection.JavaConverters;
import scala.reflect.ClassTag$;

/**
 * Throughput and latency of fetching shuffle blocks from another executor JVM through
 * efa-shuffle's block store client (fabric reads) and through Spark's Netty block transfer
 * service, the same blocks in the same run.
 *
 * <p>One application per provider on a local cluster of two executor JVMs (A and B). Per block
 * size, a map stage writes one map output on each executor (tasks pinned by preferred location)
 * holding blocks of that size (one record of random bytes each, Kryo, shuffle compression off). A
 * task pinned to A then fetches B's blocks: first each block once through both clients, whose
 * CRC32 must equal that of B's own copy (read from its disk by a task on B); then, per number of
 * blocks in flight, untimed warm-up runs (3 s of each path) and N rounds of a fixed number of
 * fetches through each client, the two taking turns in an order that alternates by round, and
 * the same check again with that many blocks in flight. Fetches go as Spark's fetch iterator
 * makes them: a request per few blocks, a bounded number of blocks in flight, each delivered
 * buffer released by the task thread, which then issues the next request. Figures: throughput,
 * the median of the rounds; latency (request issued to block delivered), p50 and p99 over every timed fetch.
 *
 * <pre>
 * BlockFetchBenchmark [--providers shm,tcp;ofi_rxm@lo] [--sizes 4k,64k,1m,4m] [--in-flight 1,16]
 *                     [--max-bytes-in-flight 48m] [--blocks-per-request 1] [--rounds 5] [--bytes 64m]
 * </pre>
 *
 * {@code --bytes}: about what one measurement fetches (64 to 4000 fetches). The blocks in flight
 * are capped at --max-bytes-in-flight (Spark's spark.reducer.maxSizeInFlight, 48m). Other
 * settings come from -Dspark.* properties (the master defaults to local-cluster[2,1,1536]). Exits
 * with 1 when a path returned bytes that differ from B's, or the fabric path fell back to Netty.
 */
public final class BlockFetchBenchmark {
  static final String EFA_MANAGER = "org.efashuffle.spark.EfaShuffleManager";
  static final String EFA_CLIENT = "org.efashuffle.spark.EfaBlockStoreClient";
  /** Bytes of a block that are not the record's value: Kryo's framing of an (Integer, byte[]) pair, as measured. */
  private static final int RECORD_OVERHEAD = 9;

  private BlockFetchBenchmark() {}

  /** The command line. */
  public record Options(List<String> providers, long[] sizes, int[] inFlight, long maxBytesInFlight, int perRequest,
      int rounds, long bytesPerMeasurement) implements Serializable {
    public static Options parse(String[] args) {
      List<String> providers = List.of("shm", "tcp;ofi_rxm@lo");
      long[] sizes = {4 << 10, 64 << 10, 1 << 20, 4 << 20};
      int[] inFlight = {1, 16};
      long maxBytesInFlight = 48L << 20;
      int perRequest = 1;
      int rounds = 5;
      long bytes = 64L << 20;
      for (int i = 0; i < args.length; i += 2) {
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException("missing value after " + args[i]);
        }
        String value = args[i + 1];
        switch (args[i]) {
          case "--providers" -> providers = List.of(value.split(","));
          case "--sizes" -> sizes = Arrays.stream(value.split(",")).mapToLong(ByteSizes::parse).toArray();
          case "--in-flight" -> inFlight = Arrays.stream(value.split(",")).mapToInt(Integer::parseInt).toArray();
          case "--max-bytes-in-flight" -> maxBytesInFlight = ByteSizes.parse(value);
          case "--blocks-per-request" -> perRequest = Integer.parseInt(value);
          case "--rounds" -> rounds = Integer.parseInt(value);
          case "--bytes" -> bytes = ByteSizes.parse(value);
          default -> throw new IllegalArgumentException("unknown option " + args[i] + "; usage: [--providers shm,tcp;ofi_rxm@lo]"
              + " [--sizes 4k,64k,1m,4m] [--in-flight 1,16] [--max-bytes-in-flight 48m] [--blocks-per-request 1]"
              + " [--rounds 5] [--bytes 64m]");
        }
      }
      if (rounds < 1 || perRequest < 1 || Arrays.stream(sizes).anyMatch(s -> s <= RECORD_OVERHEAD)
          || Arrays.stream(inFlight).anyMatch(n -> n < 1)) {
        throw new IllegalArgumentException("--rounds, --blocks-per-request and --in-flight must be at least 1, "
            + "--sizes above " + RECORD_OVERHEAD + " bytes");
      }
      return new Options(providers, sizes, inFlight, maxBytesInFlight, perRequest, rounds, bytes);
    }

    /** Blocks in flight for this size: as asked, within the bytes in flight, at least one request. */
    int inFlightFor(long size, int asked) {
      long byBytes = Math.max(1, maxBytesInFlight / size);
      return (int) Math.max(perRequest, Math.min(asked, byBytes));
    }

    int fetchesFor(long size) {
      return (int) Math.max(64, Math.min(4000, bytesPerMeasurement / size));
    }
  }

  static final long WARM_UP_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(3);

  /** One path's figures: throughput (the median round's), latency over every timed fetch. */
  public record PathStats(double megabytesPerSecond, double blocksPerSecond, double p50Micros, double p99Micros)
      implements Serializable {}

  /**
   * One line of the table.
   *
   * @param blockBytes mean bytes of a fetched block
   * @param fabricPathNettyBlocks blocks the fabric path's client fetched over Netty (fallbacks)
   * @param mismatches blocks whose bytes differed between a path and B's copy, with the checksums
   */
  public record Row(String provider, long size, long blockBytes, int inFlight, PathStats fabric, PathStats netty,
      long fabricPathFabricBlocks, long fabricPathNettyBlocks, int verifiedBlocks, List<String> mismatches)
      implements Serializable {
    public double ratio() {
      return fabric.megabytesPerSecond / netty.megabytesPerSecond;
    }

    Row withProvider(String p) {
      return new Row(p, size, blockBytes, inFlight, fabric, netty, fabricPathFabricBlocks, fabricPathNettyBlocks,
          verifiedBlocks, mismatches);
    }
  }

  /**
   * What the serving executors did, per provider: blocks answered from pinned map outputs, and
   * staged from disk for the read (both executors, the whole application).
   */
  public record Served(String provider, long pinned, long staged) implements Serializable {}

  /** The rows of a run, and what makes it fail. */
  public record Result(List<Row> rows, List<Served> served) {
    public List<String> failures() {
      List<String> failures = new ArrayList<>();
      for (Row r : rows) {
        for (String m : r.mismatches) {
          failures.add(r.provider + " " + human(r.size) + ": " + m);
        }
        if (r.fabricPathNettyBlocks > 0) {
          failures.add(r.provider + " " + human(r.size) + " in flight " + r.inFlight + ": the fabric path fetched "
              + r.fabricPathNettyBlocks + " blocks over Netty");
        }
      }
      return failures;
    }
  }

  /** What the fetching task needs: B's address and blocks, and B's checksum of each. */
  private record Plan(long size, String host, int port, String execId, String[] blockIds,
      Map<String, Long> expected) implements Serializable {}

  public static void main(String[] args) {
    Options options = Options.parse(args);
    Result result = run(options, new SparkConf());
    print(options, result);
    List<String> failures = result.failures();
    if (!failures.isEmpty()) {
      System.out.println("FAILED:");
      failures.forEach(f -> System.out.println("  " + f));
      System.exit(1);
    }
  }

  /** Runs every provider of {@code options}, one application each, on {@code base}'s settings. */
  public static Result run(Options options, SparkConf base) {
    List<Row> rows = new ArrayList<>();
    List<Served> served = new ArrayList<>();
    for (String spec : options.providers) {
      String[] nameAndDomain = spec.split("@", 2);
      SparkConf conf = base.clone().setIfMissing("spark.master", "local-cluster[2,1,1536]")
          .setAppName("efa-shuffle block fetch benchmark: " + spec)
          .setIfMissing("spark.driver.host", "127.0.0.1").setIfMissing("spark.driver.bindAddress", "127.0.0.1")
          .setIfMissing("spark.ui.enabled", "false")
          .set("spark.shuffle.manager", EFA_MANAGER)
          .set("spark.shuffle.efa.provider", nameAndDomain[0])
          .set("spark.shuffle.efa.domain", nameAndDomain.length > 1 ? nameAndDomain[1] : "")
          .set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
          .set("spark.shuffle.compress", "false")
          // Tasks are pinned by preferred location: wait for the executor rather than run elsewhere.
          .set("spark.locality.wait", "60s");
      try (JavaSparkContext sc = new JavaSparkContext(conf)) {
        List<BlockManagerId> executors = executors(sc, 2);
        BlockManagerId a = executors.get(0);
        BlockManagerId b = executors.get(1);
        // Spark's context cleaner removes a shuffle's files once its RDD is unreachable on the driver.
        List<RDD<?>> shuffles = new ArrayList<>();
        for (long size : options.sizes) {
          Plan plan = plan(sc, a, b, size, shuffles);
          String fetcher = a.executorId();
          // Returned Java-serialized: Spark's Kryo cannot build records.
          byte[] measured = JavaRDD.fromRDD(pinned(sc, a), ClassTag$.MODULE$.apply(Integer.class))
              .map(x -> javaSerialized(measure(plan, options, fetcher))).collect().get(0);
          for (Row r : BlockFetchBenchmark.<List<Row>>javaDeserialized(measured)) {
            rows.add(r.withProvider(spec));
          }
          System.out.printf("block fetch %s %s: measured%n", spec, human(size));
        }
        TransportMetrics.Snapshot counts = ExecutorMetrics.total(ExecutorMetrics.byExecutor(sc, 2));
        served.add(new Served(spec, counts.servedPinned(), counts.servedStaged()));
      }
    }
    return new Result(rows, served);
  }

  /** The first {@code n} executors' block managers, by executor id, once they have registered. */
  private static List<BlockManagerId> executors(JavaSparkContext sc, int n) {
    long deadline = System.nanoTime() + 120_000_000_000L;
    while (true) {
      List<BlockManagerId> ids = new ArrayList<>();
      for (BlockManagerId id : JavaConverters.mapAsJavaMap(SparkEnv.get().blockManager().master().getMemoryStatus())
          .keySet()) {
        if (!id.isDriver()) {
          ids.add(id);
        }
      }
      if (ids.size() >= n) {
        ids.sort(Comparator.comparing(BlockManagerId::executorId));
        return ids.subList(0, n);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + ids.size() + " executors registered in 120 s, " + n + " needed");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /**
   * An RDD of {@code executors.length} partitions, partition i preferring executor i. Raw types:
   * makeRDD takes Scala's {@code Seq}, which is another type in Scala 2.12 than in 2.13; an
   * immutable {@code List} is both.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static RDD<Integer> pinned(JavaSparkContext sc, BlockManagerId... executors) {
    List<Tuple2> partitions = new ArrayList<>();
    for (int i = 0; i < executors.length; i++) {
      String location = "executor_" + executors[i].host() + "_" + executors[i].executorId();
      partitions.add(new Tuple2<>(i, JavaConverters.asScalaBuffer(List.of(location)).toList()));
    }
    scala.collection.immutable.List seq = JavaConverters.asScalaBuffer(partitions).toList();
    return sc.sc().makeRDD(seq, ClassTag$.MODULE$.apply(Integer.class));
  }

  /**
   * Writes a shuffle with one map output on each executor whose blocks are about {@code size}
   * bytes, and returns B's blocks with B's own checksum of each.
   */
  private static Plan plan(JavaSparkContext sc, BlockManagerId a, BlockManagerId b, long size, List<RDD<?>> shuffles) {
    int blocks = (int) Math.max(16, Math.min(64, (32L << 20) / size));
    int valueBytes = (int) (size - RECORD_OVERHEAD);
    RDD<Tuple2<Integer, byte[]>> shuffled = JavaRDD.fromRDD(pinned(sc, a, b), ClassTag$.MODULE$.apply(Integer.class))
        .flatMapToPair(map -> {
          Random random = new Random(map * 1_000_003L + size);
          List<Tuple2<Integer, byte[]>> records = new ArrayList<>(blocks);
          for (int p = 0; p < blocks; p++) {
            byte[] value = new byte[valueBytes];
            random.nextBytes(value);
            records.add(new Tuple2<>(p, value));
          }
          return records.iterator();
        }).partitionBy(new HashPartitioner(blocks)).rdd();
    shuffles.add(shuffled);
    ShuffleDependency<?, ?, ?> dependency = (ShuffleDependency<?, ?, ?>) shuffled.dependencies().head();
    try {
      sc.sc().submitMapStage(dependency).get();
    } catch (org.apache.spark.SparkException e) {
      throw new IllegalStateException("the map stage of the " + human(size) + " blocks failed", e);
    }

    MapOutputTrackerMaster tracker = (MapOutputTrackerMaster) SparkEnv.get().mapOutputTracker();
    List<String> onB = new ArrayList<>();
    java.util.Iterator<Tuple2<BlockManagerId, scala.collection.Seq<Tuple3<BlockId, Object, Object>>>> locations =
        JavaConverters.asJavaIterator(tracker.getMapSizesByExecutorId(dependency.shuffleId(), 0, 2, 0, blocks));
    while (locations.hasNext()) {
      Tuple2<BlockManagerId, scala.collection.Seq<Tuple3<BlockId, Object, Object>>> location = locations.next();
      if (location._1().executorId().equals(b.executorId())) {
        for (Tuple3<BlockId, Object, Object> block : JavaConverters.seqAsJavaList(location._2())) {
          onB.add(block._1().name());
        }
      }
    }
    if (onB.size() != blocks) {
      throw new IllegalStateException("executor " + b.executorId() + " holds " + onB.size() + " blocks of the "
          + human(size) + " shuffle, " + blocks + " expected (did its map task run elsewhere?)");
    }
    String[] ids = onB.toArray(new String[0]);
    String holder = b.executorId();
    Map<String, Long> expected = JavaRDD.fromRDD(pinned(sc, b), ClassTag$.MODULE$.apply(Integer.class))
        .map(x -> localChecksums(ids, holder)).collect().get(0);
    return new Plan(size, b.host(), b.port(), b.executorId(), ids, expected);
  }

  private static byte[] javaSerialized(Object value) throws java.io.IOException {
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
      out.writeObject(value);
    }
    return bytes.toByteArray();
  }

  @SuppressWarnings("unchecked")
  private static <T> T javaDeserialized(byte[] bytes) {
    try (java.io.ObjectInputStream in = new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes))) {
      return (T) in.readObject();
    } catch (java.io.IOException | ClassNotFoundException e) {
      throw new IllegalStateException("cannot read the fetch task's result", e);
    }
  }

  /** On executor B: the CRC32 of each block as its own disk holds it. */
  private static Map<String, Long> localChecksums(String[] ids, String holder) {
    BlockManager blockManager = SparkEnv.get().blockManager();
    if (!SparkEnv.get().executorId().equals(holder)) {
      throw new IllegalStateException("checksum task ran on executor " + SparkEnv.get().executorId()
          + ", not on the blocks' holder " + holder);
    }
    Map<String, Long> checksums = new HashMap<>();
    for (String id : ids) {
      ManagedBuffer data = blockManager.getLocalBlockData(BlockId.apply(id));
      try {
        checksums.put(id, WindowedFetch.crc32(data));
      } finally {
        data.release();
      }
    }
    return checksums;
  }

  /** On executor A: the whole measurement of one block size, a row per number of blocks in flight. */
  private static List<Row> measure(Plan plan, Options options, String fetcher) throws InterruptedException {
    String self = SparkEnv.get().executorId();
    if (!self.equals(fetcher) || self.equals(plan.execId)) {
      throw new IllegalStateException("fetch task ran on executor " + self + ", expected " + fetcher
          + " (the blocks are on " + plan.execId + ")");
    }
    BlockManager blockManager = SparkEnv.get().blockManager();
    BlockStoreClient efaClient = blockManager.blockStoreClient();
    if (!efaClient.getClass().getName().equals(EFA_CLIENT)) {
      throw new IllegalStateException("executor " + self + "'s block store client is " + efaClient.getClass().getName()
          + ", not efa-shuffle's (it is installed at the executor's first shuffle task)");
    }
    WindowedFetch fabric = new WindowedFetch(efaClient, plan.host, plan.port, plan.execId);
    WindowedFetch netty = new WindowedFetch(blockManager.blockTransferService(), plan.host, plan.port, plan.execId);

    // Each block once through each path, the fabric first (a block's first fabric read is the
    // one a test's fault damages), checked against B's copy.
    int n = plan.blockIds.length;
    List<String> mismatches = new ArrayList<>();
    TransportMetrics.Snapshot fabricCounts = check(plan, fabric, netty, 1, 1, "one at a time, before the timed rounds",
        mismatches);

    List<Row> rows = new ArrayList<>();
    int fetches = options.fetchesFor(plan.size);
    LinkedHashMap<Integer, Integer> windows = new LinkedHashMap<>();
    for (int asked : options.inFlight) {
      windows.putIfAbsent(options.inFlightFor(plan.size, asked), asked);
    }
    for (int window : windows.keySet()) { // the first row also carries the check's counts and mismatches
      // Warm-up: untimed runs of each path for a few seconds, so that neither is timed while the
      // JIT still compiles it (a path the earlier sizes did not take, such as fi_read after small
      // blocks that came inline, is cold when its first size comes).
      for (WindowedFetch path : List.of(fabric, netty)) {
        long warmUntil = System.nanoTime() + WARM_UP_NANOS;
        do {
          path.run(plan.blockIds, fetches, window, options.perRequest, false);
        } while (System.nanoTime() < warmUntil);
      }
      List<WindowedFetch.Measurement> f = new ArrayList<>();
      List<WindowedFetch.Measurement> t = new ArrayList<>();
      for (int round = 0; round < options.rounds; round++) {
        if (round % 2 == 1) {
          t.add(netty.run(plan.blockIds, fetches, window, options.perRequest, false));
        }
        TransportMetrics.Snapshot start = TransportMetrics.get().snapshot();
        f.add(fabric.run(plan.blockIds, fetches, window, options.perRequest, false));
        fabricCounts = fabricCounts.plus(TransportMetrics.get().snapshot().since(start));
        if (round % 2 == 0) {
          t.add(netty.run(plan.blockIds, fetches, window, options.perRequest, false));
        }
      }
      // Again with this many in flight: a path that breaks under concurrency is caught too.
      fabricCounts = fabricCounts.plus(check(plan, fabric, netty, window, options.perRequest,
          window + " in flight, after the timed rounds", mismatches));
      long bytes = f.stream().mapToLong(WindowedFetch.Measurement::bytes).sum();
      rows.add(new Row("", plan.size, bytes / ((long) fetches * options.rounds), window, stats(f), stats(t),
          fabricCounts.fabricBlocks(), fabricCounts.nettyBlocks(), rows.isEmpty() ? n : 0, List.copyOf(mismatches)));
      fabricCounts = TransportMetrics.Snapshot.zero();
      mismatches.clear();
    }
    return rows;
  }

  /**
   * Fetches each of the plan's blocks once through each path, {@code inFlight} at a time, and adds
   * to {@code mismatches} each block whose CRC32 through either differs from the holder's copy.
   * Returns the efa-shuffle client's counters over its fetches (fabric or Netty).
   */
  private static TransportMetrics.Snapshot check(Plan plan, WindowedFetch fabric, WindowedFetch netty, int inFlight,
      int perRequest, String how, List<String> mismatches) throws InterruptedException {
    int n = plan.blockIds.length;
    int window = Math.max(perRequest, Math.min(inFlight, n));
    TransportMetrics.Snapshot before = TransportMetrics.get().snapshot();
    Map<String, Long> viaFabric = fabric.run(plan.blockIds, n, window, perRequest, true).checksums();
    TransportMetrics.Snapshot counts = TransportMetrics.get().snapshot().since(before);
    Map<String, Long> viaNetty = netty.run(plan.blockIds, n, window, perRequest, true).checksums();
    for (String id : plan.blockIds) {
      long want = plan.expected.get(id);
      if (viaFabric.get(id) != want || viaNetty.get(id) != want) {
        mismatches.add(String.format(Locale.ROOT, "%s: CRC32 on executor %s %08x, through the fabric client %08x, "
            + "through Netty %08x (%s)", id, plan.execId, want, viaFabric.get(id), viaNetty.get(id), how));
      }
    }
    return counts;
  }

  private static PathStats stats(List<WindowedFetch.Measurement> rounds) {
    List<WindowedFetch.Measurement> sorted = new ArrayList<>(rounds);
    sorted.sort(Comparator.comparingDouble(m -> (double) m.bytes() / m.nanos()));
    WindowedFetch.Measurement median = sorted.get(sorted.size() / 2);
    long[] all = rounds.stream().flatMapToLong(m -> Arrays.stream(m.latencies())).sorted().toArray();
    double seconds = median.nanos() / 1e9;
    return new PathStats(median.bytes() / seconds / 1e6, median.latencies().length / seconds,
        all[all.length / 2] / 1e3, all[Math.min(all.length - 1, (int) Math.ceil(all.length * 0.99) - 1)] / 1e3);
  }

  static void print(Options options, Result result) {
    System.out.printf("%nefa-shuffle block fetch: one executor JVM fetches another's shuffle blocks through "
        + "efa-shuffle's client (fabric) and Spark's Netty block transfer service (Netty), same blocks, same run%n");
    System.out.printf("%d block(s) per request; MB/s and blocks/s: median of %d rounds; latency: request to "
        + "delivery, over every timed fetch; ratio: fabric MB/s / Netty MB/s%n", options.perRequest, options.rounds);
    System.out.printf("%-12s %7s %9s %4s | %9s %9s %6s | %9s %9s | %8s %8s | %8s %8s%n", "provider", "block",
        "bytes", "fly", "fabric", "Netty", "ratio", "fabric", "Netty", "fabric", "µs", "Netty", "µs");
    System.out.printf("%-12s %7s %9s %4s | %9s %9s %6s | %9s %9s | %8s %8s | %8s %8s%n", "", "", "", "",
        "MB/s", "MB/s", "", "blocks/s", "blocks/s", "p50", "p99", "p50", "p99");
    for (Row r : result.rows) {
      System.out.printf(Locale.ROOT, "%-12s %7s %,9d %4d | %9.1f %9.1f %5.2fx | %,9.0f %,9.0f | %8.1f %8.1f | %8.1f %8.1f%n",
          r.provider, human(r.size), r.blockBytes, r.inFlight, r.fabric.megabytesPerSecond, r.netty.megabytesPerSecond,
          r.ratio(), r.fabric.blocksPerSecond, r.netty.blocksPerSecond, r.fabric.p50Micros, r.fabric.p99Micros,
          r.netty.p50Micros, r.netty.p99Micros);
    }
    long verified = result.rows.stream().mapToLong(Row::verifiedBlocks).sum();
    long overFabric = result.rows.stream().mapToLong(Row::fabricPathFabricBlocks).sum();
    System.out.printf("bytes checked: %d blocks, each through both paths one at a time and as many in flight as "
        + "timed, against the CRC32 of the holder's copy: %s; the fabric path read %d blocks over the fabric, %d over Netty%n", verified,
        result.rows.stream().allMatch(r -> r.mismatches.isEmpty()) ? "all equal" : "DIFFERENCES (see below)",
        overFabric, result.rows.stream().mapToLong(Row::fabricPathNettyBlocks).sum());
    for (Served s : result.served) {
      System.out.printf("%s: the serving executor answered %d fabric reads from pinned map outputs, %d staged from disk%n",
          s.provider, s.pinned, s.staged);
    }
  }

  static String human(long size) {
    return size >= 1 << 20 && size % (1 << 20) == 0 ? (size >> 20) + " MiB"
        : size >= 1 << 10 && size % (1 << 10) == 0 ? (size >> 10) + " KiB" : size + " B";
  }
}
