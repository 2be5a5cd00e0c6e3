package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Which fabric and domain a provider opens: by name, never efa-direct unless named (libfabric
 * 2.1+ lists it before efa: the list a p4d host's efa provider answers is written out below,
 * since no EFA device is here), one domain per device or interface, and efa refused below
 * libfabric 1.18.
 */
@ExtendWith(NoNativeLeaks.class)
class FabricSelectionTest {
  /** What libfabric 2.x's efa provider lists on a host with two EFA devices (efa_prov.c: efa-direct first). */
  private static final List<Fabric.Entry> TWO_EFA_DEVICES = List.of(
      new Fabric.Entry("efa", "efa-direct", "rdmap16s27-rdm"),
      new Fabric.Entry("efa", "efa", "rdmap16s27-rdm"),
      new Fabric.Entry("efa", "efa-direct", "rdmap32s27-rdm"),
      new Fabric.Entry("efa", "efa", "rdmap32s27-rdm"),
      new Fabric.Entry("shm", "shm", "shm"));

  private static Fabric.Entry choose(String provider, String fabric, String domain) {
    return FabricDomain.choose(TWO_EFA_DEVICES, FabricDomain.fabricAsked(FabricDomain.providerAsked(provider), fabric), domain);
  }

  @Test
  void efaOpensTheEfaFabricEvenWhenEfaDirectIsListedFirst() {
    assertEquals(new Fabric.Entry("efa", "efa", "rdmap16s27-rdm"), choose("efa", null, null));
    assertEquals(new Fabric.Entry("efa", "efa", "rdmap32s27-rdm"), choose("efa", null, "rdmap32s27-rdm"));
    assertEquals(new Fabric.Entry("efa", "efa", "rdmap16s27-rdm"), choose("auto", null, null));
    assertEquals(new Fabric.Entry("efa", "efa-direct", "rdmap32s27-rdm"), choose("efa", "efa-direct", "rdmap32s27-rdm"));
    assertNull(choose("efa", null, "rdmap99s0-rdm"));
  }

  @Test
  void aFabricIsOpenedByItsName() {
    try (FabricDomain lo = FabricDomain.open("tcp;ofi_rxm", "127.0.0.1/32", null)) {
      assertEquals("127.0.0.1/32", lo.fabricName());
      assertEquals("lo", lo.name());
    }
    FabricException e = assertThrows(FabricException.class,
        () -> FabricDomain.open("tcp;ofi_rxm", "10.255.255.0/24", null));
    assertTrue(e.getMessage().contains("fabric '10.255.255.0/24'"), e.getMessage());
    assertTrue(e.getMessage().contains("tcp;ofi_rxm/127.0.0.1/32/lo"), "lists what is offered: " + e.getMessage());
  }

  @Test
  void domainsListsEachDomainOnceAndEachOpensByThatName() {
    List<String> tcp = Fabric.domains("tcp;ofi_rxm", null);
    assertTrue(tcp.contains("lo"), tcp.toString());
    assertEquals(tcp.stream().distinct().toList(), tcp);
    for (String name : tcp) {
      try (FabricDomain d = FabricDomain.open("tcp;ofi_rxm", name)) {
        assertEquals(name, d.name());
      }
    }
    assertEquals(List.of("lo"), Fabric.domains("tcp;ofi_rxm", "127.0.0.1/32"));
    assertEquals(List.of("shm"), Fabric.domains("shm", null));
    assertEquals(List.of(), Fabric.domains("nosuchprov", null));
  }

  @Test
  void efaIsRefusedBelowLibfabric118NamingTheInstallersLibraryPath() {
    FabricException e = assertThrows(FabricException.class,
        () -> FabricDomain.refuseOldEfa("efa", Fabric.version(1, 17)));
    assertTrue(e.getMessage().contains("LD_LIBRARY_PATH=/opt/amazon/efa/lib"), e.getMessage());
    assertTrue(e.getMessage().contains("1.17"), e.getMessage());
    assertDoesNotThrow(() -> FabricDomain.refuseOldEfa("efa", Fabric.version(1, 18)));
    assertDoesNotThrow(() -> FabricDomain.refuseOldEfa("efa", Fabric.version(2, 3)));
    assertDoesNotThrow(() -> FabricDomain.refuseOldEfa("tcp;ofi_rxm", Fabric.version(1, 17)));
  }

  @Test
  void openingEfaOnThisHostsLibfabricIsRefusedTheSameWay() {
    assumeTrue(Fabric.runtimeVersionNumber() < FabricDomain.MIN_EFA_VERSION, "libfabric here is " + Fabric.runtimeVersion());
    FabricException e = assertThrows(FabricException.class, () -> FabricDomain.open("efa", null));
    assertTrue(e.getMessage().contains("LD_LIBRARY_PATH=/opt/amazon/efa/lib"), e.getMessage());
  }
}
