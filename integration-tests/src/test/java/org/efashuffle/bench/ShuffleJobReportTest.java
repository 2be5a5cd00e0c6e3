package org.efashuffle.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.efashuffle.bench.ShuffleJobBenchmark.Kind;
import org.efashuffle.bench.ShuffleJobBenchmark.Sample;
import org.efashuffle.bench.ShuffleJobBenchmark.Setup;
import org.efashuffle.spark.TransportMetrics;
import org.junit.jupiter.api.Test;

/** The main job's report: medians over rounds, the transport-cost share, ratios to sort shuffle, the rows check. */
class ShuffleJobReportTest {
  private static final long[] CHECKSUMS = {1, 2, 3};

  private static Sample sample(Setup setup, int round, double map, double reduce, long[] checksums) {
    TransportMetrics.Snapshot transport = setup.kind() == Kind.EFA
        ? new TransportMetrics.Snapshot(10, 1_000_000_000L, 0, 0, 0, 8, 2, 0, 0, 0) : null;
    return new Sample(setup, round, map, reduce, map + reduce + 0.5, 1000, checksums,
        setup.kind() == Kind.CEILING ? 0 : 1_000_000_000L, reduce / 4, 2 * (map + reduce), 0.1, transport, Double.NaN,
        Double.NaN);
  }

  private static String line(String table, String run) {
    return table.lines().filter(l -> l.startsWith(run + " ")).findFirst().orElseThrow(() -> new AssertionError(table));
  }

  @Test
  void showsMediansTheShareOfTheTransportCostRemovedAndTheMapStageBesideSorts() {
    List<Setup> setups = ShuffleJobBenchmark.setups(List.of("tcp;ofi_rxm@lo"), false);
    Setup sort = setups.get(0);
    Setup ceiling = setups.get(1);
    Setup efa = setups.get(2);
    List<Sample> samples = new ArrayList<>();
    // Per round: an outlier each in round 2, which the medians must ignore.
    double[][] sortTimes = {{10, 6}, {30, 20}, {10, 6}};
    double[][] ceilingTimes = {{9, 4}, {9, 4}, {1, 1}};
    double[][] efaTimes = {{11, 5}, {11, 5}, {50, 40}};
    for (int r = 0; r < 3; r++) {
      samples.add(sample(sort, r + 1, sortTimes[r][0], sortTimes[r][1], CHECKSUMS));
      samples.add(sample(ceiling, r + 1, ceilingTimes[r][0], ceilingTimes[r][1], CHECKSUMS));
      samples.add(sample(efa, r + 1, efaTimes[r][0], efaTimes[r][1], CHECKSUMS));
    }
    ShuffleJobReport report = new ShuffleJobReport(setups, samples);
    String table = report.table();

    // efa: (6 - 5) / (6 - 4) = 0.50 of the transport's cost removed; map stage 11 / 10.
    String efaLine = line(table, efa.name());
    assertTrue(efaLine.matches(".* 11\\.00 +5\\.00 +16\\.50 +1\\.10x +1\\.00x +0\\.50 \\| 1\\.0 GB: fabric 1\\.0 GB, netty 0 B.*"),
        efaLine);
    assertTrue(line(table, sort.name()).matches(".* 10\\.00 +6\\.00 +16\\.50 +- +- +- \\|.*"), table);
    assertTrue(line(table, ceiling.name()).contains("none (one executor)"), table);
    assertTrue(table.contains("same rows in every run: yes"), table);
    assertTrue(report.sameRows());
    assertEquals(0.5, ShuffleJobReport.transportCostRemoved(6, 5, 4), 1e-9);
    assertTrue(report.samples().contains("reduce  6.00 20.00  6.00"), report.samples());
    // CPU 2 x (11 + 5), progress threads 0.1, fetch wait 5 / 4 (medians).
    assertTrue(line(report.costs(), efa.name()).matches(".* 32\\.00 +0\\.10 +1\\.25"), report.costs());
    assertTrue(line(report.costs(), sort.name()).matches(".* 32\\.00 +- +1\\.50"), report.costs());
  }

  @Test
  void aRunWithOtherRowsFailsTheCheckAndIsNamed() {
    List<Setup> setups = ShuffleJobBenchmark.setups(List.of("shm"), false);
    List<Sample> samples = List.of(sample(setups.get(0), 1, 10, 6, CHECKSUMS),
        sample(setups.get(1), 1, 9, 4, CHECKSUMS), sample(setups.get(2), 1, 11, 5, new long[] {1, 2, 4}));
    ShuffleJobReport report = new ShuffleJobReport(setups, samples);
    assertFalse(report.sameRows());
    assertTrue(report.table().contains("same rows in every run: NO"));
    assertTrue(line(report.samples(), setups.get(2).name()).endsWith("ROWS DIFFER in round 1"), report.samples());
  }

  @Test
  void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
    assertEquals(2.5, Samples.median(4, 1, 3, 2));
    assertEquals(3, Samples.median(5, 1, 3));
    assertTrue(Double.isNaN(Samples.median()));
  }
}
