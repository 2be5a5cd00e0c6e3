package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The event queue every endpoint binds, so that the efa provider reports its internal errors
 * instead of calling abort(). No provider here writes an error into it on demand: the seam
 * {@link FabricEndpoint#injectEventError} writes one into the real queue as a provider does
 * (fi_eq_write with the util EQ's error flag, as efa_base_ep_write_eq_error), and the progress
 * thread reads it through fi_eq_read, fi_eq_readerr and fi_eq_strerror.
 */
@ExtendWith(NoNativeLeaks.class)
class EventQueueTest {
  private static final int EIO = 5;
  private static final int EFA_PEER_HANDSHAKE = 4113;
  private static final int EFA_INTERNAL_RX_BUF_POST = 4112;

  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  @ParameterizedTest
  @MethodSource("providers")
  void everyEndpointHereBindsAnEventQueueAndSaysSoInItsDescription(TestProviders.Provider p) {
    try (FabricDomain domain = FabricDomain.open(p.name(), p.domain())) {
      FabricEndpoint endpoint = domain.openEndpoint(EndpointConfig.defaults());
      assertTrue(endpoint.eventQueueBound());
      assertEquals(ReadEmulation.NOT_APPLICABLE, endpoint.readEmulation());
      String line = endpoint.describe();
      for (String part : new String[] {"provider " + p.name(), "fabric " + domain.fabricName(),
          "domain " + domain.name(), "libfabric " + Fabric.runtimeVersion(), "read emulation not applicable",
          "event queue bound"}) {
        assertTrue(line.contains(part), "'" + part + "' missing from: " + line);
      }
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void anErrorAboutOnePeerIsLoggedAndTheEndpointGoesOn(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, target.describe())) {
      reader.endpoint.injectEventError(EIO, EFA_PEER_HANDSHAKE);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (reader.endpoint.eventErrors() == 0) {
        assertTrue(System.nanoTime() - deadline < 0, "the progress thread never read the event queue");
        Thread.onSpinWait();
      }
      assertFalse(reader.endpoint.failure().isDone(), "failed: " + reader.endpoint.failure().getNow(null));
      CompletionDispatchTest.stillServes(target, reader);
    }
  }

  @ParameterizedTest
  @MethodSource("providers")
  void anErrorThatLeavesTheEndpointUnableToGoOnEndsItWithTheProvidersText(TestProviders.Provider p) throws Exception {
    try (ReadTarget target = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, target.describe())) {
      FabricOperation receive = reader.endpoint.receive(reader.region, 0, 4096);
      reader.endpoint.injectEventError(EIO, EFA_INTERNAL_RX_BUF_POST);
      Throwable cause = reader.endpoint.failure().get(10, TimeUnit.SECONDS);
      FabricException e = assertInstanceOf(FabricException.class, cause);
      assertEquals(EIO, e.errno());
      assertTrue(e.getMessage().contains("Failure to post internal receive buffers"), e.getMessage());
      assertTrue(e.getMessage().contains("cannot go on"), e.getMessage());
      ExecutionException failed = assertThrows(ExecutionException.class, () -> receive.get(10, TimeUnit.SECONDS));
      assertTrue(failed.getCause().getMessage().contains("progress thread"), failed.getCause().getMessage());
      assertFalse(target.endpoint.failure().isDone());
    }
  }

  @Test
  void onlyEfaErrorsAboutTheEndpointItselfEndIt() {
    assertTrue(EventQueue.endsEndpoint(EFA_INTERNAL_RX_BUF_POST));
    assertTrue(EventQueue.endsEndpoint(4105)); // out of memory
    assertTrue(EventQueue.endsEndpoint(4120)); // a receive completion could not be written
    assertFalse(EventQueue.endsEndpoint(EFA_PEER_HANDSHAKE));
    assertFalse(EventQueue.endsEndpoint(4098)); // a packet of a peer speaking another protocol
    assertFalse(EventQueue.endsEndpoint(4111)); // a stale key or address from a peer
    assertFalse(EventQueue.endsEndpoint(EIO)); // another provider's system errno
    assertTrue(EventQueue.describe(4126, "x").contains("handshake failed"));
    assertEquals("x", EventQueue.describe(104, "x"));
  }

  @Test
  void readEmulationIsAskedOfEfaOnly() {
    assertEquals(ReadEmulation.EMULATED, ReadEmulation.of(0, 1));
    assertEquals(ReadEmulation.DEVICE, ReadEmulation.of(0, 0));
    assertEquals(ReadEmulation.UNKNOWN, ReadEmulation.of(-Errno.ENOPROTOOPT, 0));
    assertThrows(FabricException.class, () -> ReadEmulation.of(-Errno.EINVAL, 0));
    try (FabricDomain domain = FabricDomain.open("tcp;ofi_rxm", "lo")) {
      FabricEndpoint endpoint = domain.openEndpoint(EndpointConfig.defaults());
      assertEquals(ReadEmulation.NOT_APPLICABLE, ReadEmulation.ask("tcp;ofi_rxm", Fabric.shim(), endpoint.handle()));
      // The real fi_getopt with efa's option number, asked of an endpoint that does not know it.
      assertEquals(ReadEmulation.UNKNOWN, ReadEmulation.ask("efa", Fabric.shim(), endpoint.handle()));
    }
  }
}
