package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DomainChoiceTest {
  private static final List<String> P4D = List.of("rdmap16s27-rdm", "rdmap32s27-rdm", "rdmap144s27-rdm",
      "rdmap160s27-rdm");

  @Test
  void executorsWithNumericIdsSpreadOverEveryDeviceByIdModSize() {
    assertEquals("rdmap32s27-rdm", DomainChoice.forExecutor("1", P4D));
    assertEquals("rdmap144s27-rdm", DomainChoice.forExecutor("2", P4D));
    assertEquals("rdmap160s27-rdm", DomainChoice.forExecutor("3", P4D));
    assertEquals("rdmap16s27-rdm", DomainChoice.forExecutor("4", P4D));
    assertEquals("rdmap16s27-rdm", DomainChoice.forExecutor("40", P4D));
    Set<String> taken = new HashSet<>();
    for (int id = 1; id <= 4; id++) {
      taken.add(DomainChoice.forExecutor(Integer.toString(id), P4D));
    }
    assertEquals(Set.copyOf(P4D), taken, "four executors on a four-device host use every device");
  }

  @Test
  void otherIdsTakeAStableChoiceWithinTheList() {
    String chosen = DomainChoice.forExecutor("driver", P4D);
    assertEquals(P4D.get(Math.floorMod("driver".hashCode(), 4)), chosen);
    assertEquals(chosen, DomainChoice.forExecutor("driver", P4D), "the same id always takes the same device");
    for (String id : List.of("exec-a", "", "-7", "99999999999999999999")) {
      if (!P4D.contains(DomainChoice.forExecutor(id, P4D))) {
        fail(id + " took a domain outside the list");
      }
    }
    assertEquals("rdmap160s27-rdm", DomainChoice.forExecutor("-1", P4D), "mod is never negative");
  }

  @Test
  void aListOfOneOrNoneIsTakenAsIs() {
    assertEquals("lo", DomainChoice.forExecutor("7", List.of("lo")));
    assertNull(DomainChoice.forExecutor("7", List.of()), "none: the provider's first");
  }

  @Test
  void emptyConfigSpreadsEfaOverItsDevicesAndLeavesOtherProvidersOnTheirFirst() {
    assertEquals(P4D, DomainChoice.candidates("efa", List.of(), () -> P4D));
    assertEquals(List.of(), DomainChoice.candidates("tcp;ofi_rxm", List.of(),
        () -> fail("only efa's devices are listed")));
    assertEquals(List.of("eth0"), DomainChoice.candidates("tcp;ofi_rxm", List.of("eth0"), List::of));
    assertEquals(List.of("rdmap16s27-rdm"), DomainChoice.candidates("efa", List.of("rdmap16s27-rdm"),
        () -> fail("a configured list is taken as is")));
  }
}
