package org.efashuffle.fabric;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;

/**
 * How many threads are inside a use of one object (a native call on its handle, a copy into its
 * memory), and whether it is closed.
 * Every native call on the handle runs between {@link #enter()} and {@link #exit()}; close marks
 * the object closed (later enters throw {@link IllegalStateException} naming it), waits until the
 * threads inside have left, and only then frees the handle. So a call racing a close becomes an
 * exception, never a call on freed native memory.
 */
public final class UseCount {
  /** The sign bit: set once closed; the low bits count the threads inside. */
  private static final int CLOSED = Integer.MIN_VALUE;

  private final AtomicInteger state = new AtomicInteger();
  private final Supplier<String> name;
  private volatile Thread closer;

  /** {@code name} names the object in the exception (called only when one is thrown). */
  public UseCount(Supplier<String> name) {
    this.name = name;
  }

  /** Enters a native call on the handle; throws IllegalStateException once the object is closed. */
  public void enter() {
    if (!tryEnter()) {
      throw closedException();
    }
  }

  /** As {@link #enter()}, but answers false instead of throwing when closed. */
  public boolean tryEnter() {
    for (;;) {
      int s = state.get();
      if (s < 0) {
        return false;
      }
      if (state.compareAndSet(s, s + 1)) {
        return true;
      }
    }
  }

  public void exit() {
    if (state.decrementAndGet() == CLOSED) {
      Thread waiting = closer;
      if (waiting != null) {
        LockSupport.unpark(waiting);
      }
    }
  }

  public boolean isClosed() {
    return state.get() < 0;
  }

  public IllegalStateException closedException() {
    return new IllegalStateException(name.get() + " is closed");
  }

  /**
   * Marks the object closed and waits until no thread is inside a native call on it. True for
   * the one caller that closed it (who then frees the handle), false when it was closed already.
   * Must not be called by a thread that is itself inside (it would wait for itself).
   */
  public boolean close() {
    int s;
    do {
      s = state.get();
      if (s < 0) {
        return false;
      }
    } while (!state.compareAndSet(s, s | CLOSED));
    closer = Thread.currentThread();
    boolean interrupted = false;
    while (state.get() != CLOSED) {
      LockSupport.park(this);
      interrupted |= Thread.interrupted();
    }
    closer = null;
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    return true;
  }
}
