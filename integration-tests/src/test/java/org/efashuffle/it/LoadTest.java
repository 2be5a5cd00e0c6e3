package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import scala.Tuple2;

/**
 * Load: several jobs at once on a local cluster of two executor JVMs with two task slots each,
 * each job shuffling hundreds of map outputs into hundreds of partitions (tens of thousands of
 * blocks per shuffle, most of them small). Spark's bytes in flight are kept small so that each
 * reduce task has many fabric requests out at once, and the pinned budget is small so that most
 * blocks are staged from disk on the serving executor's I/O threads. Every job's rows equal sort
 * shuffle's, and every remote block came over the fabric: no fabric fetch fell back to Netty.
 */
class LoadTest {
  private static final int JOBS = 3;
  private static final int MAPS = 200;
  private static final int REDUCES = 200;
  private static final int RECORDS_PER_MAP = 400;
  private static final String KRYO = "org.apache.spark.serializer.KryoSerializer";

  private static List<List<String>> expected;


  @BeforeAll
  static void sortShuffleBaseline() throws Exception {
    SparkConf sort = LocalClusters.conf("local[2]").set("spark.shuffle.manager", "sort").set("spark.serializer", KRYO);
    try (JavaSparkContext sc = new JavaSparkContext(sort)) {
      expected = runConcurrently(sc);
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"tcp;ofi_rxm, lo", "shm, "})
  void severalJobsOfManySmallBlocksAtOnceGiveSortShufflesRowsAllOverTheFabric(String provider, String domain)
      throws Exception {
    SparkConf conf = LocalClusters.conf("local-cluster[2,2,1024]")
        .set("spark.serializer", KRYO)
        .set("spark.reducer.maxSizeInFlight", "256k")
        .set("spark.shuffle.efa.memory.mapOutputBytes", "1m")
        .set("spark.shuffle.manager", "org.efashuffle.spark.EfaShuffleManager")
        .set("spark.shuffle.efa.provider", provider)
        .set("spark.shuffle.efa.domain", domain == null ? "" : domain);
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      long start = System.nanoTime();
      List<List<String>> actual = runConcurrently(sc);
      double seconds = (System.nanoTime() - start) / 1e9;
      for (int job = 0; job < JOBS; job++) {
        assertEquals(expected.get(job).size(), actual.get(job).size(), "job " + job + ": row count");
        assertEquals(expected.get(job), actual.get(job), "job " + job + ": rows differ from sort shuffle");
      }
      Map<String, TransportMetrics.Snapshot> byExecutor = ExecutorMetrics.byExecutor(sc, 2);
      assertEquals(2, byExecutor.size(), "executors that reported: " + byExecutor.keySet());
      TransportMetrics.Snapshot total = ExecutorMetrics.total(byExecutor);
      System.out.printf("LOAD %s: %d jobs at once, %d maps x %d partitions each, %.1f s, %s%n",
          provider, JOBS, MAPS, REDUCES, seconds, total);
      assertTrue(total.servedPinned() > 0 && total.servedStaged() > 0, total.toString());
      assertEquals(0, total.fallbacks(), "fabric fetches that fell back: " + total);
      assertEquals(0, total.nettyBytes(), "bytes over Netty: " + total);
    }
  }

  /** Runs the jobs from as many driver threads at once; each job's rows, sorted. */
  private static List<List<String>> runConcurrently(JavaSparkContext sc) throws Exception {
    ExecutorService drivers = Executors.newFixedThreadPool(JOBS);
    try {
      List<Future<List<String>>> jobs = new ArrayList<>();
      for (int job = 0; job < JOBS; job++) {
        int seed = job;
        jobs.add(drivers.submit(() -> job(sc, seed)));
      }
      List<List<String>> rows = new ArrayList<>();
      for (Future<List<String>> job : jobs) {
        rows.add(job.get());
      }
      return rows;
    } finally {
      drivers.shutdownNow();
    }
  }

  /** Per key: record count, byte count and a hash of the values, over {@link #REDUCES} partitions. */
  private static List<String> job(JavaSparkContext sc, int seed) {
    List<Integer> maps = new ArrayList<>();
    for (int m = 0; m < MAPS; m++) {
      maps.add(m);
    }
    JavaPairRDD<Integer, byte[]> records = sc.parallelize(maps, MAPS).flatMapToPair(m -> {
      Random random = new Random(seed * 100_000L + m);
      List<Tuple2<Integer, byte[]>> out = new ArrayList<>(RECORDS_PER_MAP);
      for (int i = 0; i < RECORDS_PER_MAP; i++) {
        byte[] value = new byte[1 + random.nextInt(i % 50 == 0 ? 8192 : 120)];
        random.nextBytes(value);
        out.add(new Tuple2<>(random.nextInt(5000), value));
      }
      return out.iterator();
    });
    List<String> rows = new ArrayList<>(records
        .mapValues(v -> new long[] {1, v.length, ShuffleJobs.hash(v)})
        .reduceByKey((x, y) -> new long[] {x[0] + y[0], x[1] + y[1], x[2] + y[2]}, REDUCES)
        .map(t -> t._1 + ":" + t._2[0] + ":" + t._2[1] + ":" + t._2[2])
        .collect());
    Collections.sort(rows);
    return rows;
  }
}
