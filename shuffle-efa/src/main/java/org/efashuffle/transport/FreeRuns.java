package org.efashuffle.transport;

import java.util.Map;
import java.util.TreeMap;

/**
 * The free space of one arena of {@code capacity} bytes, handed out in pieces rounded up to
 * {@code unit}: first fit, neighbours merged on free. Not thread-safe: its owner locks.
 */
final class FreeRuns {
  private final long unit;
  private final long capacity;
  private final TreeMap<Long, Long> free = new TreeMap<>(); // offset -> size
  private long used;

  FreeRuns(long capacity, long unit) {
    this.unit = unit;
    this.capacity = capacity;
    free.put(0L, capacity);
  }

  /** Takes {@code size} bytes; returns the piece's offset, or -1 when no free run is long enough now. */
  long allocate(long size) {
    long rounded = rounded(size);
    for (Map.Entry<Long, Long> run : free.entrySet()) {
      long offset = run.getKey();
      long length = run.getValue();
      if (length >= rounded) {
        free.remove(offset);
        if (length > rounded) {
          free.put(offset + rounded, length - rounded);
        }
        used += rounded;
        return offset;
      }
    }
    return -1;
  }

  /** Gives back a piece that {@link #allocate} returned, with the size it was asked for. */
  void free(long offset, long size) {
    long rounded = rounded(size);
    if (offset < 0 || offset + rounded > capacity) {
      throw new IllegalArgumentException("piece [" + offset + ", +" + rounded + ") is outside the arena of " + capacity);
    }
    used -= rounded;
    long start = offset;
    long length = rounded;
    Map.Entry<Long, Long> before = free.floorEntry(offset);
    if (before != null && before.getKey() + before.getValue() == offset) {
      start = before.getKey();
      length += before.getValue();
      free.remove(before.getKey());
    }
    Long after = free.remove(offset + rounded);
    if (after != null) {
      length += after;
    }
    free.put(start, length);
  }

  /** Bytes handed out and not yet freed. */
  long used() {
    return used;
  }

  private long rounded(long size) {
    return Math.max(unit, (size + unit - 1) & -unit);
  }
}
