package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.spark.HashPartitioner;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import scala.Tuple2;

/**
 * One executor of three killed (SIGKILL) or stopped (SIGSTOP, resumed after {@link #STOP_SECONDS})
 * while the reduce stage reads its blocks: with efa-shuffle the job gives exactly the rows of
 * Spark's sort shuffle under the same fault, the fabric path to that peer was cut off by its
 * breaker (Spark then sees over Netty what it sees with sort shuffle: a fetch failure and a stage
 * retry for the dead executor, a wait for the stopped one), and the job's time under each fault is
 * printed beside sort shuffle's (one {@code FAULT ...} line per case).
 *
 * <p>A warm-up shuffle first shows the fabric working and sets up its connections between every
 * pair of executors (on tcp;ofi_rxm, a first connection between two live executors made while a
 * third is dead or stopped can stall past the request timeout; their breakers then send them to
 * Netty too, which costs time but no rows). The fault hits a point the job has reached: every
 * first-attempt reduce task, once its fetch iterator has the map output locations and has issued
 * its first request (1 MiB in flight, so most blocks are still to fetch), signals the test with a
 * file and waits for a marker file. The test finds the executors' pids from tasks, faults the
 * executor that ran the most map tasks once each executor has a reduce task waiting, then writes
 * the marker. The stopped executor is resumed after {@link #STOP_SECONDS}: sort shuffle waits for
 * it (Netty's timeout is spark.network.timeout, 120 s), so both pay about the stop.
 */
class PeerFaultTest {
  private static final int EXECUTORS = 3;
  private static final int MAP_PARTITIONS = 12;
  private static final int REDUCE_PARTITIONS = 6;
  private static final int RECORDS_PER_MAP = 200;
  private static final long STOP_SECONDS = 15;
  private static final long GATE_TIMEOUT_MINUTES = 5;

  /** Sort shuffle's rows and time under each fault, measured once per fault. */
  private static final Map<String, Outcome> SORT = new ConcurrentHashMap<>();

  /** The faulted job's rows and time; the executors' counters after a warm-up shuffle and after the job. */
  private record Outcome(List<String> rows, double seconds, TransportMetrics.Snapshot warm,
      TransportMetrics.Snapshot metrics) {}

  @TempDir
  Path dir;

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
      "kill-9,  shm,         ",
      "kill-9,  tcp;ofi_rxm, lo",
      "sigstop, shm,         ",
      "sigstop, tcp;ofi_rxm, lo"})
  void aDeadOrStoppedPeerCostsWhatItCostsSortShuffleAndNoRowIsLost(String fault, String provider, String domain)
      throws Exception {
    Outcome sort = SORT.get(fault);
    if (sort == null) {
      sort = runUnderFault(conf().set("spark.shuffle.manager", "sort"), fault, Files.createDirectory(dir.resolve("sort")));
      SORT.put(fault, sort);
    }
    Outcome efa = runUnderFault(conf()
            .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
            .set("spark.shuffle.efa.provider", provider)
            .set("spark.shuffle.efa.domain", domain == null ? "" : domain),
        fault, Files.createDirectory(dir.resolve("efa")));
    boolean same = sort.rows().equals(efa.rows());
    System.out.printf("FAULT %s %s efa %.1f s sort %.1f s rows %s (efa: %d peer breakers opened, %d fabric fetches "
            + "fell back; %d rows)%n", fault, provider.equals("shm") ? "shm" : "tcp", efa.seconds(), sort.seconds(),
        same ? "same" : "DIFFER", efa.metrics().breakerOpenings(), efa.metrics().fallbacks(), efa.rows().size());
    assertEquals(MAP_PARTITIONS * RECORDS_PER_MAP, sort.rows().size(), "sort shuffle's row count");
    assertEquals(sort.rows(), efa.rows(), "rows differ from sort shuffle's under the same fault");
    assertTrue(efa.warm().fabricBytes() > 0 && efa.warm().breakerOpenings() == 0,
        "the warm-up shuffle read over the fabric: " + efa.warm());
    assertTrue(efa.metrics().breakerOpenings() > 0, "the faulted peer's breaker opened: " + efa.metrics());
  }

  private static SparkConf conf() {
    return LocalClusters.conf("local-cluster[" + EXECUTORS + ",1,1024]")
        // One request in flight per task, so that most of a task's blocks are fetched after the fault.
        .set("spark.reducer.maxSizeInFlight", "1m");
  }

  /** Runs the job on a fresh local cluster, faulting one executor mid-reduce. */
  private static Outcome runUnderFault(SparkConf conf, String fault, Path gate) throws Exception {
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      Map<String, Long> pids = executorPids(sc);
      // Every pair of executors has talked over the shuffle path before the fault (fabric
      // connections set up), and the fabric is shown to work.
      List<Integer> keys = new ArrayList<>();
      for (int i = 0; i < 6000; i++) {
        keys.add(i);
      }
      sc.parallelize(keys, 2 * EXECUTORS).mapToPair(i -> new Tuple2<>(i % 101, (long) i))
          .reduceByKey(Long::sum, 2 * EXECUTORS).count();
      boolean sort = conf.get("spark.shuffle.manager").equals("sort");
      TransportMetrics.Snapshot warm = sort ? TransportMetrics.Snapshot.zero() : metrics(sc);
      String gateDir = gate.toString();
      long start = System.nanoTime();
      CompletableFuture<List<String>> job = CompletableFuture.supplyAsync(() -> rows(sc, gateDir));
      List<String> started = awaitWaitingReducers(gate, job);
      String victim = mostMapOutputs(gate);
      long pid = pids.get(victim);
      signal(fault.equals("kill-9") ? "-KILL" : "-STOP", pid);
      Files.createFile(gate.resolve("go"));
      if (fault.equals("sigstop")) {
        try {
          job.get(STOP_SECONDS, TimeUnit.SECONDS); // the fault's length, unless the job ends first
        } catch (TimeoutException stillRunning) {
          // resume it now
        } finally {
          signal("-CONT", pid);
        }
      }
      List<String> rows = job.get(10, TimeUnit.MINUTES);
      double seconds = (System.nanoTime() - start) / 1e9;
      System.out.println("fault " + fault + " on executor " + victim + " (pid " + pid + ") with reduce tasks waiting on "
          + started + ": job " + String.format("%.1f", seconds) + " s");
      return new Outcome(rows, seconds, warm, sort ? TransportMetrics.Snapshot.zero() : metrics(sc));
    }
  }

  /** The job: each record once as a row (its key and value hash), sorted. */
  private static List<String> rows(JavaSparkContext sc, String gateDir) {
    List<Integer> maps = new ArrayList<>();
    for (int p = 0; p < MAP_PARTITIONS; p++) {
      maps.add(p);
    }
    List<String> rows = new ArrayList<>(sc.parallelize(maps, MAP_PARTITIONS)
        .flatMapToPair(p -> ShuffleJobs.recordsNotingExecutor(p, gateDir, RECORDS_PER_MAP))
        .partitionBy(new HashPartitioner(REDUCE_PARTITIONS))
        .mapPartitionsWithIndex((p, records) -> reduce(p, records, gateDir), false)
        .collect());
    Collections.sort(rows);
    return rows;
  }

  /**
   * Spark has made the fetch iterator (map output locations known, first request sent) before it
   * calls this: a first attempt tells the test it is here and waits for the marker.
   */
  private static Iterator<String> reduce(int partition, Iterator<Tuple2<Integer, byte[]>> records, String gateDir)
      throws Exception {
    TaskContext task = TaskContext.get();
    if (task.stageAttemptNumber() == 0 && task.attemptNumber() == 0) {
      Files.createFile(Paths.get(gateDir, "reduce-" + partition + "-on-" + SparkEnv.get().executorId()));
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(GATE_TIMEOUT_MINUTES);
      while (!Files.exists(Paths.get(gateDir, "go"))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("no marker from the test in " + GATE_TIMEOUT_MINUTES + " minutes");
        }
        Thread.sleep(20); // polling for the test's marker file
      }
    }
    List<String> rows = new ArrayList<>();
    while (records.hasNext()) {
      Tuple2<Integer, byte[]> r = records.next();
      rows.add(r._1 + ":" + ShuffleJobs.hash(r._2));
    }
    return rows.iterator();
  }

  /** The executors' counters, summed (a killed executor's are gone with it). */
  private static TransportMetrics.Snapshot metrics(JavaSparkContext sc) throws InterruptedException {
    awaitExecutors(sc);
    Map<String, TransportMetrics.Snapshot> byExecutor = ExecutorMetrics.byExecutor(sc, EXECUTORS);
    assertEquals(EXECUTORS, byExecutor.size(), "executors that reported their counters: " + byExecutor);
    return ExecutorMetrics.total(byExecutor);
  }

  /** Waits until the cluster has all its executors (a killed one is replaced). */
  private static void awaitExecutors(JavaSparkContext sc) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (sc.sc().statusTracker().getExecutorInfos().length < EXECUTORS + 1) { // + the driver
      assertTrue(System.nanoTime() < deadline, "executors did not register");
      Thread.sleep(100); // polling Spark's executor list
    }
  }

  /** Each executor's pid, reported by a task on it. */
  private static Map<String, Long> executorPids(JavaSparkContext sc) throws InterruptedException {
    awaitExecutors(sc);
    List<Integer> tasks = new ArrayList<>();
    for (int i = 0; i < 4 * EXECUTORS; i++) {
      tasks.add(i);
    }
    Map<String, Long> pids = new HashMap<>();
    for (int attempt = 0; attempt < 20 && pids.size() < EXECUTORS; attempt++) {
      for (Tuple2<String, Long> t : sc.parallelize(tasks, tasks.size())
          .map(i -> new Tuple2<>(SparkEnv.get().executorId(), ProcessHandle.current().pid())).collect()) {
        pids.put(t._1, t._2);
      }
    }
    assertEquals(EXECUTORS, pids.size(), "executors that reported a pid: " + pids);
    return pids;
  }

  /** Waits until a first-attempt reduce task waits at the gate on each executor; their names. */
  private static List<String> awaitWaitingReducers(Path gate, CompletableFuture<?> job) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (true) {
      List<String> reducers = names(gate, "reduce-");
      if (reducers.stream().map(n -> n.substring(n.indexOf("-on-"))).distinct().count() == EXECUTORS) {
        return reducers;
      }
      assertTrue(!job.isDone(), () -> "the job ended before the fault: " + job);
      assertTrue(System.nanoTime() < deadline, "reduce tasks waiting: " + reducers);
      Thread.sleep(20); // polling for the tasks' files
    }
  }

  /** The executor that ran the most first-attempt map tasks (so the most blocks its peers must fetch). */
  private static String mostMapOutputs(Path gate) throws IOException {
    Map<String, Integer> counts = new HashMap<>();
    for (String name : names(gate, "map-")) {
      counts.merge(name.substring(name.indexOf("-on-") + 4), 1, Integer::sum);
    }
    return Collections.max(counts.entrySet(), Map.Entry.comparingByValue()).getKey();
  }

  private static List<String> names(Path dir, String prefix) throws IOException {
    try (Stream<Path> files = Files.list(dir)) {
      return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(prefix)).sorted().toList();
    }
  }

  private static void signal(String signal, long pid) {
    try {
      Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
      assertEquals(0, kill.waitFor(), "kill " + signal + " " + pid);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
