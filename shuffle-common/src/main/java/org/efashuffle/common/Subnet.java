package org.efashuffle.common;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An IP subnet (address and prefix length, IPv4 or IPv6). EFA reaches only hosts of one subnet,
 * so the transport choice asks whether two executors' subnets are the same one.
 */
public record Subnet(InetAddress network, int prefixLength) {

  public Subnet {
    int bits = network.getAddress().length * 8;
    if (prefixLength < 0 || prefixLength > bits) {
      throw new IllegalArgumentException("prefix length " + prefixLength + " out of range 0.." + bits);
    }
    network = mask(network, prefixLength);
  }

  /** Parses "10.0.1.17/24" or "fd00::5/64" (the host part is masked off). */
  public static Subnet parse(String cidr) {
    int slash = cidr.indexOf('/');
    if (slash < 0) {
      throw new IllegalArgumentException("subnet '" + cidr + "' is not of the form ADDRESS/PREFIX");
    }
    try {
      InetAddress address = InetAddress.getByName(literal(cidr.substring(0, slash)));
      return new Subnet(address, Integer.parseInt(cidr.substring(slash + 1)));
    } catch (UnknownHostException | NumberFormatException e) {
      throw new IllegalArgumentException("subnet '" + cidr + "' is not of the form ADDRESS/PREFIX", e);
    }
  }

  /** Whether the address lies in this subnet (always false across address families). */
  public boolean contains(InetAddress address) {
    return address.getAddress().length == network.getAddress().length
        && mask(address, prefixLength).equals(network);
  }

  @Override
  public String toString() {
    return network.getHostAddress() + "/" + prefixLength;
  }

  private static String literal(String s) {
    // getByName would resolve a host name; accept only literals (digits, hex, ':' and '.').
    if (s.isEmpty() || !s.chars().allMatch(c -> Character.digit(c, 16) >= 0 || c == ':' || c == '.')) {
      throw new IllegalArgumentException("'" + s + "' is not an IP address literal");
    }
    return s;
  }

  private static InetAddress mask(InetAddress address, int prefixLength) {
    byte[] bytes = address.getAddress();
    for (int i = 0; i < bytes.length; i++) {
      int keep = Math.max(0, Math.min(8, prefixLength - 8 * i));
      bytes[i] &= (byte) (0xff << (8 - keep));
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      throw new AssertionError("address of " + bytes.length + " bytes", e);
    }
  }
}
