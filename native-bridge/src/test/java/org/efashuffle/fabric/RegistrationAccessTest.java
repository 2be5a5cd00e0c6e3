package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Memory no peer reads is registered without FI_REMOTE_READ; peer addresses are checked before libfabric sees them. */
@ExtendWith(NoNativeLeaks.class)
class RegistrationAccessTest {
  /**
   * libfabric 1.17's tcp RDM provider ("net"), which checks a registration's key and access at
   * the target. Not tcp;ofi_rxm: ofi_rxm adds FI_REMOTE_READ to every registration itself (its
   * rendezvous protocol lets the receiver read a large message from the sender's buffer), so
   * there any registered memory stays remotely readable; nor shm, which reads by CMA unchecked.
   */
  private static final TestProviders.Provider NET = new TestProviders.Provider("net", "lo");
  private static final long SIZE = 1L << 20;

  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  @Test
  void aPeerCannotReadLocalOnlyMemoryButReadsRemotelyReadableMemory() throws Exception {
    try (FabricDomain targetDomain = FabricDomain.open(NET.name(), NET.domain());
         FabricDomain readerDomain = FabricDomain.open(NET.name(), NET.domain());
         NativeMemory served = NativeMemory.allocate(SIZE);
         NativeMemory privateMemory = NativeMemory.allocate(SIZE);
         NativeMemory buffer = NativeMemory.allocate(SIZE)) {
      Patterns.fill(served);
      Patterns.fill(privateMemory);
      FabricEndpoint target = targetDomain.openEndpoint(EndpointConfig.defaults());
      MemoryRegion remote = targetDomain.register(served);
      MemoryRegion localOnly = targetDomain.registerLocal(privateMemory);
      FabricEndpoint reader = readerDomain.openEndpoint(EndpointConfig.defaults());
      MemoryRegion into = readerDomain.registerLocal(buffer); // a local-only read target works
      long peer = reader.insertPeer(target.address());

      assertEquals(65536L, reader.read(into, 0, 65536, peer, remote.remoteAddress(4096), remote.key())
          .get(10, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(buffer, 0, 4096, 65536));

      byte[] zeros = new byte[65536];
      buffer.put(0, zeros, 0, zeros.length);
      FabricOperation denied = reader.read(into, 0, 65536, peer, localOnly.remoteAddress(4096), localOnly.key());
      ExecutionException e = assertThrows(ExecutionException.class, () -> denied.get(10, TimeUnit.SECONDS));
      assertTrue(e.getCause() instanceof FabricException, String.valueOf(e.getCause()));
      assertEquals("fi_read", ((FabricException) e.getCause()).operation());
      byte[] got = new byte[65536];
      buffer.get(0, got, 0, got.length);
      assertTrue(Arrays.equals(zeros, got), "bytes of local-only memory reached the peer");
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void localOnlyMemorySendsAndReceivesMessages(TestProviders.Provider p) throws Exception {
    try (FabricDomain a = FabricDomain.open(p.name(), p.domain());
         FabricDomain b = FabricDomain.open(p.name(), p.domain());
         RegisteredMemory slotsA = RegisteredMemory.allocateLocal(a, 8192);
         RegisteredMemory slotsB = RegisteredMemory.allocateLocal(b, 8192)) {
      FabricEndpoint ea = a.openEndpoint(EndpointConfig.defaults());
      FabricEndpoint eb = b.openEndpoint(EndpointConfig.defaults());
      FabricOperation received = eb.receive(slotsB.region(), 0, 4096);
      byte[] message = "hello from local-only memory".getBytes(StandardCharsets.UTF_8);
      slotsA.memory().put(0, message, 0, message.length);
      ea.send(slotsA.region(), 0, message.length, ea.insertPeer(eb.address())).get(10, TimeUnit.SECONDS);
      assertEquals(message.length, received.get(10, TimeUnit.SECONDS));
      byte[] got = new byte[message.length];
      slotsB.memory().get(0, got, 0, got.length);
      assertEquals("hello from local-only memory", new String(got, StandardCharsets.UTF_8));
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void aPeerAddressOfTheWrongShapeIsRefusedNamingBothLengths(TestProviders.Provider p) {
    try (FabricDomain domain = FabricDomain.open(p.name(), p.domain())) {
      FabricEndpoint endpoint = domain.openEndpoint(EndpointConfig.defaults());
      byte[] own = endpoint.address();
      byte[] longer = Arrays.copyOf(own, own.length + 1); // for shm: a byte after the name's NUL
      byte[] shorter = Arrays.copyOf(own, own.length - 1); // for shm: a name without its NUL
      for (byte[] bad : new byte[][] {longer, shorter, new byte[300]}) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> endpoint.insertPeer(bad));
        assertTrue(e.getMessage().contains(bad.length + " bytes") && e.getMessage().contains(own.length + " bytes"),
            e.getMessage());
      }
      endpoint.insertPeer(own); // the right shape is taken
    }
  }
}
