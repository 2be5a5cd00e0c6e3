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
 * the blocks over. The answer arrives on the progress thread, which takes the batch only from
 * slabs already registered; a batch that needs a registration is taken on the registrar.
 */
final class BlockFetcher {
  private final FabricDomain domain;
  private final PinnedPool receivePool;
  private final FabricEndpoint endpoint;
  private final ControlChannel channel;
  private final long answerTimeoutMillis;
  private final Executor registrar;
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
  }

  CompletableFuture<List<FetchedBlock>> fetch(byte[] serverAddress, List<BlockRef> blocks) {
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
    channel.send(server, new Message.FetchRequest(requestId, channel.address(), blocks))
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
      return read(server, blocks, a);
    }).thenCompose(f -> f);
  }

  void onAnswer(Message.FetchAnswer answer) {
    CompletableFuture<Message.FetchAnswer> waiting = awaiting.remove(answer.requestId());
    if (waiting != null) {
      waiting.complete(answer);
    }
  }

  /** Called on the progress thread, with the peer's answer. */
  private CompletableFuture<List<FetchedBlock>> read(long server, List<BlockRef> blocks, Message.FetchAnswer answer) {
    List<BlockLocation> locations = answer.locations();
    if (locations.size() != blocks.size()) {
      done(server, answer.requestId());
      return CompletableFuture.failedFuture(new IllegalStateException(
          "fabric peer answered " + locations.size() + " locations for " + blocks.size() + " blocks"));
    }
    long total = 0;
    int readable = 0;
    for (BlockLocation l : locations) {
      if (readable(l)) {
        total += l.length();
        readable++;
      }
    }
    if (readable == 0) {
      done(server, answer.requestId());
      List<FetchedBlock> fetched = new ArrayList<>(blocks.size());
      for (int i = 0; i < blocks.size(); i++) {
        fetched.add(new FetchedBlock(blocks.get(i), locations.get(i).status(), null, 0, locations.get(i).length()));
      }
      return CompletableFuture.completedFuture(fetched);
    }
    // One reference per block read, and one for the fetch (see ReceivedBatch).
    int references = readable + 1;
    PinnedPool.Piece piece = receivePool.allocateRegistered(total);
    if (piece != null) {
      return readInto(ReceivedBatch.pooled(receivePool, piece, references), server, blocks, answer);
    }
    // The pool must grow, or this fetch needs memory of its own: a registration, off the progress thread.
    long size = total;
    try {
      return CompletableFuture.supplyAsync(() -> ReceivedBatch.take(receivePool, domain, size, references), registrar)
          .handle((batch, error) -> {
            if (error != null) {
              done(server, answer.requestId());
              return CompletableFuture.<List<FetchedBlock>>failedFuture(error);
            }
            return readInto(batch, server, blocks, answer);
          }).thenCompose(f -> f);
    } catch (RejectedExecutionException e) {
      done(server, answer.requestId());
      return CompletableFuture.failedFuture(new IllegalStateException("fabric transport closed", e));
    }
  }

  private static boolean readable(BlockLocation l) {
    return l.status() == BlockLocation.Status.OK && l.length() > 0;
  }

  /**
   * Reads every readable block into {@code batch}. The blocks' references go to the caller with
   * the result (or are released here when the fetch fails); the fetch's own reference is released,
   * and the server told it is done, once every read has settled: only then is no fi_read still
   * writing into the batch or reading the server's memory.
   */
  private CompletableFuture<List<FetchedBlock>> readInto(ReceivedBatch batch, long server, List<BlockRef> blocks,
      Message.FetchAnswer answer) {
    List<BlockLocation> locations = answer.locations();
    List<FetchedBlock> fetched = new ArrayList<>(blocks.size());
    List<CompletableFuture<Long>> reads = new ArrayList<>();
    List<CompletableFuture<Void>> settled = new ArrayList<>();
    long offset = 0;
    for (int i = 0; i < blocks.size(); i++) {
      BlockLocation l = locations.get(i);
      boolean read = readable(l);
      fetched.add(new FetchedBlock(blocks.get(i), l.status(), read ? batch : null, offset, l.length()));
      if (!read) {
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
    CompletableFuture.allOf(settled.toArray(new CompletableFuture<?>[0])).whenComplete((v, error) -> {
      done(server, answer.requestId());
      release(batch);
    });
    return CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0])).handle((v, error) -> {
      if (error != null) {
        fetched.forEach(FetchedBlock::release);
        throw error instanceof CompletionException c ? c : new CompletionException(error);
      }
      return fetched;
    });
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
  }
}
