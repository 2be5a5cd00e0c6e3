package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * An idle endpoint costs no core: shm's completion queue has no wait object, and the 64 receives
 * an executor keeps posted are no work in flight. Also prints a small-message ping-pong's round
 * trip on shm, the latency the idle back-off must not spoil (no assertion on speed).
 */
@ExtendWith(NoNativeLeaks.class)
class IdleProgressTest {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** The live progress thread of an shm endpoint, found by its name (there is one open in this test). */
  private static Thread progressThread() {
    List<Thread> found = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith("efa-fabric-progress-shm")) {
        found.add(t);
      }
    }
    assertEquals(1, found.size(), "shm progress threads: " + found);
    return found.get(0);
  }

  @Test
  void anIdleShmEndpointWith64PostedReceivesUsesUnderAFifthOfACore() throws Exception {
    try (FabricDomain domain = FabricDomain.open("shm", null)) {
      FabricEndpoint endpoint = domain.openEndpoint(EndpointConfig.defaults());
      RegisteredMemory slots = RegisteredMemory.allocate(domain, 64 * 4096);
      try {
        List<FabricOperation> receives = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
          receives.add(endpoint.receive(slots.region(), i * 4096L, 4096));
        }
        Thread progress = progressThread();
        long cpu0 = THREADS.getThreadCpuTime(progress.getId());
        long wall0 = System.nanoTime();
        Thread.sleep(2000); // the measured idle period
        long cpu = THREADS.getThreadCpuTime(progress.getId()) - cpu0;
        long wall = System.nanoTime() - wall0;
        double share = (double) cpu / wall;
        System.out.printf("idle shm endpoint, 64 receives posted: progress thread used %.1f%% of a core over %d ms%n",
            100 * share, TimeUnit.NANOSECONDS.toMillis(wall));
        assertTrue(share < 0.20, "progress thread used " + Math.round(100 * share) + "% of a core while idle");
        long reported = endpoint.progressCpuNanos();
        assertTrue(reported >= cpu0 + cpu && reported <= THREADS.getThreadCpuTime(progress.getId()),
            "progressCpuNanos " + reported + " is not the progress thread's CPU time");
        for (FabricOperation r : receives) {
          assertTrue(!r.isDone(), "a receive completed with nothing sent");
        }
      } finally {
        domain.close();
        slots.close();
      }
    }
  }

  /**
   * Both sides answer from their progress threads (no application thread in the loop), so the
   * round trip is the fabric's and the progress loops' own: what the idle back-off could slow.
   */
  @Test
  void smallMessagePingPongOnShmPrintsItsRoundTrip() throws Exception {
    try (ReadTarget echo = new ReadTarget("shm", null, 1L << 20, 1);
         FabricReadTest.Reader pinger = new FabricReadTest.Reader(new TestProviders.Provider("shm", null),
             echo.describe())) {
      long back = echo.endpoint.insertPeer(pinger.endpoint.address());
      MemoryRegion echoBuf = echo.regions.get(0);
      int warmup = 300;
      int rounds = 3000;
      long[] rtt = new long[warmup + rounds];
      CompletableFuture<Void> done = new CompletableFuture<>();
      // The echo side sends each message back and posts its next receive.
      Runnable[] echoArm = new Runnable[1];
      echoArm[0] = () -> echo.endpoint.receive(echoBuf, 0, 64).thenAccept(n -> {
        echoArm[0].run();
        echo.endpoint.send(echoBuf, 0, n, back);
      });
      echoArm[0].run();
      // The pinger checks each answer (its first byte is the round), then sends the next message.
      byte[] message = new byte[32];
      int[] round = {0};
      long[] start = {0};
      Runnable[] ping = new Runnable[1];
      ping[0] = () -> {
        message[0] = (byte) round[0];
        pinger.memory.put(0, message, 0, message.length);
        start[0] = System.nanoTime();
        pinger.endpoint.receive(pinger.region, 4096, 64).whenComplete((n, e) -> {
          if (e != null || n != message.length || pinger.memory.getByte(4096) != (byte) round[0]) {
            done.completeExceptionally(e != null ? e : new AssertionError("answer " + round[0] + " of " + n + " bytes"));
            return;
          }
          rtt[round[0]] = System.nanoTime() - start[0];
          if (++round[0] == rtt.length) {
            done.complete(null);
          } else {
            ping[0].run();
          }
        });
        pinger.endpoint.send(pinger.region, 0, message.length, pinger.peer);
      };
      ping[0].run();
      done.get(120, TimeUnit.SECONDS);
      long[] measured = Arrays.copyOfRange(rtt, warmup, rtt.length);
      Arrays.sort(measured);
      System.out.printf("shm ping-pong of %d-byte messages, %d rounds: median %.1f us, p90 %.1f us, p99 %.1f us%n",
          message.length, measured.length, measured[measured.length / 2] / 1e3,
          measured[measured.length * 9 / 10] / 1e3, measured[measured.length * 99 / 100] / 1e3);
    }
  }
}
