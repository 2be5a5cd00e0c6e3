package org.efashuffle.fabric;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongPredicate;
import jnr.ffi.byref.LongLongByReference;

/**
 * A reliable-datagram endpoint (FI_EP_RDM) with its completion queue, address vector, event queue
 * (where the provider takes one) and progress thread. Operations are posted from any thread and return futures; the progress thread reads
 * completions and completes them, so callbacks on those futures run on the progress thread and
 * must not block. The progress thread also keeps the endpoint serving peers' reads (software
 * providers, and EFA's emulated reads, need the target to make progress). When idle it blocks in
 * {@code fi_cq_sread}; where the provider has no wait object it parks with a back-off growing to
 * {@link #MAX_BUSY_PARK_NANOS} while a read or send is in flight or the endpoint was active in the
 * last {@link #RECENT_ACTIVITY_NANOS}, else to 1 ms (posted receives wait for peers and are not
 * work in flight). It drains the event queue every {@link #EXPIRY_CHECK_NANOS} and retries posts
 * that wait in their destination's queue ({@link PostBacklog}) after completions.
 *
 * <p>Buffers: the caller owns every {@link MemoryRegion} passed in and must keep it registered
 * (and its memory mapped) until the operation has settled ({@link FabricOperation#settled()}).
 *
 * <p>Closing: {@link #close()} may run while other threads post or insert peers; calls that have
 * entered libfabric finish first, later ones fail with an {@link IllegalStateException} naming
 * the endpoint (posts: their future fails with it).
 */
public final class FabricEndpoint implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(FabricEndpoint.class.getName());
  /** EFA moves at most 1 GiB in one device read; larger reads are cut into pieces of this size. */
  static final long MAX_PIECE = 1L << 30;
  private static final int BLOCK_MILLIS = 100;
  /** The longest address read or accepted (shm's name buffer, SMR_NAME_MAX). */
  private static final int MAX_ADDRESS = 256;
  private static final long EXPIRY_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long MIN_PARK_NANOS = 1_000;
  /** Longest park while idle (nothing in flight but posted receives): an incoming message waits at most this. */
  private static final long MAX_IDLE_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /**
   * Longest park while a read or send is in flight, or shortly after activity, and the provider
   * has no wait object: what a completion or an arriving message may wait before it is read.
   */
  static final long MAX_BUSY_PARK_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
  /**
   * After this long without a completion or post, an endpoint counts as idle and parks up to
   * 1 ms; before, a peer's next message (an answer, the next request) is likely.
   */
  static final long RECENT_ACTIVITY_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final AtomicInteger THREADS = new AtomicInteger();
  private static final ThreadMXBean THREAD_CPU = ManagementFactory.getThreadMXBean();
  /** Providers whose endpoints were found to take no event queue (logged once each). */
  private static final Set<String> NO_EVENT_QUEUE = ConcurrentHashMap.newKeySet();

  private final FabricDomain domain;
  private final EndpointConfig config;
  private final LibFabricShim.Api shim;
  private final CompletionQueue cq;
  private final long av;
  /** Null where the provider gives the endpoint none. */
  private final EventQueue eq;
  private final long ep;
  private final ReadEmulation readEmulation;
  private final PendingOperations pending;
  private final PostBacklog backlog = new PostBacklog();
  private final AtomicLong posts = new AtomicLong();
  /** Reads and sends whose future has not completed: work the progress thread waits for. */
  private final AtomicInteger timedInFlight = new AtomicInteger();
  private final ConcurrentLinkedQueue<List<CompletionQueue.Entry>> injected = new ConcurrentLinkedQueue<>();
  private final CompletableFuture<Throwable> failure = new CompletableFuture<>();
  private final UseCount uses;
  private final long pieceSize;
  private final byte[] address;
  private final Thread progress;
  private volatile boolean sleeping;
  private volatile LongPredicate backOff;
  /** Set when close() begins or the progress thread has died: nothing more is posted. */
  private volatile boolean closing;

  private FabricEndpoint(FabricDomain domain, EndpointConfig config, CompletionQueue cq, long av,
      EventQueue eq, long ep, PendingOperations pending) {
    this.domain = domain;
    this.config = config;
    this.shim = Fabric.shim();
    this.cq = cq;
    this.av = av;
    this.eq = eq;
    this.ep = ep;
    this.pending = pending;
    this.uses = new UseCount(() -> "endpoint on " + domain);
    this.pieceSize = Math.min(Math.min(MAX_PIECE, config.maxReadPiece()), domain.maxMessageSize());
    this.address = readAddress();
    this.readEmulation = ReadEmulation.ask(domain.provider(), shim, ep);
    this.progress = new Thread(this::progressLoop,
        "efa-fabric-progress-" + domain.provider() + "-" + THREADS.incrementAndGet());
    this.progress.setDaemon(true);
    this.progress.start();
  }

  static FabricEndpoint open(FabricDomain domain, EndpointConfig config) {
    LibFabricShim.Api shim = Fabric.shim();
    PendingOperations pending = new PendingOperations(config.maxInFlight());
    CompletionQueue cq = null;
    long av = 0;
    EventQueue eq = null;
    long ep = 0;
    try {
      cq = CompletionQueue.open(domain, config.completionQueueSize());
      LongLongByReference out = new LongLongByReference();
      Fabric.check(shim.efab_av_open(domain.handle(), config.addressVectorSize(), out), "fi_av_open");
      av = out.longValue();
      eq = openEventQueue(domain);
      int[] eqBound = new int[1];
      Fabric.check(shim.efab_ep_open(domain.handle(), cq.handle(), av, eq == null ? 0 : eq.handle(), out, eqBound),
          "fi_endpoint on " + domain);
      ep = out.longValue();
      if (eq != null && eqBound[0] != 0) {
        noEventQueue(domain, "fi_ep_bind", eqBound[0]);
        eq.close();
        eq = null;
      }
      return new FabricEndpoint(domain, config, cq, av, eq, ep, pending);
    } catch (RuntimeException e) {
      if (ep != 0) {
        shim.efab_ep_close(ep);
      }
      if (eq != null) {
        eq.close();
      }
      if (av != 0) {
        shim.efab_av_close(av);
      }
      if (cq != null) {
        cq.close();
      }
      pending.close();
      throw e;
    }
  }

  /** An event queue for a new endpoint, or null where the provider has none (logged once per provider). */
  private static EventQueue openEventQueue(FabricDomain domain) {
    try {
      return EventQueue.open(domain);
    } catch (FabricException e) {
      noEventQueue(domain, "fi_eq_open", -e.errno());
      return null;
    }
  }

  private static void noEventQueue(FabricDomain domain, String call, int ret) {
    if (NO_EVENT_QUEUE.add(domain.provider())) {
      LOG.log(System.Logger.Level.WARNING, "provider " + domain.provider() + " gives its endpoints no event queue ("
          + call + ": " + Fabric.strerror(ret) + "): they go on without, and errors of the provider's internal "
          + "operations go unreported");
    }
  }

  private byte[] readAddress() {
    byte[] buf = new byte[MAX_ADDRESS];
    LongLongByReference len = new LongLongByReference(buf.length);
    Fabric.check(shim.efab_ep_getname(ep, buf, len), "fi_getname");
    return Arrays.copyOf(buf, (int) len.longValue());
  }

  public FabricDomain domain() {
    return domain;
  }

  /** This endpoint's address, as peers pass it to {@link #insertPeer}. */
  public byte[] address() {
    return address.clone();
  }

  /** Whether an event queue is bound (the provider's internal errors are reported and drained, not abort()ed). */
  public boolean eventQueueBound() {
    return eq != null;
  }

  /** Whether reads run on the device or are emulated (efa), or {@link ReadEmulation#NOT_APPLICABLE}. */
  public ReadEmulation readEmulation() {
    return readEmulation;
  }

  /**
   * What the executor's start line shows: provider, fabric, domain, the libfabric loaded, reads
   * and the event queue, e.g. {@code provider efa, fabric efa, domain rdmap16s27-rdm, libfabric
   * 2.3, reads on the device, event queue bound}.
   */
  public String describe() {
    return "provider " + domain.provider() + ", fabric " + domain.fabricName() + ", domain " + domain.name()
        + ", libfabric " + Fabric.runtimeVersion() + ", " + readEmulation + ", "
        + (eq != null ? "event queue bound" : "no event queue");
  }

  long handle() {
    return ep;
  }

  /**
   * Adds a peer's address to the address vector; returns the handle operations take. A binary
   * address must have this endpoint's own address length (fi_av_insert reads that many bytes
   * whatever the array holds), a name (shm) must end at its only NUL byte and fit the name
   * buffer: anything else is refused with an IllegalArgumentException before it reaches libfabric.
   */
  public long insertPeer(byte[] peerAddress) {
    checkPeerAddress(peerAddress);
    LongLongByReference out = new LongLongByReference();
    uses.enter();
    try {
      Fabric.check(shim.efab_av_insert(av, peerAddress, out), "fi_av_insert");
    } finally {
      uses.exit();
    }
    return out.longValue();
  }

  private void checkPeerAddress(byte[] peer) {
    if (domain.stringAddresses()) {
      int nul = 0;
      while (nul < peer.length && peer[nul] != 0) {
        nul++;
      }
      if (peer.length > MAX_ADDRESS || nul != peer.length - 1) {
        throw new IllegalArgumentException("peer address of " + peer.length + " bytes refused: "
            + domain.provider() + " addresses are names ending at their only NUL byte, at most "
            + MAX_ADDRESS + " bytes (this endpoint's is " + address.length + " bytes)");
      }
    } else if (peer.length != address.length) {
      throw new IllegalArgumentException("peer address of " + peer.length + " bytes refused: "
          + domain.provider() + " addresses are " + address.length + " bytes (this endpoint's length)");
    }
  }

  public void removePeer(long peer) {
    uses.enter();
    try {
      Fabric.check(shim.efab_av_remove(av, peer), "fi_av_remove");
    } finally {
      uses.exit();
    }
  }

  /**
   * Reads {@code length} bytes at {@code remoteAddress} of {@code peer}'s region with {@code key}
   * into {@code local} at {@code localOffset}, in pieces where longer than the provider allows.
   * The future completes with the length once every byte has arrived.
   */
  public FabricOperation read(MemoryRegion local, long localOffset, long length, long peer,
      long remoteAddress, long key) {
    local.checkRange(localOffset, length);
    if (length == 0) {
      Operation empty = new Operation("empty read", 1, 0, false);
      empty.beginPost();
      empty.pieceDone(0);
      return empty.future;
    }
    int pieces = (int) ((length + pieceSize - 1) / pieceSize);
    Operation op = timed(new Operation("read of " + length + " bytes from peer " + peer, pieces, deadline(), true));
    for (long done = 0; done < length; done += pieceSize) {
      long n = Math.min(pieceSize, length - done);
      long buf = local.address() + localOffset + done;
      long raddr = remoteAddress + done;
      submit(new Piece(op, local, peer) {
        @Override
        long post(LibFabricShim.Api s, long context) {
          return s.efab_read(ep, buf, n, local.descriptor(), peer, raddr, key, context);
        }

        @Override
        String call() {
          return "fi_read";
        }

        @Override
        long completedLength(long reportedLength) {
          return n;
        }
      });
    }
    return op.future;
  }

  /** Sends [offset, offset + length) of {@code local} to {@code peer} as one message. */
  public FabricOperation send(MemoryRegion local, long offset, long length, long peer) {
    local.checkRange(offset, length);
    checkMessageLength(length);
    Operation op = timed(new Operation("send of " + length + " bytes to peer " + peer, 1, deadline(), true));
    long buf = local.address() + offset;
    submit(new Piece(op, local, peer) {
      @Override
      long post(LibFabricShim.Api s, long context) {
        return s.efab_send(ep, buf, length, local.descriptor(), peer, context);
      }

      @Override
      String call() {
        return "fi_send";
      }

      @Override
      long completedLength(long reportedLength) {
        return length;
      }
    });
    return op.future;
  }

  /**
   * Posts [offset, offset + length) of {@code local} to receive one message from any peer; the
   * future completes with the message's length. A posted receive waits without timeout.
   */
  public FabricOperation receive(MemoryRegion local, long offset, long length) {
    local.checkRange(offset, length);
    checkMessageLength(length);
    Operation op = new Operation("receive into " + length + " bytes", 1, 0, false);
    long buf = local.address() + offset;
    submit(new Piece(op, local, Piece.ANY_SOURCE) {
      @Override
      long post(LibFabricShim.Api s, long context) {
        return s.efab_recv(ep, buf, length, local.descriptor(), context);
      }

      @Override
      String call() {
        return "fi_recv";
      }
    });
    return op.future;
  }

  private void checkMessageLength(long length) {
    if (length > domain.maxMessageSize()) {
      throw new IllegalArgumentException("message of " + length + " bytes exceeds " + domain.provider()
          + "'s max_msg_size " + domain.maxMessageSize());
    }
  }

  private long deadline() {
    return System.nanoTime() + config.operationTimeout().toNanos();
  }

  /** Counts a read or send as work in flight until its future completes (success, error or timeout). */
  private Operation timed(Operation op) {
    timedInFlight.incrementAndGet();
    op.future.whenComplete((length, error) -> timedInFlight.decrementAndGet());
    return op;
  }

  private void submit(Piece piece) {
    if (closing || uses.isClosed()) {
      piece.operation.fail(closedCause());
      return;
    }
    if (backlog.isWaiting(piece.destination) || tryPost(piece) != PostBacklog.Outcome.DONE) {
      backlog.add(piece);
      if (closing || uses.isClosed()) {
        backlog.failAll(closedCause()); // close (or the progress thread's end) may have drained the backlog before the add
      }
    } else if (failure.isDone()) {
      pending.failAll(closedCause()); // posted as the progress thread died: nothing would complete it
    }
    posts.incrementAndGet();
    if (sleeping && uses.tryEnter()) {
      try {
        wake();
      } finally {
        uses.exit();
      }
    }
  }

  private RuntimeException closedCause() {
    Throwable died = failure.getNow(null);
    if (died != null) {
      return new IllegalStateException("endpoint on " + domain + " stopped: its progress thread died", died);
    }
    return uses.closedException();
  }

  /**
   * Posts a piece: DONE when posted or failed for good, AGAIN when libfabric answered -FI_EAGAIN
   * (its destination in back-off, or the provider's queue full), FULL when every context slot
   * is taken. The post
   * runs inside the use counts of this endpoint and of the piece's region, so a close waits for
   * it; a piece whose endpoint or region is closed fails instead. Operations are failed outside
   * the use counts (their callbacks may close the endpoint).
   */
  private PostBacklog.Outcome tryPost(Piece piece) {
    if (!piece.operation.beginPost()) {
      return PostBacklog.Outcome.DONE; // failed already (another piece's error or a timeout): nothing to post
    }
    long context = pending.acquire(piece);
    if (context == 0) {
      piece.operation.endPost();
      return PostBacklog.Outcome.FULL;
    }
    RuntimeException refused = null;
    long ret = 0;
    if (!uses.tryEnter()) {
      refused = closedCause();
    } else {
      try {
        if (!piece.region.uses().tryEnter()) {
          refused = piece.region.uses().closedException();
        } else {
          try {
            LongPredicate held = backOff;
            ret = held != null && held.test(piece.destination) ? -Errno.EAGAIN : piece.post(shim, context);
          } finally {
            piece.region.uses().exit();
          }
        }
      } finally {
        uses.exit();
      }
    }
    if (refused == null && ret == 0) {
      return PostBacklog.Outcome.DONE;
    }
    pending.release(context);
    piece.operation.endPost();
    if (refused != null) {
      piece.operation.fail(refused);
      return PostBacklog.Outcome.DONE;
    }
    if (ret == -Errno.EAGAIN) {
      return PostBacklog.Outcome.AGAIN;
    }
    piece.operation.fail(new FabricException(piece.call(), (int) -ret,
        piece.operation.name + ": " + Fabric.strerror((int) -ret)));
    return PostBacklog.Outcome.DONE;
  }

  private void wake() {
    if (cq.waitable()) {
      cq.signal();
    } else {
      LockSupport.unpark(progress);
    }
  }

  /**
   * Completes with the cause when the progress thread stops for any reason other than
   * {@link #close()} (the endpoint can then complete nothing more: callers stop using it; its
   * pending operations have failed). Never completes for an endpoint that ends by close().
   */
  public CompletableFuture<Throwable> failure() {
    return failure;
  }

  /**
   * CPU time the progress thread has used, in nanoseconds (ThreadMXBean); -1 when the JVM does
   * not measure thread CPU time or the thread has ended.
   */
  public long progressCpuNanos() {
    return THREAD_CPU.isThreadCpuTimeSupported() ? THREAD_CPU.getThreadCpuTime(progress.getId()) : -1;
  }

  /**
   * Test seam: the progress thread dispatches {@code batch} as if one fi_cq_read had returned it
   * (ofi_rxm and efa cannot be made to write NULL-context or stale entries on demand).
   */
  void injectCompletions(List<CompletionQueue.Entry> batch) {
    injected.add(List.copyOf(batch));
    LockSupport.unpark(progress);
    if (cq.waitable() && uses.tryEnter()) {
      try {
        cq.signal();
      } finally {
        uses.exit();
      }
    }
  }

  /**
   * Test seam: posts to a destination for which {@code inBackOff} holds get -FI_EAGAIN without
   * reaching libfabric, as the efa provider answers while that peer is in RNR back-off.
   */
  void backOff(LongPredicate inBackOff) {
    backOff = inBackOff;
    LockSupport.unpark(progress);
  }

  /** Test seam: the provider writes an error entry into the endpoint's event queue (which must be bound). */
  void injectEventError(int err, int providerErrno) {
    uses.enter();
    try {
      eq.injectError(err, providerErrno);
    } finally {
      uses.exit();
    }
  }

  /** Test seam: error entries read from the event queue so far. */
  long eventErrors() {
    return eq == null ? 0 : eq.errors();
  }

  /** Test seam: takes a context slot for {@code piece} as a post would, without posting anything. */
  long holdContext(Piece piece) {
    return pending.acquire(piece);
  }

  /** Test seam: whether the progress thread is idle (blocked in fi_cq_sread, or parked). */
  boolean sleeping() {
    return sleeping;
  }

  /** Whether an idle progress thread blocks in fi_cq_sread (the provider gave the queue a wait object). */
  boolean blocksInCompletionQueue() {
    return cq.waitable();
  }

  /** Test seam: entries skipped because their context was not a pending operation of ours. */
  long skippedCompletions() {
    return cq.skippedEntries();
  }

  private int dispatchInjected() {
    int n = 0;
    List<CompletionQueue.Entry> batch;
    while ((batch = injected.poll()) != null) {
      n += cq.dispatch(batch, pending);
    }
    return n;
  }

  private void progressLoop() {
    long lastActivity = System.nanoTime();
    long nextExpiry = lastActivity + EXPIRY_CHECK_NANOS;
    long parkNanos = MIN_PARK_NANOS;
    long spinNanos = config.spin().toNanos();
    try {
      while (!closing) {
        long seenPosts = posts.get();
        int completed = cq.poll(pending) + dispatchInjected() + retryBacklog();
        long now = System.nanoTime();
        if (now - nextExpiry > 0) { // also under load: a busy endpoint still times out and hears errors
          pending.expire(now);
          backlog.expire(now);
          if (eq != null) {
            eq.drain(); // throws when an error leaves the endpoint unable to go on
          }
          nextExpiry = now + EXPIRY_CHECK_NANOS;
        }
        if (completed > 0) {
          lastActivity = now;
          parkNanos = MIN_PARK_NANOS;
          continue;
        }
        if (now - lastActivity < spinNanos) {
          Thread.onSpinWait();
          continue;
        }
        sleeping = true;
        if (posts.get() != seenPosts || closing || !injected.isEmpty()) {
          sleeping = false;
          lastActivity = System.nanoTime(); // a post arrived: its completion is likely near
          parkNanos = MIN_PARK_NANOS;
          continue;
        }
        if (cq.waitable()) {
          // Posts waiting for a peer's back-off to end are retried within a millisecond, not
          // only after the next completion.
          completed = cq.await(pending, backlog.isEmpty() ? BLOCK_MILLIS : 1);
        } else {
          // No wait object: park. Posted receives alone are no reason to poll hard: they wait
          // for peers, who may send nothing for minutes.
          boolean busy = timedInFlight.get() > 0 || !backlog.isEmpty() || now - lastActivity < RECENT_ACTIVITY_NANOS;
          long cap = busy ? MAX_BUSY_PARK_NANOS : MAX_IDLE_PARK_NANOS;
          LockSupport.parkNanos(this, Math.min(parkNanos, cap));
          parkNanos = Math.min(parkNanos * 2, cap);
        }
        sleeping = false;
        if (completed > 0) {
          lastActivity = System.nanoTime();
          parkNanos = MIN_PARK_NANOS;
        }
      }
    } catch (Throwable t) {
      FabricException dead = new FabricException("progress", 0, "progress thread of " + domain + " died: " + t);
      dead.initCause(t);
      closing = true;
      failure.complete(t);
      LOG.log(System.Logger.Level.ERROR, "fabric endpoint on " + domain + " stopped: its progress thread died", t);
      pending.failAll(dead);
      backlog.failAll(dead);
    }
  }

  private int retryBacklog() {
    return backlog.isEmpty() ? 0 : backlog.retry(this::tryPost);
  }

  /**
   * Stops the progress thread, closes the endpoint, address vector and completion queue (reverse
   * order of creation) and fails what was still pending. Waits for posts and peer inserts that
   * other threads have inside libfabric; later ones fail. Idempotent.
   */
  @Override
  public void close() {
    if (!domain.uses().tryEnter()) {
      return; // the domain is closed, and closed this endpoint first
    }
    try {
      closeHeld();
    } finally {
      domain.uses().exit();
    }
  }

  /** Close for a caller inside the domain's use count (the domain stays open until it is done). */
  void closeHeld() {
    if (Thread.currentThread() == progress) {
      throw new IllegalStateException("an endpoint cannot be closed from its own progress thread (a callback)");
    }
    if (!uses.close()) {
      return;
    }
    closing = true;
    wake(); // the completion queue is still open: only this close frees it, below
    boolean interrupted = false;
    while (progress.isAlive()) {
      try {
        progress.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    domain.closed(this);
    IllegalStateException cause = uses.closedException();
    try {
      Fabric.check(shim.efab_ep_close(ep), "fi_close(ep)");
      if (eq != null) {
        eq.close();
      }
      Fabric.check(shim.efab_av_close(av), "fi_close(av)");
      cq.close();
    } finally {
      pending.releaseAll(cause); // the endpoint is closed: libfabric holds none of their memory now
      backlog.failAll(cause);
      pending.close();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
