package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.efashuffle.common.Subnet;
import org.junit.jupiter.api.Test;

class PeerInfoTest {
  private static final Subnet SUBNET = Subnet.parse("10.0.1.0/24");

  @Test
  void shmPeersAreReachableOnlyOnTheSameHost() {
    PeerInfo self = new PeerInfo("shm", SUBNET, "host-a/boot-1", new byte[] {1});
    assertTrue(self.canReachOverFabric(new PeerInfo("shm", SUBNET, "host-a/boot-1", new byte[] {2})));
    assertFalse(self.canReachOverFabric(new PeerInfo("shm", SUBNET, "host-b/boot-2", new byte[] {2})),
        "shm addresses name host-local memory: a peer on another host is read over Netty");
  }

  @Test
  void networkProvidersReachPeersOnOtherHostsOfTheSubnet() {
    PeerInfo self = new PeerInfo("tcp;ofi_rxm", SUBNET, "host-a/boot-1", new byte[] {1});
    assertTrue(self.canReachOverFabric(new PeerInfo("tcp;ofi_rxm", SUBNET, "host-b/boot-2", new byte[] {2})));
    assertFalse(self.canReachOverFabric(
        new PeerInfo("tcp;ofi_rxm", Subnet.parse("10.0.2.0/24"), "host-b/boot-2", new byte[] {2})));
    assertFalse(self.canReachOverFabric(new PeerInfo("efa", SUBNET, "host-b/boot-2", new byte[] {2})));
  }

  @Test
  void encodesAndDecodesEveryField() {
    PeerInfo info = new PeerInfo("shm", SUBNET, PeerInfo.thisHost(), new byte[] {9, 8, 7});
    PeerInfo back = PeerInfo.decode(ByteBuffer.wrap(info.encode()));
    assertEquals(info.provider(), back.provider());
    assertEquals(info.subnet(), back.subnet());
    assertEquals(info.host(), back.host());
    assertArrayEquals(info.fabricAddress(), back.fabricAddress());
    assertFalse(PeerInfo.thisHost().isEmpty());
  }
}
