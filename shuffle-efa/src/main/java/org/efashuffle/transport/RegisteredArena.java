package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.function.Consumer;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * One registration of off-heap memory (registration pins pages and is costly on EFA), handed out
 * in page-aligned pieces ({@link FreeRuns}). Used as the bounded staging area
 * and as the slabs of {@link PinnedPool}. Whoever allocates a piece frees it exactly once;
 * {@link #close()} deregisters and frees the whole arena.
 */
public final class RegisteredArena implements AutoCloseable {
  private static final long UNIT = 4096;

  /** Who reads the memory: peers by fi_read (published blocks), or only this process (reads land in it). */
  public enum Access {
    REMOTE_READ,
    /** Registered without FI_REMOTE_READ: a peer holding its key still cannot read it. */
    LOCAL_ONLY
  }

  /** Test seam: sees the thread of every registration this package makes. */
  static volatile Consumer<Thread> registrationWatcher = thread -> {};

  private final RegisteredMemory memory;
  private final FreeRuns free;

  public RegisteredArena(FabricDomain domain, long size, Access access) {
    this.memory = register(domain, size, access);
    this.free = new FreeRuns(capacity(), UNIT);
  }

  /**
   * Allocates and registers {@code size} bytes: on EFA an ibv_reg_mr, which pins pages and takes
   * a while, so never on a progress thread nor under a lock that one takes.
   */
  static RegisteredMemory register(FabricDomain domain, long size, Access access) {
    registrationWatcher.accept(Thread.currentThread());
    return access == Access.LOCAL_ONLY ? RegisteredMemory.allocateLocal(domain, size)
        : RegisteredMemory.allocate(domain, size);
  }

  /** Bytes handed out and not yet freed (never more than {@link #capacity()}). */
  public synchronized long used() {
    return free.used();
  }

  public long capacity() {
    return memory.memory().size();
  }

  /** Takes {@code size} bytes; returns the piece's offset, or -1 when no free run is long enough now. */
  public synchronized long allocate(long size) {
    return free.allocate(size);
  }

  public synchronized void free(long offset, long size) {
    free.free(offset, size);
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
