package org.efashuffle.fabric;

import jnr.ffi.annotations.IgnoreError;
import jnr.ffi.annotations.Out;
import jnr.ffi.byref.LongLongByReference;

/**
 * The C shim (native-bridge/src/main/c), as jnr-ffi binds it. Handles and addresses travel as
 * {@code long}; every int/long return is 0 (or a count) or {@code -FI_E*}. Only the wrappers in
 * this package call it, and they check every return.
 */
final class LibFabricShim {
  static final int EFAB_DOMAIN = 0;
  static final int EFAB_CQ = 1;
  static final int EFAB_AV = 2;
  static final int EFAB_EP = 3;
  static final int EFAB_MR = 4;
  static final int EFAB_MEMORY = 5;
  static final int EFAB_EQ = 6;

  /** Registration access bits (rdma/fabric.h). */
  static final long FI_READ = 1L << 8;
  static final long FI_RECV = 1L << 10;
  static final long FI_SEND = 1L << 11;
  static final long FI_REMOTE_READ = 1L << 12;

  private LibFabricShim() {}

  /** Public only because jnr-ffi implements it from another class loader; the class is not. */
  @IgnoreError
  public interface Api {

    long efab_open_objects(int kind);

    void efab_strerror(int errnum, @Out byte[] buf, long len);

    int efab_runtime_version();

    long efab_signal_handlers_restored();

    long efab_signal_handler(int signum);

    int efab_list_entries(int version, String provider, @Out byte[] buf, long len);

    int efab_domain_open(int version, String provider, String fabricName, String domainName,
        @Out LongLongByReference out);

    int efab_domain_close(long domain);

    String efab_domain_provider(long domain);

    String efab_domain_fabric_name(long domain);

    String efab_domain_name(long domain);

    long efab_domain_mr_mode(long domain);

    long efab_domain_mr_key_size(long domain);

    long efab_domain_mr_count(long domain);

    long efab_domain_max_msg_size(long domain);

    long efab_domain_tx_size(long domain);

    long efab_domain_rx_size(long domain);

    int efab_domain_addr_format(long domain);

    int efab_cq_open(long domain, long size, int wait, @Out LongLongByReference out);

    int efab_cq_close(long cq);

    long efab_cq_read(long cq, long buf, long count);

    long efab_cq_sread(long cq, long buf, long count, int timeoutMs);

    int efab_cq_signal(long cq);

    int efab_cq_readerr(long cq, @Out LongLongByReference context, @Out int[] err, @Out byte[] msg, long msgLen);

    int efab_av_open(long domain, long count, @Out LongLongByReference out);

    int efab_av_close(long av);

    int efab_av_insert(long av, byte[] address, @Out LongLongByReference fiAddr);

    int efab_av_remove(long av, long fiAddr);

    int efab_eq_open(long domain, long size, @Out LongLongByReference out);

    int efab_eq_close(long eq);

    long efab_eq_read(long eq, @Out int[] err, @Out int[] provErrno, @Out byte[] msg, long msgLen);

    int efab_eq_inject_error(long eq, int err, int provErrno);

    int efab_ep_open(long domain, long cq, long av, long eq, @Out LongLongByReference out, @Out int[] eqBound);

    int efab_ep_efa_emulated_read(long ep, @Out int[] emulated);

    int efab_ep_close(long ep);

    int efab_ep_getname(long ep, @Out byte[] buf, LongLongByReference len);

    long efab_read(long ep, long buf, long len, long desc, long src, long remoteAddress, long key, long context);

    long efab_send(long ep, long buf, long len, long desc, long dest, long context);

    long efab_recv(long ep, long buf, long len, long desc, long context);

    int efab_mr_reg(long domain, long address, long len, long access, long requestedKey, @Out LongLongByReference out);

    int efab_mr_close(long mr);

    long efab_mr_key(long mr);

    long efab_mr_desc(long mr);

    int efab_mem_alloc(long len, @Out LongLongByReference out);

    int efab_mem_free(long address, long len);

    int efab_file_map(String path, long len, @Out LongLongByReference out);
  }
}
