package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The order in which waiting posts are retried: per destination, first in first out, round robin. */
class PostBacklogTest {
  private static Piece piece(String name, long destination) {
    return new Piece(new Operation(name, 1, 0, false), null, destination) {
      @Override
      long post(LibFabricShim.Api shim, long context) {
        throw new AssertionError("not posted by these tests");
      }

      @Override
      String call() {
        return "test";
      }
    };
  }

  @Test
  void aDestinationThatAnswersAgainHoldsOnlyItsOwnQueueInOrder() {
    PostBacklog backlog = new PostBacklog();
    for (String name : List.of("a1", "a2")) {
      backlog.add(piece(name, 1));
    }
    backlog.add(piece("b1", 2));
    backlog.add(piece("r1", Piece.ANY_SOURCE));
    backlog.add(piece("b2", 2));
    List<String> tried = new ArrayList<>();
    Set<Long> busy = Set.of(1L);
    assertEquals(3, backlog.retry(p -> {
      tried.add(p.operation.name);
      return busy.contains(p.destination) ? PostBacklog.Outcome.AGAIN : PostBacklog.Outcome.DONE;
    }));
    assertEquals(List.of("a1", "b1", "b2", "r1"), tried);
    assertTrue(backlog.isWaiting(1));
    assertFalse(backlog.isWaiting(2));
    tried.clear();
    assertEquals(2, backlog.retry(p -> {
      tried.add(p.operation.name);
      return PostBacklog.Outcome.DONE;
    }));
    assertEquals(List.of("a1", "a2"), tried);
    assertTrue(backlog.isEmpty());
  }

  @Test
  void fullStopsTheRetryAndTheQueuesThatPostedGoLastNextTime() {
    PostBacklog backlog = new PostBacklog();
    backlog.add(piece("a1", 1));
    backlog.add(piece("a2", 1));
    backlog.add(piece("b1", 2));
    List<String> tried = new ArrayList<>();
    int[] slots = {1};
    assertEquals(1, backlog.retry(p -> {
      tried.add(p.operation.name);
      return slots[0]-- > 0 ? PostBacklog.Outcome.DONE : PostBacklog.Outcome.FULL;
    }));
    assertEquals(List.of("a1", "a2"), tried); // a2 found no slot: b1 was not tried
    tried.clear();
    slots[0] = 1;
    assertEquals(1, backlog.retry(p -> {
      tried.add(p.operation.name);
      return slots[0]-- > 0 ? PostBacklog.Outcome.DONE : PostBacklog.Outcome.FULL;
    }));
    assertEquals(List.of("b1", "a2"), tried); // peer 1 posted last time: peer 2 goes first
  }

  @Test
  void failAllEmptiesEveryQueueAndFailsEachOperation() {
    PostBacklog backlog = new PostBacklog();
    Piece a = piece("a", 1);
    Piece r = piece("r", Piece.ANY_SOURCE);
    backlog.add(a);
    backlog.add(r);
    backlog.failAll(new IllegalStateException("closed"));
    assertTrue(backlog.isEmpty());
    assertTrue(a.operation.future.isCompletedExceptionally());
    assertTrue(r.operation.future.isCompletedExceptionally());
  }
}
