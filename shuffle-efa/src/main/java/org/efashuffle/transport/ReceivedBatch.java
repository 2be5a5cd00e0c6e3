package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * The registered memory one fetch reads its blocks into: a piece of the transport's receive pool
 * (registered once, reused), or, when the pool is full at the moment, memory registered for this
 * fetch alone. Referenced by each of the fetch's blocks (released by their receiver) and by the
 * fetch itself (released once libfabric holds none of the fetch's reads: every read's completion
 * was read, or the endpoint closed); goes back (to the pool, or deregistered and freed) when the
 * last reference is released, so a late read never writes into memory that was reused or freed.
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

  /** A batch in a piece already taken from the pool; it frees the piece when its last reference goes. */
  static ReceivedBatch pooled(PinnedPool pool, PinnedPool.Piece piece, int references) {
    return new ReceivedBatch(pool, piece, null, references);
  }

  /**
   * A batch from the pool, which may register a new slab, or else memory registered for this
   * batch alone: a registration, so never on the progress thread.
   */
  static ReceivedBatch take(PinnedPool pool, FabricDomain domain, long size, int references) {
    PinnedPool.Piece piece = pool.allocate(size);
    return piece != null ? pooled(pool, piece, references)
        : new ReceivedBatch(null, null, RegisteredArena.register(domain, size, RegisteredArena.Access.LOCAL_ONLY), references);
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
    return bytes(offset, length).asReadOnlyBuffer();
  }

  /** Copies {@code length} bytes of {@code src} from {@code from} into the batch at {@code offset}. */
  void put(long offset, byte[] src, int from, int length) {
    bytes(offset, length).put(src, from, length);
  }

  private ByteBuffer bytes(long offset, int length) {
    return piece != null ? piece.slab().view(piece.offset() + offset, length)
        : ownMemory.memory().byteBuffer(offset, length);
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
