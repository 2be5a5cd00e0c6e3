package org.efashuffle.fabric;

import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import jnr.ffi.Pointer;
import jnr.ffi.byref.LongLongByReference;

/**
 * A completion queue of {@code fi_cq_data_entry} and the buffer its entries are read into, and
 * the dispatch of each entry to its operation. Read by the progress thread only. Opened with a wait object where the provider has one, so that an
 * idle progress thread blocks in {@code fi_cq_sread} instead of spinning.
 */
final class CompletionQueue implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(CompletionQueue.class.getName());
  private static final int BATCH = 64;
  private static final int ENTRY_SIZE = 40; // op_context, flags, len, buf, data
  private static final int LEN_OFFSET = 16;
  /** What poll/await pass on when they read an error entry (never a libfabric return). */
  private static final long ERROR_READ = Long.MIN_VALUE;
  /**
   * Providers whose fi_cq_sread does not block: shm (libfabric 1.17) loops on sched_yield and
   * ignores the timeout, so an idle endpoint would burn a core. Their queues get no wait object.
   */
  private static final Set<String> SPINNING_WAIT = Set.of("shm");

  private final LibFabricShim.Api shim;
  private final long handle;
  private final boolean waitable;
  private final NativeMemory entries;
  private final Pointer entryView;
  private final byte[] errorText = new byte[512];
  private final LongLongByReference errorContext = new LongLongByReference();
  private final int[] errorNumber = new int[1];
  private final AtomicLong skipped = new AtomicLong();
  private final WarningLimiter warnings = new WarningLimiter(LOG);
  private boolean closed;

  private CompletionQueue(long handle, boolean waitable) {
    this.shim = Fabric.shim();
    this.handle = handle;
    this.waitable = waitable;
    this.entries = NativeMemory.allocate((long) BATCH * ENTRY_SIZE);
    this.entryView = Pointer.wrap(Fabric.library().runtime, entries.address(), entries.size());
  }

  static CompletionQueue open(FabricDomain domain, int size) {
    LibFabricShim.Api shim = Fabric.shim();
    LongLongByReference out = new LongLongByReference();
    boolean waitable = !SPINNING_WAIT.contains(domain.provider())
        && shim.efab_cq_open(domain.handle(), size, 1, out) == 0;
    if (!waitable) {
      Fabric.check(shim.efab_cq_open(domain.handle(), size, 0, out), "fi_cq_open on " + domain.provider());
    }
    return new CompletionQueue(out.longValue(), waitable);
  }

  long handle() {
    return handle;
  }

  /** Whether {@link #await} can block (the provider gave the queue a wait object). */
  boolean waitable() {
    return waitable;
  }

  /** Reads what has completed, without blocking, and completes its operations. */
  int poll(PendingOperations pending) {
    long ret = shim.efab_cq_read(handle, entries.address(), BATCH);
    if (ret == -Errno.EAVAIL) {
      ret = readError();
    }
    return dispatch(ret, pending, "fi_cq_read");
  }

  /** As {@link #poll}, but blocks up to timeoutMillis while nothing has completed. */
  int await(PendingOperations pending, int timeoutMillis) {
    long ret = shim.efab_cq_sread(handle, entries.address(), BATCH, timeoutMillis);
    if (ret == -Errno.EAVAIL) {
      ret = readError();
    }
    return dispatch(ret, pending, "fi_cq_sread");
  }

  /** Wakes the thread blocked in {@link #await}. */
  void signal() {
    Fabric.check(shim.efab_cq_signal(handle), "fi_cq_signal");
  }

  /**
   * One completion entry as dispatch sees it: a success with the reported length when error is
   * 0, else an error entry (positive FI_E*) with the provider's text. For the test seam
   * ({@link FabricEndpoint#injectCompletions}); real entries are read from native memory.
   */
  record Entry(long context, long length, int error, String text) {}

  /** Completes the operations of a batch of entries (the test seam's path into dispatch). */
  int dispatch(List<Entry> batch, PendingOperations pending) {
    for (Entry e : batch) {
      if (e.error() == 0) {
        completed(pending, e.context(), e.length());
      } else {
        failed(pending, e.context(), e.error(), e.text());
      }
    }
    return batch.size();
  }

  /** How many entries were skipped because their context was not a pending piece of ours. */
  long skippedEntries() {
    return skipped.get();
  }

  private int dispatch(long ret, PendingOperations pending, String call) {
    // EINTR: a signal reached the thread blocked in fi_cq_sread (the JVM's SIGCHLD when a child
    // process exits, for one). ECANCELED: fi_cq_signal woke fi_cq_sread (efa from libfabric 2.5,
    // sockets), where fi_cq(3) documents EAGAIN. Either way nothing completed: read again.
    if (ret == -Errno.EAGAIN || ret == -Errno.ETIMEDOUT || ret == -Errno.EINTR || ret == -Errno.ECANCELED) {
      return 0;
    }
    if (ret == ERROR_READ) {
      failed(pending, errorContext.longValue(), errorNumber[0], Fabric.cString(errorText));
      return 1;
    }
    int n = (int) Fabric.check(ret, call);
    for (int i = 0; i < n; i++) {
      completed(pending, entryView.getLong((long) i * ENTRY_SIZE),
          entryView.getLong((long) i * ENTRY_SIZE + LEN_OFFSET));
    }
    return n;
  }

  /*
   * Each entry is handled on its own: an entry that is not ours (ofi_rxm writes error entries
   * with a NULL op_context; efa 1.22 can hand a stale one) is logged and skipped, and an exception
   * while completing one operation fails that operation only. Neither ends the progress thread.
   */
  private void completed(PendingOperations pending, long context, long length) {
    Piece piece = pending.release(context);
    if (piece == null) {
      skip("a completion (" + length + " bytes) with context 0x" + Long.toHexString(context)
          + " that is no pending operation of this endpoint");
      return;
    }
    long moved;
    try {
      moved = piece.completedLength(length);
    } catch (Throwable t) {
      piece.operation.pieceFailed(t);
      if (t instanceof Error) {
        throw (Error) t; // the thread cannot go on: the endpoint reports it (FabricEndpoint.failure)
      }
      warnings.warn("completing " + piece.operation.name + " failed: " + t);
      return;
    }
    piece.operation.pieceDone(moved);
  }

  private void failed(PendingOperations pending, long context, int error, String text) {
    Piece piece = pending.release(context);
    if (piece == null) {
      skip("an error completion with context 0x" + Long.toHexString(context)
          + " that is no pending operation of this endpoint: " + text + " (FI errno " + error + ")");
      return;
    }
    piece.operation.pieceFailed(new FabricException(piece.call(), error, piece.operation.name + ": " + text));
  }

  private void skip(String what) {
    skipped.incrementAndGet();
    warnings.warn("skipped " + what);
  }

  /** Reads the next error entry into errorContext/errorNumber/errorText; returns ERROR_READ or -FI_EAGAIN. */
  private long readError() {
    int ret = shim.efab_cq_readerr(handle, errorContext, errorNumber, errorText, errorText.length);
    if (ret == -Errno.EAGAIN) {
      return ret;
    }
    Fabric.check(ret, "fi_cq_readerr");
    return ERROR_READ;
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      Fabric.check(shim.efab_cq_close(handle), "fi_close(cq)");
    } finally {
      entries.close();
    }
  }
}
