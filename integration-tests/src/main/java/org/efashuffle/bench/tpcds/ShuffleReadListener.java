package org.efashuffle.bench.tpcds;

import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.executor.ShuffleReadMetrics;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Spark's shuffle-read task metrics summed over the tasks that ended since the last
 * {@link #takeTotals}: bytes read (local and remote), remote bytes, and fetch wait time (the
 * time tasks spent blocked waiting for shuffle blocks); and what inflates a query's time without
 * being the shuffle's speed: task attempts that failed and executors lost.
 */
public final class ShuffleReadListener extends SparkListener {
  /** Totals over a span of tasks. */
  public record Totals(long bytesRead, long remoteBytesRead, long fetchWaitMillis, long failedTasks, long executorsLost) {
    /** The failures and losses in words ("1 executor lost, 4 task attempts failed"), or null when none. */
    public String incidents() {
      if (failedTasks == 0 && executorsLost == 0) {
        return null;
      }
      return (executorsLost == 0 ? "" : executorsLost + (executorsLost == 1 ? " executor lost, " : " executors lost, "))
          + failedTasks + (failedTasks == 1 ? " task attempt failed" : " task attempts failed");
    }
  }

  private final SparkContext sc;
  private final AtomicLong bytesRead = new AtomicLong();
  private final AtomicLong remoteBytesRead = new AtomicLong();
  private final AtomicLong fetchWaitMillis = new AtomicLong();
  private final AtomicLong failedTasks = new AtomicLong();
  private final AtomicLong executorsLost = new AtomicLong();

  private ShuffleReadListener(SparkContext sc) {
    this.sc = sc;
  }

  public static ShuffleReadListener register(SparkContext sc) {
    ShuffleReadListener listener = new ShuffleReadListener(sc);
    sc.addSparkListener(listener);
    return listener;
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd end) {
    if (!(end.reason() instanceof Success$)) {
      failedTasks.incrementAndGet();
    }
    if (end.taskMetrics() == null) {
      return;
    }
    ShuffleReadMetrics read = end.taskMetrics().shuffleReadMetrics();
    bytesRead.addAndGet(read.totalBytesRead());
    remoteBytesRead.addAndGet(read.remoteBytesRead());
    fetchWaitMillis.addAndGet(read.fetchWaitTime());
  }

  @Override
  public void onExecutorRemoved(SparkListenerExecutorRemoved removed) {
    executorsLost.incrementAndGet();
  }

  /** The totals since the last call, once every event posted so far has reached this listener. */
  public Totals takeTotals() {
    // Listener events are delivered on their own thread: wait until those already posted are.
    try {
      sc.listenerBus().waitUntilEmpty(60_000);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("Spark's listener bus did not deliver its events within 60 s", e);
    }
    return new Totals(bytesRead.getAndSet(0), remoteBytesRead.getAndSet(0), fetchWaitMillis.getAndSet(0),
        failedTasks.getAndSet(0), executorsLost.getAndSet(0));
  }
}
