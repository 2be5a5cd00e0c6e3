package org.efashuffle.fabric;

/** The FI_E* numbers this package acts on (rdma/fi_errno.h; Linux errno values below 256). */
public final class Errno {
  public static final int EINTR = 4;
  public static final int EAGAIN = 11;
  public static final int ENOMEM = 12;
  public static final int EINVAL = 22;
  public static final int ENOSYS = 38;
  public static final int ENODATA = 61;
  public static final int ENOPROTOOPT = 92;
  public static final int ETIMEDOUT = 110;
  public static final int ECANCELED = 125;
  public static final int ETOOSMALL = 257;
  public static final int EAVAIL = 259;
  public static final int ENOKEY = 266;

  private Errno() {}
}
