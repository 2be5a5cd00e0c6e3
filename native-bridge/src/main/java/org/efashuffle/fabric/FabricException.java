package org.efashuffle.fabric;

/**
 * A libfabric call returned {@code -FI_E*}, or an operation completed with an error. The message
 * names the operation and carries {@code fi_strerror} of the error (and the provider's own text
 * for error completions).
 */
public class FabricException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String operation;
  private final int errno;

  public FabricException(String operation, int errno, String detail) {
    super(operation + " failed: " + detail + " (FI errno " + errno + ")");
    this.operation = operation;
    this.errno = errno;
  }

  /** The operation that failed, e.g. {@code "fi_read"}. */
  public String operation() {
    return operation;
  }

  /** The positive FI_E* number ({@link Errno}); 0 when the failure had no libfabric number. */
  public int errno() {
    return errno;
  }
}
