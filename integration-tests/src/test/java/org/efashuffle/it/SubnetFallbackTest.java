package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Executors on two subnets (network namespaces the test creates, {@link NamespaceNetwork#twoSubnets()}):
 * executors 0 and 1 share subnet a, executor 2 is alone on subnet b, routed through the driver's
 * namespace. With the default
 * transport=auto, the two executors of subnet a read each other's blocks over the fabric, every
 * block that crosses subnets goes over Netty, and the rows are sort shuffle's.
 */
class SubnetFallbackTest {
  @TempDir
  Path dir;

  @Test
  void blocksCrossSubnetsOverNettyAndStayOnTheFabricWithinOne() throws Exception {
    String unavailable = NamespaceNetwork.unavailableBecause();
    Assumptions.assumeTrue(unavailable == null, () -> "skipped: " + unavailable);
    try (NamespaceNetwork subnets = NamespaceNetwork.twoSubnets()) {
      String out = subnets.runDriver(dir, "subnet-driver.log", "0|1", "3", "efa");
      System.out.print("subnet fallback driver (executors 0, 1 in " + subnets.aIp + "/24, 2 in " + subnets.bIp
          + "/24):\n" + out);

      assertTrue(out.contains("ROWS efa same"), out);
      Map<String, long[]> executors = DriverOutput.executors(out, "efa");
      assertEquals(3, executors.size(), out);
      for (String sameSubnet : List.of("0", "1")) {
        assertTrue(executors.get(sameSubnet)[0] > 0, "executor " + sameSubnet + " read its neighbour over the fabric:\n" + out);
      }
      assertEquals(0, executors.get("2")[0], "executor 2 has no peer in its subnet:\n" + out);
      assertTrue(executors.get("2")[1] > 0, "executor 2 read over Netty:\n" + out);
      assertTrue(executors.get("0")[1] + executors.get("1")[1] > 0, "blocks from subnet b came over Netty:\n" + out);
    }
  }
}
