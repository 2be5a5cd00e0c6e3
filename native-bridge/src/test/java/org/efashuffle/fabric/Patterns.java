package org.efashuffle.fabric;

/** The known data targets serve: every byte a function of its offset, so misplaced bytes show. */
final class Patterns {
  private Patterns() {}

  static byte at(long offset) {
    long x = offset * 0x9E3779B97F4A7C15L;
    return (byte) ((x >>> 56) ^ (offset >>> 12));
  }

  static void fill(NativeMemory memory) {
    byte[] chunk = new byte[1 << 20];
    for (long base = 0; base < memory.size(); base += chunk.length) {
      int n = (int) Math.min(chunk.length, memory.size() - base);
      for (int i = 0; i < n; i++) {
        chunk[i] = at(base + i);
      }
      memory.put(base, chunk, 0, n);
    }
  }

  /** Returns the offset of the first byte of [localOffset, +length) that is not pattern(remoteOffset + i), or -1. */
  static long firstMismatch(NativeMemory local, long localOffset, long remoteOffset, long length) {
    byte[] chunk = new byte[1 << 20];
    for (long done = 0; done < length; done += chunk.length) {
      int n = (int) Math.min(chunk.length, length - done);
      local.get(localOffset + done, chunk, 0, n);
      for (int i = 0; i < n; i++) {
        if (chunk[i] != at(remoteOffset + done + i)) {
          return done + i;
        }
      }
    }
    return -1;
  }
}
