package org.efashuffle.fabric;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The serving side of the tests: {@code size} bytes of known data in off-heap memory, registered
 * as {@code regions} separate registrations, behind an endpoint whose progress thread serves reads.
 */
final class ReadTarget implements AutoCloseable {
  final FabricDomain domain;
  final FabricEndpoint endpoint;
  final NativeMemory memory;
  final List<MemoryRegion> regions = new ArrayList<>();
  final long regionSize;

  ReadTarget(String provider, String domainName, long size, int regionCount) {
    domain = FabricDomain.open(provider, domainName);
    endpoint = domain.openEndpoint(EndpointConfig.defaults());
    memory = NativeMemory.allocate(size);
    Patterns.fill(memory);
    regionSize = size / regionCount;
    for (int i = 0; i < regionCount; i++) {
      regions.add(domain.register(memory.address() + i * regionSize, regionSize));
    }
  }

  /** What a reader needs, as one line: address, region size, then remote address:key per region. */
  String describe() {
    StringBuilder sb = new StringBuilder(HexFormat.of().formatHex(endpoint.address()));
    sb.append(' ').append(regionSize);
    for (MemoryRegion r : regions) {
      sb.append(' ').append(r.remoteAddress(0)).append(':').append(r.key());
    }
    return sb.toString();
  }

  @Override
  public void close() {
    domain.close(); // closes regions and endpoint, newest first
    memory.close();
  }
}
