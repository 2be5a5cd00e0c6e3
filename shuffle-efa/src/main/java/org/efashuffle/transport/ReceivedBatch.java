package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;

/**
 * The registered memory one fetch reads its blocks into: one allocation and one registration per
 * answered request (registration pins pages; one per block would cost far more). Shared by the
 * fetch's blocks; freed when the last reference is released.
 */
final class ReceivedBatch {
  private final NativeMemory memory;
  private final MemoryRegion region;
  private final AtomicInteger references;

  ReceivedBatch(FabricDomain domain, long size, int references) {
    this.memory = NativeMemory.allocate(size);
    try {
      this.region = domain.register(memory);
    } catch (RuntimeException e) {
      memory.close();
      throw e;
    }
    this.references = new AtomicInteger(references);
  }

  MemoryRegion region() {
    return region;
  }

  ByteBuffer view(long offset, int length) {
    return memory.byteBuffer(offset, length).asReadOnlyBuffer();
  }

  void release() {
    int left = references.decrementAndGet();
    if (left == 0) {
      region.close();
      memory.close();
    } else if (left < 0) {
      throw new IllegalStateException("received batch released more often than referenced");
    }
  }
}
