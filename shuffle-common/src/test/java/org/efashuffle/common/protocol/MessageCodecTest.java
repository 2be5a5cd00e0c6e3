package org.efashuffle.common.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MessageCodecTest {
  private static Message roundTrip(Message m) {
    ByteBuffer buf = ByteBuffer.allocate(1 << 16);
    int n = MessageCodec.encode(m, buf);
    buf.flip();
    assertEquals(n, buf.remaining());
    Message back = MessageCodec.decode(buf);
    assertEquals(0, buf.remaining());
    return back;
  }

  @Test
  void everyMessageComesBackAsItWasSent() {
    Random random = new Random(3);
    List<BlockRef> blocks = new ArrayList<>();
    List<BlockLocation> locations = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      int start = random.nextInt(1000);
      blocks.add(new BlockRef(random.nextInt(50), random.nextLong(), start, start + 1 + random.nextInt(5)));
      locations.add(i % 7 == 0 ? BlockLocation.failed(BlockLocation.Status.NOT_FOUND)
          : BlockLocation.ok(random.nextLong() >>> 1, random.nextLong() >>> 20, random.nextLong()));
    }
    byte[] address = new byte[32];
    random.nextBytes(address);
    Message.FetchRequest request = (Message.FetchRequest) roundTrip(new Message.FetchRequest(9, address, blocks));
    assertEquals(9, request.requestId());
    assertArrayEquals(address, request.replyAddress());
    assertEquals(blocks, request.blocks());
    assertEquals(new Message.FetchAnswer(9, locations), roundTrip(new Message.FetchAnswer(9, locations)));
    assertEquals(new Message.FetchDone(-5), roundTrip(new Message.FetchDone(-5)));
  }

  @Test
  void aFullRequestAndItsAnswerFitTheMessageSize() {
    int max = 4096;
    int n = MessageCodec.maxBlocksPerRequest(max, 32);
    List<BlockRef> blocks = new ArrayList<>();
    List<BlockLocation> locations = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      blocks.add(BlockRef.of(1, i, i));
      locations.add(BlockLocation.ok(i, i, i));
    }
    assertTrue(MessageCodec.encode(new Message.FetchRequest(1, new byte[32], blocks), ByteBuffer.allocate(max)) <= max);
    assertTrue(MessageCodec.encode(new Message.FetchAnswer(1, locations), ByteBuffer.allocate(max)) <= max);
    locations.add(BlockLocation.ok(n, n, n));
    assertThrows(IllegalArgumentException.class,
        () -> MessageCodec.encode(new Message.FetchAnswer(1, locations), ByteBuffer.allocate(max)));
  }

  @Test
  void corruptOrForeignBytesAreRefusedWithAReason() {
    ByteBuffer buf = ByteBuffer.allocate(256);
    MessageCodec.encode(new Message.FetchRequest(1, new byte[16], List.of(BlockRef.of(0, 1, 2))), buf);
    buf.flip();
    ByteBuffer truncated = buf.duplicate().limit(10);
    assertTrue(assertThrows(ProtocolException.class, () -> MessageCodec.decode(truncated)).getMessage().contains("truncated"));
    ByteBuffer foreign = ByteBuffer.wrap("GET / HTTP/1.1\r\n\r\n".getBytes());
    assertTrue(assertThrows(ProtocolException.class, () -> MessageCodec.decode(foreign)).getMessage().contains("magic"));
    ByteBuffer lying = buf.duplicate();
    lying.putInt(MessageCodec.HEADER_SIZE + 2 + 16, 1_000_000);
    assertTrue(assertThrows(ProtocolException.class, () -> MessageCodec.decode(lying)).getMessage().contains("claims"));
    ByteBuffer newer = buf.duplicate();
    newer.put(4, (byte) 2);
    assertTrue(assertThrows(ProtocolException.class, () -> MessageCodec.decode(newer)).getMessage().contains("version 2"));
  }
}
