package org.efashuffle.spark;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.charset.StandardCharsets;
import org.efashuffle.common.Subnet;

/**
 * What an executor tells its peers about its fabric side: the provider and the fabric it opened
 * (the efa provider offers two, {@code efa} and {@code efa-direct}, with different wire
 * protocols), its subnet, the host it runs on (see {@link #thisHost()}) and its fabric address.
 * Peers read it as a small block from the executor's own block manager, over the Netty path Spark
 * already authenticates.
 */
record PeerInfo(String provider, String fabric, Subnet subnet, String host, byte[] fabricAddress) {
  /** 3: the fabric name was added. A peer publishing another version is read over Netty. */
  private static final int VERSION = 3;
  /** A provider that only moves bytes between processes of one host (its addresses name host-local shared memory). */
  private static final String HOST_LOCAL_PROVIDER = "shm";

  /**
   * Whether this executor may read {@code peer}'s blocks over the fabric: same provider, same
   * fabric, same subnet, and for shm the same host.
   */
  boolean canReachOverFabric(PeerInfo peer) {
    return provider.equals(peer.provider) && fabric.equals(peer.fabric) && subnet.equals(peer.subnet)
        && (!provider.equals(HOST_LOCAL_PROVIDER) || host.equals(peer.host));
  }

  /**
   * This host as shm sees it: the kernel's boot id and the host name (of this UTS namespace), so
   * that two machines, or two containers with their own host names, never count as one host.
   */
  static String thisHost() {
    String bootId;
    String name;
    try {
      bootId = Files.readString(Paths.get("/proc/sys/kernel/random/boot_id")).trim();
      name = Files.readString(Paths.get("/proc/sys/kernel/hostname")).trim();
    } catch (IOException | RuntimeException e) {
      bootId = "?";
      try {
        name = InetAddress.getLocalHost().getHostName();
      } catch (IOException unknown) {
        name = "?";
      }
    }
    return name + "/" + bootId;
  }

  byte[] encode() {
    byte[] p = provider.getBytes(StandardCharsets.UTF_8);
    byte[] f = fabric.getBytes(StandardCharsets.UTF_8);
    byte[] s = subnet.toString().getBytes(StandardCharsets.UTF_8);
    byte[] h = host.getBytes(StandardCharsets.UTF_8);
    ByteBuffer buf = ByteBuffer.allocate(4 + 5 * 4 + p.length + f.length + s.length + h.length + fabricAddress.length);
    buf.putInt(VERSION);
    buf.putInt(p.length).put(p).putInt(f.length).put(f).putInt(s.length).put(s).putInt(h.length).put(h);
    buf.putInt(fabricAddress.length).put(fabricAddress);
    return buf.array();
  }

  static PeerInfo decode(ByteBuffer buf) {
    int version = buf.getInt();
    if (version != VERSION) {
      throw new IllegalArgumentException("peer info version " + version + ", expected " + VERSION);
    }
    String provider = new String(bytes(buf), StandardCharsets.UTF_8);
    String fabric = new String(bytes(buf), StandardCharsets.UTF_8);
    Subnet subnet = Subnet.parse(new String(bytes(buf), StandardCharsets.UTF_8));
    String host = new String(bytes(buf), StandardCharsets.UTF_8);
    return new PeerInfo(provider, fabric, subnet, host, bytes(buf));
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
