package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.api.java.JavaSparkContext;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.Test;

/**
 * Spark SQL with adaptive query execution on efa-shuffle (two executor JVMs, tcp;ofi_rxm): a skew
 * join that AQE splits (map-range reads), partition coalescing, and a sort-merge join that AQE
 * turns into a broadcast join at run time, reading the other side with the local shuffle reader
 * (whole map outputs by mapper). Rows must equal those of Spark's sort shuffle, each plan must
 * show that AQE did what it claims, and the remote blocks must have moved over the fabric.
 */
class SparkSqlAqeTest {
  private static SparkSession session(String master, String manager) {
    SparkSession.Builder b = SparkSession.builder().master(master).appName("efa-shuffle-aqe")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.executor.memory", "1024m")
        .config("spark.shuffle.manager", manager)
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.sql.autoBroadcastJoinThreshold", "-1")
        .config("spark.sql.adaptive.autoBroadcastJoinThreshold", "-1")
        .config("spark.sql.shuffle.partitions", "20")
        .config("spark.sql.adaptive.advisoryPartitionSizeInBytes", "2k")
        .config("spark.sql.adaptive.coalescePartitions.minPartitionSize", "1")
        .config("spark.sql.adaptive.skewJoin.skewedPartitionFactor", "2")
        .config("spark.sql.adaptive.skewJoin.skewedPartitionThresholdInBytes", "4k");
    if (!manager.equals("sort")) {
      b.config("spark.shuffle.efa.provider", "tcp;ofi_rxm").config("spark.shuffle.efa.domain", "lo");
    }
    return b.getOrCreate();
  }

  /** Each query's sorted rows and its final plan. */
  private static Map<String, Object[]> run(SparkSession spark) {
    spark.range(0, 60_000).selectExpr("CASE WHEN id % 3 = 0 THEN 0 ELSE id % 500 END AS k", "id AS v")
        .createOrReplaceTempView("big");
    spark.range(0, 500).selectExpr("id AS k", "id * 7 AS w").createOrReplaceTempView("small");
    Map<String, Object[]> out = new LinkedHashMap<>();
    out.put("skew join", query(spark, "SELECT big.k, big.v, small.w FROM big JOIN small ON big.k = small.k"));
    out.put("coalesce", query(spark, "SELECT k, count(*), sum(v) FROM big GROUP BY k"));
    // Statically both sides are over the broadcast threshold (a filter's selectivity is unknown
    // without statistics); at run time the filtered side is a few KB and AQE broadcasts it. Its
    // keys spread over most partitions: AQE demotes a broadcast whose build side has fewer than
    // 20% non-empty partitions (spark.sql.adaptive.nonEmptyPartitionRatioForBroadcastJoin).
    spark.range(0, 200_000).selectExpr("id % 500 AS k", "id AS w").createOrReplaceTempView("wide");
    spark.conf().set("spark.sql.autoBroadcastJoinThreshold", "100k");
    spark.conf().set("spark.sql.adaptive.autoBroadcastJoinThreshold", "100k");
    try {
      out.put("local read", query(spark,
          "SELECT big.k, big.v, f.w FROM big JOIN (SELECT k, w FROM wide WHERE w % 997 = 7) f ON big.k = f.k"));
    } finally {
      spark.conf().set("spark.sql.autoBroadcastJoinThreshold", "-1");
      spark.conf().set("spark.sql.adaptive.autoBroadcastJoinThreshold", "-1");
    }
    return out;
  }

  private static Object[] query(SparkSession spark, String sql) {
    Dataset<Row> df = spark.sql(sql);
    List<String> rows = new ArrayList<>();
    for (Row r : df.collectAsList()) {
      rows.add(r.toString());
    }
    Collections.sort(rows);
    return new Object[] {rows, df.queryExecution().executedPlan().toString().toLowerCase(Locale.ROOT)};
  }

  @Test
  void aqeSkewSplitsAndCoalescingReturnTheSortShuffleRows() throws Exception {
    Map<String, Object[]> expected;
    try (SparkSession sort = session("local[2]", "sort")) {
      expected = run(sort);
    }
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
    try (SparkSession efa = session("local-cluster[2,1,1024]", "org.efashuffle.spark.EfaShuffleManager")) {
      Map<String, Object[]> actual = run(efa);
      for (String q : expected.keySet()) {
        assertEquals(expected.get(q)[0], actual.get(q)[0], q + ": rows differ from sort shuffle");
      }
      String skewPlan = (String) actual.get("skew join")[1];
      assertTrue(skewPlan.contains("skew"), "AQE did not split the skewed partition:\n" + skewPlan);
      String coalescePlan = (String) actual.get("coalesce")[1];
      assertTrue(coalescePlan.contains("coalesced"), "AQE did not coalesce:\n" + coalescePlan);
      String localPlan = (String) actual.get("local read")[1];
      assertTrue(localPlan.contains("broadcasthashjoin") && localPlan.contains("aqeshuffleread local"),
          "AQE did not switch to a broadcast join with a local shuffle read:\n" + localPlan);
      TransportMetrics.Snapshot moved = ExecutorMetrics.total(
          ExecutorMetrics.byExecutor(JavaSparkContext.fromSparkContext(efa.sparkContext()), 2));
      assertTrue(moved.fabricBytes() > 0, moved.toString());
      assertEquals(0, moved.nettyBytes(), moved.toString());
    }
  }
}
