package org.efashuffle.bench.tpcds;

import java.util.List;
import java.util.Locale;

/** The TPC-DS comparison as a text table, as CSV, and as an SVG chart of per-query ratios. */
public final class TpcdsReport {
  private final List<TpcdsResults.Summary> summaries;
  private final List<TpcdsResults.RoundTotal> roundTotals;
  private final String title;

  private TpcdsReport(List<TpcdsResults.Summary> summaries, List<TpcdsResults.RoundTotal> roundTotals, String title) {
    this.summaries = summaries;
    this.roundTotals = roundTotals;
    this.title = title;
  }

  /** The medians per query and the totals per round ({@link TpcdsResults#roundTotals()}) of {@code results}. */
  public TpcdsReport(TpcdsResults results, String title) {
    this(results.summaries(), results.roundTotals(), title);
  }

  /** Sum of the efa-shuffle and sort shuffle medians over the queries that ran clean with both. */
  public double[] totals() {
    double efa = 0;
    double sort = 0;
    for (TpcdsResults.Summary s : summaries) {
      if (clean(s)) {
        efa += s.efaSeconds();
        sort += s.sortSeconds();
      }
    }
    return new double[] {efa, sort};
  }

  private static boolean clean(TpcdsResults.Summary s) {
    return s.ok() && !Double.isNaN(s.efaSeconds()) && !Double.isNaN(s.sortSeconds());
  }

  private static String status(TpcdsResults.Summary s) {
    if (!s.ok()) {
      return s.failures().stream().anyMatch(f -> f.contains(" differ from ")) ? "ROWS DIFFER" : "FAILED";
    }
    return s.incidents().isEmpty() ? "same rows" : "same rows *";
  }

  public String table() {
    StringBuilder b = new StringBuilder(title).append('\n');
    String header = String.format(Locale.ROOT, "%-6s %9s %9s %9s %12s %11s %11s %11s %11s  %s%n", "query", "efa s",
        "sort s", "efa/sort", "shuffle read", "efa wait", "sort wait", "fabric", "netty", "result");
    b.append(header);
    for (TpcdsResults.Summary s : summaries) {
      b.append(String.format(Locale.ROOT, "%-6s %9.2f %9.2f %8.2fx %12s %9.0fms %9.0fms %11s %11s  %s%n",
          s.query(), s.efaSeconds(), s.sortSeconds(), s.ratio(), size(s.shuffleBytesRead()), s.efaFetchWaitMillis(),
          s.sortFetchWaitMillis(), size(s.fabricBytes()), size(s.nettyBytes()), status(s)));
    }
    double[] t = totals();
    b.append(String.format(Locale.ROOT, "%-6s %9.2f %9.2f %8.2fx   (sums of the medians of the %d queries with the same rows)%n",
        "total", t[0], t[1], t[0] / t[1], summaries.stream().filter(TpcdsReport::clean).count()));
    List<String> incidents = summaries.stream().filter(s -> !s.incidents().isEmpty())
        .map(s -> s.query() + " (" + String.join("; ", s.incidents()) + ")").toList();
    if (!incidents.isEmpty()) {
      b.append("* a timed run lost executors or retried tasks (its time includes that): ")
          .append(String.join(", ", incidents)).append('\n');
    }
    for (TpcdsResults.RoundTotal r : roundTotals) {
      b.append(String.format(Locale.ROOT, "round %d: efa-shuffle %.2f s, sort shuffle %.2f s, %.2fx (%s first)%n",
          r.round(), r.efaSeconds(), r.sortSeconds(), r.efaSeconds() / r.sortSeconds(), r.first().label));
    }
    return b.toString();
  }

  public String csv() {
    StringBuilder b = new StringBuilder("query,efa_seconds,sort_seconds,efa_over_sort,shuffle_bytes_read,"
        + "efa_fetch_wait_ms,sort_fetch_wait_ms,fabric_bytes,netty_bytes,result\n");
    for (TpcdsResults.Summary s : summaries) {
      b.append(String.format(Locale.ROOT, "%s,%.3f,%.3f,%.4f,%.0f,%.0f,%.0f,%.0f,%.0f,%s%n", s.query(),
          s.efaSeconds(), s.sortSeconds(), s.ratio(), s.shuffleBytesRead(), s.efaFetchWaitMillis(),
          s.sortFetchWaitMillis(), s.fabricBytes(), s.nettyBytes(), status(s)));
    }
    double[] t = totals();
    b.append(String.format(Locale.ROOT, "total,%.3f,%.3f,%.4f,,,,,,%n", t[0], t[1], t[0] / t[1]));
    return b.toString();
  }

  /**
   * Horizontal bars, one per query, of efa-shuffle's median time over sort shuffle's: a line
   * at 1 (same time), a dashed one at 1.1; green at or below 1, amber up to 1.1, red above; a
   * query whose rows differed or that failed is a grey bar with the word.
   */
  public String svg() {
    int barHeight = 16;
    int gap = 4;
    int left = 70;
    int width = 640;
    int top = 50;
    double max = 1.2;
    for (TpcdsResults.Summary s : summaries) {
      if (clean(s) && Double.isFinite(s.ratio())) {
        max = Math.max(max, s.ratio() * 1.05);
      }
    }
    int height = top + summaries.size() * (barHeight + gap) + 40;
    double scale = width / max;
    StringBuilder b = new StringBuilder();
    b.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
        + "font-family=\"sans-serif\" font-size=\"12\">%n", Math.max(left + width + 80, 20 + title.length() * 7), height));
    b.append(String.format(Locale.ROOT, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n"));
    b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"20\" font-size=\"14\">%s</text>%n", escape(title)));
    double[] t = totals();
    b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"38\">efa-shuffle time / sort shuffle time per query "
        + "(medians; below 1 is faster); total %.2f s / %.2f s = %.2f</text>%n", t[0], t[1], t[0] / t[1]));
    int y = top;
    for (TpcdsResults.Summary s : summaries) {
      b.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"%d\">%s</text>%n", y + barHeight - 4, escape(s.query())));
      if (clean(s) && Double.isFinite(s.ratio())) {
        double r = s.ratio();
        String color = r <= 1.0 ? "#2e7d32" : r <= 1.1 ? "#f9a825" : "#c62828";
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n",
            left, y, r * scale, barHeight, color));
        b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%.2f</text>%n", left + r * scale + 4,
            y + barHeight - 4, r));
      } else {
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#9e9e9e\"/>%n",
            left, y, scale, barHeight));
        b.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"white\">%s</text>%n", left + 4,
            y + barHeight - 4, escape(status(s))));
      }
      y += barHeight + gap;
    }
    for (double mark : new double[] {1.0, 1.1}) {
      double x = left + mark * scale;
      b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"%s/>%n",
          x, top - 4, x, y, mark == 1.0 ? "" : " stroke-dasharray=\"4,3\""));
      b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.1f</text>%n", x, y + 16,
          mark));
    }
    b.append("</svg>\n");
    return b.toString();
  }

  /** Bytes for a person: B, kB, MB or GB (powers of 1000), or "-" for no figure. */
  public static String size(double bytes) {
    if (Double.isNaN(bytes)) {
      return "-";
    }
    String[] units = {"B", "kB", "MB", "GB"};
    int u = 0;
    while (u < units.length - 1 && Math.abs(bytes) >= 1000) {
      bytes /= 1000;
      u++;
    }
    return u == 0 ? String.format(Locale.ROOT, "%.0f B", bytes) : String.format(Locale.ROOT, "%.1f %s", bytes, units[u]);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
