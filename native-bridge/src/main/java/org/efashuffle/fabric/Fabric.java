package org.efashuffle.fabric;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Whether the native bridge loaded, with the cause cached when it did not: callers check
 * {@link #isAvailable()} once and fall back to Netty with {@link #unavailabilityCause()} in one
 * log line. Also the few process-wide facts: the API version asked for, the providers found, and
 * the count of native objects open now (for leak checks).
 */
public final class Fabric {
  /** The API version we ask for when the library offers it: 1.18 turns on EFA device RDMA read. */
  static final int WANTED_API_VERSION = version(1, 18);

  private static final NativeLibrary LIBRARY;
  private static final Throwable UNAVAILABILITY_CAUSE;

  static {
    NativeLibrary library = null;
    Throwable cause = null;
    try {
      library = NativeLibrary.load();
      library.shim.efab_runtime_version();
    } catch (Throwable t) {
      library = null;
      cause = t;
    }
    LIBRARY = library;
    UNAVAILABILITY_CAUSE = cause;
  }

  private Fabric() {}

  public static boolean isAvailable() {
    return UNAVAILABILITY_CAUSE == null;
  }

  /** Why the bridge could not load, or null when it did. */
  public static Throwable unavailabilityCause() {
    return UNAVAILABILITY_CAUSE;
  }

  /** Throws an {@link UnsatisfiedLinkError} carrying the cause when the bridge is unavailable. */
  public static void ensureAvailable() {
    if (UNAVAILABILITY_CAUSE != null) {
      UnsatisfiedLinkError e = new UnsatisfiedLinkError(
          "efa-shuffle native bridge unavailable: " + UNAVAILABILITY_CAUSE.getMessage());
      e.initCause(UNAVAILABILITY_CAUSE);
      throw e;
    }
  }

  static NativeLibrary library() {
    ensureAvailable();
    return LIBRARY;
  }

  static LibFabricShim.Api shim() {
    return library().shim;
  }

  /** The libfabric API version asked for: min(the loaded library's, {@link #WANTED_API_VERSION}). */
  public static int apiVersion() {
    return Math.min(shim().efab_runtime_version(), WANTED_API_VERSION);
  }

  /** The loaded libfabric's own API version as "major.minor" (fi_version()). */
  public static String runtimeVersion() {
    return versionString(runtimeVersionNumber());
  }

  static int runtimeVersionNumber() {
    return shim().efab_runtime_version();
  }

  static String versionString(int version) {
    return (version >>> 16) + "." + (version & 0xffff);
  }

  /** Providers that offer FI_EP_RDM with FI_MSG | FI_RMA here, e.g. [tcp;ofi_rxm, shm]. */
  public static List<String> providers() {
    return entries(null).stream().map(Entry::provider).distinct().toList();
  }

  /**
   * The domains {@code provider} offers on the fabric it would open (see
   * {@link FabricDomain#open(String, String, String)}: {@code fabric} null means the provider's
   * default, for {@code efa} the {@code efa} fabric), in libfabric's order, each once: one per
   * device on a multi-NIC EFA host ({@code rdmap…-rdm}), one per interface for tcp
   * ({@code eth0}, {@code lo}). A name from this list is what {@code FabricDomain.open} takes as
   * its domain, so executors on one host can spread over the devices.
   */
  public static List<String> domains(String provider, String fabric) {
    String wanted = FabricDomain.providerAsked(provider);
    return entries(wanted).stream()
        .filter(e -> FabricDomain.fabricMatches(e, FabricDomain.fabricAsked(wanted, fabric)))
        .map(Entry::domain).distinct().toList();
  }

  /** One fi_info entry as fi_getinfo lists it under the shim's hints. */
  record Entry(String provider, String fabric, String domain) {
    @Override
    public String toString() {
      return provider + "/" + fabric + "/" + domain;
    }
  }

  /** What {@code provider} (null: every provider) offers under the shim's hints, in libfabric's order. */
  static List<Entry> entries(String provider) {
    byte[] buf = new byte[1 << 16];
    int ret;
    while ((ret = shim().efab_list_entries(apiVersion(), provider, buf, buf.length)) == -Errno.ETOOSMALL
        && buf.length < (1 << 24)) {
      buf = new byte[buf.length * 4];
    }
    check(ret, "fi_getinfo");
    List<Entry> entries = new ArrayList<>();
    for (String line : cString(buf).split("\n")) {
      String[] fields = line.split("\t", -1);
      if (fields.length == 3) {
        entries.add(new Entry(fields[0], fields[1], fields[2]));
      }
    }
    return entries;
  }

  /** Native objects of the bridge that are open now, across the process. */
  public static OpenObjects openObjects() {
    LibFabricShim.Api s = shim();
    return new OpenObjects(
        s.efab_open_objects(LibFabricShim.EFAB_DOMAIN),
        s.efab_open_objects(LibFabricShim.EFAB_CQ),
        s.efab_open_objects(LibFabricShim.EFAB_AV),
        s.efab_open_objects(LibFabricShim.EFAB_EP),
        s.efab_open_objects(LibFabricShim.EFAB_MR),
        s.efab_open_objects(LibFabricShim.EFAB_MEMORY),
        s.efab_open_objects(LibFabricShim.EFAB_EQ));
  }

  /** Counts of open native objects; {@link #isZero()} after everything was closed. */
  public record OpenObjects(
      long domains, long completionQueues, long addressVectors, long endpoints,
      long registrations, long memoryBlocks, long eventQueues) {
    public boolean isZero() {
      return domains == 0 && completionQueues == 0 && addressVectors == 0 && endpoints == 0
          && registrations == 0 && memoryBlocks == 0 && eventQueues == 0;
    }
  }

  static int version(int major, int minor) {
    return (major << 16) | minor;
  }

  /** fi_strerror of a positive or negative FI_E* number. */
  static String strerror(int errno) {
    byte[] buf = new byte[256];
    shim().efab_strerror(errno, buf, buf.length);
    return cString(buf);
  }

  /** Returns ret when it is not negative, else throws a {@link FabricException} naming operation. */
  static long check(long ret, String operation) {
    if (ret < 0) {
      throw new FabricException(operation, (int) -ret, strerror((int) -ret));
    }
    return ret;
  }

  static String cString(byte[] buf) {
    int len = 0;
    while (len < buf.length && buf[len] != 0) {
      len++;
    }
    return new String(buf, 0, len, StandardCharsets.UTF_8);
  }
}
