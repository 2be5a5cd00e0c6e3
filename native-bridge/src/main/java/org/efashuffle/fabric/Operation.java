package org.efashuffle.fabric;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One user-visible operation (a read, send or receive), posted as one or more pieces; its future
 * completes with the bytes moved once every piece has completed, or fails with the first error.
 * It counts the pieces libfabric holds (posted, completion not yet read), so that the future
 * settles only when none is left (see {@link FabricOperation#settled()}).
 */
final class Operation {
  final FabricOperation future = new FabricOperation();
  final String name;
  /** System.nanoTime() by which the operation must complete; meaningless when !hasDeadline. */
  final long deadlineNanos;
  final boolean hasDeadline;
  private final AtomicInteger remaining;
  private final AtomicLong bytes = new AtomicLong();
  private final AtomicInteger posted = new AtomicInteger();

  Operation(String name, int pieces, long deadlineNanos, boolean hasDeadline) {
    this.name = name;
    this.remaining = new AtomicInteger(pieces);
    this.deadlineNanos = deadlineNanos;
    this.hasDeadline = hasDeadline;
  }

  /** Whether the deadline has passed (nanoTime may be negative: compare by difference). */
  boolean expired(long nowNanos) {
    return hasDeadline && !isDone() && nowNanos - deadlineNanos > 0;
  }

  /**
   * Called before a piece is handed to libfabric; false (and nothing held) when the operation is
   * already done, so the piece must not be posted.
   */
  boolean beginPost() {
    posted.incrementAndGet();
    if (isDone()) {
      endPost();
      return false;
    }
    return true;
  }

  /** A piece libfabric held is back: its completion was read, its post failed, or the endpoint closed. */
  void endPost() {
    if (posted.decrementAndGet() == 0) {
      settleIfDone();
    }
  }

  /**
   * A posted piece completed successfully. After the last, every piece is back: settled()
   * completes before the future, so a caller that sees success may reuse the memory at once.
   */
  void pieceDone(long length) {
    bytes.addAndGet(length);
    boolean last = remaining.decrementAndGet() == 0;
    posted.decrementAndGet();
    if (last) {
      future.settle();
      future.complete(bytes.get());
    } else {
      settleIfDone();
    }
  }

  /** A posted piece completed with an error. */
  void pieceFailed(Throwable cause) {
    endPost();
    fail(cause);
  }

  void fail(Throwable cause) {
    future.completeExceptionally(cause);
    settleIfDone();
  }

  private void settleIfDone() {
    if (isDone() && posted.get() == 0) {
      future.settle();
    }
  }

  boolean isDone() {
    return future.isDone();
  }
}
