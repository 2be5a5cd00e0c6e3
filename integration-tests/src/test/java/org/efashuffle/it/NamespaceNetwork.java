package org.efashuffle.it;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Two network namespaces {@code a} and {@code b} for executors, each joined by a veth pair (named
 * {@code efa0} on its side) to a router namespace that forwards between them and runs the
 * driver. Two layouts: {@link #twoSubnets()}, and {@link #podsOfOneSubnet()}, the addresses the
 * Amazon VPC CNI gives Kubernetes pods. Nothing outside these namespaces is touched or
 * addressed. Needs root and iproute2.
 */
final class NamespaceNetwork implements AutoCloseable {
  static final String INTERFACE = "efa0";

  final String router;
  final String a;
  final String b;
  /** The router's address, the driver's. */
  final String routerIp;
  final String aIp;
  final String bIp;
  private final List<String> created = new ArrayList<>();

  /** Subnet a (10.201.1.0/24, executor address 10.201.1.2) and subnet b (10.201.2.0/24, 10.201.2.2). */
  static NamespaceNetwork twoSubnets() throws IOException {
    return new NamespaceNetwork(false);
  }

  /**
   * Both executors in the VPC subnet 10.201.1.0/24 (10.201.1.2 and 10.201.1.3) as pods: each
   * interface carries its address as a /32, with a route to the router's 10.201.0.1 through the
   * link, as the Amazon VPC CNI sets up a pod (with 169.254.1.1); so no interface tells the subnet.
   */
  static NamespaceNetwork podsOfOneSubnet() throws IOException {
    return new NamespaceNetwork(true);
  }

  private NamespaceNetwork(boolean pods) throws IOException {
    String suffix = Long.toString(ProcessHandle.current().pid());
    router = "efa-r-" + suffix;
    a = "efa-a-" + suffix;
    b = "efa-b-" + suffix;
    routerIp = pods ? "10.201.0.1" : "10.201.1.1";
    aIp = "10.201.1.2";
    bIp = pods ? "10.201.1.3" : "10.201.2.2";
    try {
      for (String ns : List.of(router, a, b)) {
        ip("netns", "add", ns);
        created.add(ns);
        ip("-n", ns, "link", "set", "lo", "up");
      }
      if (pods) {
        for (String[] pod : List.of(new String[] {a, "ra" + suffix, aIp}, new String[] {b, "rb" + suffix, bIp})) {
          join(pod[0], pod[1], routerIp + "/32", pod[2] + "/32");
          ip("-n", router, "route", "add", pod[2] + "/32", "dev", pod[1]);
          ip("-n", pod[0], "route", "add", routerIp + "/32", "dev", INTERFACE);
          ip("-n", pod[0], "route", "add", "default", "via", routerIp, "dev", INTERFACE);
        }
      } else {
        join(a, "ra" + suffix, "10.201.1.1/24", aIp + "/24");
        join(b, "rb" + suffix, "10.201.2.1/24", bIp + "/24");
        ip("-n", a, "route", "add", "default", "via", "10.201.1.1");
        ip("-n", b, "route", "add", "default", "via", "10.201.2.1");
      }
      run(List.of("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"));
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
  }

  /**
   * Runs {@link SubnetJobMain} with {@code args} in the router namespace, its local cluster's
   * executors started by a java wrapper: executors whose id matches {@code aExecutorIds} (a bash
   * case pattern such as {@code 0|1}) in namespace a, the others in b, each with its host and
   * bind address changed to its namespace's address. Returns what the driver printed; fails if
   * it did not finish or failed (its log: {@code target/<log>}).
   */
  String runDriver(Path dir, String log, String aExecutorIds, String... args) throws IOException, InterruptedException {
    String realJava = ExecutorJava.realJava();
    String script = String.join("\n",
        "#!/bin/bash",
        "args=(\"$@\"); ns=; ip=",
        "for ((i = 0; i < ${#args[@]}; i++)); do",
        "  if [[ ${args[i]} == --executor-id ]]; then",
        "    case ${args[i+1]} in " + aExecutorIds + ") ns=" + a + " ip=" + aIp + ";;"
            + " *) ns=" + b + " ip=" + bIp + ";; esac",
        "  fi",
        "done",
        "if [[ -z $ns ]]; then exec " + realJava + " \"$@\"; fi",
        "for ((i = 0; i < ${#args[@]}; i++)); do",
        "  if [[ ${args[i]} == --hostname || ${args[i]} == --bind-address ]]; then args[i+1]=$ip; fi",
        "done",
        "export SPARK_LOCAL_IP=$ip SPARK_LOCAL_HOSTNAME=$ip",
        "exec ip netns exec $ns " + realJava + " \"${args[@]}\"",
        "");
    Path javaHome = ExecutorJava.javaHome(dir, script);
    List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", router, realJava));
    command.addAll(Arrays.asList(ExecutorJava.sparkJvmOptions()));
    command.addAll(List.of("-Dspark.testing=1", "-Dspark.test.home=" + new File("target").getAbsolutePath(),
        "-cp", System.getProperty("java.class.path"), SubnetJobMain.class.getName(), routerIp));
    command.addAll(Arrays.asList(args));
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(new File("target", log));
    builder.environment().putAll(Map.of("SPARK_TESTING", "1", "SPARK_SCALA_VERSION", "2.13",
        "SPARK_LOCAL_IP", routerIp, "SPARK_LOCAL_HOSTNAME", routerIp, "JAVA_HOME", javaHome.toString()));
    Process driver = builder.start();
    String out = new String(driver.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!driver.waitFor(10, TimeUnit.MINUTES) || driver.exitValue() != 0) {
      driver.destroyForcibly();
      throw new IllegalStateException("the driver failed (target/" + log + "):\n" + out);
    }
    return out;
  }

  /** Why this machine does not let the test create namespaces (no iproute2, no privilege), or null. */
  static String unavailableBecause() {
    String probe = "efa-probe-" + ProcessHandle.current().pid();
    try {
      run(List.of("ip", "netns", "add", probe));
      run(List.of("ip", "netns", "del", probe));
      return null;
    } catch (IOException e) {
      return "cannot create a network namespace here (needs root and iproute2): " + e.getMessage();
    }
  }

  private void join(String ns, String routerSide, String routerAddress, String nsAddress) throws IOException {
    ip("link", "add", routerSide, "netns", router, "type", "veth", "peer", "name", INTERFACE, "netns", ns);
    ip("-n", router, "addr", "add", routerAddress, "dev", routerSide);
    ip("-n", router, "link", "set", routerSide, "up");
    ip("-n", ns, "addr", "add", nsAddress, "dev", INTERFACE);
    ip("-n", ns, "link", "set", INTERFACE, "up");
  }

  private static void ip(String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of("ip"));
    command.addAll(List.of(args));
    run(command);
  }

  private static void run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " failed: " + out.trim());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", command), e);
    }
  }

  /** Deletes the namespaces (and with them their veths), newest first. */
  @Override
  public void close() throws IOException {
    IOException first = null;
    for (int i = created.size() - 1; i >= 0; i--) {
      try {
        ip("netns", "del", created.get(i));
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    created.clear();
    if (first != null) {
      throw first;
    }
  }
}
