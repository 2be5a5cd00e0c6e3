package org.efashuffle.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class SubnetTest {
  @Test
  void hostsOfOneSubnetShareItAndOthersDoNot() throws Exception {
    Subnet a = Subnet.parse("10.0.1.17/24");
    assertEquals("10.0.1.0/24", a.toString());
    assertEquals(a, Subnet.parse("10.0.1.200/24"));
    assertTrue(a.contains(InetAddress.getByName("10.0.1.254")));
    assertFalse(a.contains(InetAddress.getByName("10.0.2.1")));
    assertFalse(Subnet.parse("10.0.1.17/25").equals(Subnet.parse("10.0.1.200/25")));
  }

  @Test
  void ipv6AndMixedFamilies() throws Exception {
    Subnet v6 = Subnet.parse("fd00:0:0:1::5/64");
    assertTrue(v6.contains(InetAddress.getByName("fd00:0:0:1:abcd::1")));
    assertFalse(v6.contains(InetAddress.getByName("fd00:0:0:2::1")));
    assertFalse(v6.contains(InetAddress.getByName("10.0.1.1")));
  }

  @Test
  void badInputIsNamed() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Subnet.parse("10.0.1.0"));
    assertTrue(e.getMessage().contains("'10.0.1.0'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Subnet.parse("10.0.1.0/33"));
    assertThrows(IllegalArgumentException.class, () -> Subnet.parse("example.com/24"));
  }
}
