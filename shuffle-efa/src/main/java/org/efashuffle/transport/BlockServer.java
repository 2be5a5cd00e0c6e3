package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;

/**
 * The mapper's side of the rendezvous read: answers each request with the blocks' locations and
 * holds them in a lease under the request's id (see {@link Leases}) until the reader's done
 * message. A request is refused, with a logged reason and before anything is published, when its
 * reply address is not one of this fabric's, it names more blocks than an answer holds, or its id
 * names a lease still held. A request whose blocks are all in registered memory is answered on
 * the progress thread; one that needs disk I/O is answered from the I/O threads, so that a slow
 * disk never stalls the progress that every fabric read of this executor depends on.
 */
final class BlockServer {
  private static final Logger LOG = Logger.getLogger(BlockServer.class.getName());

  private final BlockSource source;
  private final ControlChannel channel;
  private final int maxBlocksPerRequest;
  private final Executor ioThreads;
  private final Leases leases;

  BlockServer(BlockSource source, ControlChannel channel, int maxBlocksPerRequest, long leaseTimeoutNanos,
      Executor ioThreads) {
    this.source = source;
    this.channel = channel;
    this.maxBlocksPerRequest = maxBlocksPerRequest;
    this.leases = new Leases(leaseTimeoutNanos);
    this.ioThreads = ioThreads;
  }

  /** Called on the progress thread. */
  void onRequest(Message.FetchRequest request) {
    List<BlockRef> refs = request.blocks();
    if (refs.size() > maxBlocksPerRequest) {
      LOG.warning("refused fetch request " + request.requestId() + ": " + refs.size() + " blocks, more than the "
          + maxBlocksPerRequest + " an answer holds");
      return;
    }
    long peer;
    try {
      peer = channel.peer(request.replyAddress());
    } catch (RuntimeException e) {
      LOG.warning("refused fetch request " + request.requestId() + ": bad reply address: " + e.getMessage());
      return;
    }
    Leases.Lease lease = leases.open(request.requestId());
    if (lease == null) {
      LOG.warning("refused fetch request " + request.requestId() + ": duplicate request id " + request.requestId()
          + ", whose lease is still held (a replay?)");
      return;
    }
    BlockSource.PublishedBlock[] blocks = new BlockSource.PublishedBlock[refs.size()];
    boolean needIo = false;
    for (int i = 0; i < blocks.length; i++) {
      blocks[i] = publishFromMemory(refs.get(i));
      needIo |= blocks[i] == null;
    }
    if (!needIo) {
      answer(request, peer, lease, blocks);
      return;
    }
    try {
      ioThreads.execute(() -> answer(request, peer, lease, blocks));
    } catch (RejectedExecutionException e) { // closing
      for (BlockSource.PublishedBlock b : blocks) {
        if (b != null) {
          b.close();
        }
      }
      leases.release(lease);
    }
  }

  private BlockSource.PublishedBlock publishFromMemory(BlockRef ref) {
    try {
      return source.publishFromMemory(ref);
    } catch (RuntimeException e) {
      return null; // publish() decides, and reports
    }
  }

  /**
   * Answers with the locations of {@code blocks}, publishing those still null with
   * {@link BlockSource#publish} (which may read disk); every published block joins the lease.
   */
  private void answer(Message.FetchRequest request, long peer, Leases.Lease lease, BlockSource.PublishedBlock[] blocks) {
    List<BlockLocation> locations = new ArrayList<>(blocks.length);
    for (int i = 0; i < blocks.length; i++) {
      locations.add(blocks[i] != null ? held(blocks[i], lease) : publish(request.blocks().get(i), lease));
    }
    if (lease.size() == 0) {
      leases.release(lease); // nothing to hold: the id is free again
    }
    channel.send(peer, new Message.FetchAnswer(request.requestId(), channel.address(), locations))
        .whenComplete((v, error) -> {
          if (error != null) {
            LOG.log(Level.WARNING, "answer to fetch request " + request.requestId() + " was not delivered", error);
            leases.release(lease);
          }
        });
  }

  private BlockLocation publish(BlockRef ref, Leases.Lease lease) {
    try {
      BlockSource.PublishedBlock block = source.publish(ref);
      return block == null ? BlockLocation.failed(BlockLocation.Status.NOT_FOUND) : held(block, lease);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "cannot publish " + ref + " for a fabric read; the reader falls back", e);
      return BlockLocation.failed(BlockLocation.Status.UNAVAILABLE);
    }
  }

  /** The block's location for the answer, once the lease holds it; UNAVAILABLE if the lease has ended. */
  private static BlockLocation held(BlockSource.PublishedBlock block, Leases.Lease lease) {
    return lease.hold(block) ? BlockLocation.ok(block.remoteAddress(), block.length(), block.key())
        : BlockLocation.failed(BlockLocation.Status.UNAVAILABLE);
  }

  void onDone(Message.FetchDone done) {
    leases.release(done.requestId());
  }

  /** Ends the leases of readers that never said done; run on a timer. */
  void expireLeases() {
    int expired = leases.expire();
    if (expired > 0) {
      LOG.warning(expired + " fabric read lease(s) expired without a done message (reader gone?)");
    }
  }

  /** Blocks published and not yet released (for tests and metrics). */
  int leasedBlocks() {
    return leases.heldBlocks();
  }

  /** Releases every lease (the transport is closing); a request still being answered releases its own. */
  void close() {
    leases.close();
  }
}
