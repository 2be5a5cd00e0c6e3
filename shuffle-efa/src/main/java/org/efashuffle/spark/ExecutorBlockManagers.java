package org.efashuffle.spark;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.apache.spark.storage.BlockManagerId;
import org.apache.spark.storage.BlockManagerMaster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where each executor's own block manager is, as the driver's block manager master lists them.
 * With the external shuffle service on, a map output names the service's address and the map
 * executor's id; the executor's peer info is in its own block manager, and an executor the master
 * no longer lists has left (released by dynamic allocation, or lost): its outputs are the
 * service's to serve.
 *
 * <p>One answer of the master lists every executor; it is kept for {@link #MAX_AGE_NANOS} and
 * asked again (one question at a time, on the ask threads: it blocks) when older, when an executor
 * is not in it, or after a fabric fetch failed. Nothing here blocks its caller.
 */
final class ExecutorBlockManagers {
  private static final Logger LOG = LoggerFactory.getLogger(ExecutorBlockManagers.class);
  /** How long an answer of the master is trusted: an executor that left is read over the fabric at most this long. */
  static final long MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(5);

  private record View(long nanos, Map<String, BlockManagerId> byExecutor) {}

  private final Supplier<Map<String, BlockManagerId>> master;
  private final Executor askThreads;
  private final LongSupplier nanoClock;
  private View view; // guarded by this; null: none yet, or distrusted
  private CompletableFuture<View> asking; // guarded by this; null when no question is under way

  /**
   * @param master every executor's block manager by executor id, asked on {@code askThreads} (it may block)
   * @param nanoClock {@link System#nanoTime} (tests pass their own)
   */
  ExecutorBlockManagers(Supplier<Map<String, BlockManagerId>> master, Executor askThreads, LongSupplier nanoClock) {
    this.master = master;
    this.askThreads = askThreads;
    this.nanoClock = nanoClock;
  }

  /** The executors' block managers as the driver's block manager master lists them (one RPC to the driver). */
  static Supplier<Map<String, BlockManagerId>> askingTheDriver(BlockManagerMaster driver) {
    return () -> {
      Map<String, BlockManagerId> byExecutor = new HashMap<>();
      // getMemoryStatus, not getPeers: a Map keeps its erased signature on Scala 2.12 and 2.13, a Seq does not.
      scala.collection.Iterator<BlockManagerId> ids = driver.getMemoryStatus().keysIterator();
      while (ids.hasNext()) {
        BlockManagerId id = ids.next();
        byExecutor.put(id.executorId(), id);
      }
      return byExecutor;
    };
  }

  /** The executor's own block manager; empty when the master does not list it (it left). */
  CompletableFuture<Optional<BlockManagerId>> find(String executorId) {
    View known = trusted();
    if (known != null && known.byExecutor().containsKey(executorId)) {
      return CompletableFuture.completedFuture(Optional.of(known.byExecutor().get(executorId)));
    }
    // Not listed by a trusted answer either: an executor newer than that answer, or one that left.
    return ask().thenApply(v -> Optional.ofNullable(v.byExecutor().get(executorId)));
  }

  /** Whether the master lists the executor still, by an answer at most {@link #MAX_AGE_NANOS} old. */
  CompletableFuture<Boolean> listed(String executorId) {
    View known = trusted();
    if (known != null) {
      return CompletableFuture.completedFuture(known.byExecutor().containsKey(executorId));
    }
    return ask().thenApply(v -> v.byExecutor().containsKey(executorId));
  }

  /** A fabric fetch from some executor failed (it may have left): the next question asks the master again. */
  synchronized void distrust() {
    view = null;
  }

  private synchronized View trusted() {
    return view != null && nanoClock.getAsLong() - view.nanos() < MAX_AGE_NANOS ? view : null;
  }

  /**
   * The master's answer to a question asked now, or to one under way. A master that cannot answer
   * lists nobody for {@link #MAX_AGE_NANOS}: every executor's blocks come from the service then,
   * which has them all.
   */
  private synchronized CompletableFuture<View> ask() {
    if (asking != null) {
      return asking;
    }
    long asked = nanoClock.getAsLong();
    CompletableFuture<View> answer = new CompletableFuture<>();
    asking = answer;
    try {
      askThreads.execute(() -> answered(answer, asked));
    } catch (RuntimeException rejected) { // the executor is stopping
      asking = null;
      answer.complete(new View(asked, Map.of()));
    }
    return answer;
  }

  private void answered(CompletableFuture<View> answer, long asked) {
    View v;
    try {
      v = new View(asked, Map.copyOf(master.get()));
    } catch (RuntimeException e) {
      LOG.warn("efa-shuffle: the driver's block manager master did not say where executors are; every shuffle "
          + "block is read from the external shuffle service for {} s: {}", TimeUnit.NANOSECONDS.toSeconds(MAX_AGE_NANOS),
          e.toString());
      v = new View(asked, Map.of());
    }
    synchronized (this) {
      view = v;
      asking = null;
    }
    answer.complete(v);
  }
}
