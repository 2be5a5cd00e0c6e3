package org.efashuffle.spark;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.efashuffle.common.Subnet;

/**
 * What an executor tells its peers about its fabric side: the provider it opened, its subnet and
 * its fabric address. Peers read it as a small block from the executor's own block manager, over
 * the Netty path Spark already authenticates.
 */
record PeerInfo(String provider, Subnet subnet, byte[] fabricAddress) {
  private static final int VERSION = 1;

  /** Whether this executor may read {@code peer}'s blocks over the fabric: same provider, same subnet. */
  boolean canReachOverFabric(PeerInfo peer) {
    return provider.equals(peer.provider) && subnet.equals(peer.subnet);
  }

  byte[] encode() {
    byte[] p = provider.getBytes(StandardCharsets.UTF_8);
    byte[] s = subnet.toString().getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(4 + 3 * 4 + p.length + s.length + fabricAddress.length);
    buf.putInt(VERSION);
    buf.putInt(p.length).put(p).putInt(s.length).put(s).putInt(fabricAddress.length).put(fabricAddress);
    return buf.array();
  }

  static PeerInfo decode(ByteBuffer buf) {
    int version = buf.getInt();
    if (version != VERSION) {
      throw new IllegalArgumentException("peer info version " + version + ", expected " + VERSION);
    }
    String provider = new String(bytes(buf), StandardCharsets.UTF_8);
    Subnet subnet = Subnet.parse(new String(bytes(buf), StandardCharsets.UTF_8));
    return new PeerInfo(provider, subnet, bytes(buf));
  }

  private static byte[] bytes(ByteBuffer buf) {
    int n = buf.getInt();
    if (n < 0 || n > buf.remaining()) {
      throw new IllegalArgumentException("peer info field of " + n + " bytes in " + buf.remaining());
    }
    byte[] b = new byte[n];
    buf.get(b);
    return b;
  }
}
