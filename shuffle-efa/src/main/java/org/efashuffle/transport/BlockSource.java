package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.efashuffle.common.protocol.BlockRef;

/**
 * Where a {@link FabricTransport} finds the map output blocks it serves. {@link #publishFromMemory}
 * is asked first, on the progress thread, and must not block; blocks it cannot publish so are
 * handed to {@link #publish} on the transport's I/O threads, where reading a file is fine.
 */
public interface BlockSource {
  /**
   * Publishes a block for one-sided reads, or returns null when this executor has no such block.
   * The transport closes the returned lease once the reader is done with it (or gone). Asked
   * only for blocks that {@link #publishFromMemory} did not publish; may read from disk.
   *
   * @throws RuntimeException when the block exists but cannot be published now; the reader is
   *     told to use its fallback path
   */
  PublishedBlock publish(BlockRef block);

  /**
   * Publishes a block that is already in registered memory, without blocking; null when it is
   * not (then {@link #publish} decides).
   */
  default PublishedBlock publishFromMemory(BlockRef block) {
    return null;
  }

  /** A block readable by peers until closed. */
  interface PublishedBlock extends AutoCloseable {
    long remoteAddress();

    long length();

    long key();

    /**
     * The block's bytes, for an answer to carry a small block inline; valid until {@link #close()};
     * null when only a remote read reaches them.
     */
    default ByteBuffer bytes() {
      return null;
    }

    @Override
    void close();

    /** A published block whose first {@link #close()} runs {@code release}; later closes do nothing. */
    static PublishedBlock of(long remoteAddress, long length, long key, Runnable release) {
      return of(remoteAddress, length, key, () -> null, release);
    }

    /** As {@link #of(long, long, long, Runnable)}, with {@code bytes} giving a view of the block's bytes. */
    static PublishedBlock of(long remoteAddress, long length, long key, Supplier<ByteBuffer> bytes, Runnable release) {
      AtomicBoolean released = new AtomicBoolean();
      return new PublishedBlock() {
        @Override
        public long remoteAddress() {
          return remoteAddress;
        }

        @Override
        public long length() {
          return length;
        }

        @Override
        public long key() {
          return key;
        }

        @Override
        public ByteBuffer bytes() {
          return bytes.get();
        }

        @Override
        public void close() {
          if (released.compareAndSet(false, true)) {
            release.run();
          }
        }
      };
    }
  }
}
