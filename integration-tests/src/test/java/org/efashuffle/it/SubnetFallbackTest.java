package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Executors on two subnets (network namespaces the test creates): executors 0 and 1 share subnet
 * a, executor 2 is alone on subnet b, routed through the driver's namespace. With the default
 * transport=auto, the two executors of subnet a read each other's blocks over the fabric, every
 * block that crosses subnets goes over Netty, and the rows are sort shuffle's.
 */
class SubnetFallbackTest {
  @TempDir
  Path dir;

  @Test
  void blocksCrossSubnetsOverNettyAndStayOnTheFabricWithinOne() throws Exception {
    String unavailable = TwoSubnets.unavailableBecause();
    Assumptions.assumeTrue(unavailable == null, () -> "skipped: " + unavailable);
    try (TwoSubnets subnets = new TwoSubnets()) {
      Path javaHome = javaWrapper(subnets);
      List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", subnets.router, ExecutorJava.realJava()));
      command.addAll(Arrays.asList(ExecutorJava.sparkJvmOptions()));
      command.addAll(List.of("-Dspark.testing=1", "-Dspark.test.home=" + new File("target").getAbsolutePath(),
          "-cp", System.getProperty("java.class.path"), SubnetJobMain.class.getName()));
      ProcessBuilder builder = new ProcessBuilder(command)
          .redirectError(new File("target/subnet-driver.log"));
      builder.environment().putAll(Map.of("SPARK_TESTING", "1", "SPARK_SCALA_VERSION", "2.13",
          "SPARK_LOCAL_IP", TwoSubnets.ROUTER_IP, "SPARK_LOCAL_HOSTNAME", TwoSubnets.ROUTER_IP,
          "JAVA_HOME", javaHome.toString()));
      Process driver = builder.start();
      String out = new String(driver.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(driver.waitFor(10, TimeUnit.MINUTES), "driver did not finish");
      assertEquals(0, driver.exitValue(), "driver failed (target/subnet-driver.log):\n" + out);
      System.out.print("subnet fallback driver (executors 0, 1 in " + TwoSubnets.A_IP + "/24, 2 in " + TwoSubnets.B_IP
          + "/24):\n" + out);

      assertTrue(out.contains("ROWS same"), out);
      Map<String, long[]> executors = new HashMap<>();
      for (String line : out.split("\n")) {
        String[] f = line.trim().split(" ");
        if (f[0].equals("EXECUTOR")) {
          executors.put(f[1], new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])});
        }
      }
      assertEquals(3, executors.size(), out);
      for (String sameSubnet : List.of("0", "1")) {
        assertTrue(executors.get(sameSubnet)[0] > 0, "executor " + sameSubnet + " read its neighbour over the fabric:\n" + out);
      }
      assertEquals(0, executors.get("2")[0], "executor 2 has no peer in its subnet:\n" + out);
      assertTrue(executors.get("2")[1] > 0, "executor 2 read over Netty:\n" + out);
      assertTrue(executors.get("0")[1] + executors.get("1")[1] > 0, "blocks from subnet b came over Netty:\n" + out);
    }
  }

  /**
   * A JAVA_HOME whose bin/java starts each executor in its subnet's namespace (executors 0 and 1
   * in a, the rest in b), with its host and bind address changed to that namespace's address;
   * any other java command runs unchanged. Spark's local cluster launches executors with it.
   */
  private Path javaWrapper(TwoSubnets subnets) throws IOException {
    String realJava = ExecutorJava.realJava();
    String script = String.join("\n",
        "#!/bin/bash",
        "args=(\"$@\"); ns=; ip=",
        "for ((i = 0; i < ${#args[@]}; i++)); do",
        "  if [[ ${args[i]} == --executor-id ]]; then",
        "    case ${args[i+1]} in 0|1) ns=" + subnets.a + " ip=" + TwoSubnets.A_IP + ";;"
            + " *) ns=" + subnets.b + " ip=" + TwoSubnets.B_IP + ";; esac",
        "  fi",
        "done",
        "if [[ -z $ns ]]; then exec " + realJava + " \"$@\"; fi",
        "for ((i = 0; i < ${#args[@]}; i++)); do",
        "  if [[ ${args[i]} == --hostname || ${args[i]} == --bind-address ]]; then args[i+1]=$ip; fi",
        "done",
        "export SPARK_LOCAL_IP=$ip SPARK_LOCAL_HOSTNAME=$ip",
        "exec ip netns exec $ns " + realJava + " \"${args[@]}\"",
        "");
    return ExecutorJava.javaHome(dir, script);
  }

}
