package org.efashuffle.spark;

import org.apache.spark.shuffle.IndexShuffleBlockResolver;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.TransportOptions;

/**
 * An executor's fabric, opened in order (the domain, the map-output blocks registered on it, the
 * transport serving them) and closed in reverse. This class is the one owner of all three.
 */
final class ExecutorFabric implements AutoCloseable {
  private final FabricDomain domain;
  private final MapOutputBlocks blocks;
  private final FabricTransport transport;

  private ExecutorFabric(FabricDomain domain, MapOutputBlocks blocks, FabricTransport transport) {
    this.domain = domain;
    this.blocks = blocks;
    this.transport = transport;
  }

  /**
   * Opens {@code provider}'s domain {@code domainName} (null: its first) on the provider's own
   * fabric ({@code efa} for efa, never {@code efa-direct}), the map-output blocks on it, and the
   * transport; on a failure closes what it opened, newest first, and throws.
   */
  static ExecutorFabric open(String provider, String domainName, TransportOptions options,
      IndexShuffleBlockResolver resolver, MapOutputMemory memory) {
    FabricDomain domain = FabricDomain.open(provider, null, domainName);
    MapOutputBlocks blocks = null;
    try {
      blocks = new MapOutputBlocks(resolver, domain, memory);
      return new ExecutorFabric(domain, blocks, FabricTransport.open(domain, options, blocks));
    } catch (RuntimeException e) {
      if (blocks != null) {
        blocks.close();
      }
      domain.close();
      throw e;
    }
  }

  FabricDomain domain() {
    return domain;
  }

  MapOutputBlocks blocks() {
    return blocks;
  }

  FabricTransport transport() {
    return transport;
  }

  /**
   * The transport first (no peer reads the blocks any more, every operation settled), then the
   * blocks (waiting for stagings and pins under way), then the domain.
   */
  @Override
  public void close() {
    try {
      transport.close();
    } finally {
      try {
        blocks.close();
      } finally {
        domain.close();
      }
    }
  }
}
