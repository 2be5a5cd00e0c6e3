package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.efashuffle.fabric.FabricDomain;

/**
 * Registered memory that grows in slabs up to a budget: pinned bytes (the sum of the slabs'
 * sizes) never exceed the budget. A request larger than a slab gets a slab of its own, so that
 * one registration covers it. A shrinking pool deregisters a slab when its last piece is freed
 * (map outputs: memory goes back as shuffles are removed); a retaining pool keeps its slabs for
 * the next request (receive buffers: registration is costly on EFA). Whoever allocates a
 * {@link Piece} frees it exactly once. {@link #close()} frees the slabs that are empty and each
 * other slab when its last piece comes back, so memory still handed out is never freed under
 * its holder. No registration or deregistration runs under the pool's lock, which the progress
 * thread takes to free; {@link #allocateRegistered} never registers, for callers that must not.
 */
public final class PinnedPool implements AutoCloseable {
  private static final long PAGE = 4096;

  /** Bytes of one slab's registration, at offset {@code offset}. */
  public record Piece(RegisteredArena slab, long offset, long size) {
    public long remoteAddress(long within) {
      return slab.remoteAddress(offset + within);
    }

    public long key() {
      return slab.key();
    }
  }

  private final FabricDomain domain;
  private final long budget;
  private final long slabSize;
  private final boolean shrinking;
  private final RegisteredArena.Access access;
  private final List<RegisteredArena> slabs = new ArrayList<>();
  /** Registered bytes plus those reserved for a slab being registered (gauges: read without the lock). */
  private final AtomicLong pinned = new AtomicLong();
  private final AtomicLong peakPinned = new AtomicLong();
  private boolean closed;

  private PinnedPool(FabricDomain domain, long budget, long slabSize, boolean shrinking, RegisteredArena.Access access) {
    this.domain = domain;
    this.budget = budget;
    this.slabSize = slabSize;
    this.shrinking = shrinking;
    this.access = access;
  }

  /** A pool that peers read from (map outputs) and that deregisters each slab as it empties. */
  public static PinnedPool shrinking(FabricDomain domain, long budget, long slabSize) {
    return new PinnedPool(domain, budget, slabSize, true, RegisteredArena.Access.REMOTE_READ);
  }

  /**
   * A pool that keeps its slabs registered until it closes, for memory that this process's reads
   * land in (receive buffers): registered without remote read access.
   */
  public static PinnedPool retaining(FabricDomain domain, long budget, long slabSize) {
    return new PinnedPool(domain, budget, slabSize, false, RegisteredArena.Access.LOCAL_ONLY);
  }

  /** Takes {@code size} bytes from the slabs registered already, never registering; null when none has room. */
  public synchronized Piece allocateRegistered(long size) {
    if (closed) {
      return null;
    }
    for (RegisteredArena slab : slabs) {
      long offset = slab.allocate(size);
      if (offset >= 0) {
        return new Piece(slab, offset, size);
      }
    }
    return null;
  }

  /**
   * Takes {@code size} bytes, registering a slab if needed; null when the budget does not allow it
   * now. The registration runs outside this pool's lock (which {@link #free} takes, on the
   * progress thread too): the budget is reserved under the lock, the slab registered without it,
   * and published under it again.
   */
  public Piece allocate(long size) {
    long newSlab = Math.max(slabSize, wholePages(size));
    synchronized (this) {
      Piece piece = allocateRegistered(size);
      if (piece != null || closed || pinned.get() + newSlab > budget) {
        return piece;
      }
      peakPinned.accumulateAndGet(pinned.addAndGet(newSlab), Math::max);
    }
    RegisteredArena slab;
    try {
      slab = new RegisteredArena(domain, newSlab, access);
    } catch (RuntimeException e) {
      pinned.addAndGet(-newSlab);
      throw e;
    }
    pinned.addAndGet(slab.capacity() - newSlab); // 0 unless the allocator rounded further
    synchronized (this) {
      if (!closed) {
        slabs.add(slab);
        return new Piece(slab, slab.allocate(size), size);
      }
    }
    pinned.addAndGet(-slab.capacity());
    slab.close();
    return null;
  }

  /**
   * Counts {@code bytes} registered outside the pool's slabs (a mapped file), rounded up to whole
   * pages as registration pins them, against its budget; false when the budget does not allow it
   * now or the pool is closed. Whoever reserves {@link #unreserve}s the same bytes exactly once.
   */
  public synchronized boolean reserve(long bytes) {
    long pages = wholePages(bytes);
    if (closed || pinned.get() + pages > budget) {
      return false;
    }
    peakPinned.accumulateAndGet(pinned.addAndGet(pages), Math::max);
    return true;
  }

  public void unreserve(long bytes) {
    pinned.addAndGet(-wholePages(bytes));
  }

  private static long wholePages(long bytes) {
    return (bytes + PAGE - 1) & -PAGE;
  }

  public void free(Piece piece) {
    RegisteredArena empty = null;
    synchronized (this) {
      piece.slab().free(piece.offset(), piece.size());
      if ((shrinking || closed) && piece.slab().used() == 0 && slabs.remove(piece.slab())) {
        pinned.addAndGet(-piece.slab().capacity());
        empty = piece.slab();
      }
    }
    if (empty != null) {
      empty.close();
    }
  }

  /** Bytes registered now (never more than the budget). */
  public long pinnedBytes() {
    return pinned.get();
  }

  /** Bytes handed out and not yet freed. */
  public synchronized long usedBytes() {
    long used = 0;
    for (RegisteredArena slab : slabs) {
      used += slab.used();
    }
    return used;
  }

  /** The most bytes registered at once since the pool opened. */
  public long peakPinnedBytes() {
    return peakPinned.get();
  }

  public long budget() {
    return budget;
  }

  /** Frees the empty slabs now and every other one as its last piece is freed; allocates nothing more. */
  @Override
  public void close() {
    List<RegisteredArena> empty = new ArrayList<>();
    synchronized (this) {
      closed = true;
      for (int i = slabs.size() - 1; i >= 0; i--) {
        RegisteredArena slab = slabs.get(i);
        if (slab.used() == 0) {
          slabs.remove(i);
          pinned.addAndGet(-slab.capacity());
          empty.add(slab);
        }
      }
    }
    empty.forEach(RegisteredArena::close);
  }
}
