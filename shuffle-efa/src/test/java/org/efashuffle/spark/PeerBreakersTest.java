package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * One breaker per peer: a failed fabric fetch opens it, the peer is read over Netty while it is
 * open, after the cool-down exactly one probe may try the fabric (half-open), and the probe's
 * outcome closes or reopens it. Time is a clock the test moves.
 */
class PeerBreakersTest {
  private static final long COOL_DOWN = TimeUnit.SECONDS.toNanos(30);
  private final AtomicLong now = new AtomicLong(1_000);
  private final PeerBreakers breakers = new PeerBreakers(COOL_DOWN, now::get);

  @Test
  void aFailureOpensThePeersBreakerUntilAProbeSucceedsAfterTheCoolDown() {
    PeerBreakers.Permit first = breakers.tryFabric("1");
    PeerBreakers.Permit second = breakers.tryFabric("1");
    assertNotNull(first);
    assertNotNull(second);
    assertFalse(first.isProbe());

    assertTrue(first.failed(), "the first failure opens the breaker");
    assertFalse(second.failed(), "a fetch already in flight that fails too is the same opening");
    assertNull(breakers.tryFabric("1"), "open: the peer is read over Netty");
    assertNotNull(breakers.tryFabric("2"), "other peers keep the fabric");

    now.addAndGet(COOL_DOWN - 1);
    assertNull(breakers.tryFabric("1"), "still cooling down");

    now.addAndGet(1);
    PeerBreakers.Permit probe = breakers.tryFabric("1");
    assertNotNull(probe, "half-open: one probe");
    assertTrue(probe.isProbe());
    assertNull(breakers.tryFabric("1"), "only one probe at a time");

    probe.succeeded();
    PeerBreakers.Permit after = breakers.tryFabric("1");
    assertNotNull(after, "closed again");
    assertFalse(after.isProbe());
    assertNotNull(breakers.tryFabric("1"));
  }

  @Test
  void aFailedProbeReopensForAnotherCoolDown() {
    assertTrue(breakers.tryFabric("1").failed());
    now.addAndGet(COOL_DOWN);
    PeerBreakers.Permit probe = breakers.tryFabric("1");
    assertTrue(probe.failed(), "a failed probe is a new opening");
    assertNull(breakers.tryFabric("1"));
    now.addAndGet(COOL_DOWN - 1);
    assertNull(breakers.tryFabric("1"), "the cool-down starts again at the probe's failure");
    now.addAndGet(1);
    assertTrue(breakers.tryFabric("1").isProbe());
  }

  @Test
  void aLateSuccessOfAFetchIssuedBeforeTheOpeningDoesNotCloseIt() {
    PeerBreakers.Permit failing = breakers.tryFabric("1");
    PeerBreakers.Permit late = breakers.tryFabric("1");
    assertTrue(failing.failed());
    late.succeeded();
    assertNull(breakers.tryFabric("1"), "only a probe after the cool-down closes an open breaker");
  }
}
