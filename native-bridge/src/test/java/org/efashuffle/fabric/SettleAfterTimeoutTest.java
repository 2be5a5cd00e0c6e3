package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Item 1's contract with a real stopped peer: a read's future may fail on its timeout while
 * libfabric still holds the read (and will write its bytes later); {@link FabricOperation#settled()}
 * completes only once the provider has given the read back. tcp;ofi_rxm only: its reads need the
 * target process's progress, so a target stopped with SIGSTOP holds them (shm reads by
 * cross-memory attach without the target).
 */
@ExtendWith(NoNativeLeaks.class)
class SettleAfterTimeoutTest {
  private static final TestProviders.Provider TCP = new TestProviders.Provider("tcp;ofi_rxm", "lo");
  private static final long DATA = 4L << 20;
  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  private static ChildJvm startTarget() throws Exception {
    return new ChildJvm(List.of(), ReadTargetMain.class, TCP.name(), TCP.domain(), Long.toString(DATA), "1");
  }

  private static String description(ChildJvm child) throws Exception {
    String line = child.readLine();
    assertTrue(line.startsWith("READY "), line);
    return line.substring("READY ".length());
  }

  private static void signal(ChildJvm child, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(child.process.pid())).inheritIO().start();
    assertEquals(0, kill.waitFor(), "kill -" + signal);
    if (signal.equals("STOP")) {
      awaitAllThreadsStopped(child);
    }
  }

  /** SIGSTOP stops a process's threads one by one, asynchronously: waits until /proc shows every one stopped. */
  private static void awaitAllThreadsStopped(ChildJvm child) throws Exception {
    Path tasks = Path.of("/proc", Long.toString(child.process.pid()), "task");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      boolean allStopped = true;
      try (DirectoryStream<Path> threads = Files.newDirectoryStream(tasks)) {
        for (Path t : threads) {
          String stat = Files.readString(t.resolve("stat"));
          char state = stat.charAt(stat.lastIndexOf(')') + 2);
          allStopped &= state == 'T' || state == 't';
        }
      }
      if (allStopped) {
        return;
      }
      assertTrue(System.nanoTime() < deadline, "target threads not all stopped 30 s after SIGSTOP");
      Thread.sleep(5); // poll interval of the check above
    }
  }

  private static FabricException timedOut(FabricOperation read) {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> read.get(TIMEOUT.toSeconds() + 20, TimeUnit.SECONDS));
    assertTrue(e.getCause() instanceof FabricException, String.valueOf(e.getCause()));
    FabricException f = (FabricException) e.getCause();
    assertEquals(Errno.ETIMEDOUT, f.errno(), f.getMessage());
    return f;
  }

  /** Asserts that settled() stays incomplete for a second (the provider still holds the read). */
  private static void assertStillHeld(FabricOperation read) {
    assertThrows(TimeoutException.class, () -> read.settled().get(1, TimeUnit.SECONDS),
        "settled() before the stopped target answered");
  }

  @Test
  void aTimedOutReadSettlesOnlyWhenTheResumedTargetAnswersAndItsBytesLandThen() throws Exception {
    try (ChildJvm child = startTarget();
         FabricReadTest.Reader reader = new FabricReadTest.Reader(TCP, description(child), TIMEOUT)) {
      long remote = reader.data.remoteAddresses[0];
      long key = reader.data.keys[0];
      assertEquals(65536L, reader.endpoint.read(reader.region, 0, 65536, reader.peer, remote, key)
          .get(30, TimeUnit.SECONDS));
      long length = 1L << 20;
      byte[] zeros = new byte[(int) length];
      reader.memory.put(0, zeros, 0, zeros.length);
      signal(child, "STOP");
      FabricOperation read;
      try {
        read = reader.endpoint.read(reader.region, 0, length, reader.peer, remote + 4096, key);
        timedOut(read);
        assertFalse(read.settled().isDone(), "settled() as the read timed out");
        assertStillHeld(read);
      } finally {
        signal(child, "CONT");
      }
      read.settled().get(30, TimeUnit.SECONDS);
      // What makes reusing the buffer before settled() wrong: the late completion wrote the block.
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 4096, length));
      child.in.println("close");
      assertTrue(child.readLine().startsWith("CLOSED true"));
    }
  }

  @Test
  void aTimedOutReadSettlesWhenItsEndpointCloses() throws Exception {
    try (ChildJvm child = startTarget();
         FabricReadTest.Reader reader = new FabricReadTest.Reader(TCP, description(child), TIMEOUT)) {
      long remote = reader.data.remoteAddresses[0];
      long key = reader.data.keys[0];
      reader.endpoint.read(reader.region, 0, 65536, reader.peer, remote, key).get(30, TimeUnit.SECONDS);
      signal(child, "STOP");
      try {
        FabricOperation read = reader.endpoint.read(reader.region, 0, 1 << 20, reader.peer, remote, key);
        timedOut(read);
        assertStillHeld(read);
        reader.endpoint.close();
        assertTrue(read.settled().isDone(), "settled() once the endpoint is closed");
      } finally {
        signal(child, "CONT");
      }
    }
  }

  /**
   * A read in 16 pieces with room for 4 in flight: 4 are posted, the rest wait. It times out with
   * the target stopped; the waiting pieces are never posted, and settled() waits for the 4 posted.
   */
  @Test
  void aTimedOutReadInPiecesSettlesOnlyWhenEveryPostedPieceIsBack() throws Exception {
    EndpointConfig config = EndpointConfig.defaults().withOperationTimeout(TIMEOUT)
        .withMaxReadPiece(64 << 10).withMaxInFlight(4);
    try (ChildJvm child = startTarget();
         FabricReadTest.Reader reader = new FabricReadTest.Reader(TCP, description(child), config)) {
      long remote = reader.data.remoteAddresses[0];
      long key = reader.data.keys[0];
      long length = 16L << 16;
      assertEquals(length, reader.endpoint.read(reader.region, 0, length, reader.peer, remote, key)
          .get(30, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 0, length));
      byte[] zeros = new byte[(int) length];
      reader.memory.put(0, zeros, 0, zeros.length);
      signal(child, "STOP");
      FabricOperation read;
      try {
        read = reader.endpoint.read(reader.region, 0, length, reader.peer, remote + 8192, key);
        timedOut(read);
        assertStillHeld(read);
      } finally {
        signal(child, "CONT");
      }
      read.settled().get(30, TimeUnit.SECONDS);
      // The 4 posted pieces landed late; the 12 that waited were never posted.
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 8192, 4L << 16));
      byte[] rest = new byte[(int) (length - (4L << 16))];
      reader.memory.get(4L << 16, rest, 0, rest.length);
      for (byte b : rest) {
        assertEquals(0, b, "a piece that waited for a free context was posted after the timeout");
      }
      // The endpoint goes on serving.
      assertEquals(length, reader.endpoint.read(reader.region, 0, length, reader.peer, remote, key)
          .get(30, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 0, length));
    }
  }
}
