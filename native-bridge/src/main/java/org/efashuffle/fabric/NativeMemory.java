package org.efashuffle.fabric;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Objects;
import jnr.ffi.Pointer;
import jnr.ffi.byref.LongLongByReference;

/**
 * A page-aligned block of off-heap memory, fit for registration: anonymous and writable
 * ({@link #allocate}), or a file's page-cache pages mapped read-only ({@link #mapFile}). Its
 * creator owns it and frees it with {@link #close()}; views handed out ({@link #byteBuffer}) must
 * not be used after that.
 */
public final class NativeMemory implements AutoCloseable {
  private static final long PAGE = 4096;

  private final long address;
  private final long size;
  private final boolean writable;
  private final Pointer pointer;
  private final UseCount uses;

  private NativeMemory(long address, long size, boolean writable) {
    this.address = address;
    this.size = size;
    this.writable = writable;
    this.pointer = Pointer.wrap(Fabric.library().runtime, address, size);
    this.uses = new UseCount(() -> "native memory at 0x" + Long.toHexString(address) + " (" + size + " bytes)");
  }

  /** Allocates at least {@code size} bytes, zero-filled, rounded up to whole pages. */
  public static NativeMemory allocate(long size) {
    if (size <= 0) {
      throw new IllegalArgumentException("size must be positive, got " + size);
    }
    long rounded = (size + PAGE - 1) & -PAGE;
    LongLongByReference out = new LongLongByReference();
    Fabric.check(Fabric.shim().efab_mem_alloc(rounded, out), "mmap " + rounded + " bytes");
    return new NativeMemory(out.longValue(), rounded, true);
  }

  /**
   * Maps the first {@code length} bytes of {@code file} read-only and shared, populated: the page
   * cache's pages themselves, so nothing is copied. The file must not be truncated while mapped
   * (a read past its end raises SIGBUS); replacing or deleting it is safe, the mapping keeps the
   * old contents.
   */
  public static NativeMemory mapFile(Path file, long length) {
    if (length <= 0) {
      throw new IllegalArgumentException("length must be positive, got " + length);
    }
    LongLongByReference out = new LongLongByReference();
    Fabric.check(Fabric.shim().efab_file_map(file.toString(), length, out), "mmap of " + length + " bytes of " + file);
    return new NativeMemory(out.longValue(), length, false);
  }

  public long address() {
    return address;
  }

  public long size() {
    return size;
  }

  /** Whether the memory can be written ({@link #allocate}d, not a mapped file). */
  public boolean writable() {
    return writable;
  }

  public void put(long offset, byte[] src, int srcOffset, int length) {
    Objects.checkFromIndexSize(offset, length, size);
    if (!writable) {
      throw new IllegalStateException("read-only memory at 0x" + Long.toHexString(address) + " (a mapped file)");
    }
    uses.enter();
    try {
      pointer.put(offset, src, srcOffset, length);
    } finally {
      uses.exit();
    }
  }

  public void get(long offset, byte[] dst, int dstOffset, int length) {
    Objects.checkFromIndexSize(offset, length, size);
    uses.enter();
    try {
      pointer.get(offset, dst, dstOffset, length);
    } finally {
      uses.exit();
    }
  }

  public byte getByte(long offset) {
    Objects.checkFromIndexSize(offset, 1, size);
    uses.enter();
    try {
      return pointer.getByte(offset);
    } finally {
      uses.exit();
    }
  }

  /**
   * A direct ByteBuffer over [offset, offset + length), read-only unless the memory is
   * {@link #writable()}; valid until this memory is closed (the view is not counted: its owner
   * must stop using it before closing the memory).
   */
  public ByteBuffer byteBuffer(long offset, int length) {
    Objects.checkFromIndexSize(offset, length, size);
    if (uses.isClosed()) {
      throw uses.closedException();
    }
    ByteBuffer view = MemoryIO.getInstance().newDirectByteBuffer(address + offset, length);
    return writable ? view : view.asReadOnlyBuffer();
  }

  /** Held around every native use of the memory (copies, registration), so close waits for them. */
  UseCount uses() {
    return uses;
  }

  /** Unmaps; idempotent. Waits for copies and registrations of this memory in progress. */
  @Override
  public void close() {
    if (uses.close()) {
      Fabric.check(Fabric.shim().efab_mem_free(address, size), "munmap");
    }
  }
}
