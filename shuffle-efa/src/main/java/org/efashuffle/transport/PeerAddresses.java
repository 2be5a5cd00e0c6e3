package org.efashuffle.transport;

import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.efashuffle.fabric.FabricEndpoint;

/**
 * Peers' fabric addresses and their address-vector handles, each inserted once. An address from
 * a message is checked before it reaches {@code fi_av_insert}, which reads as many bytes as the
 * provider's address format holds: it must have the shape of this endpoint's own address. Binary
 * formats (tcp's sockaddr, efa's 32 bytes) have one length; shm's names are NUL-terminated
 * strings whose length varies with the process id, so for them the address must be one printable
 * string, NUL-terminated, with the same scheme ({@code fi_shm://}).
 */
final class PeerAddresses {
  private static final int MAX_STRING_ADDRESS = 256;

  private final FabricEndpoint endpoint;
  private final byte[] own;
  private final String scheme;
  private final Map<String, Long> handles = new ConcurrentHashMap<>();

  PeerAddresses(FabricEndpoint endpoint) {
    this.endpoint = endpoint;
    this.own = endpoint.address();
    this.scheme = isString(own) ? schemeOf(own) : null;
  }

  /**
   * The handle of the peer at {@code address}, inserted on first use.
   *
   * @throws IllegalArgumentException naming what is wrong when it is not an address of this
   *     endpoint's fabric (nothing reaches native code then)
   */
  long handle(byte[] address) {
    String problem = problem(address);
    if (problem != null) {
      throw new IllegalArgumentException(problem);
    }
    return handles.computeIfAbsent(HexFormat.of().formatHex(address), k -> endpoint.insertPeer(address));
  }

  /** The handle of a peer inserted before (this side sent to it), or null: nothing is inserted. */
  Long known(byte[] address) {
    return handles.get(HexFormat.of().formatHex(address));
  }

  private String problem(byte[] address) {
    if (scheme == null) {
      return address.length == own.length ? null
          : "an address of " + address.length + " bytes where this fabric's have " + own.length;
    }
    if (address.length > MAX_STRING_ADDRESS || !isString(address) || !scheme.equals(schemeOf(address))) {
      return "an address of " + address.length + " bytes that is not a NUL-terminated " + scheme + " name";
    }
    return null;
  }

  /** Printable ASCII ending in its only NUL. */
  private static boolean isString(byte[] address) {
    if (address.length < 2 || address[address.length - 1] != 0) {
      return false;
    }
    for (int i = 0; i < address.length - 1; i++) {
      if (address[i] < 0x20 || address[i] > 0x7e) {
        return false;
      }
    }
    return true;
  }

  private static String schemeOf(byte[] stringAddress) {
    String text = new String(stringAddress, 0, stringAddress.length - 1, java.nio.charset.StandardCharsets.US_ASCII);
    int end = text.indexOf("://");
    return end < 0 ? "" : text.substring(0, end + 3);
  }
}
