package org.efashuffle.transport;

import java.nio.ByteBuffer;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;

/**
 * One block a fetch returned: its bytes in this executor's registered memory (when the status is
 * OK), or why the server could not serve it. The receiver owns it and must {@link #release()} it
 * exactly once; the memory goes back when every block of its fetch is released.
 */
public final class FetchedBlock {
  private final BlockRef ref;
  private final BlockLocation.Status status;
  private final ReceivedBatch batch;
  private final long offset;
  private final long length;
  private final boolean inSink;
  private boolean released;

  FetchedBlock(BlockRef ref, BlockLocation.Status status, ReceivedBatch batch, long offset, long length) {
    this(ref, status, batch, offset, length, false);
  }

  private FetchedBlock(BlockRef ref, BlockLocation.Status status, ReceivedBatch batch, long offset, long length,
      boolean inSink) {
    this.ref = ref;
    this.status = status;
    this.batch = batch;
    this.offset = offset;
    this.length = length;
    this.inSink = inSink;
  }

  /** A block whose {@code length} bytes were written into the sink its fetch was given (see {@link BlockSinks}). */
  static FetchedBlock inSink(BlockRef ref, long length) {
    return new FetchedBlock(ref, BlockLocation.Status.OK, null, 0, length, true);
  }

  /** Whether the block's bytes went into its fetch's sink (then they are there, not in {@link #data()}). */
  public boolean inSink() {
    return inSink;
  }

  public BlockRef ref() {
    return ref;
  }

  public BlockLocation.Status status() {
    return status;
  }

  public long length() {
    return length;
  }

  /** The block's bytes; valid until {@link #release()}. */
  public ByteBuffer data() {
    if (status != BlockLocation.Status.OK) {
      throw new IllegalStateException(ref + " was not served: " + status);
    }
    if (inSink) {
      throw new IllegalStateException(ref + " was read into its sink, not into memory");
    }
    if (length > Integer.MAX_VALUE) {
      throw new IllegalStateException(ref + " has " + length + " bytes, more than one ByteBuffer holds");
    }
    return length == 0 || batch == null ? ByteBuffer.allocate(0) : batch.view(offset, (int) length);
  }

  /** Gives the memory back; idempotent. */
  public synchronized void release() {
    if (released) {
      return;
    }
    released = true;
    if (batch != null) {
      batch.release();
    }
  }
}
