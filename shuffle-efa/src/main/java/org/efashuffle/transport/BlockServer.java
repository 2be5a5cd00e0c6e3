package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.common.protocol.MessageCodec;

/**
 * The mapper's side of the rendezvous read: answers each request with the blocks' locations and
 * holds them in a lease under the request's id (see {@link Leases}) until the reader's done
 * message; blocks small enough for the answer, within the reader's inline budget, go in it
 * instead (copied, released at once: one round trip and no lease where a read would cost a
 * second round trip). A request is refused, with a logged reason and before anything is
 * published, when its reply address is not one of this fabric's, it names more blocks than an
 * answer holds, or its id names a lease still held. A request whose blocks are all in registered memory is answered on
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
   * {@link BlockSource#publish} (which may read disk). A block whose bytes fit what is left of the
   * reader's inline budget and of the message goes in the answer and is closed at once; every
   * other published block joins the lease.
   */
  private void answer(Message.FetchRequest request, long peer, Leases.Lease lease, BlockSource.PublishedBlock[] blocks) {
    int room = Math.min(request.inlineBytes(),
        ControlChannel.PAYLOAD_SIZE - MessageCodec.answerSize(channel.address().length, blocks.length, 0));
    ByteBuffer inline = ByteBuffer.allocate(Math.max(0, room));
    List<BlockLocation> locations = new ArrayList<>(blocks.length);
    for (int i = 0; i < blocks.length; i++) {
      locations.add(locate(request.blocks().get(i), blocks[i], lease, inline));
    }
    if (lease.size() == 0) {
      leases.release(lease); // nothing to hold: the id is free again
    }
    byte[] inlineBytes = Arrays.copyOf(inline.array(), inline.position());
    channel.send(peer, new Message.FetchAnswer(request.requestId(), channel.address(), locations, inlineBytes))
        .whenComplete((v, error) -> {
          if (error != null) {
            LOG.log(Level.WARNING, "answer to fetch request " + request.requestId() + " was not delivered", error);
            leases.release(lease);
          }
        });
  }

  /** The location of {@code block} (published now if null): inline, held in the lease, or why not served. */
  private BlockLocation locate(BlockRef ref, BlockSource.PublishedBlock block, Leases.Lease lease, ByteBuffer inline) {
    if (block == null) {
      try {
        block = source.publish(ref);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "cannot publish " + ref + " for a fabric read; the reader falls back", e);
        return BlockLocation.failed(BlockLocation.Status.UNAVAILABLE);
      }
      if (block == null) {
        return BlockLocation.failed(BlockLocation.Status.NOT_FOUND);
      }
    }
    if (inline.capacity() > 0 && block.length() <= inline.remaining()) {
      ByteBuffer bytes;
      try {
        bytes = block.bytes();
        if (bytes != null) {
          inline.put(bytes);
        }
      } catch (RuntimeException e) { // its memory was closed meanwhile (the transport is closing)
        LOG.log(Level.FINE, "cannot copy " + ref + " into an answer", e);
        block.close();
        return BlockLocation.failed(BlockLocation.Status.UNAVAILABLE);
      }
      if (bytes != null) {
        block.close();
        return BlockLocation.inline(block.length());
      }
    }
    return held(block, lease);
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
