package org.efashuffle.fabric;

import java.time.Duration;

/**
 * Sizes and timings of one endpoint.
 *
 * @param maxInFlight operations posted to libfabric at once (one 64-byte context each); more wait
 *     in a queue and are posted as earlier ones complete
 * @param completionQueueSize entries of the completion queue
 * @param addressVectorSize peers expected (a hint; the table grows)
 * @param operationTimeout how long an operation may wait for its completion before its future
 *     fails (a dead or closed peer must not hang a reader)
 * @param spin how long the progress thread keeps polling after activity before it blocks
 * @param maxReadPiece the longest single fi_read posted; longer reads go in pieces (also capped
 *     by the provider's max_msg_size and EFA's 1 GiB)
 */
public record EndpointConfig(
    int maxInFlight,
    int completionQueueSize,
    int addressVectorSize,
    Duration operationTimeout,
    Duration spin,
    long maxReadPiece) {

  public EndpointConfig {
    if (maxInFlight < 1 || completionQueueSize < 1 || addressVectorSize < 1 || maxReadPiece < 1) {
      throw new IllegalArgumentException("endpoint sizes must be positive: " + this);
    }
    if (operationTimeout.isNegative() || operationTimeout.isZero() || spin.isNegative()) {
      throw new IllegalArgumentException("endpoint timings out of range: " + this);
    }
  }

  public static EndpointConfig defaults() {
    return new EndpointConfig(1024, 4096, 64, Duration.ofSeconds(120), Duration.ofMillis(1), 1L << 30);
  }

  public EndpointConfig withOperationTimeout(Duration timeout) {
    return new EndpointConfig(maxInFlight, completionQueueSize, addressVectorSize, timeout, spin, maxReadPiece);
  }

  public EndpointConfig withSpin(Duration newSpin) {
    return new EndpointConfig(maxInFlight, completionQueueSize, addressVectorSize, operationTimeout, newSpin, maxReadPiece);
  }

  public EndpointConfig withMaxInFlight(int n) {
    return new EndpointConfig(n, completionQueueSize, addressVectorSize, operationTimeout, spin, maxReadPiece);
  }

  public EndpointConfig withMaxReadPiece(long bytes) {
    return new EndpointConfig(maxInFlight, completionQueueSize, addressVectorSize, operationTimeout, spin, bytes);
  }
}
