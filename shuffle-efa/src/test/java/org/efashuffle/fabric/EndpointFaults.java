package org.efashuffle.fabric;

/**
 * Faults the native bridge's package-private test seams inject, for tests of the layers above
 * (this class shares the bridge's package, in the test tree only).
 */
public final class EndpointFaults {
  private static final int EIO = 5;
  /** efa's "Failure to post internal receive buffers" (efa_errno.h): the endpoint cannot go on. */
  private static final int EFA_INTERNAL_RX_BUF_POST = 4112;

  private EndpointFaults() {}

  /**
   * Writes into the endpoint's event queue the error an efa endpoint reports when it cannot go
   * on; its progress thread reads it and stops, and {@link FabricEndpoint#failure()} completes.
   */
  public static void cannotGoOn(FabricEndpoint endpoint) {
    endpoint.injectEventError(EIO, EFA_INTERNAL_RX_BUF_POST);
  }
}
