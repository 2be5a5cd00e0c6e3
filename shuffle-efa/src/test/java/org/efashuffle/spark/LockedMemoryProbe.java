package org.efashuffle.spark;

import java.util.Map;

/** Prints what {@link LockedMemoryLimit} reads in this process, and its verdict on efa (for LockedMemoryLimitTest). */
public final class LockedMemoryProbe {
  private LockedMemoryProbe() {}

  public static void main(String[] args) {
    LockedMemoryLimit limit = LockedMemoryLimit.ofThisProcess();
    System.out.println("LIMIT " + limit.bytes() + " CAP_IPC_LOCK " + limit.capIpcLock());
    System.out.println("EFA " + limit.refusal("efa", Map.of()));
    System.out.println("TCP " + limit.refusal("tcp;ofi_rxm", Map.of()));
  }
}
