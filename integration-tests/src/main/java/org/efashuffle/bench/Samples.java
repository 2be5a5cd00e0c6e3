package org.efashuffle.bench;

import java.util.Arrays;

/** Figures over the repeated samples of a benchmark. */
public final class Samples {
  private Samples() {}

  /** The median (the mean of the middle two for an even count), or NaN when there are none. */
  public static double median(double... values) {
    if (values.length == 0) {
      return Double.NaN;
    }
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
