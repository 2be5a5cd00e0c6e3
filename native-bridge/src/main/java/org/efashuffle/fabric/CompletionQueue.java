package org.efashuffle.fabric;

import java.util.Set;
import jnr.ffi.Pointer;
import jnr.ffi.byref.LongLongByReference;

/**
 * A completion queue of {@code fi_cq_data_entry} and the buffer its entries are read into. Read
 * by the progress thread only. Opened with a wait object where the provider has one, so that an
 * idle progress thread blocks in {@code fi_cq_sread} instead of spinning.
 */
final class CompletionQueue implements AutoCloseable {
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

  private int dispatch(long ret, PendingOperations pending, String call) {
    if (ret == -Errno.EAGAIN || ret == -Errno.ETIMEDOUT || ret == -Errno.EINTR) { // EINTR: a signal (SIGSTOP/SIGCONT) woke the wait
      return 0;
    }
    if (ret == ERROR_READ) {
      Piece piece = pending.release(errorContext.longValue());
      piece.operation.pieceFailed(new FabricException(piece.call(), errorNumber[0],
          piece.operation.name + ": " + Fabric.cString(errorText)));
      return 1;
    }
    int n = (int) Fabric.check(ret, call);
    for (int i = 0; i < n; i++) {
      long context = entryView.getLong((long) i * ENTRY_SIZE);
      long length = entryView.getLong((long) i * ENTRY_SIZE + LEN_OFFSET);
      Piece piece = pending.release(context);
      piece.operation.pieceDone(piece.completedLength(length));
    }
    return n;
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
