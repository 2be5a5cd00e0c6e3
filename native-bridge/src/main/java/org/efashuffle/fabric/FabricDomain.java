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
  /** addr_format of providers whose addresses are NUL-terminated names (shm), rdma/fabric.h. */
  static final int FI_ADDR_STR = 9;

  /** Access of memory that peers read, and of memory only this process uses. */
  static final long REMOTE_ACCESS = LibFabricShim.FI_READ | LibFabricShim.FI_REMOTE_READ
      | LibFabricShim.FI_SEND | LibFabricShim.FI_RECV;
  /**
   * Memory peers read that this process never writes (a mapped file): no FI_RECV or FI_READ, for
   * which efa asks the device for local write access and the kernel would refuse a read-only page.
   */
  static final long READ_ONLY_ACCESS = LibFabricShim.FI_REMOTE_READ | LibFabricShim.FI_SEND;
  static final long LOCAL_ACCESS = LibFabricShim.FI_READ | LibFabricShim.FI_SEND | LibFabricShim.FI_RECV;

  static final String EFA = "efa";
  /** The efa provider's fabric of its own protocol (with emulation), and the one without (libfabric 2.1+). */
  static final String EFA_FABRIC = "efa";
  static final String EFA_DIRECT_FABRIC = "efa-direct";
  /** The oldest libfabric whose efa provider we run on (1.18: device RDMA read on by default). */
  static final int MIN_EFA_VERSION = Fabric.version(1, 18);

  private static final SecureRandom KEYS = new SecureRandom();
  private static final int KEY_ATTEMPTS = 16;

  private final long handle;
  private final String provider;
  private final String fabricName;
  private final String name;
  private final long mrMode;
  private final long mrKeySize;
  private final long maxMessageSize;
  private final boolean stringAddresses;
  private final Set<AutoCloseable> children = new LinkedHashSet<>();
  private final UseCount uses = new UseCount(() -> "domain " + this);
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
    this.stringAddresses = shim.efab_domain_addr_format(handle) == FI_ADDR_STR;
  }

  /**
   * Opens a domain of {@code provider} on its default fabric: as
   * {@link #open(String, String, String)} with no fabric named.
   */
  public static FabricDomain open(String provider, String domainName) {
    return open(provider, null, domainName);
  }

  /**
   * Opens the first domain that {@code provider} offers ({@code efa}, {@code tcp;ofi_rxm},
   * {@code shm}, ...; null, empty or {@code auto} for libfabric's first choice) on the fabric
   * called {@code fabricName}, restricted to the domain called {@code domainName} (e.g. {@code lo}
   * for tcp on loopback, {@code rdmap16s27-rdm} for one EFA device; see {@link Fabric#domains})
   * when not null. With no fabric named, {@code efa} opens the {@code efa} fabric, and no provider
   * opens {@code efa-direct} (listed first from libfabric 2.1: no emulation, sends limited to the
   * MTU, and another wire protocol than {@code efa}); only naming it opens it.
   *
   * @throws FabricException naming what was asked and listing what is offered when nothing
   *     matches, or refusing {@code efa} on a libfabric older than 1.18
   */
  public static FabricDomain open(String provider, String fabricName, String domainName) {
    String wanted = providerAsked(provider);
    int runtime = Fabric.runtimeVersionNumber();
    refuseOldEfa(wanted, runtime);
    String fabric = fabricAsked(wanted, fabricName);
    List<Fabric.Entry> offered = Fabric.entries(wanted);
    Fabric.Entry chosen = choose(offered, fabric, domainName);
    if (chosen == null) {
      String what = "provider '" + (wanted == null ? "auto" : wanted) + "'"
          + (fabric == null ? "" : " on fabric '" + fabric + "'")
          + (domainName == null || domainName.isEmpty() ? "" : " with domain '" + domainName + "'");
      throw new FabricException("fi_getinfo", Errno.ENODATA,
          what + " not found with FI_EP_RDM, FI_MSG and FI_RMA; "
              + (offered.isEmpty() ? "" : "it offers " + offered.stream().distinct().toList() + "; ")
              + "providers found: " + Fabric.providers() + " (libfabric " + Fabric.runtimeVersion() + ")");
    }
    refuseOldEfa(chosen.provider(), runtime);
    LongLongByReference out = new LongLongByReference();
    Fabric.check(Fabric.shim().efab_domain_open(Fabric.apiVersion(), chosen.provider(), chosen.fabric(),
        chosen.domain(), out), "open " + chosen);
    return new FabricDomain(out.longValue());
  }

  /** The provider name to ask libfabric for: null for any ({@code auto}, null or empty). */
  static String providerAsked(String provider) {
    return provider == null || provider.isEmpty() || provider.equals("auto") ? null : provider;
  }

  /** The fabric to open: the one named, else {@code efa} for the efa provider, else null (any but efa-direct). */
  static String fabricAsked(String provider, String fabric) {
    if (fabric != null && !fabric.isEmpty()) {
      return fabric;
    }
    return EFA.equals(provider) ? EFA_FABRIC : null;
  }

  /** Whether an entry is on the fabric asked (null: any fabric but efa-direct). */
  static boolean fabricMatches(Fabric.Entry entry, String fabric) {
    return fabric == null ? !EFA_DIRECT_FABRIC.equals(entry.fabric()) : fabric.equals(entry.fabric());
  }

  /** The first entry on the fabric asked (see {@link #fabricMatches}) with the domain asked (null or empty: any), or null. */
  static Fabric.Entry choose(List<Fabric.Entry> entries, String fabric, String domainName) {
    for (Fabric.Entry e : entries) {
      if (fabricMatches(e, fabric) && (domainName == null || domainName.isEmpty() || domainName.equals(e.domain()))) {
        return e;
      }
    }
    return null;
  }

  /**
   * Refuses the efa provider of a libfabric older than 1.18: Debian's libfabric1 1.17 has one,
   * and loads silently when the EFA installer's library is not on the library path, with device
   * RDMA read off on older devices.
   */
  static void refuseOldEfa(String provider, int runtimeVersion) {
    if (EFA.equals(provider) && runtimeVersion < MIN_EFA_VERSION) {
      throw new FabricException("open provider 'efa'", 0, "the efa provider needs libfabric "
          + Fabric.versionString(MIN_EFA_VERSION) + " or later, and the libfabric loaded is "
          + Fabric.versionString(runtimeVersion) + " (not the EFA installer's): start the executor's JVM with "
          + "LD_LIBRARY_PATH=/opt/amazon/efa/lib in its environment");
    }
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

  /**
   * Whether addresses are NUL-terminated names whose length varies between endpoints (shm: the
   * name holds the process id), rather than fixed-size binary addresses (sockaddr, efa).
   */
  boolean stringAddresses() {
    return stringAddresses;
  }

  /** The largest single message or read the provider accepts; longer reads go in pieces. */
  public long maxMessageSize() {
    return maxMessageSize;
  }

  /**
   * Registers all of {@code memory} for remote reads by peers, local reads into it and messages
   * (memory that peers read: served blocks).
   */
  public MemoryRegion register(NativeMemory memory) {
    return register(memory, REMOTE_ACCESS);
  }

  /**
   * Registers all of {@code memory} for local use only: a target of this process's reads and a
   * send/receive buffer, never readable by a peer (no FI_REMOTE_READ): receive pools, message
   * slots.
   */
  public MemoryRegion registerLocal(NativeMemory memory) {
    return register(memory, LOCAL_ACCESS);
  }

  /**
   * Registers read-only memory (a mapped file, {@link NativeMemory#mapFile}) for peers to read.
   * Some providers cannot: efa before 2.0 asks the device for local write access on every
   * registration, which the kernel refuses for read-only pages; the caller then copies instead.
   */
  public MemoryRegion registerReadOnly(NativeMemory memory) {
    return register(memory, READ_ONLY_ACCESS);
  }

  private MemoryRegion register(NativeMemory memory, long access) {
    memory.uses().enter(); // the memory stays mapped while it is being registered
    try {
      return register(memory.address(), memory.size(), access);
    } finally {
      memory.uses().exit();
    }
  }

  /**
   * Registers [address, address + length) for remote reads (memory the caller owns and keeps
   * alive until the region is closed). Keys are the provider's where it chooses them
   * (FI_MR_PROV_KEY), else random: a key is a capability and must not be guessable.
   */
  public MemoryRegion register(long address, long length) {
    return register(address, length, REMOTE_ACCESS);
  }

  private MemoryRegion register(long address, long length, long access) {
    if (length <= 0) {
      throw new IllegalArgumentException("registration length must be positive, got " + length);
    }
    uses.enter();
    try {
      LongLongByReference out = new LongLongByReference();
      int ret = -Errno.ENOKEY;
      for (int attempt = 0; attempt < KEY_ATTEMPTS && ret == -Errno.ENOKEY; attempt++) {
        ret = Fabric.shim().efab_mr_reg(handle, address, length, access, randomKey(), out);
      }
      Fabric.check(ret, "fi_mr_reg of " + length + " bytes on " + provider);
      MemoryRegion region = new MemoryRegion(this, out.longValue(), address, length);
      adopt(region, region::closeHeld);
      return region;
    } finally {
      uses.exit();
    }
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
    uses.enter();
    try {
      FabricEndpoint endpoint = FabricEndpoint.open(this, config);
      adopt(endpoint, endpoint::closeHeld);
      return endpoint;
    } finally {
      uses.exit();
    }
  }

  /**
   * Takes a child just opened (inside {@link #uses}) into the set close() closes; when the domain
   * is closing already, closes it with {@code closeHeld} (its close for a caller that is inside
   * the domain's use count) and throws.
   */
  private void adopt(AutoCloseable child, Runnable closeHeld) {
    synchronized (this) {
      if (!closed) {
        children.add(child);
        return;
      }
    }
    closeHeld.run();
    throw uses.closedException();
  }

  /** The count of native calls on this domain's handle, children's opens and closes included. */
  UseCount uses() {
    return uses;
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
    // Children opened meanwhile closed themselves in adopt; wait for registrations, opens and
    // children's closes still inside a native call on this domain before freeing it.
    uses.close();
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
