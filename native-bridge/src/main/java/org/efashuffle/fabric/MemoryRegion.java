package org.efashuffle.fabric;

import java.util.Objects;

/**
 * One registration of local memory with a domain ({@code fi_mr_reg}): what a peer needs to read
 * it (its key and the remote address of each byte) and what a local operation on it passes
 * (its descriptor). The memory stays owned by whoever allocated it and must outlive this
 * registration; {@link #close()} deregisters and is idempotent.
 */
public final class MemoryRegion implements AutoCloseable {
  private final FabricDomain domain;
  private final long handle;
  private final long address;
  private final long length;
  private final long key;
  private final long descriptor;
  private final long remoteBase;
  private final UseCount uses;

  MemoryRegion(FabricDomain domain, long handle, long address, long length) {
    this.domain = domain;
    this.handle = handle;
    this.address = address;
    this.length = length;
    LibFabricShim.Api shim = Fabric.shim();
    this.key = shim.efab_mr_key(handle);
    this.descriptor = shim.efab_mr_desc(handle);
    this.remoteBase = domain.usesVirtualAddresses() ? address : 0;
    this.uses = new UseCount(() -> "memory region 0x" + Long.toHexString(address) + " (" + length
        + " bytes on " + domain + ")");
  }

  /** Local address of the first registered byte. */
  public long address() {
    return address;
  }

  public long length() {
    return length;
  }

  /** The key a peer passes to read this region. */
  public long key() {
    return key;
  }

  long descriptor() {
    return descriptor;
  }

  /** The address a peer passes to read the byte at {@code offset} of this region. */
  public long remoteAddress(long offset) {
    Objects.checkFromIndexSize(offset, 0, length);
    return remoteBase + offset;
  }

  /** Checks that [offset, offset + size) lies inside this region. */
  void checkRange(long offset, long size) {
    if (uses.isClosed()) {
      throw uses.closedException();
    }
    Objects.checkFromIndexSize(offset, size, length);
  }

  /** Held around every post that passes this region's descriptor, so close waits for the post. */
  UseCount uses() {
    return uses;
  }

  /**
   * Deregisters; idempotent. Waits for posts on this region that are inside libfabric now; an
   * operation already posted must have settled before (see {@link FabricOperation#settled()}).
   */
  @Override
  public void close() {
    if (!domain.uses().tryEnter()) {
      return; // the domain is closed, and closed this region first
    }
    try {
      closeHeld();
    } finally {
      domain.uses().exit();
    }
  }

  /** Close for a caller inside the domain's use count (the domain stays open until it is done). */
  void closeHeld() {
    if (!uses.close()) {
      return;
    }
    domain.closed(this);
    Fabric.check(Fabric.shim().efab_mr_close(handle), "fi_close(mr)");
  }
}
