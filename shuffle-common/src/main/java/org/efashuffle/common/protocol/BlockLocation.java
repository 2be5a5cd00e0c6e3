package org.efashuffle.common.protocol;

/**
 * Where a server published a requested block for one-sided reads: {@code length} bytes at
 * {@code remoteAddress} with {@code key}; that its bytes came inline in the answer; or why it
 * cannot serve it ({@link Status}).
 */
public record BlockLocation(Status status, long remoteAddress, long length, long key) {
  /**
   * @throws IllegalArgumentException for a location no server gives: an OK block of negative
   *     length or whose range wraps past the end of the address space, or a failed one that names
   *     memory
   */
  public BlockLocation {
    if (status == Status.OK) {
      if (length < 0) {
        throw new IllegalArgumentException("negative block length " + length);
      }
      if (Long.compareUnsigned(remoteAddress + length, remoteAddress) < 0) {
        throw new IllegalArgumentException("block of " + length + " bytes at 0x" + Long.toHexString(remoteAddress)
            + " wraps past the end of the address space");
      }
    } else if (status == Status.INLINE) {
      if (length < 0 || length > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("inline block of " + length + " bytes");
      }
      if (remoteAddress != 0 || key != 0) {
        throw new IllegalArgumentException("an inline block that names memory");
      }
    } else if (remoteAddress != 0 || length != 0 || key != 0) {
      throw new IllegalArgumentException("a " + status + " block that names memory");
    }
  }

  public enum Status {
    /** Readable at (remoteAddress, length, key) until the reader says it is done. */
    OK,
    /** The server has no such map output (lost, or never written there). */
    NOT_FOUND,
    /** The server has it but could not publish it (e.g. no staging memory): use the fallback path. */
    UNAVAILABLE,
    /** Its {@code length} bytes are in the answer itself (nothing to read, no lease held). */
    INLINE
  }

  public static BlockLocation ok(long remoteAddress, long length, long key) {
    return new BlockLocation(Status.OK, remoteAddress, length, key);
  }

  public static BlockLocation inline(long length) {
    return new BlockLocation(Status.INLINE, 0, length, 0);
  }

  public static BlockLocation failed(Status status) {
    if (status == Status.OK || status == Status.INLINE) {
      throw new IllegalArgumentException("a failed location needs a failure status");
    }
    return new BlockLocation(status, 0, 0, 0);
  }
}
