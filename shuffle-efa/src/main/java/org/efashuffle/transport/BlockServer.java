package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;

/**
 * The mapper's side of the rendezvous read: answers each request with the blocks' locations and
 * holds their leases until the reader's done message, or until the lease timeout when the reader
 * is gone.
 */
final class BlockServer {
  private static final Logger LOG = Logger.getLogger(BlockServer.class.getName());

  private record Leases(long createdNanos, List<BlockSource.PublishedBlock> blocks) {}

  private final BlockSource source;
  private final ControlChannel channel;
  private final long leaseTimeoutNanos;
  private final Map<Long, Leases> leases = new ConcurrentHashMap<>();

  BlockServer(BlockSource source, ControlChannel channel, long leaseTimeoutNanos) {
    this.source = source;
    this.channel = channel;
    this.leaseTimeoutNanos = leaseTimeoutNanos;
  }

  void onRequest(Message.FetchRequest request) {
    expireLeases();
    List<BlockLocation> locations = new ArrayList<>(request.blocks().size());
    List<BlockSource.PublishedBlock> published = new ArrayList<>();
    for (BlockRef ref : request.blocks()) {
      locations.add(publish(ref, published));
    }
    if (!published.isEmpty()) {
      leases.put(request.requestId(), new Leases(System.nanoTime(), published));
    }
    long peer;
    try {
      peer = channel.peer(request.replyAddress());
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cannot answer fetch request " + request.requestId() + ": bad reply address", e);
      release(request.requestId());
      return;
    }
    channel.send(peer, new Message.FetchAnswer(request.requestId(), locations)).whenComplete((v, error) -> {
      if (error != null) {
        LOG.log(Level.WARNING, "answer to fetch request " + request.requestId() + " was not delivered", error);
        release(request.requestId());
      }
    });
  }

  private BlockLocation publish(BlockRef ref, List<BlockSource.PublishedBlock> published) {
    try {
      BlockSource.PublishedBlock block = source.publish(ref);
      if (block == null) {
        return BlockLocation.failed(BlockLocation.Status.NOT_FOUND);
      }
      published.add(block);
      return BlockLocation.ok(block.remoteAddress(), block.length(), block.key());
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cannot publish " + ref + " for a fabric read; the reader falls back", e);
      return BlockLocation.failed(BlockLocation.Status.UNAVAILABLE);
    }
  }

  void onDone(Message.FetchDone done) {
    release(done.requestId());
  }

  private void release(long requestId) {
    Leases held = leases.remove(requestId);
    if (held != null) {
      held.blocks().forEach(BlockSource.PublishedBlock::close);
    }
  }

  private void expireLeases() {
    long now = System.nanoTime();
    for (Iterator<Map.Entry<Long, Leases>> it = leases.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Long, Leases> e = it.next();
      if (now - e.getValue().createdNanos() > leaseTimeoutNanos) {
        it.remove();
        e.getValue().blocks().forEach(BlockSource.PublishedBlock::close);
      }
    }
  }

  /** Blocks published and not yet released (for tests and metrics). */
  int leasedBlocks() {
    return leases.values().stream().mapToInt(l -> l.blocks().size()).sum();
  }

  /** Releases every lease (the transport is closing). */
  void close() {
    for (Long id : List.copyOf(leases.keySet())) {
      release(id);
    }
  }
}
