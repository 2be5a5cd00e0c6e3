package org.efashuffle.spark;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * One circuit breaker per peer executor, deciding whether its next fetch may go over the fabric.
 * Closed: every fetch may. A fabric fetch that fails (no answer in time, or an error) opens it:
 * the peer's blocks go to Netty at once, which fails them as Spark's sort shuffle would for a dead
 * peer (FetchFailedException, stage retry) and waits as sort shuffle would for a stopped one.
 * After the cool-down, one fetch may probe the fabric (half-open); its success closes the breaker,
 * its failure opens it for another cool-down.
 */
final class PeerBreakers {
  static final long COOL_DOWN_NANOS = TimeUnit.SECONDS.toNanos(30);

  private enum State { CLOSED, OPEN, HALF_OPEN }

  private final long coolDownNanos;
  private final LongSupplier clock;
  private final ConcurrentHashMap<String, Breaker> breakers = new ConcurrentHashMap<>();

  PeerBreakers() {
    this(COOL_DOWN_NANOS, System::nanoTime);
  }

  /** @param clock nanoseconds, as {@link System#nanoTime()} */
  PeerBreakers(long coolDownNanos, LongSupplier clock) {
    this.coolDownNanos = coolDownNanos;
    this.clock = clock;
  }

  /**
   * A permit to fetch from {@code executorId} over the fabric, whose outcome the caller must
   * report; or null: the breaker is open (or its probe is out), read the peer over Netty.
   */
  Permit tryFabric(String executorId) {
    return breakers.computeIfAbsent(executorId, id -> new Breaker()).tryFabric();
  }

  /** Whether a fetch may go over the fabric and, if it is a probe, reports back. */
  interface Permit {
    /** Whether this fetch is the one probe of a half-open breaker. */
    boolean isProbe();

    /** The fetch got its answer: a probe closes the breaker. */
    void succeeded();

    /**
     * The fetch failed: opens the breaker, unless it is already open (a fetch issued before the
     * opening that fails too). Returns whether this call opened it.
     */
    boolean failed();
  }

  private final class Breaker {
    private State state = State.CLOSED;
    private long openedAt;

    synchronized Permit tryFabric() {
      switch (state) {
        case CLOSED:
          return new Outcome(this, false);
        case OPEN:
          if (clock.getAsLong() - openedAt >= coolDownNanos) {
            state = State.HALF_OPEN;
            return new Outcome(this, true);
          }
          return null;
        default:
          return null; // the probe is out
      }
    }

    synchronized void succeeded(boolean probe) {
      if (probe) {
        state = State.CLOSED;
      }
    }

    synchronized boolean failed(boolean probe) {
      if (probe || state == State.CLOSED) {
        state = State.OPEN;
        openedAt = clock.getAsLong();
        return true;
      }
      return false;
    }
  }

  private record Outcome(Breaker breaker, boolean isProbe) implements Permit {
    @Override
    public void succeeded() {
      breaker.succeeded(isProbe);
    }

    @Override
    public boolean failed() {
      return breaker.failed(isProbe);
    }
  }
}
