package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.sql.Date;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.bench.tpcds.ResultDigest;
import org.efashuffle.bench.tpcds.ShuffleReadListener;
import org.efashuffle.bench.tpcds.TpcdsReport;
import org.efashuffle.bench.tpcds.TpcdsResults;
import org.efashuffle.bench.tpcds.TpcdsResults.Manager;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.Test;

/** The TPC-DS runner's result check: rows that differ are a failure named by query, never a timed query. */
class TpcdsResultCheckTest {
  private static List<Row> rows() {
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      rows.add(RowFactory.create("item" + i, i, new BigDecimal("12.34").add(BigDecimal.valueOf(i)),
          Date.valueOf("2001-03-0" + (1 + i % 9)), i % 7 == 0 ? null : (double) i / 3));
    }
    return rows;
  }

  private static TpcdsResults.Run run(Manager manager, int round, List<Row> rows, double seconds) {
    return new TpcdsResults.Run(manager, round, true, seconds, ResultDigest.of(rows), 1000, 600, 5, 0, 0, null, null);
  }

  @Test
  void theDigestIgnoresRowOrderButNotAnyChangedMissingOrRepeatedRow() {
    List<Row> rows = rows();
    List<Row> reversed = new ArrayList<>(rows);
    java.util.Collections.reverse(reversed);
    assertEquals(ResultDigest.of(rows), ResultDigest.of(reversed));

    List<Row> altered = new ArrayList<>(rows);
    altered.set(17, RowFactory.create("item17", 17, new BigDecimal("29.35"), Date.valueOf("2001-03-09"), 17.0 / 3));
    assertNotEquals(ResultDigest.of(rows), ResultDigest.of(altered), "a decimal off by a cent");

    List<Row> missing = new ArrayList<>(rows);
    missing.remove(3);
    assertNotEquals(ResultDigest.of(rows), ResultDigest.of(missing));

    List<Row> repeated = new ArrayList<>(missing);
    repeated.add(rows.get(4));
    assertEquals(rows.size(), repeated.size());
    assertNotEquals(ResultDigest.of(rows), ResultDigest.of(repeated), "one row twice, another lost");

    List<Row> nulled = new ArrayList<>(rows);
    nulled.set(0, RowFactory.create("item0", 0, new BigDecimal("12.34"), Date.valueOf("2001-03-01"), "null"));
    assertNotEquals(ResultDigest.of(rows), ResultDigest.of(nulled), "a null and the text null");
  }

  @Test
  void doublesThatDifferOnlyInTheirLastBitsFromSummationOrderAreTheSameRows() {
    double a = 0.1 + 0.2 + 0.3;
    double b = 0.3 + 0.2 + 0.1;
    assertNotEquals(a, b);
    assertEquals(ResultDigest.of(List.of(RowFactory.create("x", a))), ResultDigest.of(List.of(RowFactory.create("x", b))));
    assertNotEquals(ResultDigest.of(List.of(RowFactory.create("x", 0.6))),
        ResultDigest.of(List.of(RowFactory.create("x", 0.6000001))));
  }

  @Test
  void rowsThatDifferBetweenTheManagersAreAFailureNamedByQuery() {
    TpcdsResults results = new TpcdsResults();
    List<Row> altered = new ArrayList<>(rows());
    altered.set(5, RowFactory.create("item5", 5, new BigDecimal("17.34"), Date.valueOf("2001-03-06"), 5.0));

    assertNull(results.add("q3", run(Manager.EFA, 1, rows(), 1.0)));
    assertNull(results.add("q3", run(Manager.SORT, 1, rows(), 1.2)));
    assertNull(results.add("q7", run(Manager.SORT, 1, rows(), 2.0)));
    String failure = results.add("q7", run(Manager.EFA, 1, altered, 1.9));
    assertTrue(failure != null && failure.startsWith("q7: rows with efa-shuffle in round 1"), failure);
    assertTrue(failure.contains("differ from those with sort shuffle in round 1"), failure);
    // A later round that differs from the first is caught as well.
    assertTrue(results.add("q3", run(Manager.SORT, 2, altered, 1.1)) != null);
    assertEquals(2, results.failures().size(), results.failures().toString());

    List<TpcdsResults.Summary> summaries = results.summaries();
    assertTrue(summaries.get(0).ok() == false && summaries.get(1).ok() == false);
    TpcdsReport report = new TpcdsReport(results, "test");
    assertTrue(report.table().contains("ROWS DIFFER"), report.table());
    assertTrue(report.csv().lines().anyMatch(l -> l.startsWith("q7,") && l.endsWith(",ROWS DIFFER")), report.csv());
    assertTrue(report.svg().contains(">ROWS DIFFER<"), report.svg());
    // Neither query counts in the totals: no timing of a query whose rows differ.
    assertEquals(0.0, report.totals()[0]);
    assertEquals(0.0, report.totals()[1]);
  }

  @Test
  void aQueryThatThrowsIsAFailureAndTheOthersStillCount() {
    TpcdsResults results = new TpcdsResults();
    results.add("q3", run(Manager.EFA, 1, rows(), 1.0));
    results.add("q3", run(Manager.SORT, 1, rows(), 2.0));
    results.add("q9", run(Manager.SORT, 1, rows(), 1.0));
    String failure = results.add("q9", TpcdsResults.Run.failed(Manager.EFA, 1, true, "FetchFailedException: boom"));
    assertEquals("q9: failed with efa-shuffle in round 1: FetchFailedException: boom", failure);
    TpcdsReport report = new TpcdsReport(results, "test");
    assertEquals(1.0, report.totals()[0]);
    assertEquals(2.0, report.totals()[1]);
    assertTrue(report.csv().contains("q3,1.000,2.000,0.5000,"), report.csv());
    assertTrue(report.csv().lines().anyMatch(l -> l.startsWith("q9,") && l.endsWith(",FAILED")), report.csv());
    assertFalse(results.summaries().get(1).ok());
  }

  @Test
  void eachRoundsTotalsSumTheTimedRunsOfTheQueriesThatRanCleanInRunOrder() {
    TpcdsResults results = new TpcdsResults();
    results.add("q3", new TpcdsResults.Run(Manager.EFA, 1, false, 9.0, ResultDigest.of(rows()), 0, 0, 0, 0, 0, null, null));
    results.add("q3", run(Manager.EFA, 1, rows(), 1.0));
    results.add("q3", run(Manager.SORT, 1, rows(), 2.0));
    results.add("q3", run(Manager.SORT, 2, rows(), 3.0));
    results.add("q3", run(Manager.EFA, 2, rows(), 4.0));
    results.add("q7", run(Manager.EFA, 1, rows(), 0.5));
    results.add("q7", run(Manager.SORT, 1, rows(), 0.25));
    results.add("q9", run(Manager.EFA, 1, rows(), 100.0));
    results.add("q9", TpcdsResults.Run.failed(Manager.SORT, 1, true, "boom")); // left out, as from the totals
    List<TpcdsResults.RoundTotal> rounds = results.roundTotals();
    assertEquals(2, rounds.size());
    assertEquals(List.of(1.5, 2.25), List.of(rounds.get(0).efaSeconds(), rounds.get(0).sortSeconds())); // the warm-up pass is not timed
    assertEquals(List.of(4.0, 3.0), List.of(rounds.get(1).efaSeconds(), rounds.get(1).sortSeconds()));
    String table = new TpcdsReport(results, "test").table();
    assertTrue(table.contains("round 1: efa-shuffle 1.50 s, sort shuffle 2.25 s, 0.67x (efa-shuffle first)"), table);
    assertTrue(table.contains("round 2: efa-shuffle 4.00 s, sort shuffle 3.00 s, 1.33x (sort shuffle first)"), table);
  }

  @Test
  void aTimedRunThatLostAnExecutorIsMarkedAndNamedUnderTheTable() {
    TpcdsResults results = new TpcdsResults();
    String lost = new ShuffleReadListener.Totals(0, 0, 0, 4, 1).incidents();
    assertEquals("1 executor lost, 4 task attempts failed", lost);
    assertNull(new ShuffleReadListener.Totals(10, 5, 1, 0, 0).incidents());
    results.add("q69", new TpcdsResults.Run(Manager.EFA, 1, true, 11.7, ResultDigest.of(rows()), 0, 0, 0, 0, 0, lost, null));
    results.add("q69", run(Manager.SORT, 1, rows(), 3.0));
    results.add("q3", run(Manager.EFA, 1, rows(), 1.0));
    results.add("q3", run(Manager.SORT, 1, rows(), 1.0));
    String table = new TpcdsReport(results, "test").table();
    assertTrue(table.lines().anyMatch(l -> l.startsWith("q69") && l.endsWith("same rows *")), table);
    assertTrue(table.lines().anyMatch(l -> l.startsWith("q3") && l.endsWith("same rows")), table);
    assertTrue(table.contains("* a timed run lost executors or retried tasks (its time includes that): "
        + "q69 (efa-shuffle round 1: 1 executor lost, 4 task attempts failed)"), table);
  }

  @Test
  void fabricBytesOfAQueryCountAReplacedExecutorFromZeroNeverBelowIt() {
    java.util.Map<String, TransportMetrics.Snapshot> before = java.util.Map.of("0", bytes(500), "1", bytes(900));
    // Executor 1 was lost during the query and executor 2 took its place.
    java.util.Map<String, TransportMetrics.Snapshot> after = java.util.Map.of("0", bytes(700), "2", bytes(40));
    assertEquals(240, ExecutorMetrics.since(after, before).fabricBytes());
  }

  private static TransportMetrics.Snapshot bytes(long fabricBytes) {
    return new TransportMetrics.Snapshot(0, fabricBytes, 0, 0, 0, 0, 0, 0, 0, 0);
  }
}
