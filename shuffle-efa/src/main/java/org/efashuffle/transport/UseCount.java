package org.efashuffle.transport;

/**
 * Counts the threads using something that {@link #closeAndAwait()} will free: each use is
 * {@link #enter()}, then {@link #exit()} in a finally; close refuses new uses and waits for those
 * inside, so memory or a native handle is never freed under a thread still using it.
 */
public final class UseCount {
  private int inside;
  private boolean closed;

  /** Starts a use; false (and nothing to exit) once closing began. */
  public synchronized boolean enter() {
    if (closed) {
      return false;
    }
    inside++;
    return true;
  }

  public synchronized void exit() {
    if (--inside == 0 && closed) {
      notifyAll();
    }
  }

  /** Refuses new uses and returns once every use inside has exited. Idempotent. */
  public synchronized void closeAndAwait() {
    closed = true;
    boolean interrupted = false;
    while (inside > 0) {
      try {
        wait();
      } catch (InterruptedException e) {
        interrupted = true; // freeing under a user would crash the JVM: wait on, keep the interrupt
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
