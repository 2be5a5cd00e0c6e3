package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;

/**
 * The mapper's side of the rendezvous read: answers each request with the blocks' locations and
 * holds their leases until the reader's done message, or until the lease timeout when the reader
 * is gone. A request whose blocks are all in registered memory is answered on the progress
 * thread; one that needs disk I/O is answered from the I/O threads, so that a slow disk never
 * stalls the progress that every fabric read of this executor depends on.
 */
final class BlockServer {
  private static final Logger LOG = Logger.getLogger(BlockServer.class.getName());

  private record Leases(long createdNanos, List<BlockSource.PublishedBlock> blocks) {}

  private final BlockSource source;
  private final ControlChannel channel;
  private final long leaseTimeoutNanos;
  private final Executor ioThreads;
  private final Map<Long, Leases> leases = new ConcurrentHashMap<>();
  private volatile boolean closed;

  BlockServer(BlockSource source, ControlChannel channel, long leaseTimeoutNanos, Executor ioThreads) {
    this.source = source;
    this.channel = channel;
    this.leaseTimeoutNanos = leaseTimeoutNanos;
    this.ioThreads = ioThreads;
  }

  /** Called on the progress thread. */
  void onRequest(Message.FetchRequest request) {
    expireLeases();
    List<BlockRef> refs = request.blocks();
    BlockSource.PublishedBlock[] blocks = new BlockSource.PublishedBlock[refs.size()];
    boolean needIo = false;
    for (int i = 0; i < blocks.length; i++) {
      blocks[i] = publishFromMemory(refs.get(i));
      needIo |= blocks[i] == null;
    }
    if (!needIo) {
      answer(request, blocks);
      return;
    }
    try {
      ioThreads.execute(() -> answer(request, blocks));
    } catch (RejectedExecutionException e) { // closing
      for (BlockSource.PublishedBlock b : blocks) {
        if (b != null) {
          b.close();
        }
      }
    }
  }

  private BlockSource.PublishedBlock publishFromMemory(BlockRef ref) {
    try {
      return source.publishFromMemory(ref);
    } catch (RuntimeException e) {
      return null; // publish() decides, and reports
    }
  }

  /** Answers with {@code blocks}, publishing those still null with {@link BlockSource#publish} (which may read disk). */
  private void answer(Message.FetchRequest request, BlockSource.PublishedBlock[] blocks) {
    List<BlockLocation> locations = new ArrayList<>(blocks.length);
    List<BlockSource.PublishedBlock> published = new ArrayList<>();
    for (int i = 0; i < blocks.length; i++) {
      locations.add(blocks[i] != null ? located(blocks[i], published) : publish(request.blocks().get(i), published));
    }
    if (!published.isEmpty()) {
      leases.put(request.requestId(), new Leases(System.nanoTime(), published));
      if (closed) {
        release(request.requestId());
        return;
      }
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
      return block == null ? BlockLocation.failed(BlockLocation.Status.NOT_FOUND) : located(block, published);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cannot publish " + ref + " for a fabric read; the reader falls back", e);
      return BlockLocation.failed(BlockLocation.Status.UNAVAILABLE);
    }
  }

  /** The block's location for the answer; its lease joins {@code published}. */
  private static BlockLocation located(BlockSource.PublishedBlock block, List<BlockSource.PublishedBlock> published) {
    published.add(block);
    return BlockLocation.ok(block.remoteAddress(), block.length(), block.key());
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
    for (Map.Entry<Long, Leases> e : leases.entrySet()) {
      // remove(key, value): a lease the done message released meanwhile is not closed twice
      if (now - e.getValue().createdNanos() > leaseTimeoutNanos && leases.remove(e.getKey(), e.getValue())) {
        e.getValue().blocks().forEach(BlockSource.PublishedBlock::close);
      }
    }
  }

  /** Blocks published and not yet released (for tests and metrics). */
  int leasedBlocks() {
    return leases.values().stream().mapToInt(l -> l.blocks().size()).sum();
  }

  /** Releases every lease (the transport is closing); a request still being answered releases its own. */
  void close() {
    closed = true;
    for (Long id : List.copyOf(leases.keySet())) {
      release(id);
    }
  }
}
