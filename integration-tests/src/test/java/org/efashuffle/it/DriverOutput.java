package org.efashuffle.it;

import java.util.HashMap;
import java.util.Map;

/** The lines {@link SubnetJobMain} prints, read back. */
final class DriverOutput {
  private DriverOutput() {}

  /** Executor id to {fabric bytes, Netty bytes}, of the named run. */
  static Map<String, long[]> executors(String out, String run) {
    Map<String, long[]> executors = new HashMap<>();
    for (String line : out.split("\n")) {
      String[] f = line.trim().split(" ");
      if (f[0].equals("EXECUTOR") && f[1].equals(run)) {
        executors.put(f[2], new long[] {Long.parseLong(f[3]), Long.parseLong(f[4])});
      }
    }
    return executors;
  }
}
