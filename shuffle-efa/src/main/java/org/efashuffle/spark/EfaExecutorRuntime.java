package org.efashuffle.spark;

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InterfaceAddress;
import java.net.NetworkInterface;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.spark.SecurityManager;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.network.shuffle.BlockStoreClient;
import org.apache.spark.shuffle.IndexShuffleBlockResolver;
import org.apache.spark.storage.BlockId;
import org.apache.spark.storage.BlockManager;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.io.ChunkedByteBuffer;
import org.efashuffle.common.Subnet;
import org.efashuffle.common.config.EfaShuffleConfig;
import org.efashuffle.common.protocol.MessageAuthenticator;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.TransportOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;

/**
 * The fabric side of one executor: the fabric (serving this executor's map outputs, reading its
 * peers'), the peer info it publishes, and the block store client it puts in front of Spark's.
 * Without a fabric (off by config, no libfabric, provider not found) it logs the cause once and
 * every read goes to Spark's client. If the fabric's endpoint cannot go on, the executor stops
 * offering it (see {@link #fabricLost}).
 */
final class EfaExecutorRuntime implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EfaExecutorRuntime.class);

  private final ExecutorFabric fabric; // null: Netty only
  private final EfaShuffleBlockResolver resolver;
  private final ExecutorService fallbackThreads;
  private final Runnable unpublish;
  private boolean fabricClosed; // guarded by this
  private final CompletableFuture<Void> off = new CompletableFuture<>();

  /**
   * @param unpublish removes this executor's peer info from where peers look it up, so that they
   *     stop pairing with it
   */
  EfaExecutorRuntime(ExecutorFabric fabric, EfaShuffleBlockResolver resolver, ExecutorService fallbackThreads,
      Runnable unpublish) {
    this.fabric = fabric;
    this.resolver = resolver;
    this.fallbackThreads = fallbackThreads;
    this.unpublish = unpublish;
  }

  /**
   * Starts the executor's fabric side. Whatever fails here is logged once and leaves the executor
   * on Spark's own client: it never fails a job that Netty could finish.
   */
  static EfaExecutorRuntime start(Map<String, String> settings, EfaShuffleBlockResolver resolver) {
    BlockManager blockManager = SparkEnv.get().blockManager();
    BlockStoreClient spark = blockManager.blockStoreClient();
    String executorId = SparkEnv.get().executorId();
    OpenedFabric opened = openFabric(settings, resolver, executorId);
    ExecutorFabric fabric = opened == null ? null : opened.fabric();
    ExecutorService fallbackThreads = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "efa-shuffle-netty-fallback");
      t.setDaemon(true);
      return t;
    });
    EfaExecutorRuntime runtime = new EfaExecutorRuntime(fabric, resolver, fallbackThreads,
        () -> blockManager.removeBlock(BlockId.apply(PeerDirectory.PEER_BLOCK), true));
    try {
      PeerInfo self = null;
      FabricTransport transport = fabric == null ? null : fabric.transport();
      if (fabric != null) {
        self = new PeerInfo(fabric.domain().provider(), fabric.domain().fabricName(),
            EfaShuffleConfig.SUBNET.get(settings).orElseGet(() -> subnetOf(blockManager.blockManagerId().host())),
            PeerInfo.thisHost(), transport.address());
        publish(blockManager, self);
        LOG.info("efa-shuffle: executor {} reads same-subnet peers over the fabric: {}; domain taken {}; subnet {}",
            executorId, transport.describe(), opened.domainChoice(), self.subnet());
      }
      SparkEnv.get().metricsSystem().registerSource(TransportMetrics.get());
      boolean sparkClosesIt = spark == blockManager.blockTransferService();
      // Last: once installed, the client is in use.
      // With the external shuffle service on, Spark's client is the service's (map outputs name
      // the service's address, and the service serves executors that have left); peer info is in
      // each executor's own block manager, reached over Spark's block transfer service.
      ExecutorBlockManagers blockManagers = blockManager.externalShuffleServiceEnabled()
          ? new ExecutorBlockManagers(ExecutorBlockManagers.askingTheDriver(blockManager.master()), fallbackThreads,
              System::nanoTime)
          : null;
      install(blockManager, new EfaBlockStoreClient(spark, !sparkClosesIt, transport, self,
          new PeerDirectory(blockManager.blockTransferService(), blockManagers,
              EfaShuffleConfig.REQUEST_TIMEOUT_MILLIS.get(settings), fallbackThreads),
          fallbackThreads,
          EfaShuffleConfig.TRANSPORT.get(settings) == EfaShuffleConfig.Transport.FABRIC));
      if (fabric != null) {
        resolver.pinInto(fabric.blocks().pinned());
        runtime.watchFailure();
      }
    } catch (RuntimeException e) {
      LOG.warn("efa-shuffle: could not start on this executor, every shuffle read goes over Spark's own client", e);
      runtime.close();
      return new EfaExecutorRuntime(null, resolver, fallbackThreads, () -> { });
    }
    return runtime;
  }

  /** An opened fabric and how its domain was chosen, for the start line. */
  private record OpenedFabric(ExecutorFabric fabric, String domainChoice) {}

  /**
   * Opens the fabric: the first provider of the list that opens, on the domain this executor
   * takes (see {@link DomainChoice}); null, logged, when none does.
   */
  private static OpenedFabric openFabric(Map<String, String> settings, IndexShuffleBlockResolver resolver,
      String executorId) {
    if (EfaShuffleConfig.TRANSPORT.get(settings) == EfaShuffleConfig.Transport.TCP) {
      LOG.info("efa-shuffle: {}=tcp, every shuffle read goes over Netty", EfaShuffleConfig.TRANSPORT.key());
      return null;
    }
    String refusal = encryptionRefusal(SparkEnv.get().conf(), settings);
    if (refusal != null) {
      LOG.warn("efa-shuffle: {}", refusal);
      return null;
    }
    if (!Fabric.isAvailable()) {
      LOG.warn("efa-shuffle: fabric unavailable, every shuffle read goes over Netty: {}",
          Fabric.unavailabilityCause().getMessage());
      return null;
    }
    List<String> configuredDomains = EfaShuffleConfig.DOMAIN.get(settings);
    MapOutputMemory memory = MapOutputMemory.fromSettings(settings);
    TransportOptions options = transportOptions(settings);
    String last = null; // why the last provider tried did not open
    List<String> providers = EfaShuffleConfig.PROVIDER.get(settings);
    LockedMemoryLimit lockedMemory = LockedMemoryLimit.ofThisProcess();
    String memlockRefusal = null;
    for (String provider : providers) {
      // A provider that pins pages is not opened under a locked-memory limit it would run into.
      String tooLittleLocked = lockedMemory.refusal(provider, settings);
      if (tooLittleLocked != null) {
        memlockRefusal = tooLittleLocked;
        last = tooLittleLocked;
        continue;
      }
      try {
        List<String> domains = DomainChoice.candidates(provider, configuredDomains, () -> Fabric.domains(provider, null));
        String domain = DomainChoice.forExecutor(executorId, domains);
        ExecutorFabric opened = ExecutorFabric.open(provider, domain, options, resolver, memory);
        String choice = domains.isEmpty() ? "(the provider's first)"
            : "of " + domains + (domains.size() > 1 ? " by executor id" : "");
        if (memlockRefusal != null) {
          LOG.warn("efa-shuffle: an earlier provider of {} was not opened, using {}: {}", providers, provider,
              memlockRefusal);
        }
        return new OpenedFabric(opened, choice);
      } catch (RuntimeException e) {
        last = String.valueOf(e);
      }
    }
    LOG.warn("efa-shuffle: no fabric provider of {} opened ({}), every shuffle read goes over Netty: {}{}",
        providers, EfaShuffleConfig.PROVIDER.key(), last, memlockRefusal != null ? "" : memlockHint(memory.stagingBytes()));
    return null;
  }

  private static TransportOptions transportOptions(Map<String, String> settings) {
    return TransportOptions.of(EndpointConfig.defaults()
            .withOperationTimeout(Duration.ofMillis(EfaShuffleConfig.TIMEOUT_MILLIS.get(settings))))
        .withAuthenticator(authenticator())
        .withReceivePoolBytes(EfaShuffleConfig.RECEIVE_BYTES.get(settings))
        .withRequestTimeout(Duration.ofMillis(EfaShuffleConfig.REQUEST_TIMEOUT_MILLIS.get(settings)));
  }

  /** Once the fabric's endpoint fails, {@link #fabricLost} runs on a thread of its own (never the progress thread). */
  void watchFailure() {
    fabric.transport().failure().thenAccept(cause -> {
      Thread t = new Thread(() -> fabricLost(cause), "efa-shuffle-fabric-lost");
      t.setDaemon(true);
      t.start();
    });
  }

  /**
   * The endpoint cannot go on: stop offering the fabric, so that peers go to Netty at once rather
   * than after a timeout. The client already sends this executor's reads to Netty (the transport
   * is no longer {@link FabricTransport#usable()}); the peer info is removed, so new lookups miss;
   * the fabric closes, so peers' sends to it fail (at once on tcp).
   */
  private void fabricLost(Throwable cause) {
    try {
      LOG.warn("efa-shuffle: executor {}'s fabric endpoint cannot go on ({}); it stops offering the fabric, "
          + "its reads and its peers' go over Netty", executorId(), cause.toString());
      try {
        unpublish.run();
      } catch (RuntimeException e) {
        LOG.warn("efa-shuffle: could not remove this executor's peer info; peers find the fabric closed", e);
      }
      closeFabric();
    } finally {
      off.complete(null);
    }
  }

  /** Whether this executor offers the fabric now (it opened one, has not lost it, and is not stopped). */
  boolean offersFabric() {
    return fabric != null && !off.isDone() && fabric.transport().usable();
  }

  /** Completes once a lost fabric has been withdrawn (peer info removed, fabric closed). */
  CompletableFuture<Void> fabricOff() {
    return off;
  }

  private static String executorId() {
    return SparkEnv.get() == null ? "?" : SparkEnv.get().executorId();
  }

  private synchronized void closeFabric() {
    if (fabric != null && !fabricClosed) {
      fabricClosed = true;
      resolver.pinInto(null);
      fabric.close();
    }
  }

  /**
   * A note on the locked-memory limit when it is below what registration needs at start (the
   * staging area): on EFA a registration pins pages and fails past RLIMIT_MEMLOCK.
   */
  private static String memlockHint(long needed) {
    try {
      for (String line : java.nio.file.Files.readAllLines(java.nio.file.Paths.get("/proc/self/limits"))) {
        if (line.startsWith("Max locked memory")) {
          String soft = line.substring("Max locked memory".length()).trim().split("\\s+")[0];
          if (!soft.equals("unlimited") && Long.parseLong(soft) < needed) {
            return " (the locked-memory limit, ulimit -l, is " + soft + " bytes, below the "
                + needed + " bytes of " + EfaShuffleConfig.STAGING_BYTES.key() + ", unless the process has "
                + "CAP_IPC_LOCK; raise it for the executors, e.g. LimitMEMLOCK=infinity or /etc/security/limits.conf)";
          }
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // No /proc (not Linux) or an unexpected format: no hint.
    }
    return "";
  }

  /**
   * Why the fabric must stay off for this application's security settings, or null: Spark's wire
   * encryption is on and the user did not accept unencrypted fabric reads.
   */
  static String encryptionRefusal(SparkConf conf, Map<String, String> settings) {
    for (String key : List.of("spark.network.crypto.enabled", "spark.ssl.rpc.enabled")) {
      if (conf.getBoolean(key, false) && !EfaShuffleConfig.ALLOW_UNENCRYPTED.get(settings)) {
        return key + "=true and fabric reads are not encrypted, so every shuffle read goes over Netty; set "
            + EfaShuffleConfig.ALLOW_UNENCRYPTED.key() + "=true to read same-subnet peers over the fabric anyway";
      }
    }
    return null;
  }

  /** Signs control messages with the application's secret when Spark authenticates (spark.authenticate). */
  private static MessageAuthenticator authenticator() {
    SecurityManager security = SparkEnv.get().securityManager();
    if (!security.isAuthenticationEnabled()) {
      return null;
    }
    return new MessageAuthenticator(security.getSecretKey().getBytes(StandardCharsets.UTF_8));
  }

  /** This executor's subnet: its block manager's address with the prefix of the interface that has it. */
  static Subnet subnetOf(String host) {
    try {
      InetAddress address = InetAddress.getByName(host);
      NetworkInterface nic = NetworkInterface.getByInetAddress(address);
      if (nic != null) {
        for (InterfaceAddress a : nic.getInterfaceAddresses()) {
          if (a.getAddress().equals(address)) {
            return new Subnet(address, a.getNetworkPrefixLength());
          }
        }
      }
      return new Subnet(address, address.getAddress().length * 8);
    } catch (Exception e) {
      throw new IllegalStateException("cannot find the subnet of this executor's address " + host, e);
    }
  }

  private static void publish(BlockManager blockManager, PeerInfo self) {
    ChunkedByteBuffer bytes = new ChunkedByteBuffer(ByteBuffer.wrap(self.encode()));
    boolean stored = blockManager.putBytes(BlockId.apply(PeerDirectory.PEER_BLOCK), bytes,
        StorageLevel.MEMORY_AND_DISK_SER(), false, ClassTag$.MODULE$.Any());
    if (!stored) {
      throw new IllegalStateException("could not store efa-shuffle's peer info block");
    }
  }

  /**
   * Puts our client where Spark's fetch iterator takes its client from. BlockManager keeps it in a
   * private final field; Spark reads it at each shuffle read, after executor start-up.
   */
  private static void install(BlockManager blockManager, BlockStoreClient client) {
    try {
      Field field = BlockManager.class.getDeclaredField("blockStoreClient");
      field.setAccessible(true);
      field.set(blockManager, client);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("this Spark version keeps BlockManager.blockStoreClient elsewhere", e);
    }
  }


  @Override
  public void close() {
    LOG.info("efa-shuffle: executor {} at stop: {}", executorId(), TransportMetrics.get().snapshot());
    fallbackThreads.shutdown();
    closeFabric();
  }
}
