package org.efashuffle.fabric;

import java.util.stream.Stream;

/** The providers every fabric test runs on here: shm, and tcp;ofi_rxm on loopback. */
final class TestProviders {
  private TestProviders() {}

  record Provider(String name, String domain) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Provider> all() {
    return Stream.of(new Provider("shm", null), new Provider("tcp;ofi_rxm", "lo"));
  }
}
