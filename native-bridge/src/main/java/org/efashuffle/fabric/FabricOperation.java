package org.efashuffle.fabric;

import java.util.concurrent.CompletableFuture;

/**
 * The result of a read, send or receive: completes with the bytes moved, or fails with the first
 * error or when the operation timed out. A failed operation may still be posted to libfabric, which
 * can go on writing into (or reading from) the memory it was handed: that memory may be reused or
 * freed only once {@link #settled()} has completed.
 */
public final class FabricOperation extends CompletableFuture<Long> {
  private final CompletableFuture<Void> settled = new CompletableFuture<>();

  FabricOperation() {}

  /**
   * Completes once the provider no longer uses the operation's memory: every piece that was posted
   * has had its completion (success or error) read, no piece will be posted any more, or the
   * endpoint that posted it has been closed. Never fails.
   */
  public CompletableFuture<Void> settled() {
    return settled;
  }

  void settle() {
    settled.complete(null);
  }
}
