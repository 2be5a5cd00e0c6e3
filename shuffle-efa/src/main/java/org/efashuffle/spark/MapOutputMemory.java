package org.efashuffle.spark;

import java.util.Map;
import org.efashuffle.common.config.EfaShuffleConfig;

/**
 * How an executor holds its map outputs for fabric readers: {@code pinnedBytes} of them registered
 * from commit on, as mapped data files ({@code mapFiles}) or copies, and a staging area of
 * {@code stagingBytes} for the others, one read at a time.
 */
record MapOutputMemory(long stagingBytes, long pinnedBytes, boolean mapFiles) {
  static MapOutputMemory fromSettings(Map<String, String> settings) {
    return new MapOutputMemory(EfaShuffleConfig.STAGING_BYTES.get(settings),
        EfaShuffleConfig.MAP_OUTPUT_BYTES.get(settings), EfaShuffleConfig.MAP_OUTPUT_FILES.get(settings));
  }
}
