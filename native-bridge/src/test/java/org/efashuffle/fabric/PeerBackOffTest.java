package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A peer in RNR back-off: the efa provider answers -FI_EAGAIN to every post to it until the
 * back-off ends (efa_rdm_rma.c:187-189). No provider here backs off on demand, so the seam
 * {@link FabricEndpoint#backOff} answers -FI_EAGAIN for one destination instead of posting;
 * everything else is real: reads from another peer, a receive, and the held reads once the
 * back-off ends, with their bytes checked.
 */
@ExtendWith(NoNativeLeaks.class)
class PeerBackOffTest {
  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  @ParameterizedTest
  @MethodSource("providers")
  void onePeerInBackOffHoldsOnlyThePostsToThatPeer(TestProviders.Provider p) throws Exception {
    try (ReadTarget slow = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         ReadTarget other = new ReadTarget(p.name(), p.domain(), 1L << 20, 1);
         FabricReadTest.Reader reader = new FabricReadTest.Reader(p, slow.describe())) {
      FabricEndpoint endpoint = reader.endpoint;
      RemoteData otherData = new RemoteData(other.describe());
      long otherPeer = endpoint.insertPeer(otherData.address);
      long slowPeer = reader.peer;
      endpoint.backOff(peer -> peer == slowPeer);

      FabricOperation held1 = endpoint.read(reader.region, 0, 4096, slowPeer, reader.data.remoteAddresses[0], reader.data.keys[0]);
      FabricOperation held2 = endpoint.read(reader.region, 4096, 4096, slowPeer,
          reader.data.remoteAddresses[0] + 4096, reader.data.keys[0]);
      assertEquals(65536L, endpoint.read(reader.region, 8192, 65536, otherPeer,
          otherData.remoteAddresses[0] + 8192, otherData.keys[0]).get(10, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 8192, 8192, 65536));

      FabricOperation received = endpoint.receive(reader.region, 1 << 20, 4096);
      long back = other.endpoint.insertPeer(endpoint.address());
      other.endpoint.send(other.regions.get(0), 0, 1000, back).get(10, TimeUnit.SECONDS);
      assertEquals(1000L, received.get(10, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 1 << 20, 0, 1000));
      assertFalse(held1.isDone() || held2.isDone(), "posts to a peer in back-off went out");

      endpoint.backOff(peer -> false);
      assertEquals(4096L, held1.get(10, TimeUnit.SECONDS));
      assertEquals(4096L, held2.get(10, TimeUnit.SECONDS));
      assertEquals(-1, Patterns.firstMismatch(reader.memory, 0, 0, 8192));
      assertFalse(endpoint.failure().isDone());
    }
  }
}
