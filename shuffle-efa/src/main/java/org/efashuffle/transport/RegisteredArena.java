package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * One registration of off-heap memory (registration pins pages and is costly on EFA), handed out
 * in page-aligned pieces: first fit, neighbours merged on free. Used as the bounded staging area
 * and as the slabs of {@link PinnedPool}. Whoever allocates a piece frees it exactly once;
 * {@link #close()} deregisters and frees the whole arena.
 */
public final class RegisteredArena implements AutoCloseable {
  private static final long UNIT = 4096;

  /** Test seam: sees the thread of every registration this package makes. */
  static volatile Consumer<Thread> registrationWatcher = thread -> {};

  private final RegisteredMemory memory;
  private final TreeMap<Long, Long> free = new TreeMap<>(); // offset -> size
  private long used;

  public RegisteredArena(FabricDomain domain, long size) {
    this.memory = register(domain, size);
    free.put(0L, capacity());
  }

  /**
   * Allocates and registers {@code size} bytes: on EFA an ibv_reg_mr, which pins pages and takes
   * a while, so never on a progress thread nor under a lock that one takes.
   */
  static RegisteredMemory register(FabricDomain domain, long size) {
    registrationWatcher.accept(Thread.currentThread());
    return RegisteredMemory.allocate(domain, size);
  }

  /** Bytes handed out and not yet freed (never more than {@link #capacity()}). */
  public synchronized long used() {
    return used;
  }

  public long capacity() {
    return memory.memory().size();
  }

  /** Takes {@code size} bytes; returns the piece's offset, or -1 when no free run is long enough now. */
  public synchronized long allocate(long size) {
    long rounded = Math.max(UNIT, (size + UNIT - 1) & -UNIT);
    for (Map.Entry<Long, Long> run : free.entrySet()) {
      if (run.getValue() >= rounded) {
        long offset = run.getKey();
        free.remove(offset);
        if (run.getValue() > rounded) {
          free.put(offset + rounded, run.getValue() - rounded);
        }
        used += rounded;
        return offset;
      }
    }
    return -1;
  }

  public synchronized void free(long offset, long size) {
    long rounded = Math.max(UNIT, (size + UNIT - 1) & -UNIT);
    used -= rounded;
    long start = offset;
    long length = rounded;
    Map.Entry<Long, Long> before = free.floorEntry(offset);
    if (before != null && before.getKey() + before.getValue() == offset) {
      start = before.getKey();
      length += before.getValue();
      free.remove(before.getKey());
    }
    Long after = free.get(offset + rounded);
    if (after != null) {
      free.remove(offset + rounded);
      length += after;
    }
    free.put(start, length);
  }

  /** A writable view of a piece, to fill before publishing it. */
  public ByteBuffer view(long offset, int length) {
    return memory.memory().byteBuffer(offset, length);
  }

  public MemoryRegion region() {
    return memory.region();
  }

  public long remoteAddress(long offset) {
    return memory.region().remoteAddress(offset);
  }

  public long key() {
    return memory.region().key();
  }

  @Override
  public void close() {
    memory.close();
  }
}
