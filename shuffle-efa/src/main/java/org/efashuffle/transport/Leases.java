package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The server's leases, one per request id: the blocks published for a request, held (readable)
 * until the reader's done message, the lease timeout (a reader that is gone), or close. A lease
 * ends once, closing its blocks; a block offered to an ended lease is closed at once.
 */
final class Leases {
  /** The blocks published for one request. */
  static final class Lease {
    final long requestId;
    private final long openedNanos;
    private final List<BlockSource.PublishedBlock> blocks = new ArrayList<>();
    private boolean ended;

    private Lease(long requestId, long openedNanos) {
      this.requestId = requestId;
      this.openedNanos = openedNanos;
    }

    /** Holds {@code block} until the lease ends; false (and the block closed) if it has ended. */
    synchronized boolean hold(BlockSource.PublishedBlock block) {
      if (ended) {
        block.close();
        return false;
      }
      blocks.add(block);
      return true;
    }

    synchronized int size() {
      return blocks.size();
    }

    private void end() {
      List<BlockSource.PublishedBlock> held;
      synchronized (this) {
        ended = true;
        held = new ArrayList<>(blocks);
        blocks.clear();
      }
      held.forEach(BlockSource.PublishedBlock::close);
    }
  }

  private final long timeoutNanos;
  private final Map<Long, Lease> open = new HashMap<>();
  private boolean closed;

  Leases(long timeoutNanos) {
    this.timeoutNanos = timeoutNanos;
  }

  /**
   * A new lease for {@code requestId}, or null when a lease under that id is still open (a
   * duplicate id: the open lease is kept, never overwritten). Once closed, an ended lease.
   */
  Lease open(long requestId) {
    Lease lease = new Lease(requestId, System.nanoTime());
    synchronized (this) {
      if (!closed) {
        return open.putIfAbsent(requestId, lease) == null ? lease : null;
      }
    }
    lease.end();
    return lease;
  }

  /** Ends the lease under {@code requestId}, if one is open (the reader is done). */
  void release(long requestId) {
    Lease lease;
    synchronized (this) {
      lease = open.remove(requestId);
    }
    if (lease != null) {
      lease.end();
    }
  }

  /** Ends {@code lease} (its answer could not be sent, or it holds nothing). */
  void release(Lease lease) {
    synchronized (this) {
      open.remove(lease.requestId, lease);
    }
    lease.end();
  }

  /** Ends the leases older than the timeout; returns how many. */
  int expire() {
    long now = System.nanoTime();
    List<Lease> expired = new ArrayList<>();
    synchronized (this) {
      for (Iterator<Lease> it = open.values().iterator(); it.hasNext(); ) {
        Lease lease = it.next();
        if (now - lease.openedNanos > timeoutNanos) {
          it.remove();
          expired.add(lease);
        }
      }
    }
    expired.forEach(Lease::end);
    return expired.size();
  }

  /** Blocks held now (for tests and metrics). */
  synchronized int heldBlocks() {
    return open.values().stream().mapToInt(Lease::size).sum();
  }

  /** Ends every lease; a lease opened later is ended at once. */
  void close() {
    List<Lease> all;
    synchronized (this) {
      closed = true;
      all = new ArrayList<>(open.values());
      open.clear();
    }
    all.forEach(Lease::end);
  }
}
