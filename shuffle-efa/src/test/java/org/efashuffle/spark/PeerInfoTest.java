package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import org.efashuffle.common.Subnet;
import org.junit.jupiter.api.Test;

class PeerInfoTest {
  private static final Subnet SUBNET = Subnet.parse("10.0.1.0/24");

  @Test
  void shmPeersAreReachableOnlyOnTheSameHost() {
    PeerInfo self = new PeerInfo("shm", "shm", SUBNET, "host-a/boot-1", new byte[] {1});
    assertTrue(self.canReachOverFabric(new PeerInfo("shm", "shm", SUBNET, "host-a/boot-1", new byte[] {2})));
    assertFalse(self.canReachOverFabric(new PeerInfo("shm", "shm", SUBNET, "host-b/boot-2", new byte[] {2})),
        "shm addresses name host-local memory: a peer on another host is read over Netty");
  }

  @Test
  void networkProvidersReachPeersOnOtherHostsOfTheSubnet() {
    PeerInfo self = new PeerInfo("tcp;ofi_rxm", "127.0.0.0/8", SUBNET, "host-a/boot-1", new byte[] {1});
    assertTrue(self.canReachOverFabric(
        new PeerInfo("tcp;ofi_rxm", "127.0.0.0/8", SUBNET, "host-b/boot-2", new byte[] {2})));
    assertFalse(self.canReachOverFabric(
        new PeerInfo("tcp;ofi_rxm", "127.0.0.0/8", Subnet.parse("10.0.2.0/24"), "host-b/boot-2", new byte[] {2})));
    assertFalse(self.canReachOverFabric(new PeerInfo("efa", "efa", SUBNET, "host-b/boot-2", new byte[] {2})));
  }

  @Test
  void peersOfTheSameProviderOnAnotherFabricAreReadOverNetty() {
    // From libfabric 2.1 the efa provider offers two fabrics that speak different wire protocols.
    PeerInfo self = new PeerInfo("efa", "efa", SUBNET, "host-a/boot-1", new byte[] {1});
    assertTrue(self.canReachOverFabric(new PeerInfo("efa", "efa", SUBNET, "host-b/boot-2", new byte[] {2})));
    assertFalse(self.canReachOverFabric(new PeerInfo("efa", "efa-direct", SUBNET, "host-b/boot-2", new byte[] {2})));
    assertFalse(new PeerInfo("efa", "efa-direct", SUBNET, "host-b/boot-2", new byte[] {2}).canReachOverFabric(self));
  }

  @Test
  void encodesAndDecodesEveryField() {
    PeerInfo info = new PeerInfo("efa", "efa", SUBNET, PeerInfo.thisHost(), new byte[] {9, 8, 7});
    PeerInfo back = PeerInfo.decode(ByteBuffer.wrap(info.encode()));
    assertEquals(info.provider(), back.provider());
    assertEquals(info.fabric(), back.fabric());
    assertEquals(info.subnet(), back.subnet());
    assertEquals(info.host(), back.host());
    assertArrayEquals(info.fabricAddress(), back.fabricAddress());
    assertFalse(PeerInfo.thisHost().isEmpty());
  }

  @Test
  void peerInfoOfAnEarlierVersionIsRefusedSoThatPeerIsReadOverNetty() {
    // Version 2 had no fabric: an executor of an earlier build is never paired on a guessed fabric.
    ByteBuffer v2 = ByteBuffer.allocate(64).putInt(2);
    v2.flip();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeerInfo.decode(v2));
    assertTrue(e.getMessage().contains("version 2"), e.getMessage());
  }
}
