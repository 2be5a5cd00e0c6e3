package org.efashuffle.common.config;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.efashuffle.common.Subnet;

/**
 * Every {@code spark.shuffle.efa.*} setting, defined once. {@link #docTable()} renders them as
 * the Markdown table that README.md carries (a test keeps the two equal), and
 * {@link #validate(Map)} fails at start on any bad value or unknown key of ours.
 */
public final class EfaShuffleConfig {
  public static final String PREFIX = "spark.shuffle.efa.";
  private static final String V010 = "0.1.0";
  private static final List<ConfigEntry<?>> ALL = new ArrayList<>();

  /** How executors reach each other's shuffle blocks. */
  public enum Transport { AUTO, FABRIC, TCP }

  public static final ConfigEntry<Transport> TRANSPORT = add(new ConfigEntry<>(
      PREFIX + "transport", "auto", "auto, fabric or tcp",
      "auto: read a peer's blocks over the fabric when both executors opened the same provider and "
          + "are in the same subnet, else over Netty TCP. fabric: the same, but a peer that cannot "
          + "be reached over the fabric is logged as a warning. tcp: never open the fabric.",
      V010, v -> Transport.valueOf(v.toUpperCase(Locale.ROOT))));

  public static final ConfigEntry<List<String>> PROVIDER = add(new ConfigEntry<>(
      PREFIX + "provider", "efa", "a libfabric provider name, or a comma-separated list tried in order",
      "The libfabric provider to open: efa in production; shm or tcp;ofi_rxm for tests on one host. "
          + "A list such as efa,tcp;ofi_rxm is tried in order. If none opens, the executor logs the "
          + "cause once and uses Netty for everything.",
      V010, EfaShuffleConfig::providerList));

  public static final ConfigEntry<List<String>> DOMAIN = add(new ConfigEntry<>(
      PREFIX + "domain", "", "a libfabric domain name, a comma-separated list of them, or empty",
      "The domain (device or interface) each executor opens. With a list, executors spread over it "
          + "by executor id: a numeric id takes the entry at id mod the list's size, another id one "
          + "chosen by a stable hash of it, so that the executors of a multi-NIC host use every device "
          + "(efa: one domain per EFA device, such as rdmap16s27-rdm; tcp: an interface such as eth0 "
          + "or lo). Empty: for efa every device of the efa fabric, spread the same way; for other "
          + "providers the provider's first domain (on tcp different interfaces are different subnets, "
          + "whose executors would not read each other over the fabric). The same list is asked of "
          + "every provider of spark.shuffle.efa.provider. The executor's start line says which it took.",
      V010, EfaShuffleConfig::nameList));

  public static final ConfigEntry<Optional<Subnet>> SUBNET = add(new ConfigEntry<>(
      PREFIX + "subnet", "", "a subnet in CIDR notation such as 10.0.0.0/20, or empty",
      "The subnet of the executors' EFA interfaces: executors read each other over the fabric only "
          + "when their subnets are the same one (EFA reaches only within a subnet). Empty: the address "
          + "of the executor's block manager with the prefix length of the interface that carries it. "
          + "Set it where that interface's prefix is not the subnet's: on Kubernetes with the Amazon VPC "
          + "CNI a pod's interface carries its address as a /32, so without this setting every executor "
          + "would be a subnet of its own and read over Netty; set the node group's subnet.",
      "0.3.0", v -> v.isBlank() ? Optional.empty() : Optional.of(Subnet.parse(v.trim()))));

  public static final ConfigEntry<Long> MAP_OUTPUT_BYTES = add(new ConfigEntry<>(
      PREFIX + "memory.mapOutputBytes", "1g", "a size in bytes with optional k, m or g suffix; 0 turns pinning off",
      "Registered (pinned) memory per executor that holds its map outputs from the moment each map task "
          + "commits, so that peers read them with no disk I/O on this executor: the data files' own pages "
          + "(see spark.shuffle.efa.memory.mapOutputFiles) or off-heap copies registered in 32 MiB slabs, "
          + "released as shuffles are removed. Outputs past it stay on disk only and are staged per read. "
          + "Count it in spark.executor.memoryOverhead (pinned page cache is charged to the container too).",
      V010, v -> atLeast(ByteSizes.parse(v), 0)));

  public static final ConfigEntry<Boolean> MAP_OUTPUT_FILES = add(new ConfigEntry<>(
      PREFIX + "memory.mapOutputFiles", "true", "true or false",
      "true: a committed map output within spark.shuffle.efa.memory.mapOutputBytes is registered where it "
          + "lies, its data file's page-cache pages mapped read-only, so nothing is copied and its bytes are "
          + "held once (as page cache, not off-heap). false, or a provider that refuses to register read-only "
          + "pages (efa before libfabric 2.0 on devices with RDMA write; logged once): each output is copied "
          + "into registered off-heap slabs as its map task commits.",
      "0.4.0", EfaShuffleConfig::strictBoolean));

  public static final ConfigEntry<Long> STAGING_BYTES = add(new ConfigEntry<>(
      PREFIX + "memory.stagingBytes", "128m", "a size in bytes with optional k, m or g suffix, at least 1m",
      "Registered (pinned, off-heap) memory per executor, registered at start, into which blocks of "
          + "map outputs that are not pinned are staged from disk for the time of one read. A block "
          + "that does not fit at the moment is served over Netty instead. Count it in "
          + "spark.executor.memoryOverhead.",
      V010, v -> atLeast(ByteSizes.parse(v), 1L << 20)));

  public static final ConfigEntry<Long> RECEIVE_BYTES = add(new ConfigEntry<>(
      PREFIX + "memory.receiveBytes", "256m", "a size in bytes with optional k, m or g suffix, at least 1m",
      "Registered (pinned, off-heap) memory per executor that its fabric reads land in, registered in "
          + "32 MiB slabs as needed and kept for reuse (registration is costly on EFA). A fetch that "
          + "finds it full registers memory of its own for its duration. Spark's "
          + "spark.reducer.maxSizeInFlight (per task) bounds what is in use. Count it in "
          + "spark.executor.memoryOverhead.",
      V010, v -> atLeast(ByteSizes.parse(v), 1L << 20)));

  public static final ConfigEntry<Long> TIMEOUT_MILLIS = add(new ConfigEntry<>(
      PREFIX + "timeout", "120s", "a duration such as 500ms, 30s or 2m",
      "How long a fabric read (fi_read of the blocks a peer has answered with) may take before it "
          + "fails and its blocks are fetched over Netty instead.",
      V010, v -> atLeast(Durations.parseMillis(v), 1)));

  public static final ConfigEntry<Long> REQUEST_TIMEOUT_MILLIS = add(new ConfigEntry<>(
      PREFIX + "requestTimeout", "5s", "a duration such as 500ms, 5s or 1m",
      "How long a reducer waits for a peer's answer to a fabric request (the peer stages blocks that "
          + "are not in registered memory from disk before it answers) before it fetches those blocks "
          + "over Netty and reads that peer over Netty for a while. Short, so that a dead or stopped "
          + "executor costs seconds; raise it where disks are slow.",
      "0.2.0", v -> atLeast(Durations.parseMillis(v), 1)));

  public static final ConfigEntry<Boolean> ALLOW_UNENCRYPTED = add(new ConfigEntry<>(
      PREFIX + "allowUnencrypted", "false", "true or false",
      "Fabric reads are not encrypted. When Spark's wire encryption is on (spark.network.crypto.enabled "
          + "or spark.ssl.rpc.enabled) efa-shuffle reads everything over Netty unless this is true. "
          + "With spark.authenticate=true, fabric control messages are signed with the application's "
          + "secret either way.",
      V010, EfaShuffleConfig::strictBoolean));

  public static final ConfigEntry<Boolean> TEST_CORRUPT_FABRIC_BLOCKS = add(new ConfigEntry<>(
      PREFIX + "test.corruptFabricBlocks", "false", "true or false",
      "For tests only, never on a real job: flips one bit in each block the executor reads over the "
          + "fabric into memory, the first time it reads that block (a fetch of it again is clean), to "
          + "show that Spark's corruption detection (spark.shuffle.detectCorrupt, on compressed shuffle "
          + "data) catches a damaged block and fetches it again or retries the stage.",
      "0.2.0", EfaShuffleConfig::strictBoolean));

  private EfaShuffleConfig() {}

  private static <T> ConfigEntry<T> add(ConfigEntry<T> entry) {
    ALL.add(entry);
    return entry;
  }

  public static List<ConfigEntry<?>> entries() {
    return Collections.unmodifiableList(ALL);
  }

  /** Parses every setting of ours, and refuses keys under our prefix that are not ours (typos). */
  public static void validate(Map<String, String> settings) {
    for (String key : settings.keySet()) {
      if (key.startsWith(PREFIX) && ALL.stream().noneMatch(e -> e.key().equals(key))) {
        throw new IllegalArgumentException("unknown setting " + key + "; efa-shuffle's settings are "
            + ALL.stream().map(ConfigEntry::key).toList());
      }
    }
    ALL.forEach(e -> e.get(settings));
  }

  /** The settings as a Markdown table (key, default, meaning, since). */
  public static String docTable() {
    StringBuilder sb = new StringBuilder("| key | default | accepted | meaning | since |\n|---|---|---|---|---|\n");
    for (ConfigEntry<?> e : ALL) {
      sb.append("| `").append(e.key()).append("` | `").append(e.defaultValue().isEmpty() ? "(empty)" : e.defaultValue())
          .append("` | ").append(e.accepted()).append(" | ").append(e.doc()).append(" | ").append(e.since()).append(" |\n");
    }
    return sb.toString();
  }

  private static List<String> providerList(String v) {
    List<String> names = Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
    if (names.isEmpty()) {
      throw new IllegalArgumentException("no provider named");
    }
    return names;
  }

  /** A comma-separated list of names, blanks dropped; empty for none. */
  private static List<String> nameList(String v) {
    return Arrays.stream(v.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  private static boolean strictBoolean(String v) {
    return switch (v.trim().toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException("not true or false: " + v);
    };
  }

  private static long atLeast(long value, long min) {
    if (value < min) {
      throw new IllegalArgumentException(value + " is below the minimum " + min);
    }
    return value;
  }
}
