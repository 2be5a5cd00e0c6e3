package org.efashuffle.common.config;

import java.util.Locale;

/** Sizes as Spark writes them: a number of bytes with an optional k, m, g or t suffix (binary). */
public final class ByteSizes {
  private ByteSizes() {}

  public static long parse(String text) {
    String s = text.trim().toLowerCase(Locale.ROOT);
    if (s.endsWith("b")) {
      s = s.substring(0, s.length() - 1);
    }
    int shift = 0;
    if (!s.isEmpty()) {
      switch (s.charAt(s.length() - 1)) {
        case 'k': shift = 10; break;
        case 'm': shift = 20; break;
        case 'g': shift = 30; break;
        case 't': shift = 40; break;
        default: break;
      }
    }
    long number = Long.parseLong(shift == 0 ? s : s.substring(0, s.length() - 1));
    if (number < 0 || number > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException("size out of range");
    }
    return number << shift;
  }
}
