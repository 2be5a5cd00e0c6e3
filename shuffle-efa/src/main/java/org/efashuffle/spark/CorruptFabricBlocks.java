package org.efashuffle.spark;

import io.netty.buffer.Unpooled;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.SparkEnv;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.efashuffle.common.config.EfaShuffleConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The test-only fault of {@code spark.shuffle.efa.test.corruptFabricBlocks} (off by default): the
 * first time this executor reads a block over the fabric into memory, Spark is handed its bytes
 * with one bit flipped (in the middle of the block), so a test can show that Spark's corruption
 * detection catches it; a later fetch of the same block is clean.
 */
final class CorruptFabricBlocks {
  private static final Logger LOG = LoggerFactory.getLogger(CorruptFabricBlocks.class);
  private static final byte BIT = 0x10;
  private final Set<String> corrupted = ConcurrentHashMap.newKeySet();

  CorruptFabricBlocks() {}

  /** The fault as this executor's SparkConf sets it; null when off (the default). */
  static CorruptFabricBlocks fromSparkConf() {
    SparkEnv env = SparkEnv.get();
    String key = EfaShuffleConfig.TEST_CORRUPT_FABRIC_BLOCKS.key();
    String value = env == null ? null : env.conf().get(key, null);
    boolean on = EfaShuffleConfig.TEST_CORRUPT_FABRIC_BLOCKS.get(value == null ? Map.of() : Map.of(key, value));
    if (!on) {
      return null;
    }
    LOG.warn("efa-shuffle: {}=true: blocks read over the fabric are damaged once each (a test-only setting)", key);
    return new CorruptFabricBlocks();
  }

  /** {@code buffer}, or a view of it with one bit flipped when this block was not damaged before. */
  ManagedBuffer apply(String execId, String blockId, ManagedBuffer buffer) {
    if (buffer.size() == 0 || !corrupted.add(execId + "/" + blockId)) {
      return buffer;
    }
    long at = buffer.size() / 2;
    TransportMetrics.get().testCorruptedBlocks.incrementAndGet();
    LOG.warn("efa-shuffle test fault: flipped bit 0x{} of byte {} of {} read from executor {}",
        Integer.toHexString(BIT), at, blockId, execId);
    return new OneBitFlipped(buffer, at);
  }

  /** A buffer's bytes with the bit {@link #BIT} of byte {@code at} flipped; shares the buffer's references. */
  static final class OneBitFlipped extends ManagedBuffer {
    private final ManagedBuffer buffer;
    private final long at;

    OneBitFlipped(ManagedBuffer buffer, long at) {
      this.buffer = buffer;
      this.at = at;
    }

    @Override
    public long size() {
      return buffer.size();
    }

    @Override
    public ByteBuffer nioByteBuffer() throws IOException {
      ByteBuffer original = buffer.nioByteBuffer();
      ByteBuffer copy = ByteBuffer.allocate(original.remaining());
      copy.put(original).flip();
      copy.put((int) at, (byte) (copy.get((int) at) ^ BIT));
      return copy;
    }

    @Override
    public InputStream createInputStream() throws IOException {
      return new FilterInputStream(buffer.createInputStream()) {
        private long position;

        @Override
        public int read() throws IOException {
          int b = super.read();
          if (b >= 0 && position++ == at) {
            b ^= BIT;
          }
          return b;
        }

        @Override
        public int read(byte[] bytes, int off, int len) throws IOException {
          int n = super.read(bytes, off, len);
          if (n > 0 && position <= at && at < position + n) {
            bytes[off + (int) (at - position)] ^= BIT;
          }
          position += Math.max(n, 0);
          return n;
        }

        @Override
        public long skip(long n) throws IOException {
          long skipped = super.skip(n);
          position += skipped;
          return skipped;
        }

        @Override
        public boolean markSupported() {
          return false;
        }
      };
    }

    @Override
    public ManagedBuffer retain() {
      buffer.retain();
      return this;
    }

    @Override
    public ManagedBuffer release() {
      buffer.release();
      return this;
    }

    @Override
    public Object convertToNetty() throws IOException {
      return Unpooled.wrappedBuffer(nioByteBuffer());
    }

    // Overrides from Spark 4.1 on (SSL for RPC); no @Override: Spark 3.5 and 4.0 lack it.
    public Object convertToNettyForSsl() throws IOException {
      return convertToNetty();
    }

    @Override
    public String toString() {
      return "OneBitFlipped(" + buffer + ", byte " + at + ")";
    }
  }
}
