package org.efashuffle.fabric;

import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import jnr.ffi.byref.LongLongByReference;

/**
 * The event queue bound to an endpoint: where a provider reports errors of its own internal
 * operations (efa: a handshake that failed, a packet it cannot parse, receive buffers it could
 * not post), which the efa provider answers with abort() when no event queue is bound
 * (efa_base_ep_write_eq_error). The progress thread drains it: each error is logged at WARN;
 * one that leaves the endpoint unable to go on ends the endpoint (see {@link #endsEndpoint}).
 */
final class EventQueue implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(EventQueue.class.getName());
  private static final int SIZE = 64;
  /** prov_errno numbers of the efa provider start here (efa_errno.h, the same from 1.22 to 2.6). */
  static final int EFA_ERRNO_BASE = 4096;
  /** efa_errno.h's descriptions, from EFA_ERRNO_BASE on (fi_eq_strerror of the util EQ does not know them). */
  private static final String[] EFA_ERRORS = {
    "Unknown error", "Deprecated packet type encountered", "Invalid packet type encountered",
    "Unknown packet type encountered", "Failure to post packet", "Failure to send packet",
    "Error processing non-tagged RTM", "Error processing tagged RTM", "Packet already processed",
    "Out of memory", "MR deregistration error", "RX entry copy error", "RX entries exhausted",
    "TX entries exhausted", "Failure inserting address into address vector",
    "RMA address verification failed", "Failure to post internal receive buffers",
    "Failure posting handshake to peer", "Failure to post work request(s) to send queue",
    "RTM size mismatch", "Error posting read request", "Error posting RDMA read request",
    "Invalid data type encountered", "Failure to write send completion",
    "Failure to write receive completion", "Error reading from DGRAM CQ", "SHM internal error",
    "Failure to write CQ entry for SHM operation",
    "Unresponsive receiver (connection previously established)",
    "Invalid packet type received when zero copy recv mode is ON",
    "Unresponsive receiver (reachable by EFA device but handshake failed)",
  };
  /**
   * efa errors after which the endpoint cannot go on: out of memory, its receive buffers not
   * posted (it receives nothing more), a completion it could not write (an operation of ours
   * then never completes, and the queue overflowed). The others concern one peer or one message
   * (a handshake, a packet, a stale key): logged, and what they hold up times out.
   */
  private static final Set<Integer> EFA_ENDPOINT_FATAL = Set.of(
      4105, // OOM
      4112, // INTERNAL_RX_BUF_POST
      4119, // WRITE_SEND_COMP
      4120, // WRITE_RECV_COMP
      4122, // SHM_INTERNAL_ERROR
      4123); // WRITE_SHM_CQ_ENTRY

  private final LibFabricShim.Api shim;
  private final long handle;
  private final String owner;
  private final WarningLimiter warnings = new WarningLimiter(LOG);
  private final int[] error = new int[1];
  private final int[] providerErrno = new int[1];
  private final byte[] text = new byte[512];
  private final AtomicLong errors = new AtomicLong();
  private boolean closed;

  private EventQueue(long handle, String owner) {
    this.shim = Fabric.shim();
    this.handle = handle;
    this.owner = owner;
  }

  static EventQueue open(FabricDomain domain) {
    LongLongByReference out = new LongLongByReference();
    Fabric.check(Fabric.shim().efab_eq_open(domain.handle(), SIZE, out), "fi_eq_open on " + domain.provider());
    return new EventQueue(out.longValue(), domain.toString());
  }

  long handle() {
    return handle;
  }

  /**
   * Reads every event there is (progress thread only); logs each error entry. Throws a
   * {@link FabricException} carrying the error when one means the endpoint cannot go on.
   */
  void drain() {
    long ret;
    while ((ret = shim.efab_eq_read(handle, error, providerErrno, text, text.length)) != -Errno.EAGAIN) {
      if (ret >= 0) {
        warnings.warn("event queue of endpoint on " + owner + ": unexpected event " + ret + ", ignored");
        continue;
      }
      if (ret != -Errno.EAVAIL) {
        Fabric.check(ret, "fi_eq_read");
      }
      errors.incrementAndGet();
      String what = "event queue of endpoint on " + owner + " reports an error of the provider: "
          + describe(providerErrno[0], Fabric.cString(text));
      if (endsEndpoint(providerErrno[0])) {
        throw new FabricException("fi_eq_read", error[0], what + "; the endpoint cannot go on");
      }
      warnings.warn(what);
    }
  }

  /** The shim's text (fi_strerror, fi_eq_strerror), with efa's own description where it is one of efa's. */
  static String describe(int providerErrno, String text) {
    int i = providerErrno - EFA_ERRNO_BASE;
    return i >= 0 && i < EFA_ERRORS.length ? text + " [efa: " + EFA_ERRORS[i] + "]" : text;
  }

  /**
   * Whether an error entry means the endpoint cannot go on: one of the efa errors in
   * {@link #EFA_ENDPOINT_FATAL}. No other provider here uses prov_errno numbers from 4096 (theirs
   * are the system's errno values).
   */
  static boolean endsEndpoint(int providerErrno) {
    return EFA_ENDPOINT_FATAL.contains(providerErrno);
  }

  /** Error entries read so far. */
  long errors() {
    return errors.get();
  }

  /** Test seam: writes an error entry into the queue as a provider does. */
  void injectError(int err, int providerErrno) {
    Fabric.check(shim.efab_eq_inject_error(handle, err, providerErrno), "fi_eq_write");
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    Fabric.check(shim.efab_eq_close(handle), "fi_close(eq)");
  }
}
