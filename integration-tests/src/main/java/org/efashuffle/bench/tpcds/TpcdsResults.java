package org.efashuffle.bench.tpcds;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;
import org.efashuffle.bench.Samples;

/**
 * Every run of every query with both shuffle managers, the result check between them, and the
 * medians the report shows. A query's first result is its reference; every later result (either
 * manager, warm-up passes included) must have the same digest, else the query has failed, and so
 * has a query that threw.
 */
public final class TpcdsResults {
  /** The two shuffle managers compared. */
  public enum Manager {
    EFA("efa-shuffle"), SORT("sort shuffle");

    public final String label;

    Manager(String label) {
      this.label = label;
    }
  }

  /**
   * One run of one query.
   *
   * @param digest null when the query failed (then {@code error} says why)
   * @param fabricBytes remote shuffle bytes read over the fabric (efa-shuffle's executors; 0 for sort shuffle)
   * @param nettyBytes remote shuffle bytes efa-shuffle fetched over Netty (0 for sort shuffle, all of whose remote reads are Netty's)
   * @param incidents task attempts that failed and executors lost while it ran, in words; null when none
   */
  public record Run(Manager manager, int round, boolean timed, double seconds, ResultDigest digest,
      long shuffleBytesRead, long remoteBytesRead, long fetchWaitMillis, long fabricBytes, long nettyBytes,
      String incidents, String error) {
    public static Run failed(Manager manager, int round, boolean timed, String error) {
      return new Run(manager, round, timed, Double.NaN, null, 0, 0, 0, 0, 0, null, error);
    }
  }

  /**
   * What the report shows of one query: medians of its timed runs per manager, whether it failed,
   * and the incidents of its timed runs ("efa-shuffle round 1: 1 executor lost, ...").
   */
  public record Summary(String query, double efaSeconds, double sortSeconds, double shuffleBytesRead,
      double efaFetchWaitMillis, double sortFetchWaitMillis, double fabricBytes, double nettyBytes,
      List<String> failures, List<String> incidents) {
    /** efa-shuffle's median time over sort shuffle's (below 1: efa-shuffle faster). */
    public double ratio() {
      return efaSeconds / sortSeconds;
    }

    public boolean ok() {
      return failures.isEmpty();
    }
  }

  private final Map<String, List<Run>> runs = new LinkedHashMap<>();
  private final Map<String, List<String>> failures = new LinkedHashMap<>();

  /** Records a run, checks its result against the query's first one, and returns the failure it adds, if any. */
  public String add(String query, Run run) {
    List<Run> previous = runs.computeIfAbsent(query, q -> new ArrayList<>());
    failures.computeIfAbsent(query, q -> new ArrayList<>());
    String failure = null;
    if (run.digest == null) {
      failure = String.format("%s: failed with %s in %s: %s", query, run.manager.label, roundName(run), run.error);
    } else {
      Run reference = previous.stream().filter(r -> r.digest != null).findFirst().orElse(null);
      if (reference != null && !reference.digest.equals(run.digest)) {
        failure = String.format("%s: rows with %s in %s (%s) differ from those with %s in %s (%s)", query,
            run.manager.label, roundName(run), run.digest, reference.manager.label, roundName(reference),
            reference.digest);
      }
    }
    previous.add(run);
    if (failure != null) {
      failures.get(query).add(failure);
    }
    return failure;
  }

  private static String roundName(Run r) {
    return "round " + r.round + (r.timed ? "" : " warm-up");
  }

  /** Every failure so far, in query order. */
  public List<String> failures() {
    List<String> all = new ArrayList<>();
    failures.values().forEach(all::addAll);
    return all;
  }

  /** One summary per query, in the order the queries first ran. */
  public List<Summary> summaries() {
    List<Summary> out = new ArrayList<>();
    for (Map.Entry<String, List<Run>> e : runs.entrySet()) {
      List<Run> efa = timed(e.getValue(), Manager.EFA);
      List<Run> sort = timed(e.getValue(), Manager.SORT);
      out.add(new Summary(e.getKey(), median(efa, Run::seconds), median(sort, Run::seconds),
          median(efa, r -> r.shuffleBytesRead), median(efa, r -> r.fetchWaitMillis), median(sort, r -> r.fetchWaitMillis),
          median(efa, r -> r.fabricBytes), median(efa, r -> r.nettyBytes), List.copyOf(failures.get(e.getKey())),
          e.getValue().stream().filter(r -> r.timed && r.incidents != null)
              .map(r -> r.manager.label + " round " + r.round + ": " + r.incidents).toList()));
    }
    return out;
  }

  /** One round's timed seconds per manager, and which manager's application ran first in it. */
  public record RoundTotal(int round, double efaSeconds, double sortSeconds, Manager first) {}

  /**
   * Per round, in order, each manager's timed seconds summed over the queries with no failure,
   * and which manager ran first (the first run of the round that was recorded). Rounds that differ
   * much show drift or an order effect that the medians hide (with no warm-up pass, the first
   * application also warms the driver's JVM, which every later application shares).
   */
  public List<RoundTotal> roundTotals() {
    Map<Integer, double[]> seconds = new java.util.TreeMap<>();
    Map<Integer, Manager> first = new java.util.HashMap<>();
    for (Map.Entry<String, List<Run>> e : runs.entrySet()) {
      for (Run r : e.getValue()) {
        first.putIfAbsent(r.round, r.manager); // a query's runs are in the order the applications ran
        if (r.timed && failures.get(e.getKey()).isEmpty()) {
          seconds.computeIfAbsent(r.round, k -> new double[2])[r.manager == Manager.EFA ? 0 : 1] += r.seconds;
        }
      }
    }
    return seconds.entrySet().stream()
        .map(t -> new RoundTotal(t.getKey(), t.getValue()[0], t.getValue()[1], first.get(t.getKey()))).toList();
  }

  private static List<Run> timed(List<Run> runs, Manager manager) {
    return runs.stream().filter(r -> r.timed && r.manager == manager && r.digest != null).toList();
  }

  static double median(List<Run> runs, ToDoubleFunction<Run> value) {
    return Samples.median(runs.stream().mapToDouble(value).toArray());
  }
}
