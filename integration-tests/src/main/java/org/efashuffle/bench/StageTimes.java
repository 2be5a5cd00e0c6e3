package org.efashuffle.bench;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.StageInfo;
// JavaConverters, not scala.jdk.javaapi: these compile with Scala 2.12 (Spark 3.5) and 2.13 alike.
import scala.collection.JavaConverters;

/**
 * How long the stages of the jobs of one job group took, as Spark's scheduler saw them (from a
 * stage's submission to its completion): the shuffle map stages and the result stages apart.
 * A stage that ran more than once (a retry) counts every attempt.
 */
public final class StageTimes extends SparkListener {
  /** Seconds spent in shuffle map stages and in result stages. */
  public record Seconds(double map, double result) {}

  private final SparkContext sc;
  private final String jobGroup;
  private final Set<Integer> stages = ConcurrentHashMap.newKeySet();
  private final AtomicLong mapMillis = new AtomicLong();
  private final AtomicLong resultMillis = new AtomicLong();

  private StageTimes(SparkContext sc, String jobGroup) {
    this.sc = sc;
    this.jobGroup = jobGroup;
  }

  /** Listens to the jobs run under {@code jobGroup} (see {@code SparkContext.setJobGroup}). */
  public static StageTimes register(SparkContext sc, String jobGroup) {
    StageTimes times = new StageTimes(sc, jobGroup);
    sc.addSparkListener(times);
    return times;
  }

  @Override
  public void onJobStart(SparkListenerJobStart start) {
    if (start.properties() != null && jobGroup.equals(start.properties().getProperty("spark.jobGroup.id"))) {
      for (Object stageId : JavaConverters.seqAsJavaList(start.stageIds())) {
        stages.add((Integer) stageId);
      }
    }
  }

  @Override
  public void onStageCompleted(SparkListenerStageCompleted completed) {
    StageInfo info = completed.stageInfo();
    if (!stages.contains(info.stageId()) || info.submissionTime().isEmpty() || info.completionTime().isEmpty()) {
      return;
    }
    long millis = (Long) info.completionTime().get() - (Long) info.submissionTime().get();
    (info.shuffleDepId().isDefined() ? mapMillis : resultMillis).addAndGet(millis);
  }

  /** The times so far, once every event posted so far has reached this listener. */
  public Seconds seconds() {
    // Listener events are delivered on their own thread: wait until those already posted are.
    try {
      sc.listenerBus().waitUntilEmpty(60_000);
    } catch (TimeoutException e) {
      throw new IllegalStateException("Spark's listener bus did not deliver its events within 60 s", e);
    }
    return new Seconds(mapMillis.get() / 1e3, resultMillis.get() / 1e3);
  }
}
