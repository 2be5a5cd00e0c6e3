package org.efashuffle.transport;

import org.efashuffle.common.protocol.BlockRef;

/**
 * Where a {@link FabricTransport} finds the map output blocks it serves. Called on the progress
 * thread: it must answer from memory, not wait for disk.
 */
public interface BlockSource {
  /**
   * Publishes a block for one-sided reads, or returns null when this executor has no such block.
   * The transport closes the returned lease once the reader is done with it (or gone).
   *
   * @throws RuntimeException when the block exists but cannot be published now; the reader is
   *     told to use its fallback path
   */
  PublishedBlock publish(BlockRef block);

  /** A block readable by peers until closed. */
  interface PublishedBlock extends AutoCloseable {
    long remoteAddress();

    long length();

    long key();

    @Override
    void close();
  }
}
