package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * The registered memory one fetch reads its blocks into: a piece of the transport's receive pool
 * (registered once, reused), or, when the pool is full at the moment, memory registered for this
 * fetch alone. Shared by the fetch's blocks; goes back (to the pool, or deregistered and freed)
 * when the last reference is released.
 */
final class ReceivedBatch {
  private final PinnedPool pool;
  private final PinnedPool.Piece piece;
  private final RegisteredMemory ownMemory;
  private final AtomicInteger references;

  private ReceivedBatch(PinnedPool pool, PinnedPool.Piece piece, RegisteredMemory ownMemory, int references) {
    this.pool = pool;
    this.piece = piece;
    this.ownMemory = ownMemory;
    this.references = new AtomicInteger(references);
  }

  static ReceivedBatch take(PinnedPool pool, FabricDomain domain, long size, int references) {
    PinnedPool.Piece piece = pool.allocate(size);
    return piece != null ? new ReceivedBatch(pool, piece, null, references)
        : new ReceivedBatch(null, null, RegisteredMemory.allocate(domain, size), references);
  }

  /** Whether this batch is pool memory (else registered for this fetch alone). */
  boolean pooled() {
    return piece != null;
  }

  MemoryRegion region() {
    return piece != null ? piece.slab().region() : ownMemory.region();
  }

  /** Where the batch's byte {@code offset} is within {@link #region()}. */
  long regionOffset(long offset) {
    return piece != null ? piece.offset() + offset : offset;
  }

  ByteBuffer view(long offset, int length) {
    ByteBuffer bytes = piece != null ? piece.slab().view(piece.offset() + offset, length)
        : ownMemory.memory().byteBuffer(offset, length);
    return bytes.asReadOnlyBuffer();
  }

  void release() {
    int left = references.decrementAndGet();
    if (left == 0) {
      if (piece != null) {
        pool.free(piece);
      } else {
        ownMemory.close();
      }
    } else if (left < 0) {
      throw new IllegalStateException("received batch released more often than referenced");
    }
  }
}
