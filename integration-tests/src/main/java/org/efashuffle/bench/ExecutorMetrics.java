package org.efashuffle.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.Function0;
import org.efashuffle.spark.TransportMetrics;
import scala.Tuple2;

/** What a cluster's executors report about themselves, read by running small tasks on them. */
public final class ExecutorMetrics {
  private ExecutorMetrics() {}

  /**
   * CPU an executor JVM has used so far: all its threads, and its fabric progress threads alone.
   * A class, not a record: task results go through spark.serializer, and Kryo cannot build records.
   */
  public static final class CpuTime implements java.io.Serializable {
    private long processNanos;
    private long progressThreadNanos;

    public CpuTime(long processNanos, long progressThreadNanos) {
      this.processNanos = processNanos;
      this.progressThreadNanos = progressThreadNanos;
    }

    public long processNanos() {
      return processNanos;
    }

    public long progressThreadNanos() {
      return progressThreadNanos;
    }
  }

  /**
   * Each executor's transport counters, by executor id, once {@code executors} distinct executors
   * have reported (see {@link #probe}).
   */
  public static Map<String, TransportMetrics.Snapshot> byExecutor(JavaSparkContext sc, int executors) {
    return probe(sc, executors, () -> TransportMetrics.get().snapshot());
  }

  /** Each executor's CPU time so far, by executor id (as {@link #byExecutor}). */
  public static Map<String, CpuTime> cpuTime(JavaSparkContext sc, int executors) {
    return probe(sc, executors, ExecutorMetrics::thisJvmCpuTime);
  }

  private static CpuTime thisJvmCpuTime() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long progress = 0;
    for (ThreadInfo info : threads.getThreadInfo(threads.getAllThreadIds())) {
      if (info != null && info.getThreadName().startsWith("efa-fabric-progress")) {
        progress += Math.max(0, threads.getThreadCpuTime(info.getThreadId()));
      }
    }
    long process = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
    return new CpuTime(process, progress);
  }

  /**
   * What {@code probe} returns on each executor, by executor id: runs rounds of 16 one-line tasks
   * until {@code executors} distinct executors have answered. A probe needs a free core, and a
   * task of a finished job may still hold one (a reduce task killed with its stage attempt ends
   * only when its fetch does), so each round waits until no executor runs a task. Gives up after
   * {@link #PROBE_TIMEOUT_NANOS} with the executors that did answer.
   */
  public static <T> Map<String, T> probe(JavaSparkContext sc, int executors, Function0<T> probe) {
    Map<String, T> byExecutor = new HashMap<>();
    List<Integer> tasks = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      tasks.add(i);
    }
    long deadline = System.nanoTime() + PROBE_TIMEOUT_NANOS;
    while (byExecutor.size() < executors && System.nanoTime() < deadline) {
      awaitNoRunningTasks(sc, deadline);
      for (Tuple2<String, T> t : sc.parallelize(tasks, tasks.size())
          .map(i -> new Tuple2<>(SparkEnv.get().executorId(), probe.call())).collect()) {
        byExecutor.put(t._1, t._2);
      }
    }
    return byExecutor;
  }

  static final long PROBE_TIMEOUT_NANOS = TimeUnit.MINUTES.toNanos(2);

  private static void awaitNoRunningTasks(JavaSparkContext sc, long deadline) {
    while (System.nanoTime() < deadline
        && Arrays.stream(sc.sc().statusTracker().getExecutorInfos()).anyMatch(e -> e.numRunningTasks() > 0)) {
      try {
        Thread.sleep(50); // polling Spark's executor list
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for executors to finish their tasks", e);
      }
    }
  }

  /**
   * The counts moved since {@code before}, summed over the executors of {@code after}: an executor
   * that joined since counts from zero (an executor lost meanwhile takes its last counts with it).
   */
  public static TransportMetrics.Snapshot since(Map<String, TransportMetrics.Snapshot> after,
      Map<String, TransportMetrics.Snapshot> before) {
    TransportMetrics.Snapshot moved = TransportMetrics.Snapshot.zero();
    for (Map.Entry<String, TransportMetrics.Snapshot> e : after.entrySet()) {
      moved = moved.plus(e.getValue().since(before.getOrDefault(e.getKey(), TransportMetrics.Snapshot.zero())));
    }
    return moved;
  }

  /** The sum of {@link #byExecutor}'s counters (zeros when none reported). */
  public static TransportMetrics.Snapshot total(Map<String, TransportMetrics.Snapshot> byExecutor) {
    return byExecutor.values().stream().reduce(TransportMetrics.Snapshot::plus)
        .orElse(TransportMetrics.Snapshot.zero());
  }
}
