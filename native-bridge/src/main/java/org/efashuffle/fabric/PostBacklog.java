package org.efashuffle.fabric;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Pieces waiting to be posted (libfabric answered -FI_EAGAIN, or every context slot was taken):
 * one first-in-first-out queue per destination peer and one for receives, so that a peer in
 * back-off (the efa provider answers -FI_EAGAIN to posts to it) holds up only the posts to that
 * peer. Pieces are added by any posting thread; the progress thread retries and expires them.
 * A queued piece holds no native resource: libfabric has not seen it.
 */
final class PostBacklog {
  /** What became of one attempt to post a piece. */
  enum Outcome {
    /** Posted, or failed for good (its operation knows): the piece leaves the queue. */
    DONE,
    /** -FI_EAGAIN: its destination is busy; the next destination's turn. */
    AGAIN,
    /** No context slot left: nothing more can be posted until a completion frees one. */
    FULL
  }

  interface Poster {
    Outcome post(Piece piece);
  }

  /** Queues in the order they are retried; a queue that posted moves to the end (round robin). */
  private final Map<Long, ArrayDeque<Piece>> queues = new LinkedHashMap<>();

  /** Whether earlier pieces to this destination wait (a new one must queue behind them). */
  synchronized boolean isWaiting(long destination) {
    return queues.containsKey(destination);
  }

  synchronized void add(Piece piece) {
    queues.computeIfAbsent(piece.destination, d -> new ArrayDeque<>()).addLast(piece);
  }

  synchronized boolean isEmpty() {
    return queues.isEmpty();
  }

  /**
   * Posts from each queue's head in turn until that destination answers AGAIN or its queue is
   * empty, and stops at the first FULL. Posts run outside this object's lock (another thread may
   * add meanwhile). Only the progress thread calls this. Returns how many pieces left the queues.
   */
  int retry(Poster poster) {
    int done = 0;
    for (long destination : destinations()) {
      int posted = 0;
      Outcome outcome = Outcome.DONE;
      Piece piece;
      while ((piece = head(destination)) != null) {
        outcome = poster.post(piece);
        if (outcome != Outcome.DONE) {
          break;
        }
        removeHead(destination, piece);
        posted++;
      }
      done += posted;
      if (posted > 0) {
        moveToEnd(destination);
      }
      if (outcome == Outcome.FULL) {
        break;
      }
    }
    return done;
  }

  /** Fails the operation of every queued piece whose deadline passed (the piece leaves when next tried). */
  void expire(long nowNanos) {
    List<Piece> expired = new ArrayList<>();
    synchronized (this) {
      for (ArrayDeque<Piece> queue : queues.values()) {
        for (Piece piece : queue) {
          if (piece.operation.expired(nowNanos)) {
            expired.add(piece);
          }
        }
      }
    }
    for (Piece piece : expired) {
      piece.operation.fail(new FabricException(piece.call(), Errno.ETIMEDOUT,
          piece.operation.name + ": not posted before the operation timeout"));
    }
  }

  /** Empties every queue, failing each piece's operation with {@code cause}. */
  void failAll(RuntimeException cause) {
    List<Piece> all = new ArrayList<>();
    synchronized (this) {
      queues.values().forEach(all::addAll);
      queues.clear();
    }
    for (Piece piece : all) {
      piece.operation.fail(cause); // outside the lock: callbacks run here
    }
  }

  private synchronized List<Long> destinations() {
    return new ArrayList<>(queues.keySet());
  }

  private synchronized Piece head(long destination) {
    ArrayDeque<Piece> queue = queues.get(destination);
    return queue == null ? null : queue.peekFirst();
  }

  /** Removes {@code piece} from the head of its queue, unless failAll took it meanwhile (a closing endpoint). */
  private synchronized void removeHead(long destination, Piece piece) {
    ArrayDeque<Piece> queue = queues.get(destination);
    if (queue == null || queue.peekFirst() != piece) {
      return;
    }
    queue.pollFirst();
    if (queue.isEmpty()) {
      queues.remove(destination);
    }
  }

  private synchronized void moveToEnd(long destination) {
    ArrayDeque<Piece> queue = queues.remove(destination);
    if (queue != null) {
      queues.put(destination, queue);
    }
  }
}
