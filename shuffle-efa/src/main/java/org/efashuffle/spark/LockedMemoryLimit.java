package org.efashuffle.spark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.Locale;
import java.util.Map;
import org.efashuffle.common.config.EfaShuffleConfig;

/**
 * The locked-memory limit (RLIMIT_MEMLOCK, {@code ulimit -l}) against what the fabric registers.
 * On providers that pin pages when memory is registered (efa, verbs) a registration past the limit
 * fails, unless the process has CAP_IPC_LOCK; checked at start, a low limit gives one clear
 * warning and Netty instead of registration failures in the middle of fetches. {@link #refusal}
 * takes the limit and the provider as inputs, so it is tested without such a host.
 */
record LockedMemoryLimit(long bytes, boolean capIpcLock) {
  /** RLIMIT_MEMLOCK's soft value when there is none. */
  static final long UNLIMITED = Long.MAX_VALUE;
  /** Control messages: 64 receive and 64 send slots of 8 KiB (ControlChannel). */
  static final long CONTROL_BYTES = 128L * 8192;
  private static final int CAP_IPC_LOCK = 14;

  /** This process's soft limit and capability; unlimited when /proc cannot tell (not Linux). */
  static LockedMemoryLimit ofThisProcess() {
    try {
      return new LockedMemoryLimit(parseLimit(Files.readString(Paths.get("/proc/self/limits"))),
          parseCapIpcLock(Files.readString(Paths.get("/proc/self/status"))));
    } catch (IOException | RuntimeException e) {
      return new LockedMemoryLimit(UNLIMITED, false);
    }
  }

  /** The soft "Max locked memory" of a /proc/PID/limits text, in bytes. */
  static long parseLimit(String limits) {
    for (String line : limits.split("\n")) {
      if (line.startsWith("Max locked memory")) {
        String soft = line.substring("Max locked memory".length()).trim().split("\\s+")[0];
        return soft.equals("unlimited") ? UNLIMITED : Long.parseLong(soft);
      }
    }
    throw new IllegalArgumentException("no 'Max locked memory' line");
  }

  /** Whether CAP_IPC_LOCK is in the effective set of a /proc/PID/status text. */
  static boolean parseCapIpcLock(String status) {
    for (String line : status.split("\n")) {
      if (line.startsWith("CapEff:")) {
        return (Long.parseUnsignedLong(line.substring("CapEff:".length()).trim(), 16) >>> CAP_IPC_LOCK & 1) == 1;
      }
    }
    return false;
  }

  /** Whether the provider pins pages at registration (efa, and verbs with or without ofi_rxm); tcp, shm do not. */
  static boolean pins(String provider) {
    for (String part : provider.toLowerCase(Locale.ROOT).split(";")) {
      if (part.equals("efa") || part.equals("verbs")) {
        return true;
      }
    }
    return false;
  }

  /** The most bytes an executor registers: staging, receive pool, map outputs, control messages. */
  static long needed(Map<String, String> settings) {
    return EfaShuffleConfig.STAGING_BYTES.get(settings) + EfaShuffleConfig.RECEIVE_BYTES.get(settings)
        + EfaShuffleConfig.MAP_OUTPUT_BYTES.get(settings) + CONTROL_BYTES;
  }

  /**
   * Why {@code provider} must not be opened under this limit, naming the limit and the settings, or
   * null when it may be: it does not pin, the limit covers what it registers, or the process may
   * lock memory regardless (CAP_IPC_LOCK).
   */
  String refusal(String provider, Map<String, String> settings) {
    long needed = needed(settings);
    if (!pins(provider) || capIpcLock || bytes >= needed) {
      return null;
    }
    return "the locked-memory limit (ulimit -l, RLIMIT_MEMLOCK) of this executor is " + bytes + " bytes, below the "
        + needed + " bytes that provider " + provider + " would register and pin ("
        + EfaShuffleConfig.STAGING_BYTES.key() + " + " + EfaShuffleConfig.RECEIVE_BYTES.key() + " + "
        + EfaShuffleConfig.MAP_OUTPUT_BYTES.key() + " + " + CONTROL_BYTES + " bytes of control messages), and it "
        + "lacks CAP_IPC_LOCK; raise the limit for the executors (e.g. LimitMEMLOCK=infinity, memlock in "
        + "/etc/security/limits.conf) or lower those settings";
  }
}
