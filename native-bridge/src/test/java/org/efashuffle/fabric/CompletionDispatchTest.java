package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongUnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Completion entries that are not ours (ofi_rxm writes error entries with a NULL op_context; efa
 * 1.22 can hand a stale one), and failures while completing an entry, go through the progress
 * thread's dispatch by the test seam {@link FabricEndpoint#injectCompletions}, since no provider
 * here writes them on demand. After each, real bytes still move.
 */
@ExtendWith(NoNativeLeaks.class)
class CompletionDispatchTest {
  private static final int EIO = 5;

  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  /** A piece the test holds a context for without posting it; its completion length is {@code length}. */
  private static Piece heldPiece(Operation op, MemoryRegion region, LongUnaryOperator length) {
    return new Piece(op, region, Piece.ANY_SOURCE) {
      @Override
      long post(LibFabricShim.Api shim, long context) {
        throw new AssertionError("never posted");
      }

      @Override
      String call() {
        return "injected";
      }

      @Override
      long completedLength(long reportedLength) {
        return length.applyAsLong(reportedLength);
      }
    };
  }

  /** An operation of {@code pieces} pieces, each held (as if posted) with its context returned. */
  private static long[] hold(FabricEndpoint endpoint, Operation op, MemoryRegion region, int pieces,
      LongUnaryOperator length) {
    long[] contexts = new long[pieces];
    for (int i = 0; i < pieces; i++) {
      assertTrue(op.beginPost());
      contexts[i] = endpoint.holdContext(heldPiece(op, region, length));
      assertTrue(contexts[i] != 0);
    }
    return contexts;
  }

  private static CompletionQueue.Entry success(long context, long length) {
    return new CompletionQueue.Entry(context, length, 0, null);
  }

  private static CompletionQueue.Entry error(long context, int errno, String text) {
    return new CompletionQueue.Entry(context, 0, errno, text);
  }

  /** Real bytes both ways: a message each way and a read, after the injected entries. */
  static void stillServes(ReadTarget target, FabricReadTest.Reader reader) throws Exception {
    long back = target.endpoint.insertPeer(reader.endpoint.address());
    FabricOperation received = target.endpoint.receive(target.regions.get(0), 0, 4096);
    Patterns.fill(reader.memory);
    reader.endpoint.send(reader.region, 100, 1000, reader.peer).get(10, TimeUnit.SECONDS);
    assertEquals(1000L, received.get(10, TimeUnit.SECONDS));
    assertEquals(-1, Patterns.firstMismatch(target.memory, 0, 100, 1000));
    Patterns.fill(target.memory);
    FabricOperation answer = reader.endpoint.receive(reader.region, 0, 64);
    target.endpoint.send(target.regions.get(0), 0, 64, back).get(10, TimeUnit.SECONDS);
    assertEquals(64L, answer.get(10, TimeUnit.SECONDS));
    assertEquals(65536L, reader.endpoint.read(reader.region, 0, 65536, reader.peer,
        reader.data.remoteAddresses[0] + 4096, reader.data.keys[0]).get(10, TimeUnit.SECONDS));
    assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 4096, 65536));
  }

  @ParameterizedTest
  @MethodSource("providers")
  void entriesWithANullUnknownOrStaleContextAreSkippedAndTheGoodOneInTheBatchCompletes(TestProviders.Provider p)
      throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, target.describe())) {
      FabricEndpoint endpoint = reader.endpoint;
      Operation op = new Operation("injected receive", 1, 0, false);
      long context = hold(endpoint, op, reader.region, 1, reported -> reported)[0];
      Operation stale = new Operation("completed earlier", 1, 0, false);
      long staleContext = hold(endpoint, stale, reader.region, 1, reported -> reported)[0];
      endpoint.injectCompletions(List.of(success(staleContext, 1)));
      assertEquals(1L, stale.future.get(10, TimeUnit.SECONDS));
      endpoint.injectCompletions(List.of(
          error(0, EIO, "error entry with a NULL op_context, as ofi_rxm writes them"),
          success(0x7fff_0000_1000L, 64),
          error(0x10, EIO, "unknown context"),
          success(staleContext, 64), // its slot is free now: a stale context
          success(context, 4096)));
      assertEquals(4096L, op.future.get(10, TimeUnit.SECONDS));
      assertTrue(op.future.settled().isDone());
      assertEquals(4, endpoint.skippedCompletions());
      assertFalse(endpoint.failure().isDone(), "the endpoint reports a failure: " + endpoint.failure().getNow(null));
      stillServes(target, reader);
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void anExceptionWhileCompletingOneEntryFailsOnlyThatOperation(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, target.describe())) {
      FabricEndpoint endpoint = reader.endpoint;
      IllegalArgumentException boom = new IllegalArgumentException("boom while completing");
      Operation bad = new Operation("bad", 1, 0, false);
      long badContext = hold(endpoint, bad, reader.region, 1, reported -> {
        throw boom;
      })[0];
      Operation good = new Operation("good", 1, 0, false);
      long goodContext = hold(endpoint, good, reader.region, 1, reported -> reported)[0];
      endpoint.injectCompletions(List.of(success(badContext, 10), success(goodContext, 20)));
      assertEquals(20L, good.future.get(10, TimeUnit.SECONDS));
      ExecutionException e = assertThrows(ExecutionException.class, () -> bad.future.get(10, TimeUnit.SECONDS));
      assertSame(boom, e.getCause());
      assertTrue(bad.future.settled().isDone());
      assertFalse(endpoint.failure().isDone());
      stillServes(target, reader);
    }
  }

  /** Item 1: one piece fails, the operation fails at once, and settles when the last posted piece is back. */
  @ParameterizedTest
  @MethodSource("providers")
  void anOperationWithOneFailedPieceSettlesOnlyWhenEveryPostedPieceIsBack(TestProviders.Provider p)
      throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, target.describe())) {
      FabricEndpoint endpoint = reader.endpoint;
      Operation op = new Operation("read in 3 pieces", 3, 0, false);
      long[] contexts = hold(endpoint, op, reader.region, 3, reported -> reported);
      endpoint.injectCompletions(List.of(error(contexts[1], EIO, "piece 2 failed")));
      ExecutionException e = assertThrows(ExecutionException.class, () -> op.future.get(10, TimeUnit.SECONDS));
      assertEquals(EIO, ((FabricException) e.getCause()).errno());
      assertFalse(op.future.settled().isDone());
      Operation marker = new Operation("marker", 1, 0, false);
      long markerContext = hold(endpoint, marker, reader.region, 1, reported -> reported)[0];
      endpoint.injectCompletions(List.of(success(contexts[0], 1), success(markerContext, 1)));
      marker.future.get(10, TimeUnit.SECONDS); // the batch with piece 1 was dispatched
      assertFalse(op.future.settled().isDone(), "settled with piece 3 still posted");
      endpoint.injectCompletions(List.of(success(contexts[2], 1)));
      op.future.settled().get(10, TimeUnit.SECONDS);
      stillServes(target, reader);
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void whenTheProgressThreadDiesFailureGivesTheCauseAndNothingHangs(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, target.describe())) {
      FabricEndpoint endpoint = reader.endpoint;
      FabricOperation posted = endpoint.receive(reader.region, 0, 4096);
      Error fatal = new Error("injected fatal error");
      Operation op = new Operation("fatal", 1, 0, false);
      long context = hold(endpoint, op, reader.region, 1, reported -> {
        throw fatal;
      })[0];
      endpoint.injectCompletions(List.of(success(context, 1)));
      assertSame(fatal, endpoint.failure().get(10, TimeUnit.SECONDS));
      assertThrows(ExecutionException.class, () -> op.future.get(10, TimeUnit.SECONDS));
      ExecutionException e = assertThrows(ExecutionException.class, () -> posted.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause().getMessage().contains("progress thread"), e.getCause().getMessage());
      // libfabric still holds the posted receive until the endpoint closes.
      assertThrows(TimeoutException.class, () -> posted.settled().get(200, TimeUnit.MILLISECONDS));
      FabricOperation later = endpoint.read(reader.region, 0, 4096, reader.peer,
          reader.data.remoteAddresses[0], reader.data.keys[0]);
      ExecutionException refused = assertThrows(ExecutionException.class, () -> later.get(10, TimeUnit.SECONDS));
      assertTrue(refused.getCause() instanceof IllegalStateException, String.valueOf(refused.getCause()));
      assertSame(fatal, refused.getCause().getCause());
      endpoint.close();
      assertTrue(posted.settled().isDone());
      assertFalse(target.endpoint.failure().isDone());
    }
  }
}
