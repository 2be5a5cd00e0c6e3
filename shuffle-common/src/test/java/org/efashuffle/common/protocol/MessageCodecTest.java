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
      blocks.add(new BlockRef(random.nextInt(50), random.nextLong() >>> 1, start, start + 1 + random.nextInt(5)));
      locations.add(i % 7 == 0 ? BlockLocation.failed(BlockLocation.Status.NOT_FOUND)
          : BlockLocation.ok(random.nextLong() >>> 1, random.nextLong() >>> 20, random.nextLong()));
    }
    byte[] address = new byte[32];
    random.nextBytes(address);
    Message.FetchRequest request = (Message.FetchRequest) roundTrip(new Message.FetchRequest(9, address, blocks));
    assertEquals(9, request.requestId());
    assertArrayEquals(address, request.replyAddress());
    assertEquals(blocks, request.blocks());
    Message.FetchAnswer answer = (Message.FetchAnswer) roundTrip(new Message.FetchAnswer(9, address, locations));
    assertEquals(9, answer.requestId());
    assertArrayEquals(address, answer.serverAddress());
    assertEquals(locations, answer.locations());
    assertEquals(new Message.FetchDone(-5), roundTrip(new Message.FetchDone(-5)));
  }

  @Test
  void inlineBlocksComeBackWithTheirBytes() {
    byte[] bytes = new byte[300];
    new Random(5).nextBytes(bytes);
    List<BlockLocation> locations = List.of(BlockLocation.inline(100), BlockLocation.ok(4096, 10, 7),
        BlockLocation.inline(0), BlockLocation.failed(BlockLocation.Status.NOT_FOUND), BlockLocation.inline(200));
    Message.FetchAnswer sent = new Message.FetchAnswer(3, new byte[16], locations, bytes);
    ByteBuffer buf = ByteBuffer.allocate(1024);
    assertEquals(MessageCodec.answerSize(16, locations.size(), bytes.length), MessageCodec.encode(sent, buf));
    buf.flip();
    Message.FetchAnswer answer = (Message.FetchAnswer) MessageCodec.decode(buf);
    assertEquals(locations, answer.locations());
    assertArrayEquals(bytes, answer.inline());
    assertTrue(answer.leased(), "a block is to be read from the server's memory");
    assertTrue(!new Message.FetchAnswer(3, new byte[16], List.of(BlockLocation.inline(300)), bytes).leased());
    Message.FetchRequest request = (Message.FetchRequest) roundTrip(
        new Message.FetchRequest(4, new byte[16], List.of(BlockRef.of(0, 1, 2)), 7000));
    assertEquals(7000, request.inlineBytes());
  }

  @Test
  void inlineBlocksThatDisagreeWithTheirBytesAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Message.FetchAnswer(1, new byte[16],
        List.of(BlockLocation.inline(10)), new byte[9]));
    assertThrows(IllegalArgumentException.class, () -> new BlockLocation(BlockLocation.Status.INLINE, 4096, 10, 0));
    ByteBuffer buf = ByteBuffer.allocate(256);
    MessageCodec.encode(new Message.FetchAnswer(1, new byte[16], List.of(BlockLocation.inline(10)), new byte[10]), buf);
    buf.flip();
    int length = MessageCodec.HEADER_SIZE + 2 + 16 + 4 + 9;
    assertTrue(refusal(buf.duplicate().putLong(length, 11)).contains("inline"), "one byte more than it carries");
    int inlineCount = MessageCodec.answerSize(16, 1, 0) - 4;
    assertTrue(refusal(buf.duplicate().putInt(inlineCount, 1000)).contains("claims"), "more bytes than the message has");
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
    assertTrue(MessageCodec.encode(new Message.FetchAnswer(1, new byte[32], locations), ByteBuffer.allocate(max)) <= max);
    locations.add(BlockLocation.ok(n, n, n));
    assertThrows(IllegalArgumentException.class,
        () -> MessageCodec.encode(new Message.FetchAnswer(1, new byte[32], locations), ByteBuffer.allocate(max)));
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
    lying.putInt(MessageCodec.HEADER_SIZE + 2 + 16 + 4, 1_000_000);
    assertTrue(assertThrows(ProtocolException.class, () -> MessageCodec.decode(lying)).getMessage().contains("claims"));
    ByteBuffer newer = buf.duplicate();
    newer.put(4, (byte) (MessageCodec.VERSION + 1));
    assertTrue(assertThrows(ProtocolException.class, () -> MessageCodec.decode(newer)).getMessage().contains("version " + (MessageCodec.VERSION + 1)));
  }

  /** An answer's bytes with location 0's fields replaced (status, address, length). */
  private static ByteBuffer answerWith(int status, long remoteAddress, long length, long secondLength) {
    ByteBuffer buf = ByteBuffer.allocate(256);
    MessageCodec.encode(new Message.FetchAnswer(4, new byte[16],
        List.of(BlockLocation.ok(4096, 10, 7), BlockLocation.ok(8192, 10, 7))), buf);
    buf.flip();
    int first = MessageCodec.HEADER_SIZE + 2 + 16 + 4;
    buf.put(first, (byte) status).putLong(first + 1, remoteAddress).putLong(first + 9, length);
    buf.putLong(first + MessageCodec.LOCATION_SIZE + 9, secondLength);
    return buf;
  }

  private static String refusal(ByteBuffer bytes) {
    return assertThrows(ProtocolException.class, () -> MessageCodec.decode(bytes)).getMessage();
  }

  @Test
  void answersWithImpossibleLocationsAreRefused() {
    assertEquals(10, ((Message.FetchAnswer) MessageCodec.decode(answerWith(0, 4096, 10, 10))).locations().get(0).length());
    assertTrue(refusal(answerWith(0, 4096, -1, 10)).contains("negative"), "an OK block of negative length");
    assertTrue(refusal(answerWith(0, -4096, 8192, 10)).contains("wraps"), "a range past the end of the address space");
    assertTrue(refusal(answerWith(0, 0, Long.MAX_VALUE, 10)).contains("overflow"), "lengths whose sum overflows");
    assertTrue(refusal(answerWith(1, 4096, 10, 10)).contains("NOT_FOUND"), "a failed block that names memory");
    assertTrue(refusal(answerWith(9, 4096, 10, 10)).contains("status 9"));
  }

  @Test
  void requestsNamingBlocksNoReaderMakesAreRefused() {
    ByteBuffer buf = ByteBuffer.allocate(256);
    MessageCodec.encode(new Message.FetchRequest(1, new byte[16], List.of(BlockRef.of(0, 1, 2))), buf);
    buf.flip();
    int ref = MessageCodec.HEADER_SIZE + 2 + 16 + 4 + 4;
    assertTrue(refusal(buf.duplicate().putLong(ref + 4, -3)).contains("invalid block"), "a negative map id");
    assertTrue(refusal(buf.duplicate().putInt(ref + 12, -1)).contains("invalid block"), "a negative partition");
    assertTrue(refusal(buf.duplicate().putInt(ref + 16, 2)).contains("invalid block"), "an empty partition range");
    assertTrue(refusal(buf.duplicate().putInt(ref, -1)).contains("invalid block"), "a negative shuffle id");
    ByteBuffer budget = ByteBuffer.allocate(256);
    MessageCodec.encode(new Message.FetchRequest(1, new byte[16], List.of(BlockRef.of(0, 1, 2))), budget);
    budget.flip().putInt(MessageCodec.HEADER_SIZE + 2 + 16, -1);
    assertTrue(refusal(budget).contains("negative inline"), "a negative inline byte budget");
    ByteBuffer noAddress = ByteBuffer.allocate(256);
    MessageCodec.encode(new Message.FetchDone(1), noAddress);
    noAddress.putShort((short) 0).putInt(0).flip();
    noAddress.put(5, (byte) 1); // claims to be a request with a reply address of 0 bytes
    assertTrue(refusal(noAddress).contains("reply address of 0 bytes"));
  }

  @Test
  void bytesAfterTheMessageAreRefused() {
    ByteBuffer buf = ByteBuffer.allocate(64);
    int n = MessageCodec.encode(new Message.FetchDone(3), buf);
    buf.limit(n + 5).position(0);
    assertTrue(refusal(buf).contains("5 bytes after the message"));
  }
}
