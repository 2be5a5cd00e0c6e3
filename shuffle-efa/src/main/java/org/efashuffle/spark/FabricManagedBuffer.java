package org.efashuffle.spark;

import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.efashuffle.transport.FetchedBlock;

/**
 * A block read over the fabric, as Spark's fetch iterator takes it. Reference-counted like
 * Netty's buffers: it starts at one, held by the client that delivers it; the iterator retains
 * it on delivery and releases it once read; at zero the block's registered memory goes back.
 */
final class FabricManagedBuffer extends ManagedBuffer {
  private final FetchedBlock block;
  private final AtomicInteger references = new AtomicInteger(1);

  FabricManagedBuffer(FetchedBlock block) {
    this.block = block;
  }

  @Override
  public long size() {
    return block.length();
  }

  @Override
  public ByteBuffer nioByteBuffer() {
    return block.data().duplicate();
  }

  @Override
  public InputStream createInputStream() {
    return new ByteBufferInputStream(block.data().duplicate());
  }

  @Override
  public ManagedBuffer retain() {
    references.incrementAndGet();
    return this;
  }

  @Override
  public ManagedBuffer release() {
    int left = references.decrementAndGet();
    if (left == 0) {
      block.release();
    } else if (left < 0) {
      throw new IllegalStateException("fabric buffer of " + block.ref() + " released once too often");
    }
    return this;
  }

  @Override
  public Object convertToNetty() {
    return Unpooled.wrappedBuffer(block.data().duplicate());
  }

  // Overrides from Spark 4.1 on (SSL for RPC); no @Override: Spark 3.5 and 4.0 lack it.
  public Object convertToNettyForSsl() {
    return convertToNetty();
  }

  @Override
  public String toString() {
    return "FabricManagedBuffer(" + block.ref() + ", " + block.length() + " bytes)";
  }

  /** Reads a ByteBuffer (off-heap) as a stream without copying it to the heap first. */
  private static final class ByteBufferInputStream extends InputStream {
    private final ByteBuffer buf;

    ByteBufferInputStream(ByteBuffer buf) {
      this.buf = buf;
    }

    @Override
    public int read() {
      return buf.hasRemaining() ? buf.get() & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      if (!buf.hasRemaining()) {
        return -1;
      }
      int n = Math.min(len, buf.remaining());
      buf.get(b, off, n);
      return n;
    }

    @Override
    public long skip(long n) {
      int k = (int) Math.max(0, Math.min(n, buf.remaining()));
      buf.position(buf.position() + k);
      return k;
    }

    @Override
    public int available() {
      return buf.remaining();
    }
  }
}
