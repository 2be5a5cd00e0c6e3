package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import jnr.ffi.LibraryLoader;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Errno;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.fabric.FabricException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A read that times out while its fi_read pieces are still posted must not give its memory back
 * before they complete: a server in another JVM is stopped (SIGSTOP) while a fetch reads from it,
 * the fetch fails on the read timeout, a later fetch from another server reads into the receive
 * pool meanwhile, then the stopped server resumes and its late reads complete. The later fetch's
 * blocks must still hold exactly their own bytes. tcp;ofi_rxm only: its reads need the server's
 * progress, so a stopped server holds them (shm reads need none).
 */
class LateReadCompletionTest {
  private static final String PROVIDER = "tcp;ofi_rxm";
  private static final String DOMAIN = "lo";
  private static final int SIGCONT = 18;
  private static final int SIGSTOP = 19;
  private static final int ATTEMPTS = 8;
  private static final long TRAPPED_BYTES = 12L << 20;

  /** kill(2), to stop and resume the server process at once (no fork of kill(1) in between). */
  public interface LibC {
    int kill(int pid, int signal);
  }

  // After the bridge loaded: it turns off jnr-ffi's x86 stubs, which must be off before any library loads.
  private static final LibC LIBC = Fabric.isAvailable() ? LibraryLoader.create(LibC.class).load("c") : null;

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  private static void signal(Process process, int signal) {
    assertEquals(0, LIBC.kill((int) process.pid(), signal), "kill(" + process.pid() + ", " + signal + ")");
  }

  /** Whole map outputs (one block each) from {@code maps}, in order, until they add up to {@code bytes}. */
  private static List<BlockRef> wholeMaps(FabricTransportTest.MapOutputs outputs, int[] maps, long bytes,
      long[] total) {
    List<BlockRef> refs = new ArrayList<>();
    for (int m : maps) {
      if (total[0] >= bytes) {
        break;
      }
      refs.add(new BlockRef(0, m, 0, FabricTransportTest.PARTITIONS));
      total[0] += mapBytes(outputs, m);
    }
    return refs;
  }

  private static long mapBytes(FabricTransportTest.MapOutputs outputs, int m) {
    int last = FabricTransportTest.PARTITIONS - 1;
    return outputs.offsets[m][last] + outputs.sizes[m][last] - outputs.offsets[m][0];
  }

  private static void assertWholeMaps(FabricTransportTest.MapOutputs outputs, List<FetchedBlock> blocks) {
    for (FetchedBlock b : blocks) {
      int m = (int) b.ref().mapId();
      FabricTransportTest.MapOutputs.assertBytes(b.data(), outputs.offsets[m][0], mapBytes(outputs, m), b.ref());
    }
  }

  @Test
  void aReadStillPostedAfterItsTimeoutNeverWritesIntoALaterFetchsMemory() throws Exception {
    // 64 KiB pieces: the trapped read is a few hundred fi_reads, each needing the server's progress,
    // all posted at once (fewer than maxInFlight), so that a stop lands while some are still posted.
    EndpointConfig reader = EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(2))
        .withMaxReadPiece(64 << 10);
    Process child = new ProcessBuilder(Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), TransportServerMain.class.getName(), PROVIDER, DOMAIN)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    boolean stopped = false;
    List<FetchedBlock> held = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
         FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(5));
         FabricTransport other = FabricTransport.open(PROVIDER, DOMAIN, EndpointConfig.defaults(), d -> outputs);
         FabricTransport client = FabricTransport.open(PROVIDER, DOMAIN,
             TransportOptions.of(reader).withReceivePoolBytes(64L << 20).withRequestTimeout(Duration.ofSeconds(30)),
             d -> b -> null)) {
      outputs.region = other.domain().register(outputs.memory);
      String ready = out.readLine();
      assertTrue(ready != null && ready.startsWith("READY "), "server did not start: " + ready);
      byte[] stoppable = HexFormat.of().parseHex(ready.substring(6));
      child.getOutputStream().write('\n'); // serve only; the child fetches nothing
      child.getOutputStream().flush();

      // The child serves the same outputs (seed 5). The trapped fetch reads the first maps, the
      // later one (from the other server) the last maps, at least as many bytes: into the same
      // pool memory if the trapped batch went back early, and different bytes from the late ones.
      int[] first = new int[FabricTransportTest.MAPS];
      int[] last = new int[FabricTransportTest.MAPS];
      for (int m = 0; m < FabricTransportTest.MAPS; m++) {
        first[m] = m;
        last[m] = FabricTransportTest.MAPS - 1 - m;
      }
      long[] trappedBytes = new long[1];
      long[] laterBytes = new long[1];
      List<BlockRef> trappedRefs = wholeMaps(outputs, first, TRAPPED_BYTES, trappedBytes);
      List<BlockRef> laterRefs = wholeMaps(outputs, last, trappedBytes[0], laterBytes);
      assertTrue(laterBytes[0] <= 32L << 20, "the later batch fits one receive slab: " + laterBytes[0]);
      assertTrue(trappedRefs.get(trappedRefs.size() - 1).mapId() < laterRefs.get(laterRefs.size() - 1).mapId(),
          "the two fetches read different maps");

      int attempt = 0;
      boolean trapped = false;
      while (!trapped && attempt < ATTEMPTS) {
        attempt++;
        assertEquals(0, client.receivePoolUsedBytes(), "every earlier batch went back");
        long start = System.nanoTime();
        CompletableFuture<List<FetchedBlock>> fetch = client.fetch(stoppable, trappedRefs);
        while (client.receivePoolUsedBytes() == 0 && !fetch.isDone()) {
          Thread.onSpinWait(); // the answer is in and the batch taken: the reads are being posted
        }
        signal(child, SIGSTOP);
        stopped = true;
        Throwable fault = null;
        try {
          fetch.get(60, TimeUnit.SECONDS).forEach(FetchedBlock::release);
        } catch (ExecutionException e) {
          fault = e.getCause() instanceof java.util.concurrent.CompletionException c ? c.getCause() : e.getCause();
        }
        System.out.printf("attempt %d: fetch of %d bytes from the stopped server %s after %d ms%n", attempt,
            trappedBytes[0], fault == null ? "completed (the read won the race)" : "failed: " + fault,
            (System.nanoTime() - start) / 1_000_000);
        if (fault == null) {
          signal(child, SIGCONT);
          stopped = false;
          continue;
        }
        assertTrue(fault instanceof FabricException f && f.errno() == Errno.ETIMEDOUT,
            "the trapped fetch failed on its read timeout: " + fault);
        trapped = true;

        start = System.nanoTime();
        List<FetchedBlock> later = client.fetch(other.address(), laterRefs).get(60, TimeUnit.SECONDS);
        held.addAll(later);
        System.out.printf("later fetch of %d bytes from the other server: %d ms%n", laterBytes[0],
            (System.nanoTime() - start) / 1_000_000);
        signal(child, SIGCONT);
        stopped = false;
        // The resumed server serves the late reads before it answers this request (one
        // connection, in order): once it is answered, the late reads have landed.
        start = System.nanoTime();
        List<FetchedBlock> sync = client.fetch(stoppable, List.of(BlockRef.of(0, 0, 1))).get(60, TimeUnit.SECONDS);
        held.addAll(sync);
        System.out.printf("fetch from the resumed server: %d ms%n", (System.nanoTime() - start) / 1_000_000);
        FabricTransportTest.MapOutputs.assertBytes(sync.get(0).data(), outputs.offsets[0][1], outputs.sizes[0][1],
            "block 0/0/1 from the resumed server");
        assertWholeMaps(outputs, later);
        held.forEach(FetchedBlock::release);
        held.clear();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (client.receivePoolUsedBytes() != 0 && System.nanoTime() - deadline < 0) {
          Thread.yield(); // the late reads completed: the trapped batch goes back to the pool
        }
        assertEquals(0, client.receivePoolUsedBytes(), "the trapped batch went back once its reads completed");
      }
      assertTrue(trapped, "no read was caught in flight by the stop in " + ATTEMPTS + " attempts");
    } finally {
      held.forEach(FetchedBlock::release);
      if (stopped) {
        signal(child, SIGCONT);
      }
      child.getOutputStream().close();
      assertEquals(0, child.waitFor(), "server process exit code");
    }
  }
}
