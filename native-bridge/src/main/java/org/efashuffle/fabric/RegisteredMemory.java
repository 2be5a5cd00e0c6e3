package org.efashuffle.fabric;

/**
 * Off-heap memory and its registration, owned together: {@link #close()} deregisters, then frees.
 * For buffers that live exactly as long as their registration (receive batches, staging arenas,
 * message slots).
 */
public final class RegisteredMemory implements AutoCloseable {
  private final NativeMemory memory;
  private final MemoryRegion region;

  private RegisteredMemory(NativeMemory memory, MemoryRegion region) {
    this.memory = memory;
    this.region = region;
  }

  /** Allocates at least {@code size} page-aligned bytes and registers them with {@code domain}. */
  public static RegisteredMemory allocate(FabricDomain domain, long size) {
    NativeMemory memory = NativeMemory.allocate(size);
    try {
      return new RegisteredMemory(memory, domain.register(memory));
    } catch (RuntimeException e) {
      memory.close();
      throw e;
    }
  }

  public NativeMemory memory() {
    return memory;
  }

  public MemoryRegion region() {
    return region;
  }

  @Override
  public void close() {
    try {
      region.close();
    } finally {
      memory.close();
    }
  }
}
