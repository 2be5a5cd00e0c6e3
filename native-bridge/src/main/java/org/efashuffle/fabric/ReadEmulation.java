package org.efashuffle.fabric;

/**
 * Whether an endpoint's RDMA reads run on the device or are emulated by the provider (the efa
 * provider without device RDMA read: every read is then served inside the target's fi_cq_read,
 * so an idle target must keep polling). For the executor's start line.
 */
public enum ReadEmulation {
  /** efa, reads on the device. */
  DEVICE("reads on the device"),
  /** efa, reads emulated with messages. */
  EMULATED("reads emulated by the provider"),
  /** efa, but the provider does not tell (FI_OPT_EFA_EMULATED_READ unknown to it). */
  UNKNOWN("read emulation unknown"),
  /** Not efa: the question does not apply. */
  NOT_APPLICABLE("read emulation not applicable");

  private final String description;

  ReadEmulation(String description) {
    this.description = description;
  }

  /** Asks the endpoint {@code ep} of {@code provider} (fi_getopt FI_OPT_EFA_EMULATED_READ, efa only). */
  static ReadEmulation ask(String provider, LibFabricShim.Api shim, long ep) {
    if (!FabricDomain.EFA.equals(provider)) {
      return NOT_APPLICABLE;
    }
    int[] value = new int[1];
    return of(shim.efab_ep_efa_emulated_read(ep, value), value[0]);
  }

  /** The answer to fi_getopt's return {@code ret} and the bool it wrote, {@code emulated}. */
  static ReadEmulation of(int ret, int emulated) {
    if (ret == -Errno.ENOPROTOOPT) {
      return UNKNOWN;
    }
    Fabric.check(ret, "fi_getopt(FI_OPT_EFA_EMULATED_READ)");
    return emulated != 0 ? EMULATED : DEVICE;
  }

  @Override
  public String toString() {
    return description;
  }
}
