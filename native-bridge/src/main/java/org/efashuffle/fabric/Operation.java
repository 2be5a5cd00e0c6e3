package org.efashuffle.fabric;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One user-visible operation (a read, send or receive), posted as one or more pieces; its future
 * completes with the bytes moved once every piece has completed, or fails with the first error.
 */
final class Operation {
  final CompletableFuture<Long> future = new CompletableFuture<>();
  final String name;
  /** System.nanoTime() by which the operation must complete; meaningless when !hasDeadline. */
  final long deadlineNanos;
  final boolean hasDeadline;
  private final AtomicInteger remaining;
  private final AtomicLong bytes = new AtomicLong();

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

  void pieceDone(long length) {
    bytes.addAndGet(length);
    if (remaining.decrementAndGet() == 0) {
      future.complete(bytes.get());
    }
  }

  void fail(Throwable cause) {
    future.completeExceptionally(cause);
  }

  boolean isDone() {
    return future.isDone();
  }
}
