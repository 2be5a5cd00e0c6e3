package org.efashuffle.bench.tpcds;

import io.trino.tpcds.Table;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.efashuffle.bench.ExecutorMetrics;
import org.efashuffle.bench.tpcds.TpcdsResults.Manager;
import org.efashuffle.spark.TransportMetrics;

/**
 * TPC-DS with efa-shuffle against Spark's sort shuffle. Generates the tables the queries read if
 * they are not complete at the scale factor (in an application of its own), then, per round, runs the queries
 * in one application with each shuffle manager (a new SparkContext, hence new executors, each
 * time), the two in turns whose order alternates from round to round so that drift hits both.
 * Each application first makes warm-up passes over the queries (untimed), then the timed one;
 * every result of every pass is checked against the query's first. Prints a line per query as it
 * runs, then a table of medians over the rounds; writes the same as CSV and an SVG chart of
 * per-query ratios. Exits with 1 if any query failed or returned other rows.
 *
 * <p>Run it in client deploy mode (the default): the driver starts one application after another.
 *
 * <pre>
 * TpcdsBenchmark --data PATH [--scale 1] [--queries q3,q7,...] [--rounds 3] [--warmup 1]
 *                [--out tpcds-results] [--executors N]
 * </pre>
 *
 * Settings come from the Spark configuration (spark-submit's --conf, or -Dspark.* properties):
 * the master, executor sizes, spark.shuffle.efa.provider and so on. The runner sets only
 * spark.shuffle.manager, per application.
 */
public final class TpcdsBenchmark {
  static final String EFA_MANAGER = "org.efashuffle.spark.EfaShuffleManager";

  /** The command line. */
  public record Options(String data, double scale, List<String> queries, int rounds, int warmup, Path out,
      int executors) {
    static Options parse(String[] args, SparkConf conf) {
      String data = null;
      double scale = 1;
      List<String> queries = List.of();
      int rounds = 3;
      int warmup = 1;
      Path out = Path.of("tpcds-results");
      int executors = -1;
      for (int i = 0; i < args.length; i++) {
        String value = i + 1 < args.length ? args[i + 1] : null;
        if (value == null) {
          throw new IllegalArgumentException("missing value after " + args[i]);
        }
        switch (args[i++]) {
          case "--data" -> data = value;
          case "--scale" -> scale = Double.parseDouble(value);
          case "--queries" -> queries = List.of(value.split(","));
          case "--rounds" -> rounds = Integer.parseInt(value);
          case "--warmup" -> warmup = Integer.parseInt(value);
          case "--out" -> out = Path.of(value);
          case "--executors" -> executors = Integer.parseInt(value);
          default -> throw new IllegalArgumentException("unknown option " + args[i - 1] + "; usage: --data PATH"
              + " [--scale 1] [--queries q3,q7] [--rounds 3] [--warmup 1] [--out DIR] [--executors N]");
        }
      }
      if (data == null) {
        throw new IllegalArgumentException("--data PATH is required (where the tables are, or are to be generated)");
      }
      if (rounds < 1 || warmup < 0 || scale <= 0) {
        throw new IllegalArgumentException("--rounds must be at least 1, --warmup at least 0, --scale above 0");
      }
      return new Options(data, scale, queries, rounds, warmup, out, executors < 0 ? expectedExecutors(conf) : executors);
    }

    /** local-cluster[N,...]'s N, else spark.executor.instances, else 0 (do not wait for executors). */
    private static int expectedExecutors(SparkConf conf) {
      Matcher m = Pattern.compile("local-cluster\\[\\s*(\\d+)").matcher(conf.get("spark.master", ""));
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
      return conf.getInt("spark.executor.instances", 0);
    }
  }

  private TpcdsBenchmark() {}

  public static void main(String[] args) throws IOException {
    SparkConf base = new SparkConf();
    TpcdsResults results = run(Options.parse(args, base), base);
    System.exit(results.failures().isEmpty() ? 0 : 1);
  }

  /** Generates what is missing, runs every round, prints and writes the report. */
  public static TpcdsResults run(Options options, SparkConf base) throws IOException {
    Map<String, String> queries = TpcdsQueries.load(options.queries());
    List<Table> tables = TpcdsTables.readBy(queries.values());
    try (SparkSession spark = session(base, "sort", "TPC-DS data generation")) {
      List<String> generated = TpcdsTables.ensure(spark, options.data(), options.scale(), tables);
      System.out.printf("the %d TPC-DS tables these queries read, scale factor %s, under %s: %s%n",
          tables.size(), options.scale(), options.data(),
          generated.isEmpty() ? "all reused" : "generated " + generated.size() + " (" + String.join(",", generated) + ")");
    }
    TpcdsResults results = new TpcdsResults();
    for (int round = 1; round <= options.rounds(); round++) {
      // Alternate which manager goes first, so that a drift over time (page cache, other load) hits both.
      List<Manager> order = round % 2 == 1 ? List.of(Manager.EFA, Manager.SORT) : List.of(Manager.SORT, Manager.EFA);
      for (Manager manager : order) {
        runApplication(base, options, queries, tables, manager, round, results);
      }
    }
    TpcdsReport report = new TpcdsReport(results, String.format(Locale.ROOT,
        "TPC-DS scale factor %s, %d queries, efa-shuffle over %s; medians of %d rounds (an application per manager"
            + " and round, %d warm-up pass each)", options.scale(), queries.size(),
        base.get("spark.shuffle.efa.provider", "efa"), options.rounds(), options.warmup()));
    System.out.println();
    System.out.print(report.table());
    Files.createDirectories(options.out());
    Path csv = options.out().resolve("tpcds.csv");
    Path svg = options.out().resolve("tpcds.svg");
    Files.writeString(csv, report.csv(), StandardCharsets.UTF_8);
    Files.writeString(svg, report.svg(), StandardCharsets.UTF_8);
    System.out.printf("wrote %s and %s%n", csv, svg);
    List<String> failures = results.failures();
    System.out.println(failures.isEmpty() ? "every query returned the same rows with both shuffle managers"
        : failures.size() + " FAILURES:\n  " + String.join("\n  ", failures));
    return results;
  }

  private static SparkSession session(SparkConf base, String manager, String name) {
    SparkSession.clearActiveSession();
    SparkSession.clearDefaultSession();
    SparkConf conf = base.clone().set("spark.shuffle.manager", manager);
    if (!conf.contains("spark.app.name")) {
      conf.setAppName(name);
    }
    return SparkSession.builder().config(conf).getOrCreate();
  }

  /** One application: the warm-up passes over the queries (untimed, checked), then the timed pass. */
  private static void runApplication(SparkConf base, Options options, Map<String, String> queries, List<Table> tables,
      Manager manager, int round, TpcdsResults results) throws IOException {
    try (SparkSession spark = session(base, manager == Manager.EFA ? EFA_MANAGER : "sort",
        "TPC-DS " + manager.label + " round " + round)) {
      JavaSparkContext sc = JavaSparkContext.fromSparkContext(spark.sparkContext());
      awaitExecutors(sc, options.executors());
      TpcdsTables.register(spark, options.data(), options.scale(), tables);
      ShuffleReadListener listener = ShuffleReadListener.register(spark.sparkContext());
      boolean efa = manager == Manager.EFA;
      Map<String, TransportMetrics.Snapshot> before = efa ? transport(sc, options.executors()) : null;
      for (int pass = 0; pass <= options.warmup(); pass++) {
        boolean timed = pass == options.warmup();
        String passName = "round " + round + (timed ? "" : " warm-up");
        listener.takeTotals();
        for (Map.Entry<String, String> q : queries.entrySet()) {
          TpcdsResults.Run run;
          try {
            long start = System.nanoTime();
            List<Row> rows = spark.sql(q.getValue()).collectAsList();
            double seconds = (System.nanoTime() - start) / 1e9;
            ShuffleReadListener.Totals read = listener.takeTotals();
            Map<String, TransportMetrics.Snapshot> after = efa ? transport(sc, options.executors()) : null;
            TransportMetrics.Snapshot moved = efa ? ExecutorMetrics.since(after, before) : TransportMetrics.Snapshot.zero();
            before = after;
            listener.takeTotals(); // the probe's tasks read no shuffle; keep them out of the next query's totals
            run = new TpcdsResults.Run(manager, round, timed, seconds, ResultDigest.of(rows), read.bytesRead(),
                read.remoteBytesRead(), read.fetchWaitMillis(), moved.fabricBytes(), moved.nettyBytes(), read.incidents(),
                null);
          } catch (Exception e) { // Spark's AnalysisException is a checked exception, thrown undeclared
            run = TpcdsResults.Run.failed(manager, round, timed,
                String.valueOf(e.getMessage()).lines().findFirst().orElse(e.toString()));
            before = efa ? transport(sc, options.executors()) : null;
            listener.takeTotals();
          }
          String failure = results.add(q.getKey(), run);
          System.out.println(progress(q.getKey(), passName, run, failure));
        }
      }
    }
  }

  private static String progress(String query, String roundName, TpcdsResults.Run run, String failure) {
    String head = String.format(Locale.ROOT, "%-16s %-12s %-5s", roundName, run.manager().label, query);
    if (run.digest() == null) {
      return head + " FAILED: " + run.error();
    }
    return head + String.format(Locale.ROOT, " %7.2f s  shuffle read %9s (remote %s, fabric %s, netty %s)"
        + "  fetch wait %d ms  %s%s%s", run.seconds(), TpcdsReport.size(run.shuffleBytesRead()),
        TpcdsReport.size(run.remoteBytesRead()), TpcdsReport.size(run.fabricBytes()), TpcdsReport.size(run.nettyBytes()),
        run.fetchWaitMillis(), run.digest(), run.incidents() == null ? "" : "  (" + run.incidents() + ")",
        failure == null ? "" : "  ROWS DIFFER");
  }

  private static Map<String, TransportMetrics.Snapshot> transport(JavaSparkContext sc, int executors) {
    return ExecutorMetrics.byExecutor(sc, Math.max(1, executors));
  }

  /** Waits (up to 2 minutes) until this many executors have registered, so that every run has them all. */
  private static void awaitExecutors(JavaSparkContext sc, int executors) {
    long deadline = System.nanoTime() + 120_000_000_000L;
    // getExecutorMemoryStatus counts the driver's block manager too.
    while (sc.sc().getExecutorMemoryStatus().size() - 1 < executors) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + (sc.sc().getExecutorMemoryStatus().size() - 1) + " of " + executors
            + " executors registered within 2 minutes");
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for executors", e);
      }
    }
  }
}
