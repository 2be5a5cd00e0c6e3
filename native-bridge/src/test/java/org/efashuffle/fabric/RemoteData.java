package org.efashuffle.fabric;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A reader's view of a {@link ReadTarget}: its address and its registrations' addresses and keys. */
final class RemoteData {
  final byte[] address;
  final long regionSize;
  final long[] remoteAddresses;
  final long[] keys;

  RemoteData(String description) {
    String[] parts = description.trim().split(" ");
    address = HexFormat.of().parseHex(parts[0]);
    regionSize = Long.parseLong(parts[1]);
    remoteAddresses = new long[parts.length - 2];
    keys = new long[parts.length - 2];
    for (int i = 2; i < parts.length; i++) {
      String[] ak = parts[i].split(":");
      remoteAddresses[i - 2] = Long.parseLong(ak[0]);
      keys[i - 2] = Long.parseLong(ak[1]);
    }
  }

  long size() {
    return regionSize * keys.length;
  }

  /**
   * Reads [offset, offset + length) of the target's data into local at localOffset, one fi_read
   * per registration the range touches (a read cannot span two registrations: each has its key).
   */
  CompletableFuture<Void> read(FabricEndpoint endpoint, long peer, MemoryRegion local, long localOffset,
      long offset, long length) {
    List<CompletableFuture<Long>> reads = new ArrayList<>();
    long end = offset + length;
    for (long pos = offset; pos < end; ) {
      int region = (int) (pos / regionSize);
      long inRegion = pos - region * regionSize;
      long n = Math.min(end - pos, regionSize - inRegion);
      reads.add(endpoint.read(local, localOffset + (pos - offset), n, peer,
          remoteAddresses[region] + inRegion, keys[region]));
      pos += n;
    }
    return CompletableFuture.allOf(reads.toArray(new CompletableFuture<?>[0]));
  }
}
