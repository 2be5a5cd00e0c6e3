package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.spark.SparkConf;
import org.apache.spark.shuffle.IndexShuffleBlockResolver;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.FetchedBlock;
import org.efashuffle.transport.TransportOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Executor stop closes the transport while tasks still fetch through it, peers read its map
 * outputs (pinned ones from registered memory, the others staged from disk on its I/O threads)
 * and task threads pin new outputs (registering slabs): the JVM survives, every future
 * completes, and no native object stays open.
 */
class TransportCloseTest {
  private static final int MAPS = 24;
  private static final int PARTITIONS = 16;
  private static final long SLAB = 1L << 20;

  @TempDir
  Path dir;

  static Stream<Arguments> providers() {
    return Stream.of(Arguments.of("shm", null), Arguments.of("tcp;ofi_rxm", "lo"));
  }

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  private static byte expected(long mapId, long i) {
    return (byte) (((i + 1) * 0x9E3779B97F4A7C15L + mapId * 0x632BE59BD9B4E019L) >>> 56);
  }

  /** Spark's layout: shuffle_S_M_0.data and an index of partition offsets (big-endian longs). */
  private final class Resolver extends IndexShuffleBlockResolver {
    Resolver() {
      super(new SparkConf(false));
    }

    @Override
    public File getDataFile(int shuffleId, long mapId) {
      return dir.resolve("shuffle_" + shuffleId + "_" + mapId + "_0.data").toFile();
    }

    @Override
    public File getIndexFile(int shuffleId, long mapId, scala.Option<String[]> dirs) {
      return dir.resolve("shuffle_" + shuffleId + "_" + mapId + "_0.index").toFile();
    }
  }

  private long[][] writeOutputs(Resolver resolver) throws Exception {
    Random random = new Random(3);
    long[][] offsets = new long[MAPS][PARTITIONS + 1];
    for (int m = 0; m < MAPS; m++) {
      for (int p = 0; p < PARTITIONS; p++) {
        offsets[m][p + 1] = offsets[m][p] + random.nextInt(64 << 10);
      }
      byte[] bytes = new byte[(int) offsets[m][PARTITIONS]];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = expected(m, i);
      }
      Files.write(resolver.getDataFile(0, m).toPath(), bytes);
      try (DataOutputStream index = new DataOutputStream(new FileOutputStream(
          resolver.getIndexFile(0, m, scala.Option.empty())))) {
        for (long o : offsets[m]) {
          index.writeLong(o);
        }
      }
    }
    return offsets;
  }

  private static long[] lengths(long[] offsets) {
    long[] lengths = new long[PARTITIONS];
    for (int p = 0; p < PARTITIONS; p++) {
      lengths[p] = offsets[p + 1] - offsets[p];
    }
    return lengths;
  }

  /** Runs {@code body} until stop, counting its rounds; what it throws ends the thread and is kept. */
  private static Thread loop(String name, AtomicBoolean stop, AtomicInteger rounds, List<Throwable> failures,
      ThrowingRunnable body) {
    Thread t = new Thread(() -> {
      try {
        while (!stop.get()) {
          body.run();
          rounds.incrementAndGet();
        }
      } catch (Throwable e) {
        failures.add(new AssertionError(name + " failed", e));
      }
    }, name);
    t.start();
    return t;
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  /** Waits for a fetch; it may fail (the transport closes), but it must complete, and what arrived is exact. */
  private static void await(CompletableFuture<List<FetchedBlock>> fetch, long[][] offsets, AtomicInteger served)
      throws Exception {
    List<FetchedBlock> blocks;
    try {
      blocks = fetch.get(60, TimeUnit.SECONDS); // a TimeoutException here: a future that never completes
    } catch (ExecutionException e) {
      return;
    }
    try {
      for (FetchedBlock b : blocks) {
        if (b.status() != BlockLocation.Status.OK || offsets == null) {
          continue;
        }
        int m = (int) b.ref().mapId();
        long start = offsets[m][b.ref().startReduceId()];
        ByteBuffer data = b.data();
        assertEquals(offsets[m][b.ref().endReduceId()] - start, data.remaining(), b.ref().toString());
        for (int k = 0; k < data.remaining(); k++) {
          if (data.get(k) != expected(m, start + k)) {
            throw new AssertionError(b.ref() + ": wrong byte at " + k);
          }
        }
        served.incrementAndGet();
      }
    } finally {
      blocks.forEach(FetchedBlock::release);
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void closingWhileThreadsFetchPinAndStageNeverCrashesAndLeavesNothingOpen(String provider, String domain)
      throws Exception {
    Resolver resolver = new Resolver();
    long[][] offsets = writeOutputs(resolver);
    TransportOptions options = TransportOptions.of(EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(5)))
        .withRequestTimeout(Duration.ofSeconds(2));
    MapOutputBlocks[] blocks = new MapOutputBlocks[1];
    FabricTransport peer = FabricTransport.open(provider, domain, options, d -> b -> null);
    FabricTransport closing = FabricTransport.open(provider, domain, options,
        d -> blocks[0] = new MapOutputBlocks(resolver, d, 4 * SLAB, 4 * SLAB));
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger served = new AtomicInteger();
    AtomicInteger[] rounds = {new AtomicInteger(), new AtomicInteger(), new AtomicInteger(), new AtomicInteger()};
    List<Thread> threads = new ArrayList<>();
    try {
      PinnedMapOutputs pinned = blocks[0].pinned();
      for (int m = 0; m < MAPS; m += 2) { // half pinned (read from memory), half staged from disk per read
        pinned.pin(0, m, resolver.getDataFile(0, m), lengths(offsets[m]));
      }
      for (int t = 0; t < 2; t++) {
        Random random = new Random(t);
        threads.add(loop("peer-reads-" + t, stop, rounds[t], failures, () -> {
          List<BlockRef> refs = new ArrayList<>();
          for (int i = 0; i < 8; i++) {
            int p = random.nextInt(PARTITIONS);
            refs.add(new BlockRef(0, random.nextInt(MAPS), p, p + 1 + random.nextInt(PARTITIONS - p)));
          }
          await(peer.fetch(closing.address(), refs), offsets, served);
        }));
      }
      threads.add(loop("task-fetches", stop, rounds[2], failures,
          () -> await(closing.fetch(peer.address(), List.of(BlockRef.of(0, 1, 1), BlockRef.of(0, 2, 2))), null, served)));
      long[] nextMap = {1000};
      threads.add(loop("task-pins", stop, rounds[3], failures, () -> {
        // Each output is pinned and removed at once: the shrinking pool registers a slab again and again.
        int m = (int) (nextMap[0] % MAPS);
        long id = nextMap[0]++;
        if (pinned.pin(0, id, resolver.getDataFile(0, m), lengths(offsets[m]))) {
          pinned.remove(0, id);
        }
      }));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while ((served.get() < 20 || rounds[2].get() < 3 || rounds[3].get() < 20) && failures.isEmpty()
          && System.nanoTime() - deadline < 0) {
        Thread.yield(); // until every kind of work is under way
      }
      assertTrue(failures.isEmpty(), "before close: " + failures);
      assertTrue(served.get() >= 20 && rounds[2].get() >= 3 && rounds[3].get() >= 20, "work under way: served "
          + served + ", task fetches " + rounds[2] + ", pins " + rounds[3]);
      long start = System.nanoTime();
      closing.close();
      System.out.printf("%s: closed in %d ms while %d blocks had been read, %d task fetches and %d pins done%n",
          provider, (System.nanoTime() - start) / 1_000_000, served.get(), rounds[2].get(), rounds[3].get());
      CompletableFuture<List<FetchedBlock>> afterClose = closing.fetch(peer.address(), List.of(BlockRef.of(0, 1, 1)));
      assertTrue(afterClose.isCompletedExceptionally(), "a fetch after close fails at once");
    } finally {
      stop.set(true);
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(120));
        assertTrue(!t.isAlive(), t.getName() + " finished");
      }
      closing.close();
      blocks[0].close(); // as the executor runtime does after the transport: already closed, nothing twice
      peer.close();
    }
    assertTrue(failures.isEmpty(), "every future completed and every byte read was right: " + failures);
  }
}
