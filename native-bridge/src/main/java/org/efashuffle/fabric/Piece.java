package org.efashuffle.fabric;

/** One libfabric post (fi_read, fi_send or fi_recv) of an {@link Operation}. */
abstract class Piece {
  final Operation operation;
  /** The registration whose descriptor the post passes; its use count is held around the post. */
  final MemoryRegion region;
  /** The peer (fi_addr_t) a read or send goes to, or {@link #ANY_SOURCE} for a receive. */
  final long destination;

  /** The destination of receives (FI_ADDR_UNSPEC): no peer's fi_addr_t. */
  static final long ANY_SOURCE = -1L;

  Piece(Operation operation, MemoryRegion region, long destination) {
    this.operation = operation;
    this.region = region;
    this.destination = destination;
  }

  /** Posts with the given 64-byte context; returns 0 or -FI_E* (-FI_EAGAIN: retry later). */
  abstract long post(LibFabricShim.Api shim, long context);

  /** The libfabric call, for error messages. */
  abstract String call();

  /**
   * Bytes this piece moved, given the completion's len: valid only for receives (libfabric leaves
   * it undefined for RMA and sends, whose pieces know their own length).
   */
  long completedLength(long reportedLength) {
    return reportedLength;
  }
}
