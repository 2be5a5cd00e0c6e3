package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects the WARNING records the transport logs while open, so a test can wait for a reason. */
final class LogRecords extends Handler implements AutoCloseable {
  private static final Logger TRANSPORT = Logger.getLogger("org.efashuffle.transport");
  private final List<String> messages = new ArrayList<>();

  LogRecords() {
    setLevel(Level.WARNING);
    TRANSPORT.addHandler(this);
  }

  @Override
  public synchronized void publish(LogRecord record) {
    if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
      String text = record.getMessage() + (record.getThrown() != null ? ": " + record.getThrown() : "");
      messages.add(text);
      notifyAll();
    }
  }

  /** Waits until {@code count} records contain {@code text}; returns whether they came. */
  boolean await(String text, int count, long seconds) throws InterruptedException {
    return awaitMillis(text, count, TimeUnit.SECONDS.toMillis(seconds));
  }

  synchronized boolean awaitMillis(String text, int count, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (count(text) < count) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        return false;
      }
      TimeUnit.NANOSECONDS.timedWait(this, left);
    }
    return true;
  }

  synchronized int count(String text) {
    return (int) messages.stream().filter(m -> m.contains(text)).count();
  }

  synchronized List<String> all() {
    return List.copyOf(messages);
  }

  @Override
  public void flush() {}

  @Override
  public void close() {
    TRANSPORT.removeHandler(this);
  }
}
