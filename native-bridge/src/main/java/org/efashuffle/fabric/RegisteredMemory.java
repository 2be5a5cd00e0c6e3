package org.efashuffle.fabric;

/**
 * Off-heap memory and its registration, owned together: {@link #close()} deregisters, then frees.
 * For buffers that live exactly as long as their registration (receive batches, staging arenas,
 * message slots, mapped map-output files).
 */
public final class RegisteredMemory implements AutoCloseable {
  private final NativeMemory memory;
  private final MemoryRegion region;

  private RegisteredMemory(NativeMemory memory, MemoryRegion region) {
    this.memory = memory;
    this.region = region;
  }

  /**
   * Allocates at least {@code size} page-aligned bytes and registers them with {@code domain} so
   * that peers can read them ({@link FabricDomain#register(NativeMemory)}).
   */
  public static RegisteredMemory allocate(FabricDomain domain, long size) {
    return allocate(domain, size, false);
  }

  /**
   * As {@link #allocate}, registered for this process's use only: a read target and a send or
   * receive buffer, which no peer can read ({@link FabricDomain#registerLocal(NativeMemory)}).
   */
  public static RegisteredMemory allocateLocal(FabricDomain domain, long size) {
    return allocate(domain, size, true);
  }

  private static RegisteredMemory allocate(FabricDomain domain, long size, boolean local) {
    NativeMemory memory = NativeMemory.allocate(size);
    try {
      return new RegisteredMemory(memory, local ? domain.registerLocal(memory) : domain.register(memory));
    } catch (RuntimeException e) {
      memory.close();
      throw e;
    }
  }

  /**
   * Registers read-only memory (a mapped file, {@link NativeMemory#mapFile}) for peers to read
   * ({@link FabricDomain#registerReadOnly}), taking ownership of it: if the registration fails,
   * the memory is closed before the exception is thrown.
   */
  public static RegisteredMemory readOnly(FabricDomain domain, NativeMemory memory) {
    try {
      return new RegisteredMemory(memory, domain.registerReadOnly(memory));
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
