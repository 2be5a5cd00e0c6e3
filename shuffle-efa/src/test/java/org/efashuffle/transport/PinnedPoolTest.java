package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.fabric.FabricDomain;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pool's lock is never held across a registration, since the progress thread frees under it. */
class PinnedPoolTest {
  private static final long SLAB = 1L << 20;

  @AfterEach
  void nothingLeaks() {
    RegisteredArena.registrationWatcher = thread -> {};
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  @Test
  void aSlabBeingRegisteredDoesNotHoldUpFreesOrGauges() throws Exception {
    try (FabricDomain domain = FabricDomain.open("shm", null)) {
      PinnedPool pool = PinnedPool.retaining(domain, 4 * SLAB, SLAB);
      PinnedPool.Piece first = pool.allocate(SLAB);
      assertNotNull(first);
      CountDownLatch registering = new CountDownLatch(1);
      CountDownLatch finish = new CountDownLatch(1);
      RegisteredArena.registrationWatcher = thread -> {
        if (thread.getName().equals("grower")) {
          registering.countDown();
          try {
            finish.await(); // a registration that takes long (an ibv_reg_mr of a big slab on EFA)
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      };
      CompletableFuture<PinnedPool.Piece> grown = new CompletableFuture<>();
      Thread grower = new Thread(() -> grown.complete(pool.allocate(SLAB)), "grower");
      grower.start();
      PinnedPool.Piece again;
      try {
        assertTrue(registering.await(30, TimeUnit.SECONDS), "the pool started registering a second slab");
        // What the progress thread does when a lease or a fetch ends: it must not wait for the registration.
        CompletableFuture.runAsync(() -> pool.free(first)).get(30, TimeUnit.SECONDS);
        long gauge = CompletableFuture.supplyAsync(pool::pinnedBytes).get(30, TimeUnit.SECONDS);
        assertEquals(2 * SLAB, gauge, "the slab being registered counts against the budget");
        again = CompletableFuture.supplyAsync(() -> pool.allocateRegistered(SLAB)).get(30, TimeUnit.SECONDS);
        assertNotNull(again, "the freed piece of the registered slab is taken again meanwhile");
      } finally {
        finish.countDown();
      }
      PinnedPool.Piece second = grown.get(30, TimeUnit.SECONDS);
      assertNotNull(second);
      assertTrue(second.slab() != again.slab(), "the new slab was published");
      assertEquals(2 * SLAB, pool.pinnedBytes());
      pool.free(again);
      pool.free(second);
      pool.close();
      assertEquals(0, pool.pinnedBytes(), "closing frees every empty slab");
    }
  }
}
