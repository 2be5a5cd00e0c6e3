package org.efashuffle.transport;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;

/**
 * The reducer's side of the rendezvous read: request, await the answer, fi_read every block
 * straight into one registered batch (from the receive pool), tell the server it is done, hand
 * the blocks over.
 */
final class BlockFetcher {
  private final FabricDomain domain;
  private final PinnedPool receivePool;
  private final FabricEndpoint endpoint;
  private final ControlChannel channel;
  private final long answerTimeoutMillis;
  private final Map<Long, CompletableFuture<Message.FetchAnswer>> awaiting = new ConcurrentHashMap<>();
  // Request ids need only be unique per server; a random start keeps two executors' ids apart.
  private final AtomicLong nextRequestId = new AtomicLong(new SecureRandom().nextLong());

  BlockFetcher(FabricDomain domain, PinnedPool receivePool, FabricEndpoint endpoint, ControlChannel channel,
      long answerTimeoutMillis) {
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

  /** Hands an answer to the fetch awaiting it; false when none does any more (it timed out or failed). */
  boolean onAnswer(Message.FetchAnswer answer) {
    CompletableFuture<Message.FetchAnswer> waiting = awaiting.remove(answer.requestId());
    return waiting != null && waiting.complete(answer);
  }

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
      if (l.status() == BlockLocation.Status.OK && l.length() > 0) {
        total += l.length();
        readable++;
      }
    }
    ReceivedBatch batch;
    try {
      batch = readable == 0 ? null : ReceivedBatch.take(receivePool, domain, total, readable);
    } catch (RuntimeException e) {
      done(server, answer.requestId());
      return CompletableFuture.failedFuture(e);
    }
    List<FetchedBlock> fetched = new ArrayList<>(blocks.size());
    List<CompletableFuture<Long>> reads = new ArrayList<>(readable);
    long offset = 0;
    for (int i = 0; i < blocks.size(); i++) {
      BlockLocation l = locations.get(i);
      boolean read = l.status() == BlockLocation.Status.OK && l.length() > 0;
      fetched.add(new FetchedBlock(blocks.get(i), l.status(), read ? batch : null, offset, l.length()));
      if (read) {
        reads.add(endpoint.read(batch.region(), batch.regionOffset(offset), l.length(), server, l.remoteAddress(),
            l.key()));
        offset += l.length();
      }
    }
    return CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0])).handle((v, error) -> {
      done(server, answer.requestId());
      if (error != null) {
        fetched.forEach(FetchedBlock::release);
        throw new CompletionException(error);
      }
      return fetched;
    });
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
