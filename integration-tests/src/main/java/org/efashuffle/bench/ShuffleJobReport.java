package org.efashuffle.bench;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;
import java.util.stream.Collectors;
import org.efashuffle.bench.ShuffleJobBenchmark.Kind;
import org.efashuffle.bench.ShuffleJobBenchmark.Sample;
import org.efashuffle.bench.ShuffleJobBenchmark.Setup;
import org.efashuffle.bench.tpcds.TpcdsReport;

/**
 * The main job's samples as text: a table of medians per configuration (map, reduce and total
 * seconds, ratios to sort shuffle, the share of the transport's cost the reduce stage removes,
 * remote reads), the samples per round, the executors' idle CPU, and the rows check.
 */
final class ShuffleJobReport {
  private static final String ROW = "%-38s %7s %8s %8s %9s %10s %8s | %s%n";

  private final List<Setup> setups;
  private final List<Sample> samples;

  ShuffleJobReport(List<Setup> setups, List<Sample> samples) {
    this.setups = setups;
    this.samples = samples;
  }

  /**
   * The share of the transport's cost in the reduce stage that a run removes: 0 is sort shuffle's
   * reduce stage, 1 the ceiling's (no transport at all).
   */
  static double transportCostRemoved(double sortReduce, double reduce, double ceilingReduce) {
    return (sortReduce - reduce) / (sortReduce - ceilingReduce);
  }

  private List<Sample> of(Setup setup) {
    return samples.stream().filter(s -> s.setup().equals(setup)).toList();
  }

  private double median(Setup setup, ToDoubleFunction<Sample> value) {
    return setup == null ? Double.NaN : Samples.median(of(setup).stream().mapToDouble(value).toArray());
  }

  /** The configuration of this kind with the same serializer, if any. */
  private Setup find(Kind kind, String serializer) {
    return setups.stream().filter(s -> s.kind() == kind && s.serializer().equals(serializer)).findFirst().orElse(null);
  }

  String table() {
    StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "medians of %d round%s; map and reduce: the"
        + " stages' times as Spark's scheduler saw them; total: the job as the driver saw it%n", rounds(),
        rounds() == 1 ? "" : "s"));
    b.append(String.format(Locale.ROOT, ROW, "run", "map s", "reduce s", "total s", "map/sort", "total/sort",
        "removed", "remote reads"));
    for (Setup setup : setups) {
      Setup sort = find(Kind.SORT, setup.serializer());
      Setup ceiling = find(Kind.CEILING, setup.serializer());
      double map = median(setup, Sample::mapSeconds);
      double reduce = median(setup, Sample::reduceSeconds);
      double total = median(setup, Sample::totalSeconds);
      boolean compared = setup.kind() != Kind.SORT && sort != null;
      double removed = setup.kind() == Kind.EFA && ceiling != null
          ? transportCostRemoved(median(sort, Sample::reduceSeconds), reduce, median(ceiling, Sample::reduceSeconds))
          : Double.NaN;
      b.append(String.format(Locale.ROOT, ROW, setup.name(), fixed(map), fixed(reduce), fixed(total),
          compared ? ratio(map / median(sort, Sample::mapSeconds)) : "-",
          compared ? ratio(total / median(sort, Sample::totalSeconds)) : "-",
          Double.isNaN(removed) ? "-" : String.format(Locale.ROOT, "%.2f", removed), remoteReads(setup)));
    }
    b.append("map/sort, total/sort: the median over sort shuffle's with the same serializer (below 1 is faster).\n");
    b.append("removed: the share of the transport's cost the reduce stage removes, (sort reduce - this reduce) /"
        + " (sort reduce - ceiling reduce);\n  1 = as fast as one executor reading everything locally, 0 = sort"
        + " shuffle over Netty.\n");
    b.append(sameRows() ? "same rows in every run: yes\n" : "same rows in every run: NO (see the samples)\n");
    return b.toString();
  }

  private String remoteReads(Setup setup) {
    String remote = TpcdsReport.size(median(setup, Sample::remoteBytes));
    if (setup.kind() != Kind.EFA) {
      return setup.kind() == Kind.CEILING && median(setup, Sample::remoteBytes) == 0 ? "none (one executor)"
          : remote + " over Netty (Spark's client)";
    }
    long fallbacks = of(setup).stream().mapToLong(s -> s.transport().fallbacks()).sum();
    return String.format(Locale.ROOT, "%s: fabric %s, netty %s; served %.0f pinned + %.0f staged%s", remote,
        TpcdsReport.size(median(setup, s -> s.transport().fabricBytes())),
        TpcdsReport.size(median(setup, s -> s.transport().nettyBytes())),
        median(setup, s -> s.transport().servedPinned()), median(setup, s -> s.transport().servedStaged()),
        fallbacks == 0 ? "" : "; " + fallbacks + " fabric fetches fell back to Netty in all rounds");
  }

  /** Medians of what the executors spent: CPU during the job, of it the progress threads', and the reduce tasks' fetch wait. */
  String costs() {
    StringBuilder b = new StringBuilder("where the time goes (medians): CPU the executor JVMs used during the job"
        + " (every thread; of it the fabric progress threads),\nand the time reduce tasks were blocked waiting for"
        + " shuffle blocks (summed over the tasks)\n");
    b.append(String.format(Locale.ROOT, "%-38s %8s %14s %13s%n", "run", "CPU s", "progress CPU s", "fetch wait s"));
    for (Setup setup : setups) {
      b.append(String.format(Locale.ROOT, "%-38s %8.2f %14s %13.2f%n", setup.name(), median(setup, Sample::cpuSeconds),
          setup.kind() == Kind.EFA ? fixed(median(setup, Sample::progressCpuSeconds)) : "-",
          median(setup, Sample::fetchWaitSeconds)));
    }
    return b.toString();
  }

  /** Every sample, configuration by configuration, in round order. */
  String samples() {
    StringBuilder b = new StringBuilder("samples, round 1 to " + rounds() + " (seconds)\n");
    for (Setup setup : setups) {
      List<Sample> mine = of(setup);
      b.append(String.format(Locale.ROOT, "%-38s map %s   reduce %s   total %s%s%n", setup.name(),
          list(mine, Sample::mapSeconds), list(mine, Sample::reduceSeconds), list(mine, Sample::totalSeconds),
          mine.stream().filter(s -> !sameRows(s)).map(s -> " ROWS DIFFER in round " + s.round())
              .collect(Collectors.joining())));
    }
    return b.toString();
  }

  /** The executors' idle CPU after the first round's job. */
  String idle() {
    StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "idle for %d s after round 1's job, CPU per"
        + " executor JVM (%% of one core, mean of the executors)%n", ShuffleJobBenchmark.IDLE_SECONDS));
    b.append(String.format(Locale.ROOT, "%-38s %10s %16s%n", "run", "whole JVM", "progress threads"));
    for (Sample s : samples) {
      if (!Double.isNaN(s.idleProcessCores())) {
        b.append(String.format(Locale.ROOT, "%-38s %9.1f%% %15.1f%%%n", s.setup().name(), 100 * s.idleProcessCores(),
            100 * s.idleProgressCores()));
      }
    }
    return b.toString();
  }

  /** Whether every run produced the rows of the first run (the same count and checksums). */
  boolean sameRows() {
    return samples.stream().allMatch(this::sameRows);
  }

  private boolean sameRows(Sample s) {
    Sample reference = samples.get(0);
    return s.rows() == reference.rows() && Arrays.equals(s.checksums(), reference.checksums());
  }

  private int rounds() {
    return samples.stream().mapToInt(Sample::round).max().orElse(0);
  }

  private static String list(List<Sample> samples, ToDoubleFunction<Sample> value) {
    return samples.stream().map(s -> String.format(Locale.ROOT, "%5.2f", value.applyAsDouble(s)))
        .collect(Collectors.joining(" "));
  }

  private static String fixed(double v) {
    return String.format(Locale.ROOT, "%.2f", v);
  }

  private static String ratio(double v) {
    return String.format(Locale.ROOT, "%.2fx", v);
  }
}
