package org.efashuffle.fabric;

/** Prints whether the bridge loaded in this JVM, and why not. */
public final class AvailabilityProbeMain {
  private AvailabilityProbeMain() {}

  public static void main(String[] args) {
    System.out.println("AVAILABLE " + Fabric.isAvailable());
    Throwable cause = Fabric.unavailabilityCause();
    System.out.println("CAUSE " + (cause == null ? "none" : cause.getMessage()));
    try {
      FabricDomain.open("tcp;ofi_rxm", "lo").close();
      System.out.println("OPEN ok");
    } catch (UnsatisfiedLinkError e) {
      System.out.println("OPEN " + e.getMessage());
    }
  }
}
