package org.efashuffle.transport;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.FabricOperation;

/**
 * The reducer's side of the rendezvous read: request, await the answer, fi_read every block
 * straight into one registered batch (from the receive pool), tell the server it is done, hand
 * the blocks over. Blocks the answer carries inline are copied into the batch instead; an answer
 * with nothing to read holds no lease, so no done message follows it. The answer arrives on the
 * progress thread, which takes the batch only from slabs already registered; a batch that needs
 * a registration is taken on the registrar.
 */
final class BlockFetcher {
  private final FabricDomain domain;
  private final PinnedPool receivePool;
  private final FabricEndpoint endpoint;
  private final ControlChannel channel;
  private final long answerTimeoutMillis;
  private final Executor registrar;
  private final BlockDownloader downloader;
  private final Map<Long, CompletableFuture<Message.FetchAnswer>> awaiting = new ConcurrentHashMap<>();
  // Request ids need only be unique per server; a random start keeps two executors' ids apart.
  private final AtomicLong nextRequestId = new AtomicLong(new SecureRandom().nextLong());

  /** @param registrar runs what registers memory (a new pool slab, a batch's own memory), off the progress thread */
  BlockFetcher(FabricDomain domain, PinnedPool receivePool, FabricEndpoint endpoint, ControlChannel channel,
      long answerTimeoutMillis, Executor registrar) {
    this.registrar = registrar;
    this.domain = domain;
    this.receivePool = receivePool;
    this.endpoint = endpoint;
    this.channel = channel;
    this.answerTimeoutMillis = answerTimeoutMillis;
    this.downloader = new BlockDownloader(domain, receivePool, endpoint);
  }

  /** @param sinks where the blocks go (see {@link BlockSinks}); null: into memory */
  CompletableFuture<List<FetchedBlock>> fetch(byte[] serverAddress, List<BlockRef> blocks, BlockSinks sinks) {
    long requestId = nextRequestId.getAndIncrement();
    long server;
    try {
      server = channel.peer(serverAddress);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    CompletableFuture<Message.FetchAnswer> answer = new CompletableFuture<>();
    awaiting.put(requestId, answer);
    answer.orTimeout(answerTimeoutMillis, TimeUnit.MILLISECONDS).whenComplete((a, e) -> awaiting.remove(requestId));
    // Blocks bound for sinks are all read; into memory, small ones may come in the answer.
    int inlineBytes = sinks == null ? ControlChannel.PAYLOAD_SIZE : 0;
    channel.send(server, new Message.FetchRequest(requestId, channel.address(), blocks, inlineBytes))
        .whenComplete((v, error) -> {
          if (error != null) {
            answer.completeExceptionally(error);
          }
        });
    return answer.handle((a, error) -> {
      if (error != null) {
        Throwable cause = error instanceof TimeoutException
            ? new TimeoutException("no answer from fabric peer within " + answerTimeoutMillis + " ms") : error;
        return CompletableFuture.<List<FetchedBlock>>failedFuture(cause);
      }
      return read(server, blocks, a, sinks, inlineBytes);
    }).thenCompose(f -> f);
  }

  /** Hands an answer to the fetch awaiting it; false when none does any more (it timed out or failed). */
  boolean onAnswer(Message.FetchAnswer answer) {
    CompletableFuture<Message.FetchAnswer> waiting = awaiting.remove(answer.requestId());
    return waiting != null && waiting.complete(answer);
  }

  /** The result of reading an answer's blocks, and when no read of them can still touch memory. */
  private record Reads(CompletableFuture<List<FetchedBlock>> result, CompletableFuture<?> settled) {}

  /** Called on the progress thread, with the peer's answer. */
  private CompletableFuture<List<FetchedBlock>> read(long server, List<BlockRef> blocks, Message.FetchAnswer answer,
      BlockSinks sinks, int inlineBytes) {
    String wrong = answer.locations().size() != blocks.size()
        ? "fabric peer answered " + answer.locations().size() + " locations for " + blocks.size() + " blocks"
        : answer.inline().length > inlineBytes
            ? "fabric peer put " + answer.inline().length + " bytes in its answer, more than the " + inlineBytes
                + " asked for"
            : null;
    if (wrong != null) {
      if (answer.leased()) {
        done(server, answer.requestId());
      }
      return CompletableFuture.failedFuture(new IllegalStateException(wrong));
    }
    // Blocks bound for sinks, or too large for memory, are kept out of the in-memory batch (BlockDownloader).
    BlockDownloader.Split split = BlockDownloader.split(blocks, answer.locations(), sinks);
    Reads inMemory = readIntoMemory(server, blocks, split.inMemory(), answer.inline());
    CompletableFuture<Void> downloaded = downloader.download(server, blocks, answer.locations(), split, sinks);
    // The server may reuse the blocks' memory once no read of ours can still touch it.
    if (answer.leased()) {
      CompletableFuture.allOf(inMemory.settled(), downloaded.exceptionally(e -> null))
          .whenComplete((v, e) -> done(server, answer.requestId()));
    }
    return CompletableFuture.allOf(inMemory.result(), downloaded).handle((v, error) -> {
      if (error != null) {
        inMemory.result().thenAccept(fetched -> fetched.forEach(FetchedBlock::release));
        throw error instanceof CompletionException c ? c : new CompletionException(error);
      }
      return BlockDownloader.merge(inMemory.result().join(), blocks, answer.locations(), split);
    });
  }

  /**
   * Puts the blocks of {@code locations} that are served and not empty into one batch: those in
   * the answer copied from {@code inline}, the others read.
   */
  private Reads readIntoMemory(long server, List<BlockRef> blocks, List<BlockLocation> locations, byte[] inline) {
    long total = 0;
    int inBatch = 0;
    for (BlockLocation l : locations) {
      if (inBatch(l)) {
        total += l.length();
        inBatch++;
      }
    }
    if (inBatch == 0) {
      List<FetchedBlock> fetched = new ArrayList<>(blocks.size());
      for (int i = 0; i < blocks.size(); i++) {
        fetched.add(new FetchedBlock(blocks.get(i), served(locations.get(i)), null, 0, locations.get(i).length()));
      }
      return new Reads(CompletableFuture.completedFuture(fetched), CompletableFuture.completedFuture(null));
    }
    // One reference per block in the batch, and one for the fetch (see ReceivedBatch).
    int references = inBatch + 1;
    PinnedPool.Piece piece = receivePool.allocateRegistered(total);
    if (piece != null) {
      return readInto(ReceivedBatch.pooled(receivePool, piece, references), server, blocks, locations, inline);
    }
    // The pool must grow, or this fetch needs memory of its own: a registration, off the progress thread.
    long size = total;
    CompletableFuture<Reads> reads;
    try {
      reads = CompletableFuture.supplyAsync(() -> ReceivedBatch.take(receivePool, domain, size, references), registrar)
          .thenApply(batch -> readInto(batch, server, blocks, locations, inline));
    } catch (RejectedExecutionException e) {
      reads = CompletableFuture.failedFuture(new IllegalStateException("fabric transport closed", e));
    }
    return new Reads(reads.thenCompose(Reads::result),
        reads.handle((r, error) -> r == null ? CompletableFuture.completedFuture(null) : r.settled())
            .thenCompose(f -> f));
  }

  private static boolean inBatch(BlockLocation l) {
    return l.length() > 0 && (l.status() == BlockLocation.Status.OK || l.status() == BlockLocation.Status.INLINE);
  }

  /** The status the block's receiver sees: an inline block was served like a read one. */
  private static BlockLocation.Status served(BlockLocation l) {
    return l.status() == BlockLocation.Status.INLINE ? BlockLocation.Status.OK : l.status();
  }

  /**
   * Copies every inline block into {@code batch} and reads every readable one. The blocks'
   * references go to the caller with the result (or are released here when the fetch fails); the
   * fetch's own reference is released once every read has settled: only then is no fi_read still
   * writing into the batch or reading the server's memory.
   */
  private Reads readInto(ReceivedBatch batch, long server, List<BlockRef> blocks, List<BlockLocation> locations,
      byte[] inline) {
    List<FetchedBlock> fetched = new ArrayList<>(blocks.size());
    List<CompletableFuture<Long>> reads = new ArrayList<>();
    List<CompletableFuture<Void>> settled = new ArrayList<>();
    long offset = 0;
    int inlineOffset = 0;
    for (int i = 0; i < blocks.size(); i++) {
      BlockLocation l = locations.get(i);
      boolean kept = inBatch(l);
      fetched.add(new FetchedBlock(blocks.get(i), served(l), kept ? batch : null, offset, l.length()));
      if (!kept) {
        continue;
      }
      if (l.status() == BlockLocation.Status.INLINE) {
        batch.put(offset, inline, inlineOffset, (int) l.length());
        inlineOffset += (int) l.length();
        offset += l.length();
        continue;
      }
      if (reads.size() == settled.size()) { // no read failed to post so far
        try {
          FabricOperation op = endpoint.read(batch.region(), batch.regionOffset(offset), l.length(), server,
              l.remoteAddress(), l.key());
          reads.add(op);
          settled.add(op.settled());
        } catch (RuntimeException e) {
          reads.add(CompletableFuture.failedFuture(e)); // nothing posted: nothing to settle
        }
      }
      offset += l.length();
    }
    CompletableFuture<Void> allSettled = CompletableFuture.allOf(settled.toArray(new CompletableFuture<?>[0]))
        .whenComplete((v, error) -> release(batch));
    CompletableFuture<List<FetchedBlock>> result = CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0]))
        .handle((v, error) -> {
          if (error != null) {
            fetched.forEach(FetchedBlock::release);
            throw error instanceof CompletionException c ? c : new CompletionException(error);
          }
          return fetched;
        });
    return new Reads(result, allSettled);
  }

  /**
   * Releases the fetch's reference, usually on the progress thread: memory of this batch alone,
   * if this is its last reference, is deregistered on the registrar (ibv_dereg_mr on EFA).
   */
  private void release(ReceivedBatch batch) {
    if (!batch.pooled()) {
      try {
        registrar.execute(batch::release);
        return;
      } catch (RejectedExecutionException e) {
        // closing: release here
      }
    }
    batch.release();
  }

  private void done(long server, long requestId) {
    channel.send(server, new Message.FetchDone(requestId)); // best effort: the server's lease timeout covers a loss
  }

  /** Fails what is still waiting for an answer (the transport is closing). */
  void close() {
    IllegalStateException closed = new IllegalStateException("fabric transport closed");
    awaiting.values().forEach(f -> f.completeExceptionally(closed));
    downloader.close();
  }
}
