package org.efashuffle.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.StreamSupport;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import scala.Tuple2;

/**
 * The RDD jobs the integration tests run with Spark's sort shuffle and with efa-shuffle, each
 * reduced to rows (strings) whose multiset must match. Data: skewed keys (half the records on one
 * key), empty map partitions, values from 1 byte to 8 MiB.
 */
final class ShuffleJobs {
  private ShuffleJobs() {}

  /**
   * Map partition {@code partition}'s records of about 20 KB, the same every time, noting where it
   * ran: a first attempt creates {@code markDir/map-<partition>-on-<executor id>}.
   */
  static Iterator<Tuple2<Integer, byte[]>> recordsNotingExecutor(int partition, String markDir, int count)
      throws IOException {
    TaskContext task = TaskContext.get();
    if (task.stageAttemptNumber() == 0 && task.attemptNumber() == 0) {
      Files.createFile(Paths.get(markDir, "map-" + partition + "-on-" + SparkEnv.get().executorId()));
    }
    Random random = new Random(partition);
    List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      byte[] value = new byte[10_000 + random.nextInt(20_000)];
      random.nextBytes(value);
      out.add(new Tuple2<>(random.nextInt(1000), value));
    }
    return out.iterator();
  }

  static final int MAP_PARTITIONS = 8;
  static final int RECORDS_PER_PARTITION = 4000;

  /** Deterministic records: partition p of seed s always yields the same ones. */
  static JavaPairRDD<Integer, byte[]> data(JavaSparkContext sc, int seed) {
    List<Integer> partitions = new ArrayList<>();
    for (int p = 0; p < MAP_PARTITIONS; p++) {
      partitions.add(p);
    }
    return sc.parallelize(partitions, MAP_PARTITIONS).flatMapToPair(p -> records(seed, p));
  }

  private static Iterator<Tuple2<Integer, byte[]>> records(int seed, int partition) {
    List<Tuple2<Integer, byte[]>> out = new ArrayList<>();
    if (partition % 4 == 3) {
      return out.iterator(); // an empty map output
    }
    Random random = new Random(seed * 1000L + partition);
    for (int i = 0; i < RECORDS_PER_PARTITION; i++) {
      int key = random.nextBoolean() ? 0 : random.nextInt(1000);
      int length = i == 17 && partition < 2 ? 8 << 20 : 1 + random.nextInt(i % 10 == 0 ? 20_000 : 100);
      byte[] value = new byte[length];
      random.nextBytes(value);
      out.add(new Tuple2<>(key, value));
    }
    return out.iterator();
  }

  static long hash(byte[] v) {
    return Arrays.hashCode(v) * 31L + v.length;
  }

  /** Every job's rows, by job name. Sorted rows for multiset comparison, except sortByKey's order. */
  static Map<String, List<String>> runAll(JavaSparkContext sc) {
    Map<String, List<String>> results = new LinkedHashMap<>();
    JavaPairRDD<Integer, byte[]> a = data(sc, 1);
    JavaPairRDD<Integer, byte[]> b = data(sc, 2);

    results.put("reduceByKey", sorted(a.mapValues(v -> new long[] {1, v.length, hash(v)})
        .reduceByKey(ShuffleJobs::add, 5)
        .map(t -> t._1 + ":" + t._2[0] + ":" + t._2[1] + ":" + t._2[2]).collect()));

    results.put("groupByKey", sorted(a.groupByKey(6).map(t -> {
      List<Long> hashes = new ArrayList<>();
      t._2.forEach(v -> hashes.add(hash(v)));
      Collections.sort(hashes);
      return t._1 + ":" + hashes.hashCode() + ":" + hashes.size();
    }).collect()));

    // Order matters: the keys must come out sorted across the 4 output partitions.
    results.put("sortByKey", a.sortByKey(true, 4).map(t -> t._1 + "").collect());

    // b's hot key is shifted to 1 so that the join stays ~10^5 rows, not hot key x hot key.
    JavaPairRDD<Integer, Long> shifted = b.mapToPair(t -> new Tuple2<>(t._1 + 1, hash(t._2)));
    results.put("join", sorted(a.mapValues(ShuffleJobs::hash).join(shifted, 7)
        .map(t -> t._1 + ":" + (t._2._1 ^ t._2._2)).collect()));

    results.put("repartition", sorted(a.repartition(7).map(t -> t._1 + ":" + hash(t._2)).collect()));

    results.put("coalesce", sorted(JavaRDD.fromRDD(a.rdd(), a.classTag())
        .coalesce(3, true).map(t -> t._1 + ":" + hash(t._2)).collect()));

    results.put("cogroup", sorted(a.mapValues(ShuffleJobs::hash).cogroup(b.mapValues(ShuffleJobs::hash), 5)
        .map(t -> t._1 + ":" + count(t._2._1) + ":" + count(t._2._2) + ":" + sum(t._2._1) + ":" + sum(t._2._2))
        .collect()));
    return results;
  }

  private static long[] add(long[] x, long[] y) {
    return new long[] {x[0] + y[0], x[1] + y[1], x[2] + y[2]};
  }

  private static long count(Iterable<Long> it) {
    return StreamSupport.stream(it.spliterator(), false).count();
  }

  private static long sum(Iterable<Long> it) {
    return StreamSupport.stream(it.spliterator(), false).mapToLong(Long::longValue).sum();
  }

  private static List<String> sorted(List<String> rows) {
    List<String> copy = new ArrayList<>(rows);
    Collections.sort(copy);
    return copy;
  }
}
