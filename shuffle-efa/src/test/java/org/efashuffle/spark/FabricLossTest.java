package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataOutputStream;
import java.io.FileOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.EndpointFaults;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.FetchedBlock;
import org.efashuffle.transport.TransportOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * An executor whose fabric endpoint cannot go on (here: the error an efa endpoint reports when
 * it cannot post its internal receive buffers, written into the real event queue through the
 * native bridge's test seam) stops offering the fabric: its peer info is removed, its transport
 * is no longer used for its own reads, and its fabric is closed (off the progress thread), so a
 * peer's request fails instead of being served (printed: how long that takes; on tcp;ofi_rxm here
 * a few ms for a peer already connected to it, the request timeout for a new one). Tested at the runtime level (no Spark context):
 * the Spark-level wiring is the runtime's {@code start}, which hands it the block manager's
 * removal of the peer-info block.
 */
class FabricLossTest {
  private static final byte[] DATA = "map output 0 of shuffle 0, one partition".getBytes();

  @TempDir
  Path dir;

  static Stream<Arguments> providers() {
    return Stream.of(Arguments.of("shm", null), Arguments.of("tcp;ofi_rxm", "lo"));
  }


  @ParameterizedTest
  @MethodSource("providers")
  void anEndpointThatCannotGoOnTurnsTheExecutorsFabricOff(String provider, String domain) throws Exception {
    EfaShuffleBlockResolver resolver = MapOutputFiles.resolverIn(dir);
    Files.write(resolver.getDataFile(0, 0).toPath(), DATA);
    try (DataOutputStream index = new DataOutputStream(new FileOutputStream(
        resolver.getIndexFile(0, 0, scala.Option.empty())))) {
      index.writeLong(0);
      index.writeLong(DATA.length);
    }
    TransportOptions options = TransportOptions.of(EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(10)))
        .withRequestTimeout(Duration.ofSeconds(3));
    ExecutorService fallbackThreads = Executors.newCachedThreadPool();
    AtomicInteger unpublished = new AtomicInteger();
    ExecutorFabric fabric = ExecutorFabric.open(provider, domain, options, resolver,
        new MapOutputMemory(1L << 20, 1L << 20, true));
    EfaExecutorRuntime runtime = new EfaExecutorRuntime(fabric, resolver, fallbackThreads, unpublished::incrementAndGet);
    FabricTransport transport = fabric.transport();
    byte[] address = transport.address();
    try (FabricTransport peer = FabricTransport.open(provider, domain, options, d -> b -> null)) {
      runtime.watchFailure();
      assertTrue(runtime.offersFabric());
      assertEquals(ByteBuffer.wrap(DATA), readBlock(peer, address), "served over the fabric before the fault");

      EndpointFaults.cannotGoOn(transport.endpointForTests());
      runtime.fabricOff().get(60, TimeUnit.SECONDS);

      assertFalse(runtime.offersFabric());
      assertEquals(1, unpublished.get(), "the peer info block is removed once, so new lookups miss");
      assertFalse(transport.usable(), "this executor's own reads no longer go to the transport");
      assertTrue(transport.failure().isDone());
      assertTrue(transport.fetch(address, List.of(BlockRef.of(0, 0, 0))).isCompletedExceptionally(),
          "the transport is closed");
      if (!provider.equals("shm")) { // shm crashes sending to a closed endpoint of the same process (README)
        long start = System.nanoTime();
        assertThrows(ExecutionException.class, () -> readBlock(peer, address),
            "a peer that still has the old address is not served");
        System.out.printf("%s: a peer's request to the executor whose fabric is off failed after %d ms"
            + " (request timeout %d ms)%n", provider, (System.nanoTime() - start) / 1_000_000,
            options.requestTimeout().toMillis());
        try (FabricTransport newPeer = FabricTransport.open(provider, domain, options, d -> b -> null)) {
          long fresh = System.nanoTime();
          assertThrows(ExecutionException.class, () -> readBlock(newPeer, address),
              "a peer that never reached it before is not served either");
          System.out.printf("%s: a new peer's first request to it failed after %d ms%n", provider,
              (System.nanoTime() - fresh) / 1_000_000);
        }
      }
      assertTrue(peer.usable(), "the peer's own fabric goes on");
    }
    assertTrue(Fabric.openObjects().isZero(), "the lost fabric was closed: " + Fabric.openObjects());
    runtime.close(); // executor stop afterwards: nothing left to close, nothing closed twice
    fallbackThreads.shutdown();
  }

  /** One block read by {@code reader} from the executor at {@code address}; fails when it is not served. */
  private static ByteBuffer readBlock(FabricTransport reader, byte[] address) throws Exception {
    List<FetchedBlock> blocks = reader.fetch(address, List.of(BlockRef.of(0, 0, 0))).get(60, TimeUnit.SECONDS);
    FetchedBlock block = blocks.get(0);
    try {
      if (block.status() != BlockLocation.Status.OK) {
        throw new ExecutionException(new IllegalStateException("not served: " + block.status()));
      }
      ByteBuffer copy = ByteBuffer.allocate((int) block.length());
      copy.put(block.data().duplicate()).flip();
      return copy;
    } finally {
      block.release();
    }
  }
}
