package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * From libfabric 2.5 the efa provider's {@code fi_cq_sread} returns -FI_ECANCELED after
 * {@code fi_cq_signal} (fi_cq(3) documents -FI_EAGAIN); a post wakes an idle progress thread
 * that way. Debian's {@code sockets} provider does the same today, so the real path is run here:
 * each round waits until the reader's progress thread is blocked in {@code fi_cq_sread}, then
 * posts a read, whose wake-up is answered with -FI_ECANCELED.
 */
@ExtendWith(NoNativeLeaks.class)
class CanceledWaitTest {
  private static final TestProviders.Provider SOCKETS = new TestProviders.Provider("sockets", "lo");

  @Test
  void aWakeUpAnsweredWithCanceledIsNoCompletionAndTheEndpointGoesOn() throws Exception {
    try (ReadTarget target = new ReadTarget(SOCKETS.name(), SOCKETS.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(SOCKETS, target.describe())) {
      assertTrue(reader.endpoint.blocksInCompletionQueue(), "sockets' queue has a wait object");
      for (int round = 0; round < 5; round++) {
        awaitBlocked(reader.endpoint);
        long offset = round * 8192L;
        assertEquals(8192L, reader.endpoint.read(reader.region, 0, 8192, reader.peer,
            reader.data.remoteAddresses[0] + offset, reader.data.keys[0]).get(10, TimeUnit.SECONDS));
        assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, offset, 8192));
        assertFalse(reader.endpoint.failure().isDone(), "progress stopped: " + reader.endpoint.failure().getNow(null));
      }
    }
  }

  /** Waits (up to 10 s) until the endpoint's progress thread is about to block or blocked in fi_cq_sread. */
  private static void awaitBlocked(FabricEndpoint endpoint) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!endpoint.sleeping()) {
      assertTrue(System.nanoTime() - deadline < 0, "the progress thread never went idle");
      Thread.onSpinWait();
    }
  }
}
