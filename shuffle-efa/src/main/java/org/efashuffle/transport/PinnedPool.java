package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.List;
import org.efashuffle.fabric.FabricDomain;

/**
 * Registered memory that grows in slabs up to a budget: pinned bytes (the sum of the slabs'
 * sizes) never exceed the budget. A request larger than a slab gets a slab of its own, so that
 * one registration covers it. A shrinking pool deregisters a slab when its last piece is freed
 * (map outputs: memory goes back as shuffles are removed); a retaining pool keeps its slabs for
 * the next request (receive buffers: registration is costly on EFA). Whoever allocates a
 * {@link Piece} frees it exactly once. {@link #close()} frees the slabs that are empty and each
 * other slab when its last piece comes back, so memory still handed out is never freed under
 * its holder.
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
  private final List<RegisteredArena> slabs = new ArrayList<>();
  private long pinned;
  private long peakPinned;
  private boolean closed;

  private PinnedPool(FabricDomain domain, long budget, long slabSize, boolean shrinking) {
    this.domain = domain;
    this.budget = budget;
    this.slabSize = slabSize;
    this.shrinking = shrinking;
  }

  /** A pool that deregisters each slab as it empties. */
  public static PinnedPool shrinking(FabricDomain domain, long budget, long slabSize) {
    return new PinnedPool(domain, budget, slabSize, true);
  }

  /** A pool that keeps its slabs registered until it closes. */
  public static PinnedPool retaining(FabricDomain domain, long budget, long slabSize) {
    return new PinnedPool(domain, budget, slabSize, false);
  }

  /** Takes {@code size} bytes, registering a slab if needed; null when the budget does not allow it now. */
  public synchronized Piece allocate(long size) {
    if (closed) {
      return null;
    }
    for (RegisteredArena slab : slabs) {
      long offset = slab.allocate(size);
      if (offset >= 0) {
        return new Piece(slab, offset, size);
      }
    }
    long newSlab = Math.max(slabSize, (size + PAGE - 1) & -PAGE);
    if (pinned + newSlab > budget) {
      return null;
    }
    RegisteredArena slab = new RegisteredArena(domain, newSlab);
    slabs.add(slab);
    pinned += slab.capacity();
    peakPinned = Math.max(peakPinned, pinned);
    return new Piece(slab, slab.allocate(size), size);
  }

  public synchronized void free(Piece piece) {
    piece.slab().free(piece.offset(), piece.size());
    if ((shrinking || closed) && piece.slab().used() == 0 && slabs.remove(piece.slab())) {
      pinned -= piece.slab().capacity();
      piece.slab().close();
    }
  }

  /** Bytes registered now (never more than the budget). */
  public synchronized long pinnedBytes() {
    return pinned;
  }

  /** The most bytes registered at once since the pool opened. */
  public synchronized long peakPinnedBytes() {
    return peakPinned;
  }

  public long budget() {
    return budget;
  }

  /** Frees the empty slabs now and every other one as its last piece is freed; allocates nothing more. */
  @Override
  public synchronized void close() {
    closed = true;
    for (int i = slabs.size() - 1; i >= 0; i--) {
      RegisteredArena slab = slabs.get(i);
      if (slab.used() == 0) {
        slabs.remove(i);
        pinned -= slab.capacity();
        slab.close();
      }
    }
  }
}
