package org.efashuffle.spark;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
 * (not running this plugin, fabric off, external shuffle service in between, or a failed
 * connection) is read over Netty, and asked again after {@link #RETRY_NANOS}.
 */
final class PeerDirectory {
  static final String PEER_BLOCK = new TestBlockId("efashuffle_peer").name();
  private static final Logger LOG = LoggerFactory.getLogger(PeerDirectory.class);

  private final BlockStoreClient netty;
  private final long timeoutMillis;
  static final long RETRY_NANOS = TimeUnit.SECONDS.toNanos(60);

  private record Lookup(long startNanos, CompletableFuture<Optional<PeerInfo>> info) {}

  private final ConcurrentHashMap<String, Lookup> peers = new ConcurrentHashMap<>();

  PeerDirectory(BlockStoreClient netty, long timeoutMillis) {
    this.netty = netty;
    this.timeoutMillis = timeoutMillis;
  }

  Optional<PeerInfo> lookup(String host, int port, String executorId) {
    String key = executorId + "@" + host + ":" + port;
    Lookup lookup = peers.compute(key, (k, known) -> known == null || isStaleMiss(known)
        ? new Lookup(System.nanoTime(), ask(host, port, executorId)) : known);
    try {
      return lookup.info().get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } catch (Exception e) {
      return Optional.empty();
    }
  }

  private static boolean isStaleMiss(Lookup lookup) {
    return System.nanoTime() - lookup.startNanos() > RETRY_NANOS
        && lookup.info().isDone() && lookup.info().getNow(Optional.empty()).isEmpty();
  }

  private CompletableFuture<Optional<PeerInfo>> ask(String host, int port, String executorId) {
    CompletableFuture<Optional<PeerInfo>> result = new CompletableFuture<>();
    netty.fetchBlocks(host, port, executorId, new String[] {PEER_BLOCK}, new BlockFetchingListener() {
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
    }, null);
    return result;
  }
}
