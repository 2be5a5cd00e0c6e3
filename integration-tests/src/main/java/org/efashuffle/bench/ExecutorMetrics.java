package org.efashuffle.bench;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.spark.TransportMetrics;
import scala.Tuple2;

/** The transport counters of a cluster's executors, read by running small tasks on them. */
public final class ExecutorMetrics {
  private ExecutorMetrics() {}

  /**
   * Each executor's counters, by executor id: runs 16 one-line tasks, up to 10 times, until
   * {@code executors} distinct executors have reported (fewer if the scheduler never reached them).
   */
  public static Map<String, TransportMetrics.Snapshot> byExecutor(JavaSparkContext sc, int executors) {
    Map<String, TransportMetrics.Snapshot> byExecutor = new HashMap<>();
    List<Integer> tasks = new ArrayList<>();
    for (int i = 0; i < 16; i++) {
      tasks.add(i);
    }
    for (int attempt = 0; attempt < 10 && byExecutor.size() < executors; attempt++) {
      for (Tuple2<String, TransportMetrics.Snapshot> t : sc.parallelize(tasks, tasks.size())
          .map(i -> new Tuple2<>(SparkEnv.get().executorId(), TransportMetrics.get().snapshot())).collect()) {
        byExecutor.put(t._1, t._2);
      }
    }
    return byExecutor;
  }

  /** The sum of {@link #byExecutor}'s counters (zeros when none reported). */
  public static TransportMetrics.Snapshot total(Map<String, TransportMetrics.Snapshot> byExecutor) {
    return byExecutor.values().stream().reduce(TransportMetrics.Snapshot::plus)
        .orElse(TransportMetrics.Snapshot.zero());
  }
}
