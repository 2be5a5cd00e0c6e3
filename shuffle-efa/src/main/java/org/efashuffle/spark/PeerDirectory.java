package org.efashuffle.spark;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.shuffle.BlockFetchingListener;
import org.apache.spark.network.shuffle.BlockStoreClient;
import org.apache.spark.storage.TestBlockId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds each peer executor's {@link PeerInfo}, once per executor: a small block that the peer
 * keeps in its own block manager, fetched over Netty. An executor has one id for its life, so a
 * lost and replaced executor is a new entry, never a stale address. A peer that does not answer
 * (not running this plugin, fabric off, or a failed connection) is read over Netty, and asked
 * again after {@link #RETRY_NANOS}. A lookup never blocks its caller: one not answered within the
 * timeout is a miss for that fetch, and its answer, when it comes, serves the next.
 *
 * <p>With the external shuffle service on, the address a map output names is the service's: the
 * peer's own block manager is found through the driver's master ({@link ExecutorBlockManagers}),
 * and a peer the master no longer lists has left, so it is a miss (its blocks come from the
 * service), even if it was found before.
 */
final class PeerDirectory {
  static final String PEER_BLOCK = new TestBlockId("efashuffle_peer").name();
  private static final Logger LOG = LoggerFactory.getLogger(PeerDirectory.class);

  private final BlockStoreClient netty;
  private final ExecutorBlockManagers blockManagers; // null: the addresses given are the executors' own
  private final long timeoutMillis;
  private final Executor askThreads;
  static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(60);

  private record Lookup(long startNanos, CompletableFuture<Optional<PeerInfo>> info) {}

  private final ConcurrentHashMap<String, Lookup> peers = new ConcurrentHashMap<>();

  /**
   * @param timeoutMillis how long a fetch waits for a lookup before it reads the peer over Netty
   * @param askThreads where lookups are sent: Spark's client may block while it connects
   */
  PeerDirectory(BlockStoreClient netty, long timeoutMillis, Executor askThreads) {
    this(netty, null, timeoutMillis, askThreads);
  }

  /**
   * @param netty Spark's client to executors' block managers (not the shuffle service's client)
   * @param blockManagers where executors' own block managers are, when the addresses fetches name
   *     are the external shuffle service's; null when they are the executors' own
   */
  PeerDirectory(BlockStoreClient netty, ExecutorBlockManagers blockManagers, long timeoutMillis, Executor askThreads) {
    this.netty = netty;
    this.blockManagers = blockManagers;
    this.timeoutMillis = timeoutMillis;
    this.askThreads = askThreads;
  }

  /**
   * The peer's info: done at once when it is known (or known to be missing); else completed with
   * it, or with empty after the timeout, on another thread (a Netty event loop or a timer: callers
   * must not start a fetch there). Never completes exceptionally.
   */
  CompletableFuture<Optional<PeerInfo>> lookup(String host, int port, String executorId) {
    String key = executorId + "@" + host + ":" + port;
    Lookup lookup = peers.compute(key, (k, known) -> known == null || isStaleMiss(known)
        ? new Lookup(System.nanoTime(), ask(host, port, executorId)) : known);
    CompletableFuture<Optional<PeerInfo>> info = lookup.info();
    if (blockManagers != null) { // a peer found before may have left since
      info = info.thenCombine(blockManagers.listed(executorId), (peer, listed) -> listed ? peer : Optional.empty());
    }
    // A copy, so that this caller's timeout leaves the shared lookup running.
    return info.copy().completeOnTimeout(Optional.empty(), timeoutMillis, TimeUnit.MILLISECONDS);
  }

  /** A fabric fetch from the executor failed: it may have left, so whether it is still there is asked again. */
  void fetchFailed(String executorId) {
    if (blockManagers != null) {
      blockManagers.distrust();
    }
  }

  private static boolean isStaleMiss(Lookup lookup) {
    return System.nanoTime() - lookup.startNanos() > RETRY_NANOS
        && lookup.info().isDone() && lookup.info().getNow(Optional.empty()).isEmpty();
  }

  private CompletableFuture<Optional<PeerInfo>> ask(String host, int port, String executorId) {
    if (blockManagers == null) {
      return askAt(host, port, executorId);
    }
    return blockManagers.find(executorId).thenCompose(own -> {
      if (own.isEmpty()) {
        LOG.info("executor {} has left; its blocks are read from the external shuffle service at {}:{}",
            executorId, host, port);
        return CompletableFuture.completedFuture(Optional.empty());
      }
      return askAt(own.get().host(), own.get().port(), executorId);
    });
  }

  /** Fetches the peer info block from the block manager at host:port. */
  private CompletableFuture<Optional<PeerInfo>> askAt(String host, int port, String executorId) {
    CompletableFuture<Optional<PeerInfo>> result = new CompletableFuture<>();
    BlockFetchingListener listener = new BlockFetchingListener() {
      @Override
      public void onBlockFetchSuccess(String blockId, ManagedBuffer data) {
        try {
          ByteBuffer bytes = data.nioByteBuffer();
          result.complete(Optional.of(PeerInfo.decode(bytes)));
        } catch (Exception e) {
          onBlockFetchFailure(blockId, e);
        }
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable e) {
        LOG.info("executor {} ({}:{}) has no fabric peer info; reading its blocks over Netty: {}",
            executorId, host, port, e.toString());
        result.complete(Optional.empty());
      }
    };
    try {
      askThreads.execute(() -> {
        try {
          netty.fetchBlocks(host, port, executorId, new String[] {PEER_BLOCK}, listener, null);
        } catch (RuntimeException e) {
          listener.onBlockFetchFailure(PEER_BLOCK, e);
        }
      });
    } catch (RuntimeException e) { // rejected: the executor is stopping
      listener.onBlockFetchFailure(PEER_BLOCK, e);
    }
    return result;
  }
}
