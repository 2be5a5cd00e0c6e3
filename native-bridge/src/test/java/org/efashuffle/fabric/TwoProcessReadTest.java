package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Reader here, target in a second JVM: bytes really cross a process boundary. */
@ExtendWith(NoNativeLeaks.class)
class TwoProcessReadTest {
  private static final long DATA = 64L << 20;
  private static final int REGIONS = 4;

  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  private static ChildJvm startTarget(TestProviders.Provider p) throws Exception {
    return new ChildJvm(List.of(), ReadTargetMain.class, p.name(),
        p.domain() == null ? "-" : p.domain(), Long.toString(DATA), Integer.toString(REGIONS));
  }

  private static String description(ChildJvm child) throws Exception {
    String line = child.readLine();
    assertTrue(line.startsWith("READY "), line);
    return line.substring("READY ".length());
  }

  @ParameterizedTest
  @MethodSource("providers")
  void randomRangesAndAWindowOf64ArriveFromAnotherProcess(TestProviders.Provider p) throws Exception {
    try (ChildJvm child = startTarget(p)) {
      try (FabricReadTest.Reader reader = new FabricReadTest.Reader(p, description(child))) {
        Random random = new Random(11);
        for (int i = 0; i < 24; i++) {
          long length = 4096 + (long) (random.nextDouble() * ((16L << 20) - 4096));
          long offset = i % 3 == 0
              ? (1 + random.nextInt(REGIONS - 1)) * reader.data.regionSize - length / 2
              : (long) (random.nextDouble() * (DATA - length));
          reader.data.read(reader.endpoint, reader.peer, reader.region, 0, offset, length).get(30, TimeUnit.SECONDS);
          assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, offset, length), "read " + length + " at " + offset);
        }
        int window = 64;
        long slot = reader.memory.size() / window;
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        long[] offsets = new long[window];
        for (int i = 0; i < window; i++) {
          offsets[i] = (long) (random.nextDouble() * (DATA - slot));
          reads.add(reader.data.read(reader.endpoint, reader.peer, reader.region, i * slot, offsets[i], slot));
        }
        CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0])).get(60, TimeUnit.SECONDS);
        for (int i = 0; i < window; i++) {
          assertEquals(-1, Patterns.firstMismatch(reader.memory, i * slot, offsets[i], slot), "window read " + i);
        }
      }
      child.in.println("close");
      String closed = child.readLine();
      assertTrue(closed.startsWith("CLOSED true"), "target process after close: " + closed);
      assertEquals(0, child.waitFor());
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void readFromAPeerWhoseProcessDiedFailsWithinTheTimeout(TestProviders.Provider p) throws Exception {
    Duration timeout = Duration.ofSeconds(3);
    try (ChildJvm child = startTarget(p);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, description(child), timeout)) {
      reader.data.read(reader.endpoint, reader.peer, reader.region, 0, 0, 1 << 20).get(30, TimeUnit.SECONDS);
      child.process.destroyForcibly();
      child.waitFor();
      long start = System.nanoTime();
      CompletableFuture<Void> read = reader.data.read(reader.endpoint, reader.peer, reader.region, 0, 4096, 1 << 20);
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> read.get(timeout.toSeconds() + 10, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof FabricException, String.valueOf(e.getCause()));
      assertTrue(System.nanoTime() - start < timeout.toNanos() + TimeUnit.SECONDS.toNanos(5));
    }
  }

  @Test
  void nativeLibraryPathPointingNowhereMakesTheBridgeUnavailableWithThatCause() throws Exception {
    try (ChildJvm child = new ChildJvm(List.of("-Defashuffle.native.library=/nonexistent/libefafabric.so"),
        AvailabilityProbeMain.class)) {
      assertEquals("AVAILABLE false", child.readLine());
      String cause = child.readLine();
      assertTrue(cause.contains("/nonexistent/libefafabric.so") && cause.contains("does not exist"), cause);
      String open = child.readLine();
      assertTrue(open.contains("native bridge unavailable") && open.contains("/nonexistent"), open);
      assertEquals(0, child.waitFor());
    }
  }
}
