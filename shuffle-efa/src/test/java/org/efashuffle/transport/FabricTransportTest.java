package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A server and a client transport, each on its own domain, moving map output blocks by fi_read. */
class FabricTransportTest {
  static final int MAPS = 20;
  static final int PARTITIONS = 30;

  static Stream<Arguments> providers() {
    return Stream.of(Arguments.of("shm", null), Arguments.of("tcp;ofi_rxm", "lo"));
  }

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  /** Map outputs laid out back to back in one registered block: map m, partition p has sizes[m][p] bytes. */
  static final class MapOutputs implements BlockSource, AutoCloseable {
    final NativeMemory memory;
    final long[][] offsets = new long[MAPS][PARTITIONS];
    final long[][] sizes = new long[MAPS][PARTITIONS];
    final AtomicInteger open = new AtomicInteger();
    final Semaphore closed = new Semaphore(0);
    /** Whether published blocks offer their bytes, so that an answer may carry them inline. */
    volatile boolean offerBytes;
    /** Bytes of blocks handed out for answers to carry. */
    final AtomicLong copied = new AtomicLong();
    MemoryRegion region;

    MapOutputs(Random random) {
      long total = 0;
      for (int m = 0; m < MAPS; m++) {
        for (int p = 0; p < PARTITIONS; p++) {
          int kind = random.nextInt(10);
          sizes[m][p] = kind == 0 ? 0 : kind < 8 ? 1 + random.nextInt(4096) : 4096 + random.nextInt(1 << 20);
          offsets[m][p] = total;
          total += sizes[m][p];
        }
      }
      memory = NativeMemory.allocate(total);
      byte[] data = new byte[(int) total];
      for (int i = 0; i < data.length; i++) {
        data[i] = expected(i);
      }
      memory.put(0, data, 0, data.length);
    }

    static byte expected(long i) {
      return (byte) ((i * 0x9E3779B97F4A7C15L) >>> 57);
    }

    /** Fails unless {@code data} holds exactly {@code length} bytes of the outputs from {@code start}. */
    static void assertBytes(ByteBuffer data, long start, long length, Object what) {
      assertEquals(length, data.remaining(), what.toString());
      for (int k = 0; k < data.remaining(); k++) {
        if (data.get(k) != expected(start + k)) {
          throw new AssertionError(what + ": wrong byte at " + k);
        }
      }
    }

    @Override
    public PublishedBlock publish(BlockRef block) {
      if (block.mapId() >= MAPS || block.endReduceId() > PARTITIONS) {
        return null;
      }
      int m = (int) block.mapId();
      long start = offsets[m][block.startReduceId()];
      long end = offsets[m][block.endReduceId() - 1] + sizes[m][block.endReduceId() - 1];
      open.incrementAndGet();
      return new PublishedBlock() {
        @Override public long remoteAddress() { return region.remoteAddress(start); }
        @Override public long length() { return end - start; }
        @Override public long key() { return region.key(); }
        @Override public ByteBuffer bytes() {
          if (!offerBytes) {
            return null;
          }
          copied.addAndGet(end - start);
          return memory.byteBuffer(start, (int) (end - start));
        }
        @Override public void close() {
          open.decrementAndGet();
          closed.release();
        }
      };
    }

    /** Deregisters, then frees; the transport serving it closes it, and so may its creator: idempotent. */
    @Override
    public void close() {
      if (region != null) {
        region.close();
      }
      memory.close();
    }
  }

  static Stream<Arguments> providersAndInline() {
    return providers().flatMap(a -> Stream.of(true, false).map(inline -> Arguments.of(a.get()[0], a.get()[1], inline)));
  }

  /**
   * With {@code inline}, the source offers published blocks' bytes: the small blocks of each fetch
   * come in the answer (as many as it holds) and the others are read, in one batch.
   */
  @ParameterizedTest(name = "{0} inline={2}")
  @MethodSource("providersAndInline")
  void everyBlockArrivesOnceWithItsBytes(String provider, String domain, boolean inline) throws Exception {
    Random random = new Random(5);
    try (MapOutputs outputs = new MapOutputs(random);
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> outputs);
         FabricTransport client = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> b -> null)) {
      outputs.region = server.domain().register(outputs.memory);
      outputs.offerBytes = inline;
      List<BlockRef> all = new ArrayList<>();
      for (int m = 0; m < MAPS; m++) {
        for (int p = 0; p < PARTITIONS; p += 1 + (m % 3)) {
          all.add(m % 3 == 2 && p + 2 <= PARTITIONS ? new BlockRef(0, m, p, p + 2) : BlockRef.of(0, m, p));
        }
      }
      all.add(BlockRef.of(0, MAPS + 7, 0)); // a map output the server does not have
      int published = 0;
      for (int from = 0; from < all.size(); from += 50) {
        List<BlockRef> batch = all.subList(from, Math.min(all.size(), from + 50));
        List<FetchedBlock> blocks = client.fetch(server.address(), batch).get(60, TimeUnit.SECONDS);
        assertEquals(batch.size(), blocks.size());
        for (int i = 0; i < blocks.size(); i++) {
          FetchedBlock b = blocks.get(i);
          BlockRef ref = batch.get(i);
          assertEquals(ref, b.ref());
          if (ref.mapId() >= MAPS) {
            assertEquals(BlockLocation.Status.NOT_FOUND, b.status());
            continue;
          }
          published++;
          int m = (int) ref.mapId();
          long start = outputs.offsets[m][ref.startReduceId()];
          long end = outputs.offsets[m][ref.endReduceId() - 1] + outputs.sizes[m][ref.endReduceId() - 1];
          MapOutputs.assertBytes(b.data(), start, end - start, ref);
        }
        blocks.forEach(FetchedBlock::release);
      }
      assertTrue(outputs.closed.tryAcquire(published, 30, TimeUnit.SECONDS), "server released every lease");
      assertEquals(0, outputs.open.get());
      assertEquals(0, server.leasedBlocks());
      long fetches = (all.size() + 49) / 50;
      if (inline) {
        assertTrue(outputs.copied.get() > 0 && outputs.copied.get() <= fetches * ControlChannel.PAYLOAD_SIZE,
            "bytes carried in answers: " + outputs.copied + " over " + fetches + " fetches");
      } else {
        assertEquals(0, outputs.copied.get());
      }
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void twoProcessesFetchFromEachOtherAtOnce(String provider, String domain) throws Exception {
    java.util.List<String> command = List.of(
        java.nio.file.Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), TransportServerMain.class.getName(),
        provider, domain == null ? "-" : domain);
    Process child = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try (java.io.BufferedReader out = new java.io.BufferedReader(
            new java.io.InputStreamReader(child.getInputStream(), java.nio.charset.StandardCharsets.UTF_8));
         MapOutputs expected = new MapOutputs(new Random(5));
         MapOutputs mine = new MapOutputs(new Random(5));
         FabricTransport client = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> mine)) {
      mine.region = client.domain().register(mine.memory);
      String ready = out.readLine();
      assertTrue(ready != null && ready.startsWith("READY "), "server did not start: " + ready);
      byte[] server = java.util.HexFormat.of().parseHex(ready.substring(6));
      // Both processes serve and fetch at once, as two executors of one shuffle do.
      child.getOutputStream().write((java.util.HexFormat.of().formatHex(client.address()) + "\n").getBytes());
      child.getOutputStream().flush();
      for (int m = 0; m < MAPS; m += 3) {
        List<BlockRef> refs = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
          refs.add(BlockRef.of(0, m, p));
        }
        List<FetchedBlock> blocks = client.fetch(server, refs).get(60, TimeUnit.SECONDS);
        for (int p = 0; p < PARTITIONS; p++) {
          MapOutputs.assertBytes(blocks.get(p).data(), expected.offsets[m][p], expected.sizes[m][p], refs.get(p));
          blocks.get(p).release();
        }
      }
      assertEquals("FETCHED", out.readLine(), "the other process fetched from this one");
    } finally {
      child.getOutputStream().close();
      assertEquals(0, child.waitFor(), "server process exit code");
    }
  }

  /**
   * A block that must be read from disk is published on the transport's I/O threads: while it
   * waits, the progress thread goes on answering requests for blocks in registered memory.
   */
  @ParameterizedTest
  @MethodSource("providers")
  void aBlockWaitingForDiskDoesNotHoldUpBlocksInMemory(String provider, String domain) throws Exception {
    java.util.concurrent.CountDownLatch disk = new java.util.concurrent.CountDownLatch(1);
    try (MapOutputs outputs = new MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> new BlockSource() {
           @Override
           public PublishedBlock publishFromMemory(BlockRef ref) {
             return ref.mapId() == 0 ? null : outputs.publish(ref); // map 0 is "on disk"
           }

           @Override
           public PublishedBlock publish(BlockRef ref) {
             try {
               assertTrue(disk.await(60, TimeUnit.SECONDS), "the disk never answered");
             } catch (InterruptedException e) {
               Thread.currentThread().interrupt();
             }
             return outputs.publish(ref);
           }
         });
         FabricTransport client = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> b -> null)) {
      outputs.region = server.domain().register(outputs.memory);
      java.util.concurrent.CompletableFuture<List<FetchedBlock>> slow =
          client.fetch(server.address(), List.of(BlockRef.of(0, 0, 1)));
      List<FetchedBlock> quick = client.fetch(server.address(), List.of(BlockRef.of(0, 1, 1))).get(30, TimeUnit.SECONDS);
      MapOutputs.assertBytes(quick.get(0).data(), outputs.offsets[1][1], outputs.sizes[1][1], "block 0/1/1");
      assertTrue(!slow.isDone(), "the block on disk is still waiting");
      disk.countDown();
      List<FetchedBlock> late = slow.get(30, TimeUnit.SECONDS);
      MapOutputs.assertBytes(late.get(0).data(), outputs.offsets[0][1], outputs.sizes[0][1], "block 0/0/1");
      quick.forEach(FetchedBlock::release);
      late.forEach(FetchedBlock::release);
    }
  }

  /**
   * Reads land in the client's receive pool, which never registers more than its budget (1 MiB
   * here); a batch larger than the pool gets memory of its own and arrives all the same.
   */
  @ParameterizedTest
  @MethodSource("providers")
  void batchesLargerThanTheReceivePoolArriveWithTheirBytes(String provider, String domain) throws Exception {
    long poolBytes = 1L << 20;
    try (MapOutputs outputs = new MapOutputs(new Random(7));
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> outputs);
         FabricTransport client = FabricTransport.open(provider, domain,
             TransportOptions.of(EndpointConfig.defaults()).withReceivePoolBytes(poolBytes), d -> b -> null)) {
      outputs.region = server.domain().register(outputs.memory);
      for (int m = 0; m < MAPS; m++) {
        List<BlockRef> refs = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
          refs.add(BlockRef.of(0, m, p));
        }
        List<FetchedBlock> blocks = client.fetch(server.address(), refs).get(60, TimeUnit.SECONDS);
        for (int p = 0; p < PARTITIONS; p++) {
          MapOutputs.assertBytes(blocks.get(p).data(), outputs.offsets[m][p], outputs.sizes[m][p], refs.get(p));
        }
        assertTrue(client.receivePoolBytes() <= poolBytes, "receive pool " + client.receivePoolBytes());
        blocks.forEach(FetchedBlock::release);
      }
      int small = 0;
      while (outputs.sizes[0][small] == 0 || outputs.sizes[0][small] > 4096) {
        small++;
      }
      List<FetchedBlock> one = client.fetch(server.address(), List.of(BlockRef.of(0, 0, small))).get(60, TimeUnit.SECONDS);
      MapOutputs.assertBytes(one.get(0).data(), outputs.offsets[0][small], outputs.sizes[0][small], "block 0/0/" + small);
      assertTrue(client.receivePoolBytes() > 0 && client.receivePoolBytes() <= poolBytes,
          "a small batch is read into the pool: " + client.receivePoolBytes());
      one.forEach(FetchedBlock::release);
    }
  }

  /**
   * A fetch whose batch needs a registration (the pool grows, or the batch is larger than the
   * pool) still arrives with its bytes, and the registration never runs on the progress thread,
   * whose every delay stalls every read of the executor (ibv_reg_mr on EFA pins pages).
   */
  @ParameterizedTest
  @MethodSource("providers")
  void memoryIsNeverRegisteredOnTheProgressThread(String provider, String domain) throws Exception {
    java.util.Set<String> registeringThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();
    RegisteredArena.registrationWatcher = thread -> registeringThreads.add(thread.getName());
    long poolBytes = 2L << 20;
    try (MapOutputs outputs = new MapOutputs(new Random(7));
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> outputs);
         FabricTransport client = FabricTransport.open(provider, domain,
             TransportOptions.of(EndpointConfig.defaults()).withReceivePoolBytes(poolBytes), d -> b -> null)) {
      outputs.region = server.domain().register(outputs.memory);
      for (int m = 0; m < 4; m++) {
        List<BlockRef> refs = new ArrayList<>();
        for (int p = 0; p < PARTITIONS; p++) {
          refs.add(BlockRef.of(0, m, p));
        }
        // m = 0 grows the empty pool; the others (a few MiB each) do not fit it and get their own memory.
        List<FetchedBlock> blocks = client.fetch(server.address(), refs).get(60, TimeUnit.SECONDS);
        for (int p = 0; p < PARTITIONS; p++) {
          MapOutputs.assertBytes(blocks.get(p).data(), outputs.offsets[m][p], outputs.sizes[m][p], refs.get(p));
        }
        blocks.forEach(FetchedBlock::release);
      }
      List<FetchedBlock> one = client.fetch(server.address(), List.of(BlockRef.of(0, 1, 1))).get(60, TimeUnit.SECONDS);
      MapOutputs.assertBytes(one.get(0).data(), outputs.offsets[1][1], outputs.sizes[1][1], "block 0/1/1");
      one.forEach(FetchedBlock::release);
      assertTrue(client.receivePoolBytes() > 0, "the pool grew");
    } finally {
      RegisteredArena.registrationWatcher = thread -> {};
    }
    assertTrue(registeringThreads.size() > 0, "the fetches registered memory");
    assertTrue(registeringThreads.stream().noneMatch(n -> n.startsWith("efa-fabric-progress")),
        "threads that registered memory: " + registeringThreads);
  }

  /**
   * With spark.authenticate the control messages are signed: a peer with the application's secret
   * reads, a peer with another secret is never answered (no memory key leaves the server) and its
   * fetch fails within the timeout, so Spark's reader falls back to Netty and its own SASL check.
   */
  @ParameterizedTest
  @MethodSource("providers")
  void onlyAPeerWithTheApplicationsSecretIsAnswered(String provider, String domain) throws Exception {
    EndpointConfig quick = EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(2));
    org.efashuffle.common.protocol.MessageAuthenticator app = new org.efashuffle.common.protocol.MessageAuthenticator(
        "app-1 secret".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    org.efashuffle.common.protocol.MessageAuthenticator stranger = new org.efashuffle.common.protocol.MessageAuthenticator(
        "app-2 secret".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    try (MapOutputs outputs = new MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(provider, domain, TransportOptions.of(quick).withAuthenticator(app), d -> outputs);
         FabricTransport member = FabricTransport.open(provider, domain, TransportOptions.of(quick).withAuthenticator(app), d -> b -> null);
         FabricTransport outsider = FabricTransport.open(provider, domain, TransportOptions.of(quick).withAuthenticator(stranger), d -> b -> null)) {
      outputs.region = server.domain().register(outputs.memory);
      ExecutionException refused = assertThrows(ExecutionException.class,
          () -> outsider.fetch(server.address(), List.of(BlockRef.of(0, 1, 1))).get(30, TimeUnit.SECONDS));
      assertTrue(refused.getCause() instanceof java.util.concurrent.TimeoutException
          || refused.getCause() instanceof org.efashuffle.fabric.FabricException, String.valueOf(refused.getCause()));
      assertEquals(0, outputs.open.get(), "nothing was published for the outsider");
      List<FetchedBlock> blocks = member.fetch(server.address(), List.of(BlockRef.of(0, 1, 1))).get(30, TimeUnit.SECONDS);
      MapOutputs.assertBytes(blocks.get(0).data(), outputs.offsets[1][1], outputs.sizes[1][1], "block 0/1/1");
      blocks.forEach(FetchedBlock::release);
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void aServerThatNeverAnswersFailsTheFetchWithinTheTimeout(String provider, String domain) throws Exception {
    EndpointConfig quick = EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(2));
    byte[] silent;
    try (FabricTransport client = FabricTransport.open(provider, domain, quick, d -> b -> null)) {
      // An endpoint that exists but is not a transport: it never posts receives, so never answers.
      try (org.efashuffle.fabric.FabricDomain d = org.efashuffle.fabric.FabricDomain.open(provider, domain)) {
        silent = d.openEndpoint(EndpointConfig.defaults()).address();
        ExecutionException e = assertThrows(ExecutionException.class,
            () -> client.fetch(silent, List.of(BlockRef.of(0, 0, 0))).get(30, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof java.util.concurrent.TimeoutException
            || e.getCause() instanceof org.efashuffle.fabric.FabricException, String.valueOf(e.getCause()));
      }
    }
  }
}
