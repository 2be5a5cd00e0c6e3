package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * The registered memory one fetch reads its blocks into: one allocation and one registration per
 * answered request (registration pins pages; one per block would cost far more). Shared by the
 * fetch's blocks; freed when the last reference is released.
 */
final class ReceivedBatch {
  private final RegisteredMemory memory;
  private final AtomicInteger references;

  ReceivedBatch(FabricDomain domain, long size, int references) {
    this.memory = RegisteredMemory.allocate(domain, size);
    this.references = new AtomicInteger(references);
  }

  MemoryRegion region() {
    return memory.region();
  }

  ByteBuffer view(long offset, int length) {
    return memory.memory().byteBuffer(offset, length).asReadOnlyBuffer();
  }

  void release() {
    int left = references.decrementAndGet();
    if (left == 0) {
      memory.close();
    } else if (left < 0) {
      throw new IllegalStateException("received batch released more often than referenced");
    }
  }
}
