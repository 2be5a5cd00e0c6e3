package org.efashuffle.transport;

import java.util.ArrayList;
import java.util.List;
import org.efashuffle.fabric.FabricDomain;

/**
 * Registered memory that grows in slabs up to a budget and shrinks as slabs empty: pinned bytes
 * (the sum of the slabs' sizes) never exceed the budget. A request larger than a slab gets a slab
 * of its own, so that one registration covers it. Whoever allocates a {@link Piece} frees it
 * exactly once; a slab is deregistered when its last piece is freed, and {@link #close()}
 * deregisters whatever is left.
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
  private final List<RegisteredArena> slabs = new ArrayList<>();
  private long pinned;
  private long peakPinned;

  public PinnedPool(FabricDomain domain, long budget, long slabSize) {
    this.domain = domain;
    this.budget = budget;
    this.slabSize = slabSize;
  }

  /** Takes {@code size} bytes, registering a slab if needed; null when the budget does not allow it now. */
  public synchronized Piece allocate(long size) {
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
    if (piece.slab().used() == 0 && slabs.remove(piece.slab())) {
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

  /** Deregisters and frees every slab, pieces still out included (the transport is closing). */
  @Override
  public synchronized void close() {
    for (int i = slabs.size() - 1; i >= 0; i--) {
      slabs.get(i).close();
    }
    slabs.clear();
    pinned = 0;
  }
}
