package org.efashuffle.bench.tpcds;

import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import org.apache.spark.sql.Row;

/**
 * A query result's fingerprint: the row count and a SHA-256 of its rows, each written as text,
 * sorted. Independent of the order rows arrive in (a query without ORDER BY may return them in
 * any order), sensitive to any changed, missing or repeated row.
 *
 * <p>Floating-point values are written to 12 significant digits: a double sum or standard
 * deviation depends on the order its partial aggregates are combined in, which follows the
 * order shuffle blocks arrive in and changes from run to run with either shuffle manager.
 * Decimals, integers, strings and dates are written exactly.
 */
public record ResultDigest(long rows, String sha256) {
  private static final MathContext DOUBLE_DIGITS = new MathContext(12);

  public static ResultDigest of(List<Row> rows) {
    List<String> lines = new ArrayList<>(rows.size());
    for (Row row : rows) {
      lines.add(line(row));
    }
    Collections.sort(lines);
    MessageDigest sha;
    try {
      sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    for (String line : lines) {
      sha.update(line.getBytes(StandardCharsets.UTF_8));
      sha.update((byte) '\n');
    }
    return new ResultDigest(rows.size(), HexFormat.of().formatHex(sha.digest()));
  }

  /** One row as text: its values separated by a character no TPC-DS value holds, nulls as a word. */
  static String line(Row row) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < row.length(); i++) {
      if (i > 0) {
        b.append('\u0001');
      }
      Object v = row.get(i);
      if (v == null) {
        b.append("\u0002null");
      } else if (v instanceof Double || v instanceof Float) {
        double d = ((Number) v).doubleValue();
        b.append(Double.isFinite(d) ? new BigDecimal(d).round(DOUBLE_DIGITS).toString() : Double.toString(d));
      } else if (v instanceof BigDecimal dec) {
        b.append(dec.toPlainString());
      } else {
        b.append(v);
      }
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return rows + " rows, sha256 " + sha256.substring(0, 12);
  }
}
