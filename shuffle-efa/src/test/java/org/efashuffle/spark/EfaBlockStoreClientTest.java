package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.buffer.NioManagedBuffer;
import org.apache.spark.network.shuffle.BlockFetchingListener;
import org.apache.spark.network.shuffle.BlockStoreClient;
import org.apache.spark.network.shuffle.DownloadFileManager;
import org.apache.spark.storage.BlockManagerId;
import org.efashuffle.common.Subnet;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.EndpointFaults;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;
import org.efashuffle.transport.BlockSource;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.TransportOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import scala.Option;

/**
 * The block store client's routing with a real fabric peer (two transports on tcp;ofi_rxm over
 * lo) and a stand-in for Spark's Netty client, no Spark cluster: request issue never waits for a
 * peer lookup, a fetch whose lookup completes later starts from a fallback thread, and a peer that
 * stops answering over the fabric is read over Netty at once until a probe finds it back.
 */
class EfaBlockStoreClientTest {
  private static final String PROVIDER = "tcp;ofi_rxm";
  private static final long BLOCK_BYTES = 4096;
  private static final long COOL_DOWN = TimeUnit.SECONDS.toNanos(30);
  private static final String[] BLOCKS = {"shuffle_0_1_0", "shuffle_0_2_0"};

  private final AtomicLong now = new AtomicLong();
  private final FakeNetty netty = new FakeNetty();
  private final ExecutorService fallbackThreads = Executors.newCachedThreadPool(r -> new Thread(r, "test-fallback"));
  private final AtomicInteger published = new AtomicInteger();
  private volatile CountDownLatch serverStopped = new CountDownLatch(0);
  private NativeMemory served;
  private MemoryRegion servedRegion;
  private FabricTransport server;
  private FabricTransport reader;
  private EfaBlockStoreClient client;
  private PeerInfo self;
  /** With the external shuffle service on: the service's client (Spark's client then), and the master's list. */
  private final FakeNetty service = new FakeNetty();
  private volatile Map<String, BlockManagerId> master = Map.of();
  private final AtomicInteger masterAsks = new AtomicInteger();

  @BeforeEach
  void open() throws Exception {
    served = NativeMemory.allocate(BLOCK_BYTES);
    server = FabricTransport.open(PROVIDER, "lo", EndpointConfig.defaults(), d -> this::publish);
    servedRegion = server.domain().register(served);
    reader = FabricTransport.open(PROVIDER, "lo", TransportOptions.of(EndpointConfig.defaults())
        .withRequestTimeout(Duration.ofSeconds(5)), d -> b -> null);
    Subnet lo = new Subnet(InetAddress.getLoopbackAddress(), 8);
    netty.peerInfo = new PeerInfo(PROVIDER, server.domain().fabricName(), lo, PeerInfo.thisHost(), server.address()).encode();
    self = new PeerInfo(PROVIDER, reader.domain().fabricName(), lo, PeerInfo.thisHost(), reader.address());
    client = new EfaBlockStoreClient(netty, false, reader, self,
        new PeerDirectory(netty, TimeUnit.SECONDS.toMillis(10), fallbackThreads), fallbackThreads, false,
        new PeerBreakers(COOL_DOWN, now::get));
  }

  /** The server's blocks: all of {@link #served}, once the server is not stopped. */
  private BlockSource.PublishedBlock publish(BlockRef block) {
    published.incrementAndGet();
    try {
      serverStopped.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return BlockSource.PublishedBlock.of(servedRegion.remoteAddress(0), BLOCK_BYTES, servedRegion.key(), () -> {});
  }

  @AfterEach
  void close() throws Exception {
    serverStopped.countDown();
    client.close();
    service.close();
    reader.close();
    server.close();
    served.close();
    fallbackThreads.shutdown();
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  @Test
  void requestIssueNeverWaitsForALookupAndItsAnswerRoutesTheBlocksOverTheFabric() throws Exception {
    netty.holdLookups = new CompletableFuture<>();
    Fetch fetch = new Fetch();
    client.fetchBlocks("localhost", 7337, "1", BLOCKS, fetch, null);
    assertEquals(Map.of(), fetch.paths, "nothing can have arrived while the lookup is held");
    assertEquals(List.of(), netty.dataFetchThreads, "no Netty fetch while the lookup is due");
    netty.holdLookups.complete(null); // the peer info arrives now, on the fake event loop
    fetch.await();
    assertEquals(Map.of("shuffle_0_1_0", "fabric", "shuffle_0_2_0", "fabric"), fetch.paths);
    assertEquals(List.of(), netty.dataFetchThreads);
  }

  @Test
  void aPeerWhoseLookupFailsIsReadOverNettyStartedFromAFallbackThread() throws Exception {
    netty.peerInfo = null; // the lookup fails on the fake event loop
    Fetch fetch = new Fetch();
    client.fetchBlocks("localhost", 7337, "1", BLOCKS, fetch, null);
    fetch.await();
    assertEquals(Map.of("shuffle_0_1_0", "netty", "shuffle_0_2_0", "netty"), fetch.paths);
    assertEquals(List.of("test-fallback"), netty.dataFetchThreads);
  }

  @Test
  void aPeerThatStopsAnsweringIsReadOverNettyAtOnceUntilAProbeFindsItBack() throws Exception {
    // Warm up: the peer is known and answers over the fabric.
    assertEquals("fabric", fetchAll().get("shuffle_0_1_0"));
    TransportMetrics.Snapshot before = TransportMetrics.get().snapshot();
    serverStopped = new CountDownLatch(1);
    int requests = published.get();

    assertEquals("netty", fetchAll().get("shuffle_0_1_0"), "no answer within the request timeout: Netty");
    assertEquals(requests + 1, published.get());
    assertEquals(1, TransportMetrics.get().snapshot().since(before).breakerOpenings());

    assertEquals("netty", fetchAll().get("shuffle_0_1_0"), "breaker open: Netty");
    assertEquals(requests + 1, published.get(), "no fabric request while the breaker is open");

    now.addAndGet(COOL_DOWN);
    assertEquals("netty", fetchAll().get("shuffle_0_1_0"), "the probe finds the peer still stopped");
    assertEquals(requests + 2, published.get(), "one probe request");
    assertEquals(2, TransportMetrics.get().snapshot().since(before).breakerOpenings());
    assertEquals("netty", fetchAll().get("shuffle_0_1_0"));
    assertEquals(requests + 2, published.get());

    serverStopped.countDown(); // the peer resumes
    now.addAndGet(COOL_DOWN);
    assertEquals("fabric", fetchAll().get("shuffle_0_1_0"), "the probe succeeds");
    assertEquals("fabric", fetchAll().get("shuffle_0_1_0"), "closed again");
    assertEquals(2, TransportMetrics.get().snapshot().since(before).breakerOpenings());
  }

  /** (Added by the native-bridge helper: the client's hook for a transport whose endpoint failed.) */
  @Test
  void aReaderWhoseOwnFabricFailedReadsOverNettyWithoutAskingThePeer() throws Exception {
    assertEquals("fabric", fetchAll().get("shuffle_0_1_0"));
    TransportMetrics.Snapshot before = TransportMetrics.get().snapshot();
    int requests = published.get();
    EndpointFaults.cannotGoOn(reader.endpointForTests());
    reader.failure().get(60, TimeUnit.SECONDS);

    assertEquals(Map.of("shuffle_0_1_0", "netty", "shuffle_0_2_0", "netty"), fetchAll());
    assertEquals(requests, published.get(), "no fabric request through a failed transport");
    assertEquals(0, TransportMetrics.get().snapshot().since(before).fallbacks(),
        "sent to Netty directly, not as a fabric fetch that failed");
  }

  @Test
  void withTheServiceOnALiveExecutorIsReadOverTheFabricItsPeerInfoAskedOfItsOwnBlockManager() throws Exception {
    client = withService();
    master = Map.of("1", BlockManagerId.apply("1", "localhost", 40001, Option.empty()));
    assertEquals(Map.of("shuffle_0_1_0", "fabric", "shuffle_0_2_0", "fabric"), fetchAll());
    assertEquals(List.of("localhost:40001"), netty.lookupAddresses, "peer info from the executor's block manager");
    assertEquals(List.of(), service.lookupAddresses, "never from the service");
    assertEquals(List.of(), service.dataAddresses);
  }

  @Test
  void withTheServiceOnAnExecutorTheMasterDoesNotListIsReadFromTheServiceWithoutAskingIt() throws Exception {
    client = withService();
    master = Map.of("2", BlockManagerId.apply("2", "localhost", 40002, Option.empty())); // executor 1 has left
    assertEquals(Map.of("shuffle_0_1_0", "netty", "shuffle_0_2_0", "netty"), fetchAll());
    assertEquals(List.of("localhost:7337"), service.dataAddresses, "from the service's address");
    assertEquals(List.of(), netty.lookupAddresses, "no lookup of an executor that left");
    assertEquals(0, published.get(), "no fabric request");
  }

  @Test
  void anExecutorThatLeavesAfterItWasFoundIsReadFromTheServiceOnceTheMasterNoLongerListsIt() throws Exception {
    client = withService();
    master = Map.of("1", BlockManagerId.apply("1", "localhost", 40001, Option.empty()));
    assertEquals("fabric", fetchAll().get("shuffle_0_1_0"));
    int asks = masterAsks.get();
    assertEquals("fabric", fetchAll().get("shuffle_0_1_0"));
    assertEquals(asks, masterAsks.get(), "the master's answer is kept while it is young");
    TransportMetrics.Snapshot before = TransportMetrics.get().snapshot();
    int requests = published.get();

    master = Map.of(); // executor 1 is released
    now.addAndGet(ExecutorBlockManagers.MAX_AGE_NANOS);
    assertEquals(Map.of("shuffle_0_1_0", "netty", "shuffle_0_2_0", "netty"), fetchAll());
    assertEquals(asks + 1, masterAsks.get(), "the master asked again once its answer aged");
    assertEquals(requests, published.get(), "no fabric request to an executor that left");
    assertEquals(List.of("localhost:7337"), service.dataAddresses, "from the service");
    assertEquals(0, TransportMetrics.get().snapshot().since(before).breakerOpenings(), "no fabric failure, no timeout");
  }

  @Test
  void aFabricFailureMakesTheNextLookupAskTheMasterSoAnExecutorThatLeftIsNotTriedAgain() throws Exception {
    client = withService();
    master = Map.of("1", BlockManagerId.apply("1", "localhost", 40001, Option.empty()));
    assertEquals("fabric", fetchAll().get("shuffle_0_1_0"));
    TransportMetrics.Snapshot before = TransportMetrics.get().snapshot();
    int requests = published.get();
    int asks = masterAsks.get();

    master = Map.of(); // executor 1 is released while the master's last answer is still young ...
    serverStopped = new CountDownLatch(1); // ... and its endpoint answers no more
    assertEquals("netty", fetchAll().get("shuffle_0_1_0"), "the fabric request fails: from the service");
    assertEquals(requests + 1, published.get());
    assertEquals(asks, masterAsks.get(), "the young answer was trusted");

    assertEquals("netty", fetchAll().get("shuffle_0_1_0"));
    assertEquals(asks + 1, masterAsks.get(), "after the failure the master is asked again at once");

    now.addAndGet(COOL_DOWN); // the breaker would let one request try the fabric again
    assertEquals(Map.of("shuffle_0_1_0", "netty", "shuffle_0_2_0", "netty"), fetchAll());
    assertEquals(requests + 1, published.get(), "no fabric request to an executor the master no longer lists");
    assertEquals(1, TransportMetrics.get().snapshot().since(before).breakerOpenings());
  }

  /** A client as the executor runtime makes it when the external shuffle service is on (at port 7337). */
  private EfaBlockStoreClient withService() throws Exception {
    client.close();
    ExecutorBlockManagers blockManagers = new ExecutorBlockManagers(() -> {
      masterAsks.incrementAndGet();
      return master;
    }, fallbackThreads, now::get);
    return new EfaBlockStoreClient(service, false, reader, self,
        new PeerDirectory(netty, blockManagers, TimeUnit.SECONDS.toMillis(10), fallbackThreads), fallbackThreads, false,
        new PeerBreakers(COOL_DOWN, now::get));
  }

  private Map<String, String> fetchAll() throws Exception {
    Fetch fetch = new Fetch();
    client.fetchBlocks("localhost", 7337, "1", BLOCKS, fetch, null);
    fetch.await();
    assertEquals(BLOCKS.length, fetch.paths.size(), fetch.paths.toString());
    return fetch.paths;
  }

  /** What one fetch delivered: each block's path (fabric or netty), once. */
  private static final class Fetch implements BlockFetchingListener {
    final Map<String, String> paths = new ConcurrentHashMap<>();
    final CountDownLatch arrived = new CountDownLatch(BLOCKS.length);

    @Override
    public void onBlockFetchSuccess(String blockId, ManagedBuffer data) {
      String path = data instanceof FabricManagedBuffer ? "fabric" : "netty";
      if (paths.put(blockId, path) != null) {
        throw new AssertionError(blockId + " delivered twice");
      }
      assertEquals(BLOCK_BYTES, data.size(), blockId);
      arrived.countDown();
    }

    @Override
    public void onBlockFetchFailure(String blockId, Throwable exception) {
      paths.put(blockId, "failed: " + exception);
      arrived.countDown();
    }

    void await() throws InterruptedException {
      assertTrue(arrived.await(60, TimeUnit.SECONDS), "blocks still missing: " + paths);
    }
  }

  /**
   * Spark's Netty client as the client sees it: answers on its own "event loop" thread, peer-info
   * lookups with {@link #peerInfo} (a failure when null) once {@link #holdLookups} completes, data
   * blocks with {@link #BLOCK_BYTES} bytes each, noting the thread each data fetch started on.
   */
  private static final class FakeNetty extends BlockStoreClient {
    final ExecutorService eventLoop = Executors.newSingleThreadExecutor(r -> new Thread(r, "fake-event-loop"));
    final List<String> dataFetchThreads = new CopyOnWriteArrayList<>();
    final List<String> lookupAddresses = new CopyOnWriteArrayList<>();
    final List<String> dataAddresses = new CopyOnWriteArrayList<>();
    volatile byte[] peerInfo;
    volatile CompletableFuture<Void> holdLookups = CompletableFuture.completedFuture(null);

    @Override
    public void fetchBlocks(String host, int port, String execId, String[] blockIds, BlockFetchingListener listener,
        DownloadFileManager downloadFileManager) {
      if (blockIds.length == 1 && blockIds[0].equals(PeerDirectory.PEER_BLOCK)) {
        lookupAddresses.add(host + ":" + port);
        byte[] info = peerInfo;
        holdLookups.thenRunAsync(() -> {
          if (info == null) {
            listener.onBlockFetchFailure(blockIds[0], new java.io.IOException("no such block"));
          } else {
            listener.onBlockFetchSuccess(blockIds[0], new NioManagedBuffer(ByteBuffer.wrap(info)));
          }
        }, eventLoop);
        return;
      }
      dataFetchThreads.add(Thread.currentThread().getName());
      dataAddresses.add(host + ":" + port);
      eventLoop.execute(() -> {
        for (String id : blockIds) {
          listener.onBlockFetchSuccess(id, new NioManagedBuffer(ByteBuffer.allocate((int) BLOCK_BYTES)));
        }
      });
    }

    @Override
    public void close() {
      eventLoop.shutdown();
    }
  }
}
