package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Two endpoints in one JVM, each on its own domain, reading each other's registered memory. */
@ExtendWith(NoNativeLeaks.class)
class FabricReadTest {
  private static final long DATA = 64L << 20;
  private static final int REGIONS = 4;
  private static final long LOCAL = 64L << 20;

  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  @ParameterizedTest
  @MethodSource("providers")
  void randomRangesAcrossRegistrationsArriveByteForByte(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), DATA, REGIONS);
         Reader reader = new Reader(p, target.describe())) {
      Random random = new Random(42);
      int crossing = 0;
      for (int i = 0; i < 40; i++) {
        long length = randomLength(random);
        long offset = (long) (random.nextDouble() * (DATA - length));
        if (i % 4 == 0) { // straddle a registration boundary on purpose
          long boundary = (1 + random.nextInt(REGIONS - 1)) * target.regionSize;
          offset = boundary - 1 - random.nextInt((int) Math.min(length - 1, Integer.MAX_VALUE));
        }
        if (offset / target.regionSize != (offset + length - 1) / target.regionSize) {
          crossing++;
        }
        reader.data.read(reader.endpoint, reader.peer, reader.region, 0, offset, length).get(30, TimeUnit.SECONDS);
        assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, offset, length),
            "read of " + length + " bytes at " + offset);
      }
      assertTrue(crossing >= 10, "ranges crossing a registration boundary: " + crossing);
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void windowOf64ReadsCompletesInAnyOrderWithCorrectData(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), DATA, REGIONS);
         Reader reader = new Reader(p, target.describe())) {
      Random random = new Random(7);
      int window = 64;
      long slot = LOCAL / window;
      for (int round = 0; round < 4; round++) {
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        long[] offsets = new long[window];
        long[] lengths = new long[window];
        for (int i = 0; i < window; i++) {
          lengths[i] = 4096 + random.nextInt((int) slot - 4096);
          offsets[i] = (long) (random.nextDouble() * (DATA - lengths[i]));
          reads.add(reader.data.read(reader.endpoint, reader.peer, reader.region, i * slot, offsets[i], lengths[i]));
        }
        CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
        for (int i = 0; i < window; i++) {
          assertEquals(-1, Patterns.firstMismatch(reader.memory, i * slot, offsets[i], lengths[i]),
              "read " + i + " of round " + round);
        }
      }
    }
  }

  /**
   * Providers that check keys: tcp;ofi_rxm here, efa in production. libfabric 1.17's shm reads
   * through cross-memory attach (process_vm_readv) without looking at the key or bounds, which
   * the OS allows between processes of one user anyway, so it has no error to report.
   */
  static Stream<TestProviders.Provider> keyCheckingProviders() {
    return TestProviders.all().filter(p -> !p.name().equals("shm"));
  }

  @ParameterizedTest
  @MethodSource("keyCheckingProviders")
  void readWithWrongKeyFailsWithTheProvidersError(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         Reader reader = new Reader(p, target.describe())) {
      long wrongKey = reader.data.keys[0] ^ 0x5a5a5a5aL;
      CompletableFuture<Long> read = reader.endpoint.read(reader.region, 0, 4096, reader.peer,
          reader.data.remoteAddresses[0], wrongKey);
      FabricException e = failure(read);
      assertEquals("fi_read", e.operation());
      assertTrue(e.errno() > 0, e.getMessage());
    }
  }

  @ParameterizedTest
  @MethodSource("keyCheckingProviders")
  void readOutOfBoundsFailsWithTheProvidersError(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         Reader reader = new Reader(p, target.describe())) {
      CompletableFuture<Long> read = reader.endpoint.read(reader.region, 0, 8192, reader.peer,
          reader.data.remoteAddresses[0] + (1L << 20) - 4096, reader.data.keys[0]);
      FabricException e = failure(read);
      assertEquals("fi_read", e.operation());
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void messagesArriveWithTheirLength(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         Reader reader = new Reader(p, target.describe())) {
      long back = target.endpoint.insertPeer(reader.endpoint.address());
      CompletableFuture<Long> received = target.endpoint.receive(target.regions.get(0), 0, 4096);
      Patterns.fill(reader.memory);
      reader.endpoint.send(reader.region, 100, 1000, reader.peer).get(10, TimeUnit.SECONDS);
      assertEquals(1000L, received.get(10, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(target.memory, 0, 100, 1000));
      CompletableFuture<Long> answer = reader.endpoint.receive(reader.region, 0, 64);
      target.endpoint.send(target.regions.get(0), 0, 64, back).get(10, TimeUnit.SECONDS);
      assertEquals(64L, answer.get(10, TimeUnit.SECONDS));
    }
  }

  /**
   * In one process only for tcp: libfabric 1.17's shm maps a peer's region once per process, so
   * closing the target endpoint in the same process unmaps what the reader still points at (a
   * crash inside libfabric). {@link TwoProcessReadTest} covers a dead shm peer in its own process.
   */
  @Test
  void readFromAClosedPeerFailsWithinTheTimeout() throws Exception {
    TestProviders.Provider p = new TestProviders.Provider("tcp;ofi_rxm", "lo");
    Duration timeout = Duration.ofSeconds(3);
    ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
    try (Reader reader = new Reader(p, target.describe(), timeout)) {
      reader.data.read(reader.endpoint, reader.peer, reader.region, 0, 0, 4096).get(10, TimeUnit.SECONDS);
      target.close();
      long start = System.nanoTime();
      CompletableFuture<Void> read = reader.data.read(reader.endpoint, reader.peer, reader.region, 0, 0, 4096);
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> read.get(timeout.toSeconds() + 10, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof FabricException, String.valueOf(e.getCause()));
      assertTrue(System.nanoTime() - start < timeout.toNanos() + TimeUnit.SECONDS.toNanos(5));
    } finally {
      target.close();
    }
  }

  @Test
  void anEmptyReadCompletesAndSettlesAtOnce() throws Exception {
    TestProviders.Provider p = new TestProviders.Provider("tcp;ofi_rxm", "lo");
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         Reader reader = new Reader(p, target.describe())) {
      FabricOperation empty = reader.endpoint.read(reader.region, 0, 0, reader.peer,
          reader.data.remoteAddresses[0], reader.data.keys[0]);
      assertEquals(0L, empty.getNow(-1L));
      assertTrue(empty.settled().isDone(), "an empty read, never posted, has settled");
    }
  }

  @Test
  void unknownProviderIsNamedAlongWithTheProvidersFound() {
    FabricException e = assertThrows(FabricException.class, () -> FabricDomain.open("nosuchprov", null));
    assertTrue(e.getMessage().contains("'nosuchprov'"), e.getMessage());
    assertTrue(e.getMessage().contains("shm"), e.getMessage());
    assertTrue(e.getMessage().contains("tcp;ofi_rxm"), e.getMessage());
  }

  @ParameterizedTest
  @MethodSource("providers")
  void readsLongerThanThePieceSizeArriveWholeInPieces(TestProviders.Provider p) throws Exception {
    // EFA reads at most 1 GiB at once and providers cap max_msg_size; the same splitting is
    // exercised here with 1 MiB pieces: one 64 MiB read becomes 64 fi_reads.
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), DATA, 1);
         Reader reader = new Reader(p, target.describe(), EndpointConfig.defaults().withMaxReadPiece(1 << 20))) {
      assertEquals(DATA, reader.data.read(reader.endpoint, reader.peer, reader.region, 0, 0, DATA)
          .thenApply(v -> DATA).get(60, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 0, DATA));
      long odd = DATA - 12345;
      assertEquals(odd, reader.endpoint.read(reader.region, 0, odd, reader.peer, reader.data.remoteAddresses[0] + 7,
          reader.data.keys[0]).get(60, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 7, odd));
    }
  }

  private static FabricException failure(CompletableFuture<?> future) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> future.get(30, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof FabricException, String.valueOf(e.getCause()));
    return (FabricException) e.getCause();
  }

  private static long randomLength(Random random) {
    // log-uniform from 4 KiB to 16 MiB
    double exp = 12 + random.nextDouble() * 12;
    return Math.max(4096, Math.min(16L << 20, (long) Math.pow(2, exp)));
  }

  /** The reading side: its own domain and endpoint, and a registered local buffer. */
  static final class Reader implements AutoCloseable {
    final FabricDomain domain;
    final FabricEndpoint endpoint;
    final NativeMemory memory;
    final MemoryRegion region;
    final RemoteData data;
    final long peer;

    Reader(TestProviders.Provider p, String description) {
      this(p, description, Duration.ofSeconds(60));
    }

    Reader(TestProviders.Provider p, String description, Duration timeout) {
      this(p, description, EndpointConfig.defaults().withOperationTimeout(timeout));
    }

    Reader(TestProviders.Provider p, String description, EndpointConfig config) {
      domain = FabricDomain.open(p.name(), p.domain());
      endpoint = domain.openEndpoint(config);
      memory = NativeMemory.allocate(LOCAL);
      region = domain.register(memory);
      data = new RemoteData(description);
      peer = endpoint.insertPeer(data.address);
    }

    @Override
    public void close() {
      domain.close();
      memory.close();
    }
  }
}
