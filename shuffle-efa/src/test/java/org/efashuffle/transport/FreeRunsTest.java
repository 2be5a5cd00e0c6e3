package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class FreeRunsTest {
  private static final long UNIT = 4096;

  /** Pieces handed out at the same time never overlap and stay inside the arena, through any churn. */
  @Test
  void piecesNeverOverlapUnderChurn() {
    long capacity = 256 * UNIT;
    for (int seed = 0; seed < 200; seed++) {
      Random random = new Random(seed);
      FreeRuns runs = new FreeRuns(capacity, UNIT);
      TreeMap<Long, Long> live = new TreeMap<>(); // offset -> rounded size
      List<long[]> handedOut = new ArrayList<>(); // {offset, asked size}
      for (int step = 0; step < 2000; step++) {
        if (!handedOut.isEmpty() && random.nextInt(3) == 0) {
          long[] piece = handedOut.remove(random.nextInt(handedOut.size()));
          runs.free(piece[0], piece[1]);
          live.remove(piece[0]);
          continue;
        }
        long size = 1 + random.nextInt((int) (8 * UNIT));
        long offset = runs.allocate(size);
        if (offset < 0) {
          continue;
        }
        long rounded = (size + UNIT - 1) / UNIT * UNIT;
        assertTrue(offset % UNIT == 0 && offset + rounded <= capacity,
            "seed " + seed + " step " + step + ": piece [" + offset + ", +" + rounded + ") outside the arena");
        var before = live.floorEntry(offset + rounded - 1);
        assertTrue(before == null || before.getKey() + before.getValue() <= offset,
            "seed " + seed + " step " + step + ": piece [" + offset + ", +" + rounded + ") overlaps the piece at "
                + (before == null ? -1 : before.getKey()));
        live.put(offset, rounded);
        handedOut.add(new long[] {offset, size});
      }
      long usedNow = live.values().stream().mapToLong(Long::longValue).sum();
      assertEquals(usedNow, runs.used(), "seed " + seed);
      handedOut.forEach(p -> runs.free(p[0], p[1]));
      assertEquals(0, runs.used());
      assertEquals(0, runs.allocate(capacity), "seed " + seed + ": the emptied arena is one run again");
    }
  }
}
