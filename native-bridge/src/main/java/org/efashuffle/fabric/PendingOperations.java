package org.efashuffle.fabric;

/**
 * The contexts of posted pieces: a slot of native memory ({@code struct fi_context2}, 64 bytes)
 * per piece, which libfabric owns from the post until the piece's completion is read. A slot
 * whose operation timed out stays taken until that completion arrives (or the endpoint closes),
 * since the provider may still write into it.
 */
final class PendingOperations implements AutoCloseable {
  static final int CONTEXT_SIZE = 64;

  private final NativeMemory contexts;
  private final Piece[] pieces;
  private final int[] free;
  private int freeCount;

  PendingOperations(int capacity) {
    this.contexts = NativeMemory.allocate((long) capacity * CONTEXT_SIZE);
    this.pieces = new Piece[capacity];
    this.free = new int[capacity];
    for (int i = 0; i < capacity; i++) {
      free[i] = capacity - 1 - i;
    }
    this.freeCount = capacity;
  }

  /** Takes a slot for the piece and returns its context address, or 0 when all are taken. */
  synchronized long acquire(Piece piece) {
    if (freeCount == 0) {
      return 0;
    }
    int slot = free[--freeCount];
    pieces[slot] = piece;
    return contexts.address() + (long) slot * CONTEXT_SIZE;
  }

  /**
   * Frees the slot of a context and returns the piece it held; null, and nothing freed, when the
   * context is not a slot of ours or its slot holds no piece (NULL, stale or foreign contexts).
   */
  synchronized Piece release(long context) {
    long offset = context - contexts.address();
    if (offset < 0 || offset >= (long) pieces.length * CONTEXT_SIZE || offset % CONTEXT_SIZE != 0) {
      return null;
    }
    int slot = (int) (offset / CONTEXT_SIZE);
    Piece piece = pieces[slot];
    if (piece == null) {
      return null;
    }
    pieces[slot] = null;
    free[freeCount++] = slot;
    return piece;
  }

  /** Fails every operation whose deadline passed; their slots stay taken (see class doc). */
  synchronized void expire(long nowNanos) {
    for (Piece piece : pieces) {
      if (piece != null && piece.operation.expired(nowNanos)) {
        piece.operation.fail(new FabricException(piece.call(), Errno.ETIMEDOUT,
            piece.operation.name + ": no completion before the operation timeout (peer gone?)"));
      }
    }
  }

  /** Fails every pending operation with the given cause (the endpoint is closing). */
  synchronized void failAll(RuntimeException cause) {
    for (Piece piece : pieces) {
      if (piece != null) {
        piece.operation.fail(cause);
      }
    }
  }

  /**
   * After the endpoint is closed: fails what was pending with {@code cause} and gives every posted
   * piece back to its operation, so that operations settle.
   */
  synchronized void releaseAll(RuntimeException cause) {
    for (int slot = 0; slot < pieces.length; slot++) {
      Piece piece = pieces[slot];
      if (piece != null) {
        pieces[slot] = null;
        free[freeCount++] = slot;
        piece.operation.pieceFailed(cause);
      }
    }
  }

  /** Frees the context memory; only after the endpoint that used it is closed. */
  @Override
  public void close() {
    contexts.close();
  }
}
