package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.DataOutputStream;
import java.io.File;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.util.HexFormat;
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
  static final int MAPS = 24;
  static final int PARTITIONS = 16;
  private static final long SLAB = 1L << 20;

  @TempDir
  Path dir;

  /** Each provider with map outputs held as mapped files and as copies. */
  static Stream<Arguments> providers() {
    return Stream.of(true, false).flatMap(mapFiles -> Stream.of(Arguments.of("shm", null, mapFiles),
        Arguments.of("tcp;ofi_rxm", "lo", mapFiles)));
  }

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }



  /** Partition p of map m is [offsets[m][p], offsets[m][p + 1]) of its data file. */
  static long[][] offsets() {
    Random random = new Random(3);
    long[][] offsets = new long[MAPS][PARTITIONS + 1];
    for (int m = 0; m < MAPS; m++) {
      for (int p = 0; p < PARTITIONS; p++) {
        offsets[m][p + 1] = offsets[m][p] + random.nextInt(64 << 10);
      }
    }
    return offsets;
  }

  /** What is wrong with a block's bytes, or null when they are exactly the block's. */
  static String wrongByte(long[][] offsets, BlockRef ref, ByteBuffer data) {
    int m = (int) ref.mapId();
    long start = offsets[m][ref.startReduceId()];
    long length = offsets[m][ref.endReduceId()] - start;
    if (data.remaining() != length) {
      return ref + ": " + data.remaining() + " bytes, not " + length;
    }
    for (int k = 0; k < length; k++) {
      if (data.get(k) != MapOutputFiles.expected(m, start + k)) {
        return ref + ": wrong byte at " + k;
      }
    }
    return null;
  }

  private long[][] writeOutputs(EfaShuffleBlockResolver resolver) throws Exception {
    long[][] offsets = offsets();
    for (int m = 0; m < MAPS; m++) {
      byte[] bytes = new byte[(int) offsets[m][PARTITIONS]];
      for (int i = 0; i < bytes.length; i++) {
        bytes[i] = MapOutputFiles.expected(m, i);
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

  /** Waits for a fetch; it may fail (the transport closes), but it must complete. */
  private static void await(CompletableFuture<List<FetchedBlock>> fetch) throws Exception {
    try {
      fetch.get(60, TimeUnit.SECONDS).forEach(FetchedBlock::release); // a TimeoutException: a future that never completes
    } catch (ExecutionException e) {
      // closed under it
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void closingWhileThreadsFetchPinAndStageNeverCrashesAndLeavesNothingOpen(String provider, String domain,
      boolean mapFiles) throws Exception {
    EfaShuffleBlockResolver resolver = MapOutputFiles.resolverIn(dir);
    long[][] offsets = writeOutputs(resolver);
    TransportOptions options = TransportOptions.of(EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(5)))
        .withRequestTimeout(Duration.ofSeconds(2));
    MapOutputBlocks[] blocks = new MapOutputBlocks[1];
    FabricTransport closing = FabricTransport.open(provider, domain, options,
        d -> blocks[0] = new MapOutputBlocks(resolver, d, new MapOutputMemory(4 * SLAB, 64 * SLAB, mapFiles)));
    List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger taskFetches = new AtomicInteger();
    AtomicInteger pins = new AtomicInteger();
    AtomicInteger pinnedBig = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    Process reader = null;
    BufferedReader readerOut = null;
    try {
      PinnedMapOutputs pinned = blocks[0].pinned();
      for (int m = 0; m < MAPS; m += 2) { // half pinned (read from memory), half staged from disk per read
        pinned.pin(0, m, resolver.getDataFile(0, m), lengths(offsets[m]));
      }
      // A peer in another JVM, as executors are (pinned outputs are read from memory, the others staged).
      reader = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
          "-cp", System.getProperty("java.class.path"), PeerReaderMain.class.getName(), provider,
          domain == null ? "-" : domain, HexFormat.of().formatHex(closing.address()))
          .redirectError(ProcessBuilder.Redirect.INHERIT).start();
      readerOut = new BufferedReader(new InputStreamReader(reader.getInputStream(), StandardCharsets.UTF_8));
      String address = readerOut.readLine();
      assertTrue(address != null && address.startsWith("ADDRESS "), "peer started: " + address);
      byte[] peer = HexFormat.of().parseHex(address.substring(8));
      // Tasks of this executor fetch through the transport being closed.
      threads.add(loop("task-fetches", stop, taskFetches, failures,
          () -> await(closing.fetch(peer, List.of(BlockRef.of(0, 1, 1), BlockRef.of(0, 2, 2))))));
      // Tasks pin a big output (in shuffle 1) and remove it at once: each pin registers its file's pages
      // or (copying) a slab of its own, since it does not fit the first slab's room; removing deregisters it.
      File big = resolver.getDataFile(1, 0);
      Files.write(big.toPath(), new byte[(int) (30 * SLAB)]);
      long[] nextMap = {0};
      threads.add(loop("task-pins", stop, pins, failures, () -> {
        long id = nextMap[0]++;
        if (pinned.pin(1, id, big, new long[] {30 * SLAB})) {
          pinnedBig.incrementAndGet();
          pinned.remove(1, id);
        }
      }));
      assertEquals("UNDERWAY", readerOut.readLine(), "the peer reads this executor's outputs");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while ((taskFetches.get() < 3 || pinnedBig.get() < 10) && failures.isEmpty() && System.nanoTime() - deadline < 0) {
        Thread.yield(); // until the tasks' fetches and pins are under way too
      }
      assertTrue(failures.isEmpty(), "before close: " + failures);
      assertTrue(taskFetches.get() >= 3 && pinnedBig.get() >= 10,
          "work under way: task fetches " + taskFetches + ", pins " + pinnedBig + " of " + pins);
      long start = System.nanoTime();
      closing.close();
      System.out.printf("%s: closed in %d ms after %d task fetches and %d pins of a 30 MiB output (%d tried)%n",
          provider, (System.nanoTime() - start) / 1_000_000, taskFetches.get(), pinnedBig.get(), pins.get());
      CompletableFuture<List<FetchedBlock>> afterClose = closing.fetch(peer, List.of(BlockRef.of(0, 1, 1)));
      assertTrue(afterClose.isCompletedExceptionally(), "a fetch after close fails at once");
      reader.getOutputStream().close();
      String done = readerOut.readLine();
      System.out.println(provider + ": peer " + done);
      assertTrue(done != null && done.startsWith("DONE"), "the peer's reads all completed, every byte right: " + done);
      assertEquals(0, reader.waitFor(), "peer exit code");
    } finally {
      if (reader != null && reader.isAlive()) {
        reader.destroy();
      }
      stop.set(true);
      for (Thread t : threads) {
        t.join(TimeUnit.SECONDS.toMillis(120));
        assertTrue(!t.isAlive(), t.getName() + " finished");
      }
      closing.close();
      blocks[0].close(); // as the executor runtime does after the transport: already closed, nothing twice
    }
    assertTrue(failures.isEmpty(), "every future completed and every byte read was right: "
        + failures.stream().map(f -> f.getMessage() + ": " + f.getCause()).toList());
  }
}
