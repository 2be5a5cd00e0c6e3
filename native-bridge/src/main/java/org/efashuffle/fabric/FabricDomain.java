package org.efashuffle.fabric;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import jnr.ffi.byref.LongLongByReference;

/**
 * A fabric and one domain of a provider (FI_EP_RDM, FI_MSG | FI_RMA), with the attributes the
 * provider answered. It owns what is opened from it: {@link #close()} closes any endpoint and
 * registration still open, newest first, then the domain. Closing is idempotent.
 */
public final class FabricDomain implements AutoCloseable {
  static final long FI_MR_LOCAL = 1L << 2;
  static final long FI_MR_VIRT_ADDR = 1L << 4;
  static final long FI_MR_ALLOCATED = 1L << 5;
  static final long FI_MR_PROV_KEY = 1L << 6;

  private static final SecureRandom KEYS = new SecureRandom();
  private static final int KEY_ATTEMPTS = 16;

  private final long handle;
  private final String provider;
  private final String fabricName;
  private final String name;
  private final long mrMode;
  private final long mrKeySize;
  private final long maxMessageSize;
  private final Set<AutoCloseable> children = new LinkedHashSet<>();
  private boolean closed;

  private FabricDomain(long handle) {
    LibFabricShim.Api shim = Fabric.shim();
    this.handle = handle;
    this.provider = shim.efab_domain_provider(handle);
    this.fabricName = shim.efab_domain_fabric_name(handle);
    this.name = shim.efab_domain_name(handle);
    this.mrMode = shim.efab_domain_mr_mode(handle);
    this.mrKeySize = shim.efab_domain_mr_key_size(handle);
    long maxMsg = shim.efab_domain_max_msg_size(handle); // a size_t: SIZE_MAX reads as -1
    this.maxMessageSize = maxMsg < 0 ? Long.MAX_VALUE : maxMsg;
  }

  /**
   * Opens the first domain that {@code provider} offers ({@code efa}, {@code tcp;ofi_rxm},
   * {@code shm}, ...; null, empty or {@code auto} for libfabric's first choice), restricted to
   * the domain called {@code domainName} (e.g. {@code lo} for tcp on loopback) when not null.
   *
   * @throws FabricException naming the provider and listing those found when none matches
   */
  public static FabricDomain open(String provider, String domainName) {
    String wanted = provider == null || provider.isEmpty() || provider.equals("auto") ? null : provider;
    LongLongByReference out = new LongLongByReference();
    int ret = Fabric.shim().efab_domain_open(Fabric.apiVersion(), wanted, domainName, out);
    if (ret == -Errno.ENODATA) {
      String what = "provider '" + (wanted == null ? "auto" : wanted) + "'"
          + (domainName == null || domainName.isEmpty() ? "" : " with domain '" + domainName + "'");
      throw new FabricException("fi_getinfo", Errno.ENODATA,
          what + " not found with FI_EP_RDM, FI_MSG and FI_RMA; providers found: "
              + Fabric.providers() + " (libfabric " + Fabric.runtimeVersion() + ")");
    }
    Fabric.check(ret, "open provider '" + wanted + "'");
    return new FabricDomain(out.longValue());
  }

  long handle() {
    return handle;
  }

  public String provider() {
    return provider;
  }

  /** The fabric's name: for tcp the subnet (e.g. 127.0.0.1/32), for EFA the device's fabric. */
  public String fabricName() {
    return fabricName;
  }

  public String name() {
    return name;
  }

  /** The mr_mode bits the provider kept (FI_MR_*). */
  public long mrMode() {
    return mrMode;
  }

  /** Whether peers address registered memory by virtual address (FI_MR_VIRT_ADDR), not offset. */
  public boolean usesVirtualAddresses() {
    return (mrMode & FI_MR_VIRT_ADDR) != 0;
  }

  /** The largest single message or read the provider accepts; longer reads go in pieces. */
  public long maxMessageSize() {
    return maxMessageSize;
  }

  /** Registers all of {@code memory} for remote reads, local reads into it and messages. */
  public MemoryRegion register(NativeMemory memory) {
    return register(memory.address(), memory.size());
  }

  /**
   * Registers [address, address + length) (memory the caller owns and keeps alive until the
   * region is closed). Keys are the provider's where it chooses them (FI_MR_PROV_KEY), else
   * random: a key is a capability and must not be guessable.
   */
  public MemoryRegion register(long address, long length) {
    if (length <= 0) {
      throw new IllegalArgumentException("registration length must be positive, got " + length);
    }
    LongLongByReference out = new LongLongByReference();
    int ret = -Errno.ENOKEY;
    for (int attempt = 0; attempt < KEY_ATTEMPTS && ret == -Errno.ENOKEY; attempt++) {
      ret = Fabric.shim().efab_mr_reg(handle, address, length, randomKey(), out);
    }
    Fabric.check(ret, "fi_mr_reg of " + length + " bytes on " + provider);
    MemoryRegion region = new MemoryRegion(this, out.longValue(), address, length);
    adopt(region);
    return region;
  }

  private long randomKey() {
    if ((mrMode & FI_MR_PROV_KEY) != 0) {
      return 0;
    }
    long key = KEYS.nextLong();
    return mrKeySize >= 8 ? key : key & ((1L << (8 * mrKeySize)) - 1);
  }

  /** Opens an endpoint with its own completion queue, address vector and progress thread. */
  public FabricEndpoint openEndpoint(EndpointConfig config) {
    FabricEndpoint endpoint = FabricEndpoint.open(this, config);
    adopt(endpoint);
    return endpoint;
  }

  private synchronized void adopt(AutoCloseable child) {
    if (closed) {
      try {
        child.close();
      } catch (Exception ignored) {
        // reported below
      }
      throw new IllegalStateException("domain " + provider + "/" + name + " is closed");
    }
    children.add(child);
  }

  synchronized void closed(AutoCloseable child) {
    children.remove(child);
  }

  @Override
  public void close() {
    List<AutoCloseable> open;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      open = new ArrayList<>(children);
    }
    RuntimeException failure = null;
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        if (failure == null) {
          failure = new FabricException("close domain " + provider, 0, "a child failed to close");
        }
        failure.addSuppressed(e);
      }
    }
    try {
      Fabric.check(Fabric.shim().efab_domain_close(handle), "fi_close(domain " + provider + ")");
    } catch (FabricException e) {
      if (failure != null) {
        e.addSuppressed(failure);
      }
      throw e;
    }
    if (failure != null) {
      throw failure;
    }
  }

  @Override
  public String toString() {
    return provider + "/" + name + " (fabric " + fabricName + ")";
  }
}
