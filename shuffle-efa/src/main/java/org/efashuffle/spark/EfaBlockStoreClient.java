package org.efashuffle.spark;

import com.codahale.metrics.MetricSet;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.shuffle.BlockFetchingListener;
import org.apache.spark.network.shuffle.BlockPushingListener;
import org.apache.spark.network.shuffle.BlockStoreClient;
import org.apache.spark.network.shuffle.DownloadFileManager;
import org.apache.spark.network.shuffle.MergeFinalizerListener;
import org.apache.spark.network.shuffle.MergedBlocksMetaListener;
import org.apache.spark.network.shuffle.checksum.Cause;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.ShuffleBlockBatchId;
import org.apache.spark.storage.ShuffleBlockId;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.FetchedBlock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The block store client Spark's fetch iterator is handed: shuffle blocks of a peer this executor
 * can reach over the fabric are read with one-sided reads; everything else, and every block the
 * fabric could not deliver, goes to Spark's own client (Netty, or the external shuffle service
 * client), which keeps Spark's retry and fetch-failure handling. Every other call is Spark's
 * client's. With the external shuffle service on, the address a fetch names is the service's:
 * the peer is found through {@link PeerDirectory}, and Netty reads go to the service, which also
 * serves the outputs of executors that have left.
 */
final class EfaBlockStoreClient extends BlockStoreClient {
  private static final Logger LOG = LoggerFactory.getLogger(EfaBlockStoreClient.class);

  private final BlockStoreClient netty;
  private final boolean closeNetty;
  private final FabricTransport fabric;
  private final PeerInfo self;
  private final PeerDirectory peers;
  private final PeerBreakers breakers;
  private final ExecutorService fallbackThreads;
  private final boolean warnUnreachable;
  private final java.util.Set<String> warnedPeers = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final TransportMetrics metrics = TransportMetrics.get();
  private final CorruptFabricBlocks corruptForTests = CorruptFabricBlocks.fromSparkConf(); // null: off (the default)

  /**
   * @param fabric null when this executor has no fabric (everything goes to {@code netty})
   * @param closeNetty whether {@link #close()} closes {@code netty} (Spark closes its transfer
   *     service itself, but not an external shuffle client it replaced with us)
   * @param fallbackThreads where Netty fallbacks start (never on the fabric's progress thread)
   * @param warnUnreachable whether a peer read over Netty for want of a fabric path is a warning
   *     ({@code spark.shuffle.efa.transport=fabric}) rather than routine ({@code auto})
   */
  EfaBlockStoreClient(BlockStoreClient netty, boolean closeNetty, FabricTransport fabric, PeerInfo self,
      PeerDirectory peers, ExecutorService fallbackThreads, boolean warnUnreachable) {
    this(netty, closeNetty, fabric, self, peers, fallbackThreads, warnUnreachable, new PeerBreakers());
  }

  /** As above, with the peers' breakers (tests pass their own clock). */
  EfaBlockStoreClient(BlockStoreClient netty, boolean closeNetty, FabricTransport fabric, PeerInfo self,
      PeerDirectory peers, ExecutorService fallbackThreads, boolean warnUnreachable, PeerBreakers breakers) {
    this.breakers = breakers;
    this.netty = netty;
    this.closeNetty = closeNetty;
    this.fabric = fabric;
    this.self = self;
    this.peers = peers;
    this.fallbackThreads = fallbackThreads;
    this.warnUnreachable = warnUnreachable;
  }

  @Override
  public void fetchBlocks(String host, int port, String execId, String[] blockIds, BlockFetchingListener listener,
      DownloadFileManager downloadFileManager) {
    // A failed or closed transport is never used again: its executor has stopped offering the fabric.
    List<BlockRef> refs = fabric == null || !fabric.usable() ? null : shuffleBlocks(blockIds);
    if (refs == null) {
      fetchOverNetty(host, port, execId, blockIds, listener, downloadFileManager);
      return;
    }
    // Request issue never waits for a lookup: one still due routes the blocks from a fallback
    // thread once answered (it completes on Netty's event loop or a timer, where no fetch starts).
    CompletableFuture<Optional<PeerInfo>> peer = peers.lookup(host, port, execId);
    if (peer.isDone()) {
      route(peer.join(), host, port, execId, blockIds, refs, listener, downloadFileManager);
      return;
    }
    peer.thenAcceptAsync(p -> {
      try {
        route(p, host, port, execId, blockIds, refs, listener, downloadFileManager);
      } catch (RuntimeException e) {
        for (String id : blockIds) {
          listener.onBlockFetchFailure(id, e);
        }
      }
    }, fallbackThreads);
  }

  /**
   * Sends the blocks over the fabric when the peer is reachable there and its breaker lets them,
   * else over Netty (from the calling thread: the task's or a fallback thread).
   */
  private void route(Optional<PeerInfo> peer, String host, int port, String execId, String[] blockIds,
      List<BlockRef> refs, BlockFetchingListener listener, DownloadFileManager downloadFileManager) {
    if (peer.isEmpty() || !self.canReachOverFabric(peer.get())) {
      if (warnUnreachable && warnedPeers.add(execId)) {
        LOG.warn("efa-shuffle: executor {} ({}:{}) is not reachable over the fabric ({}); its blocks go over Netty",
            execId, host, port, peer.map(p -> p.provider() + "/" + p.fabric() + " in " + p.subnet() + ", this executor: "
                + self.provider() + "/" + self.fabric() + " in " + self.subnet()).orElse("it published no fabric address"));
      }
      fetchOverNetty(host, port, execId, blockIds, listener, downloadFileManager);
      return;
    }
    List<String> overNetty = new ArrayList<>();
    int chunk = fabric.maxBlocksPerFetch();
    for (int from = 0; from < blockIds.length; from += chunk) {
      int to = Math.min(blockIds.length, from + chunk);
      String[] ids = Arrays.copyOfRange(blockIds, from, to);
      PeerBreakers.Permit permit = breakers.tryFabric(execId);
      if (permit == null) {
        overNetty.addAll(Arrays.asList(ids));
        continue;
      }
      DownloadFiles files = DownloadFiles.forRequest(downloadFileManager, netty); // null: into memory
      CompletableFuture<List<FetchedBlock>> fetch;
      try {
        fetch = fabric.fetch(peer.get().fabricAddress(), refs.subList(from, to), files);
      } catch (RuntimeException e) {
        fetch = CompletableFuture.failedFuture(e);
      }
      fetch.whenComplete((blocks, error) -> {
        if (error != null) {
          if (files != null) {
            files.discard();
          }
          peers.fetchFailed(execId);
          if (permit.failed()) {
            metrics.breakerOpenings.incrementAndGet();
            LOG.warn("efa-shuffle: fabric fetch from executor {} ({}:{}) failed, so its blocks go over Netty for {} s, "
                + "then one request tries the fabric again: {}", execId, host, port,
                TimeUnit.NANOSECONDS.toSeconds(PeerBreakers.COOL_DOWN_NANOS), error.toString());
          } else {
            LOG.info("fabric fetch of {} blocks from executor {} failed; fetching them over Netty: {}",
                ids.length, execId, error.toString());
          }
          fallback(host, port, execId, ids, listener, downloadFileManager);
          return;
        }
        permit.succeeded();
        deliver(host, port, execId, ids, blocks, listener, downloadFileManager, files);
      });
    }
    if (!overNetty.isEmpty()) { // the peer's breaker is open
      fetchOverNetty(host, port, execId, overNetty.toArray(new String[0]), listener, downloadFileManager);
    }
  }

  private void deliver(String host, int port, String execId, String[] ids, List<FetchedBlock> blocks,
      BlockFetchingListener listener, DownloadFileManager downloadFileManager, DownloadFiles files) {
    List<String> notServed = new ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      FetchedBlock block = blocks.get(i);
      if (block.status() != BlockLocation.Status.OK) {
        block.release();
        notServed.add(ids[i]);
        continue;
      }
      if (block.inSink()) { // read into a download file (Spark's fetch-to-disk)
        if (files.deliver(ids[i], block, listener)) {
          metrics.fabricBlocks.incrementAndGet();
          metrics.fabricBytes.addAndGet(block.length());
        } else {
          notServed.add(ids[i]);
        }
        continue;
      }
      FabricManagedBuffer buffer = new FabricManagedBuffer(block);
      metrics.fabricBlocks.incrementAndGet();
      metrics.fabricBytes.addAndGet(block.length());
      try {
        listener.onBlockFetchSuccess(ids[i], corruptForTests == null ? buffer
            : corruptForTests.apply(execId, ids[i], buffer)); // the listener retains what it keeps
      } finally {
        buffer.release();
      }
    }
    if (!notServed.isEmpty()) {
      fallback(host, port, execId, notServed.toArray(new String[0]), listener, downloadFileManager);
    }
  }

  private void fallback(String host, int port, String execId, String[] ids, BlockFetchingListener listener,
      DownloadFileManager downloadFileManager) {
    metrics.fallbacks.incrementAndGet();
    fallbackThreads.execute(() -> fetchOverNetty(host, port, execId, ids, listener, downloadFileManager));
  }

  private void fetchOverNetty(String host, int port, String execId, String[] blockIds, BlockFetchingListener listener,
      DownloadFileManager downloadFileManager) {
    netty.fetchBlocks(host, port, execId, blockIds, new BlockFetchingListener() {
      @Override
      public void onBlockFetchSuccess(String blockId, ManagedBuffer data) {
        metrics.nettyBlocks.incrementAndGet();
        metrics.nettyBytes.addAndGet(data.size());
        listener.onBlockFetchSuccess(blockId, data);
      }

      @Override
      public void onBlockFetchFailure(String blockId, Throwable exception) {
        listener.onBlockFetchFailure(blockId, exception);
      }
    }, downloadFileManager);
  }

  /** The blocks as fabric requests name them, or null when any is not a shuffle block. */
  private static List<BlockRef> shuffleBlocks(String[] blockIds) {
    List<BlockRef> refs = new ArrayList<>(blockIds.length);
    for (String id : blockIds) {
      BlockId block;
      try {
        block = BlockId.apply(id);
      } catch (RuntimeException e) {
        return null;
      }
      if (block instanceof ShuffleBlockId b) {
        refs.add(BlockRef.of(b.shuffleId(), b.mapId(), b.reduceId()));
      } else if (block instanceof ShuffleBlockBatchId b) {
        refs.add(new BlockRef(b.shuffleId(), b.mapId(), b.startReduceId(), b.endReduceId()));
      } else {
        return null;
      }
    }
    return refs;
  }

  @Override
  public Cause diagnoseCorruption(String host, int port, String execId, int shuffleId, long mapId, int reduceId,
      long checksum, String algorithm) {
    return netty.diagnoseCorruption(host, port, execId, shuffleId, mapId, reduceId, checksum, algorithm);
  }

  @Override
  public MetricSet shuffleMetrics() {
    return netty.shuffleMetrics();
  }

  @Override
  public void setAppAttemptId(String appAttemptId) {
    netty.setAppAttemptId(appAttemptId);
  }

  @Override
  public String getAppAttemptId() {
    return netty.getAppAttemptId();
  }

  @Override
  public void getHostLocalDirs(String host, int port, String[] execIds,
      CompletableFuture<Map<String, String[]>> hostLocalDirsCompletable) {
    netty.getHostLocalDirs(host, port, execIds, hostLocalDirsCompletable);
  }

  @Override
  public void pushBlocks(String host, int port, String[] blockIds, ManagedBuffer[] buffers,
      BlockPushingListener listener) {
    netty.pushBlocks(host, port, blockIds, buffers, listener);
  }

  @Override
  public void finalizeShuffleMerge(String host, int port, int shuffleId, int shuffleMergeId,
      MergeFinalizerListener listener) {
    netty.finalizeShuffleMerge(host, port, shuffleId, shuffleMergeId, listener);
  }

  @Override
  public void getMergedBlockMeta(String host, int port, int shuffleId, int shuffleMergeId, int reduceId,
      MergedBlocksMetaListener listener) {
    netty.getMergedBlockMeta(host, port, shuffleId, shuffleMergeId, reduceId, listener);
  }

  @Override
  public boolean removeShuffleMerge(String host, int port, int shuffleId, int shuffleMergeId) {
    return netty.removeShuffleMerge(host, port, shuffleId, shuffleMergeId);
  }

  @Override
  public void close() throws IOException {
    if (closeNetty) {
      netty.close();
    }
  }
}
