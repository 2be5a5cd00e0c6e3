package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Executors addressed as the Amazon VPC CNI addresses Kubernetes pods: two namespaces with /32
 * addresses of one subnet ({@link NamespaceNetwork#podsOfOneSubnet()}). Their interfaces do not
 * tell the subnet, so by default each executor is a subnet of its own and reads the other over
 * Netty; with spark.shuffle.efa.subnet set to the subnet they read each other over the fabric
 * (shm, whose fabric name, like efa's, is the same everywhere). Rows equal sort shuffle's either way.
 */
class PodSubnetTest {
  @TempDir
  Path dir;

  @Test
  void theSubnetSettingLetsPodAddressedExecutorsUseTheFabric() throws Exception {
    String unavailable = NamespaceNetwork.unavailableBecause();
    Assumptions.assumeTrue(unavailable == null, () -> "skipped: " + unavailable);
    try (NamespaceNetwork pods = NamespaceNetwork.podsOfOneSubnet()) {
      // shm: its fabric has one name on every host, as efa's has (tcp;ofi_rxm names its fabric
      // after the interface's own network, a /32 here, which would keep the pods apart anyway).
      String shm = "spark.shuffle.efa.provider=shm,spark.shuffle.efa.domain=";
      String out = pods.runDriver(dir, "pod-subnet-driver.log", "0", "2", "derived:" + shm,
          "set:" + shm + ",spark.shuffle.efa.subnet=10.201.1.0/24");
      System.out.print("pod-addressed executors (" + pods.aIp + "/32, " + pods.bIp + "/32):\n" + out);

      assertTrue(out.contains("ROWS derived same") && out.contains("ROWS set same"), out);
      Map<String, long[]> derived = DriverOutput.executors(out, "derived");
      Map<String, long[]> set = DriverOutput.executors(out, "set");
      assertEquals(2, derived.size(), out);
      assertEquals(2, set.size(), out);
      for (String id : derived.keySet()) {
        assertEquals(0, derived.get(id)[0], "executor " + id + ", subnet derived (/32): nothing over the fabric:\n" + out);
        assertTrue(derived.get(id)[1] > 0, "executor " + id + ", subnet derived: its reads over Netty:\n" + out);
        assertTrue(set.get(id)[0] > 0, "executor " + id + ", subnet set: its reads over the fabric:\n" + out);
        assertEquals(0, set.get(id)[1], "executor " + id + ", subnet set: nothing over Netty:\n" + out);
      }
    }
  }
}
