package org.efashuffle.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Two subnets in network namespaces that the test creates and deletes: {@code a} (10.201.1.0/24)
 * and {@code b} (10.201.2.0/24), each joined by a veth pair (named {@code efa0} on the subnet's
 * side) to a router namespace that forwards between them and holds 10.201.1.1 and 10.201.2.1.
 * Nothing outside these namespaces is touched or addressed. Needs root and iproute2.
 */
final class TwoSubnets implements AutoCloseable {
  static final String ROUTER_IP = "10.201.1.1";
  static final String A_IP = "10.201.1.2";
  static final String B_IP = "10.201.2.2";
  static final String INTERFACE = "efa0";

  final String router;
  final String a;
  final String b;
  private final List<String> created = new ArrayList<>();

  TwoSubnets() throws IOException {
    String suffix = Long.toString(ProcessHandle.current().pid());
    router = "efa-r-" + suffix;
    a = "efa-a-" + suffix;
    b = "efa-b-" + suffix;
    try {
      for (String ns : List.of(router, a, b)) {
        ip("netns", "add", ns);
        created.add(ns);
        ip("-n", ns, "link", "set", "lo", "up");
      }
      join(a, "ra" + suffix, "10.201.1.1/24", A_IP + "/24");
      join(b, "rb" + suffix, "10.201.2.1/24", B_IP + "/24");
      ip("-n", a, "route", "add", "default", "via", "10.201.1.1");
      ip("-n", b, "route", "add", "default", "via", "10.201.2.1");
      run(List.of("ip", "netns", "exec", router, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"));
    } catch (IOException | RuntimeException e) {
      close();
      throw e;
    }
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
