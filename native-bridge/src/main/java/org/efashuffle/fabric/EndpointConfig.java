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

  /** The fewest processors this JVM must see for its progress threads to poll after activity by default. */
  static final int SPIN_MIN_PROCESSORS = 4;

  public static EndpointConfig defaults() {
    return new EndpointConfig(1024, 4096, 64, Duration.ofSeconds(120),
        defaultSpin(Runtime.getRuntime().availableProcessors()), 1L << 30);
  }

  /**
   * 1 ms where the JVM has cores to spare, none below {@link #SPIN_MIN_PROCESSORS}: on 2 cores the
   * polling progress threads (one per executor, polling on without pause while fetches follow
   * each other) took the CPU that the threads they wait for needed (the task consuming blocks,
   * the peer's progress thread answering), and efa-shuffle's block fetches fell behind Netty's
   * at most sizes; without the spin they went ahead (BlockFetchBenchmark, 2 shared cores).
   */
  static Duration defaultSpin(int processors) {
    return processors >= SPIN_MIN_PROCESSORS ? Duration.ofMillis(1) : Duration.ZERO;
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
