package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.Random;
import org.apache.spark.network.buffer.ManagedBuffer;
import org.apache.spark.network.buffer.NioManagedBuffer;
import org.junit.jupiter.api.Test;

/** The test-only fault flips exactly one bit, once per block, through every way Spark reads a buffer. */
class CorruptFabricBlocksTest {
  @Test
  void offUnlessSet() {
    assertNull(CorruptFabricBlocks.fromSparkConf(), "no SparkEnv, no setting: off");
  }

  @Test
  void oneBitFlippedOncePerBlock() throws Exception {
    byte[] bytes = new byte[100_003];
    new Random(3).nextBytes(bytes);
    ManagedBuffer original = new NioManagedBuffer(ByteBuffer.wrap(bytes));
    CorruptFabricBlocks fault = new CorruptFabricBlocks();
    ManagedBuffer damaged = fault.apply("1", "shuffle_0_1_2", original);
    assertEquals(1, bitsDifferent(bytes, readAll(damaged.createInputStream(), 7)));
    assertEquals(1, bitsDifferent(bytes, readAll(damaged.createInputStream(), 4096)));
    ByteBuffer nio = damaged.nioByteBuffer();
    byte[] viaNio = new byte[nio.remaining()];
    nio.get(viaNio);
    assertEquals(1, bitsDifferent(bytes, viaNio));
    assertSame(original, fault.apply("1", "shuffle_0_1_2", original), "a second fetch of the block is clean");
    assertEquals(1, bitsDifferent(bytes, readAll(fault.apply("2", "shuffle_0_1_2", original).createInputStream(), 512)),
        "the same block id from another executor is another block");
  }

  private static byte[] readAll(InputStream in, int chunk) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[chunk];
    int n;
    while ((n = in.read(buf, 0, chunk)) > 0) {
      out.write(buf, 0, n);
      int b = in.read(); // single-byte reads count too
      if (b < 0) {
        break;
      }
      out.write(b);
    }
    return out.toByteArray();
  }

  private static int bitsDifferent(byte[] a, byte[] b) {
    assertEquals(a.length, b.length);
    int bits = 0;
    for (int i = 0; i < a.length; i++) {
      bits += Integer.bitCount((a[i] ^ b[i]) & 0xff);
    }
    return bits;
  }
}
