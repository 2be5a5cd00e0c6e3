package org.efashuffle.common.config;

import java.util.Locale;

/** Durations as Spark writes them: a number with ms, s, m or h (no suffix means seconds). */
public final class Durations {
  private Durations() {}

  public static long parseMillis(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    long factor;
    String number;
    if (s.endsWith("ms")) {
      factor = 1;
      number = s.substring(0, s.length() - 2);
    } else if (s.endsWith("s")) {
      factor = 1000;
      number = s.substring(0, s.length() - 1);
    } else if (s.endsWith("m")) {
      factor = 60_000;
      number = s.substring(0, s.length() - 1);
    } else if (s.endsWith("h")) {
      factor = 3_600_000;
      number = s.substring(0, s.length() - 1);
    } else {
      factor = 1000;
      number = s;
    }
    return Math.multiplyExact(Long.parseLong(number), factor);
  }
}
