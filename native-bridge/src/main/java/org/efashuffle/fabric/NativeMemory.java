package org.efashuffle.fabric;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import java.util.Objects;
import jnr.ffi.Pointer;
import jnr.ffi.byref.LongLongByReference;

/**
 * A page-aligned block of off-heap memory (anonymous mmap), fit for registration. Its creator owns
 * it and frees it with {@link #close()}; views handed out ({@link #byteBuffer}) must not be used
 * after that.
 */
public final class NativeMemory implements AutoCloseable {
  private static final long PAGE = 4096;

  private final long address;
  private final long size;
  private final Pointer pointer;
  private boolean closed;

  private NativeMemory(long address, long size) {
    this.address = address;
    this.size = size;
    this.pointer = Pointer.wrap(Fabric.library().runtime, address, size);
  }

  /** Allocates at least {@code size} bytes, zero-filled, rounded up to whole pages. */
  public static NativeMemory allocate(long size) {
    if (size <= 0) {
      throw new IllegalArgumentException("size must be positive, got " + size);
    }
    long rounded = (size + PAGE - 1) & -PAGE;
    LongLongByReference out = new LongLongByReference();
    Fabric.check(Fabric.shim().efab_mem_alloc(rounded, out), "mmap " + rounded + " bytes");
    return new NativeMemory(out.longValue(), rounded);
  }

  public long address() {
    return address;
  }

  public long size() {
    return size;
  }

  public void put(long offset, byte[] src, int srcOffset, int length) {
    checkRange(offset, length);
    pointer.put(offset, src, srcOffset, length);
  }

  public void get(long offset, byte[] dst, int dstOffset, int length) {
    checkRange(offset, length);
    pointer.get(offset, dst, dstOffset, length);
  }

  public byte getByte(long offset) {
    checkRange(offset, 1);
    return pointer.getByte(offset);
  }

  /** A direct ByteBuffer over [offset, offset + length); valid until this memory is closed. */
  public ByteBuffer byteBuffer(long offset, int length) {
    checkRange(offset, length);
    return MemoryIO.getInstance().newDirectByteBuffer(address + offset, length);
  }

  private void checkRange(long offset, long length) {
    if (closed) {
      throw new IllegalStateException("native memory at 0x" + Long.toHexString(address) + " was freed");
    }
    Objects.checkFromIndexSize(offset, length, size);
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    Fabric.check(Fabric.shim().efab_mem_free(address, size), "munmap");
  }
}
