package org.efashuffle.transport;

import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.efashuffle.fabric.FabricEndpoint;

/**
 * Peers' fabric addresses and their address-vector handles, each inserted once. An address from
 * a message is checked by {@link FabricEndpoint#insertPeer} before it reaches {@code fi_av_insert}
 * (it must have the shape of this endpoint's own addresses).
 */
final class PeerAddresses {
  private final FabricEndpoint endpoint;
  private final Map<String, Long> handles = new ConcurrentHashMap<>();

  PeerAddresses(FabricEndpoint endpoint) {
    this.endpoint = endpoint;
  }

  /**
   * The handle of the peer at {@code address}, inserted on first use.
   *
   * @throws IllegalArgumentException naming what is wrong when it is not an address of this
   *     endpoint's fabric (nothing reaches native code then)
   */
  long handle(byte[] address) {
    return handles.computeIfAbsent(HexFormat.of().formatHex(address), k -> endpoint.insertPeer(address));
  }

  /** The handle of a peer inserted before (this side sent to it), or null: nothing is inserted. */
  Long known(byte[] address) {
    return handles.get(HexFormat.of().formatHex(address));
  }
}
