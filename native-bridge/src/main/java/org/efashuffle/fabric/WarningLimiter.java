package org.efashuffle.fabric;

import java.util.concurrent.TimeUnit;

/**
 * WARN lines of one source (a completion or event queue, read by one thread), at most one per
 * 10 s, each counting the similar ones left out since the last: a provider that reports the same
 * trouble per entry must not flood the executor's log.
 */
final class WarningLimiter {
  private static final long INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

  private final System.Logger log;
  private boolean warned;
  private long lastNanos;
  private long unlogged;

  WarningLimiter(System.Logger log) {
    this.log = log;
  }

  void warn(String message) {
    long now = System.nanoTime();
    if (warned && now - lastNanos < INTERVAL_NANOS) {
      unlogged++;
      return;
    }
    log.log(System.Logger.Level.WARNING, message
        + (unlogged > 0 ? " (" + unlogged + " similar warnings not logged since the last)" : ""));
    warned = true;
    lastNanos = now;
    unlogged = 0;
  }
}
