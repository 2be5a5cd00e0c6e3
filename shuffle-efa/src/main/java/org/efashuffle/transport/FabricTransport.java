package org.efashuffle.transport;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.common.protocol.MessageCodec;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.UseCount;

/**
 * One executor's fabric transport: an endpoint that both serves this executor's blocks from
 * {@link BlockSource} and fetches other executors' blocks by one-sided reads. It routes control
 * messages: requests and done messages to the {@link BlockServer}, answers to the
 * {@link BlockFetcher}, and answers nobody waits for any more (late) get a done message at once,
 * so that the server's lease ends. Leases of readers that never say done expire on a timer.
 */
public final class FabricTransport implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(FabricTransport.class.getName());
  private static final int RECEIVE_SLOTS = 64;
  private static final int SEND_SLOTS = 64;
  private static final long RECEIVE_SLAB_BYTES = 32L << 20;
  private static final int IO_THREADS = 2;
  private static final int REGISTRAR_THREADS = 2;
  /** Longer than any fabric address here: efa's are 32 bytes, tcp's 16 or 28, shm's names about 20. */
  private static final int ADDRESS_ROOM = 64;

  private final FabricDomain domain;
  private final PinnedPool receivePool;
  private final FabricEndpoint endpoint;
  private final ControlChannel channel;
  private final ScheduledExecutorService ioThreads;
  private final ExecutorService registrar;
  private final BlockSource source;
  private final BlockServer server;
  private final BlockFetcher fetcher;
  private final UseCount fetchCalls = new UseCount(() -> "fabric transport");
  /** Whether close() also closes the source and the domain (the transport opened them: {@link #open(String, String, TransportOptions, Function)}). */
  private final boolean ownsSourceAndDomain;

  private FabricTransport(FabricDomain domain, TransportOptions options, BlockSource source,
      boolean ownsSourceAndDomain) {
    this.domain = domain;
    this.source = source;
    this.ownsSourceAndDomain = ownsSourceAndDomain;
    this.receivePool = PinnedPool.retaining(domain, options.receivePoolBytes(),
        Math.min(RECEIVE_SLAB_BYTES, options.receivePoolBytes()));
    this.endpoint = domain.openEndpoint(options.endpoint());
    this.channel = new ControlChannel(endpoint, RECEIVE_SLOTS, SEND_SLOTS, options.authenticator(), this::onMessage);
    Duration timeout = options.endpoint().operationTimeout();
    this.ioThreads = Executors.newScheduledThreadPool(IO_THREADS, daemon("efa-shuffle-block-io"));
    this.registrar = Executors.newFixedThreadPool(REGISTRAR_THREADS, daemon("efa-shuffle-register"));
    long leaseTimeoutNanos = timeout.multipliedBy(2).toNanos();
    this.server = new BlockServer(source, channel, maxBlocksPerFetch(), leaseTimeoutNanos, ioThreads);
    this.fetcher = new BlockFetcher(domain, receivePool, endpoint, channel, options.requestTimeout().toMillis(),
        registrar);
    long checkMillis = Math.max(10, Math.min(1000, TimeUnit.NANOSECONDS.toMillis(leaseTimeoutNanos) / 4));
    ioThreads.scheduleWithFixedDelay(this::expireLeases, checkMillis, checkMillis, TimeUnit.MILLISECONDS);
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  private void expireLeases() {
    try {
      server.expireLeases();
    } catch (RuntimeException e) { // a periodic task that throws is never run again
      LOG.log(Level.WARNING, "expiring fabric read leases failed", e);
    }
  }

  /**
   * Opens an endpoint on {@code domain} serving the blocks of {@code source} (whose memory is
   * registered with that domain). The transport owns what it creates (endpoint, control and
   * receive memory, threads) and closes only that: the caller opened the domain and the source,
   * and closes them after this transport, source first, so that no peer reads the source's memory
   * once it is freed.
   */
  public static FabricTransport open(FabricDomain domain, TransportOptions options, BlockSource source) {
    return new FabricTransport(domain, options, source, false);
  }

  /**
   * For tests and tools that want one object to own everything: opens the provider's domain (see
   * {@link FabricDomain#open}) and an endpoint on it, serving the blocks of the source that
   * {@code sources} makes for that domain. Here the transport owns the domain and the source (if
   * it is {@link AutoCloseable}): it closes the source after the endpoint, so that no peer reads
   * its memory any more, and the domain last.
   */
  public static FabricTransport open(String provider, String domainName, EndpointConfig config,
      Function<FabricDomain, BlockSource> sources) {
    return open(provider, domainName, TransportOptions.of(config), sources);
  }

  /**
   * As {@link #open(String, String, EndpointConfig, Function)}, with all the options: an
   * authenticator signs and checks every control message (peers must use the same secret).
   */
  public static FabricTransport open(String provider, String domainName, TransportOptions options,
      Function<FabricDomain, BlockSource> sources) {
    FabricDomain domain = FabricDomain.open(provider, domainName);
    try {
      return new FabricTransport(domain, options, sources.apply(domain), true);
    } catch (RuntimeException e) {
      domain.close();
      throw e;
    }
  }

  /** This executor's fabric address, which peers fetch from. */
  public byte[] address() {
    return endpoint.address();
  }

  public FabricDomain domain() {
    return domain;
  }

  /**
   * The endpoint as the executor's start line shows it: provider, fabric, domain, libfabric
   * version, whether reads are emulated, whether an event queue is bound.
   */
  public String describe() {
    return endpoint.describe();
  }

  /**
   * Completes with the cause when the endpoint stops for any reason but {@link #close()} (its
   * progress thread died, or the provider reported an error it cannot go on from): it then
   * completes nothing more, and its owner should stop offering it and close it, off the progress
   * thread, which is the one completing this future. A view: completing it does nothing.
   */
  public CompletableFuture<Throwable> failure() {
    return endpoint.failure().copy();
  }

  /** Whether fetches may be sent through this transport: neither closed nor failed. */
  public boolean usable() {
    return !fetchCalls.isClosed() && !endpoint.failure().isDone();
  }

  /**
   * Test seam: the endpoint, so that a test can make it fail through the native bridge's seams
   * (which are package-private to {@code org.efashuffle.fabric}). Not for production code.
   */
  public FabricEndpoint endpointForTests() {
    return endpoint;
  }

  /**
   * Fetches blocks from the executor at {@code serverAddress}; the future's blocks are the
   * caller's to release. At most {@link #maxBlocksPerFetch()} blocks per call.
   */
  public CompletableFuture<List<FetchedBlock>> fetch(byte[] serverAddress, List<BlockRef> blocks) {
    return fetch(serverAddress, blocks, null);
  }

  /**
   * As {@link #fetch(byte[], List)}, but every served block of non-zero length is read, in
   * bounded pieces, into the sink {@code sinks} opens for it (a block of any size; see
   * {@link BlockSinks}); those blocks come back {@link FetchedBlock#inSink()}. Null sinks: as
   * {@link #fetch(byte[], List)}.
   */
  public CompletableFuture<List<FetchedBlock>> fetch(byte[] serverAddress, List<BlockRef> blocks, BlockSinks sinks) {
    if (blocks.size() > maxBlocksPerFetch()) {
      throw new IllegalArgumentException(blocks.size() + " blocks in one fetch; at most " + maxBlocksPerFetch());
    }
    if (!fetchCalls.tryEnter()) {
      return CompletableFuture.failedFuture(new IllegalStateException("fabric transport closed"));
    }
    try {
      return fetcher.fetch(serverAddress, blocks, sinks); // inserts the peer and sends the request: the endpoint must stay open
    } finally {
      fetchCalls.exit();
    }
  }

  /**
   * The same on every executor of a fabric (a server refuses a request naming more): room is
   * left for an address of {@link #ADDRESS_ROOM} bytes, since shm's names differ in length
   * between processes.
   */
  public int maxBlocksPerFetch() {
    return MessageCodec.maxBlocksPerRequest(ControlChannel.PAYLOAD_SIZE, Math.max(ADDRESS_ROOM, address().length));
  }

  int leasedBlocks() {
    return server.leasedBlocks();
  }

  /** Bytes of the receive pool registered now (never more than its budget). */
  public long receivePoolBytes() {
    return receivePool.pinnedBytes();
  }

  /** Bytes of the receive pool held by fetches and their blocks now. */
  long receivePoolUsedBytes() {
    return receivePool.usedBytes();
  }

  private void onMessage(Message message) {
    if (message instanceof Message.FetchRequest r) {
      server.onRequest(r);
    } else if (message instanceof Message.FetchAnswer a) {
      if (!fetcher.onAnswer(a)) {
        endLateAnswer(a);
      }
    } else if (message instanceof Message.FetchDone d) {
      server.onDone(d);
    }
  }

  /**
   * Tells the server of an answer that no fetch awaits (it came after the request timeout) that
   * its reader is done. Only a server this executor has sent requests to is told: an answer naming
   * any other address is forged, and nothing is sent for it.
   */
  private void endLateAnswer(Message.FetchAnswer answer) {
    Long server = channel.knownPeer(answer.serverAddress());
    if (server == null) {
      LOG.warning("dropped an answer to fetch request " + answer.requestId() + " that nobody awaits, from an"
          + " address this executor never sent a request to");
      return;
    }
    LOG.warning("answer to fetch request " + answer.requestId() + " came after the fetch stopped waiting; telling the"
        + " server it is done");
    channel.send(server, new Message.FetchDone(answer.requestId())); // best effort: the lease timeout covers a loss
  }

  /**
   * Stops in an order that never frees memory under an operation or a handle under a call: no
   * new fetch, and the calls inside and the registrations under way finish (with the endpoint
   * open); then the endpoint closes, which settles every operation (libfabric holds no memory
   * any more, batches go back); then what still waits fails, the I/O threads finish, leases are
   * released, and the control and receive memory are freed (and, when the transport opened them,
   * the source, waiting for its staging and pinning, and the domain). A batch still held by a
   * reader is freed when it is released.
   */
  @Override
  public void close() {
    fetchCalls.close();
    awaitStop(registrar); // a registration still running posts its reads while the endpoint is open
    endpoint.close();
    fetcher.close();
    awaitStop(ioThreads); // an answer being written into a send slot finishes before the slots are freed
    server.close();
    try {
      if (ownsSourceAndDomain && source instanceof AutoCloseable closeable) {
        closeable.close();
      }
    } catch (Exception e) {
      throw new IllegalStateException("closing the fabric transport's block source failed", e);
    } finally {
      channel.close();
      receivePool.close();
      if (ownsSourceAndDomain) {
        domain.close();
      }
    }
  }

  private static void awaitStop(ExecutorService threads) {
    threads.shutdown();
    boolean interrupted = false;
    while (true) {
      try {
        if (threads.awaitTermination(10, TimeUnit.SECONDS)) {
          break;
        }
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
