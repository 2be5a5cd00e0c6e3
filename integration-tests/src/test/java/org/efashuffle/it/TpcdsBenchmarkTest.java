package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.efashuffle.bench.tpcds.TpcdsBenchmark;
import org.efashuffle.bench.tpcds.TpcdsQueries;
import org.efashuffle.bench.tpcds.TpcdsResults;
import org.efashuffle.bench.tpcds.TpcdsTables;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TPC-DS runner end to end at a tiny scale factor on a local cluster of two executor JVMs:
 * tables generated and marked complete, a few queries with efa-shuffle (tcp;ofi_rxm) and sort
 * shuffle with the same rows, remote blocks moved over the fabric, CSV and SVG written; only the
 * tables the queries read generated; then the data reused, and a table whose marker is gone
 * generated again.
 */
class TpcdsBenchmarkTest {
  private static final double SCALE = 0.01;
  private static final List<String> QUERIES = List.of("q3", "q42", "q55");

  @Test
  void queriesTheSpecNamesAreAllOnTheClassPath() {
    List<String> all = TpcdsQueries.available();
    assertEquals(103, all.size(), all.toString());
    assertEquals("q1", all.get(0));
    assertEquals("q99", all.get(all.size() - 1));
    assertTrue(all.indexOf("q14a") == all.indexOf("q14b") - 1 && all.indexOf("q14a") > all.indexOf("q9"), all.toString());
  }

  /** Every query resolves against the generated tables' columns as the runner names them (no data needed). */
  @Test
  void everyQueryResolvesAgainstTheGeneratedSchema() throws Exception {
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
    try (SparkSession spark = SparkSession.builder().master("local[1]").config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate()) {
      TpcdsTables.registerEmpty(spark, io.trino.tpcds.Table.getBaseTables());
      List<String> unresolved = new java.util.ArrayList<>();
      for (var q : TpcdsQueries.load(List.of()).entrySet()) {
        try {
          spark.sql(q.getValue());
        } catch (Exception e) {
          unresolved.add(q.getKey() + ": " + String.valueOf(e.getMessage()).lines().findFirst().orElse(""));
        }
      }
      assertEquals(List.of(), unresolved);
    }
  }

  @Test
  void runsTheQueriesWithBothManagersAndWritesTheReport(@TempDir Path dir) throws Exception {
    String data = dir.resolve("data").toString();
    Path out = dir.resolve("out");
    SparkConf base = new SparkConf().setMaster("local-cluster[2,1,1024]")
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.ui.enabled", "false").set("spark.executor.memory", "1024m")
        .set("spark.sql.shuffle.partitions", "8")
        // store_sales is one small file here: row groups of 256 KiB, and scan splits as large, give
        // its scan some 20 tasks with data, so that map outputs are on both executors.
        .set("spark.hadoop.parquet.block.size", "262144")
        .set("spark.sql.files.maxPartitionBytes", "256k")
        .set("spark.shuffle.efa.provider", "tcp;ofi_rxm").set("spark.shuffle.efa.domain", "lo");
    TpcdsResults results = TpcdsBenchmark.run(new TpcdsBenchmark.Options(data, SCALE, QUERIES, 1, 0, out, 2), base);

    assertEquals(List.of(), results.failures());
    List<TpcdsResults.Summary> summaries = results.summaries();
    assertEquals(QUERIES, summaries.stream().map(TpcdsResults.Summary::query).toList());
    for (TpcdsResults.Summary s : summaries) {
      assertTrue(s.ok() && s.efaSeconds() > 0 && s.sortSeconds() > 0, s.toString());
    }
    assertTrue(summaries.stream().mapToDouble(TpcdsResults.Summary::shuffleBytesRead).sum() > 0, summaries.toString());
    assertTrue(summaries.stream().mapToDouble(TpcdsResults.Summary::fabricBytes).sum() > 0,
        "efa-shuffle read no remote block over the fabric: " + summaries);
    assertEquals(0.0, summaries.stream().mapToDouble(TpcdsResults.Summary::nettyBytes).sum(), summaries.toString());

    List<String> csv = Files.readAllLines(out.resolve("tpcds.csv"));
    assertTrue(csv.get(0).startsWith("query,efa_seconds,sort_seconds,efa_over_sort,"), csv.get(0));
    for (String q : QUERIES) {
      assertTrue(csv.stream().anyMatch(l -> l.startsWith(q + ",") && l.endsWith(",same rows")), csv.toString());
    }
    assertTrue(csv.get(csv.size() - 1).startsWith("total,"), csv.toString());
    String svg = Files.readString(out.resolve("tpcds.svg"));
    assertTrue(svg.startsWith("<svg ") && svg.trim().endsWith("</svg>"), svg);
    for (String q : QUERIES) {
      assertTrue(svg.contains(">" + q + "</text>"), svg);
    }

    List<io.trino.tpcds.Table> read = List.of(io.trino.tpcds.Table.DATE_DIM, io.trino.tpcds.Table.ITEM,
        io.trino.tpcds.Table.STORE_SALES);
    assertEquals(read, TpcdsTables.readBy(TpcdsQueries.load(QUERIES).values()), "the tables the queries read");
    for (var table : read) {
      assertTrue(Files.exists(dir.resolve("data").resolve(table.getName()).resolve(TpcdsTables.COMPLETE)), table.getName());
    }
    assertFalse(Files.exists(dir.resolve("data").resolve("store_returns")), "a table no query reads");
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
    try (SparkSession spark = SparkSession.builder().master("local[2]").config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate()) {
      assertEquals(List.of(), TpcdsTables.ensure(spark, data, SCALE, read), "complete tables are reused");
      // A table without its marker (as an interrupted generation leaves it) is generated again, alone.
      Files.delete(dir.resolve("data").resolve("item").resolve(TpcdsTables.COMPLETE));
      assertFalse(TpcdsTables.isComplete(spark, data, "item", SCALE));
      assertEquals(List.of("item"), TpcdsTables.ensure(spark, data, SCALE, read));
      assertEquals(2000, spark.read().parquet(data + "/item").count(), "item at scale factor 0.01, once");
      // Another scale factor is not this one.
      assertFalse(TpcdsTables.isComplete(spark, data, "item", 0.02));
    }
  }
}
