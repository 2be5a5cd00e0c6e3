package org.efashuffle.fabric;

import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import jnr.ffi.byref.LongLongByReference;

/**
 * A reliable-datagram endpoint (FI_EP_RDM) with its completion queue, address vector and progress
 * thread. Operations are posted from any thread and return futures; the progress thread reads
 * completions and completes them, so callbacks on those futures run on the progress thread and
 * must not block. The progress thread also keeps the endpoint serving peers' reads (software
 * providers, and EFA's emulated reads, need the target to make progress). When idle it blocks in
 * {@code fi_cq_sread} (or, where the provider has no wait object, parks with a growing back-off).
 *
 * <p>Buffers: the caller owns every {@link MemoryRegion} passed in and must keep it registered
 * until the operation's future is done.
 */
public final class FabricEndpoint implements AutoCloseable {
  /** EFA moves at most 1 GiB in one device read; larger reads are cut into pieces of this size. */
  static final long MAX_PIECE = 1L << 30;
  private static final int BLOCK_MILLIS = 100;
  private static final long EXPIRY_CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
  private static final long MAX_PARK_NANOS = TimeUnit.MILLISECONDS.toNanos(1);

  private final FabricDomain domain;
  private final EndpointConfig config;
  private final LibFabricShim.Api shim;
  private final CompletionQueue cq;
  private final long av;
  private final long ep;
  private final PendingOperations pending;
  private final ConcurrentLinkedQueue<Piece> backlog = new ConcurrentLinkedQueue<>();
  private final AtomicLong posts = new AtomicLong();
  private final long pieceSize;
  private final byte[] address;
  private final Thread progress;
  private volatile boolean sleeping;
  private volatile boolean closing;
  private boolean closed;

  private FabricEndpoint(FabricDomain domain, EndpointConfig config, CompletionQueue cq, long av,
      long ep, PendingOperations pending) {
    this.domain = domain;
    this.config = config;
    this.shim = Fabric.shim();
    this.cq = cq;
    this.av = av;
    this.ep = ep;
    this.pending = pending;
    this.pieceSize = Math.min(Math.min(MAX_PIECE, config.maxReadPiece()), domain.maxMessageSize());
    this.address = readAddress();
    this.progress = new Thread(this::progressLoop, "efa-fabric-progress-" + domain.provider());
    this.progress.setDaemon(true);
    this.progress.start();
  }

  static FabricEndpoint open(FabricDomain domain, EndpointConfig config) {
    LibFabricShim.Api shim = Fabric.shim();
    PendingOperations pending = new PendingOperations(config.maxInFlight());
    CompletionQueue cq = null;
    long av = 0;
    try {
      cq = CompletionQueue.open(domain, config.completionQueueSize());
      LongLongByReference out = new LongLongByReference();
      Fabric.check(shim.efab_av_open(domain.handle(), config.addressVectorSize(), out), "fi_av_open");
      av = out.longValue();
      Fabric.check(shim.efab_ep_open(domain.handle(), cq.handle(), av, out), "fi_endpoint on " + domain);
      return new FabricEndpoint(domain, config, cq, av, out.longValue(), pending);
    } catch (RuntimeException e) {
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

  private byte[] readAddress() {
    byte[] buf = new byte[256];
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

  /** Adds a peer's address to the address vector; returns the handle operations take. */
  public long insertPeer(byte[] peerAddress) {
    LongLongByReference out = new LongLongByReference();
    Fabric.check(shim.efab_av_insert(av, peerAddress, out), "fi_av_insert");
    return out.longValue();
  }

  public void removePeer(long peer) {
    Fabric.check(shim.efab_av_remove(av, peer), "fi_av_remove");
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
      empty.pieceDone(0);
      return empty.future;
    }
    int pieces = (int) ((length + pieceSize - 1) / pieceSize);
    Operation op = new Operation("read of " + length + " bytes from peer " + peer, pieces, deadline(), true);
    for (long done = 0; done < length; done += pieceSize) {
      long n = Math.min(pieceSize, length - done);
      long buf = local.address() + localOffset + done;
      long raddr = remoteAddress + done;
      submit(new Piece(op) {
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
    Operation op = new Operation("send of " + length + " bytes to peer " + peer, 1, deadline(), true);
    long buf = local.address() + offset;
    submit(new Piece(op) {
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
    submit(new Piece(op) {
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

  private void submit(Piece piece) {
    if (closing) {
      piece.operation.fail(new IllegalStateException("endpoint " + domain + " is closed"));
      return;
    }
    if (!backlog.isEmpty() || !tryPost(piece)) {
      backlog.add(piece);
    }
    posts.incrementAndGet();
    if (sleeping) {
      wake();
    }
  }

  /** Posts a piece; false when libfabric (or our context table) is full and it must wait. */
  private boolean tryPost(Piece piece) {
    if (!piece.operation.beginPost()) {
      return true; // failed already (another piece's error or a timeout): nothing to post
    }
    long context = pending.acquire(piece);
    if (context == 0) {
      piece.operation.endPost();
      return false;
    }
    long ret = piece.post(shim, context);
    if (ret == 0) {
      return true;
    }
    pending.release(context);
    piece.operation.endPost();
    if (ret == -Errno.EAGAIN) {
      return false;
    }
    piece.operation.fail(new FabricException(piece.call(), (int) -ret,
        piece.operation.name + ": " + Fabric.strerror((int) -ret)));
    return true;
  }

  private void wake() {
    if (cq.waitable()) {
      cq.signal();
    } else {
      LockSupport.unpark(progress);
    }
  }

  private void progressLoop() {
    long lastActivity = System.nanoTime();
    long nextExpiry = lastActivity + EXPIRY_CHECK_NANOS;
    long parkNanos = 1_000;
    long spinNanos = config.spin().toNanos();
    try {
      while (!closing) {
        long seenPosts = posts.get();
        int completed = cq.poll(pending) + retryBacklog();
        long now = System.nanoTime();
        if (completed > 0) {
          lastActivity = now;
          parkNanos = 1_000;
          continue;
        }
        if (now - nextExpiry > 0) {
          pending.expire(now);
          expireBacklog(now);
          nextExpiry = now + EXPIRY_CHECK_NANOS;
        }
        if (now - lastActivity < spinNanos) {
          Thread.onSpinWait();
          continue;
        }
        sleeping = true;
        if (posts.get() != seenPosts || closing) {
          sleeping = false;
          lastActivity = System.nanoTime(); // a post arrived: its completion is likely near
          continue;
        }
        if (cq.waitable()) {
          completed = cq.await(pending, BLOCK_MILLIS);
        } else if (pending.isEmpty() && backlog.isEmpty()) {
          LockSupport.parkNanos(this, parkNanos);
          parkNanos = Math.min(parkNanos * 2, MAX_PARK_NANOS);
        } else {
          Thread.yield(); // work in flight and no wait object: keep polling, but share the core
        }
        sleeping = false;
        if (completed > 0) {
          lastActivity = System.nanoTime();
        }
      }
    } catch (Throwable t) {
      closing = true;
      FabricException dead = new FabricException("progress", 0, "progress thread of " + domain + " died: " + t);
      dead.initCause(t);
      pending.failAll(dead);
      failBacklog(dead);
    }
  }

  private int retryBacklog() {
    int posted = 0;
    Piece piece;
    while ((piece = backlog.peek()) != null) {
      if (!tryPost(piece)) {
        break;
      }
      backlog.poll();
      posted++;
    }
    return posted;
  }

  private void expireBacklog(long now) {
    for (Piece piece : backlog) {
      if (piece.operation.expired(now)) {
        piece.operation.fail(new FabricException(piece.call(), Errno.ETIMEDOUT,
            piece.operation.name + ": not posted before the operation timeout"));
      }
    }
  }

  private void failBacklog(RuntimeException cause) {
    Piece piece;
    while ((piece = backlog.poll()) != null) {
      piece.operation.fail(cause);
    }
  }

  /**
   * Stops the progress thread, closes the endpoint, address vector and completion queue (reverse
   * order of creation) and fails what was still pending. Idempotent.
   */
  @Override
  public void close() {
    if (Thread.currentThread() == progress) {
      throw new IllegalStateException("an endpoint cannot be closed from its own progress thread (a callback)");
    }
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    closing = true;
    wake();
    boolean interrupted = false;
    while (progress.isAlive()) {
      try {
        progress.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    domain.closed(this);
    IllegalStateException cause = new IllegalStateException("endpoint " + domain + " closed");
    try {
      Fabric.check(shim.efab_ep_close(ep), "fi_close(ep)");
      Fabric.check(shim.efab_av_close(av), "fi_close(av)");
      cq.close();
    } finally {
      pending.releaseAll(cause); // the endpoint is closed: libfabric holds none of their memory now
      failBacklog(cause);
      pending.close();
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
