package org.efashuffle.common.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class MessageAuthenticatorTest {
  private static final MessageAuthenticator APP = new MessageAuthenticator("app secret".getBytes(StandardCharsets.UTF_8));

  private static ByteBuffer signedRequest() {
    ByteBuffer buf = ByteBuffer.allocate(512);
    Message request = new Message.FetchRequest(7, new byte[] {1, 2, 3}, List.of(BlockRef.of(1, 2, 3)));
    int length = APP.sign(buf, 0, MessageCodec.encode(request, buf));
    return buf.limit(length).position(0);
  }

  @Test
  void aSignedMessageChecksAndDecodes() {
    ByteBuffer buf = signedRequest();
    int payload = APP.verify(buf, 0, buf.limit());
    Message.FetchRequest back = (Message.FetchRequest) MessageCodec.decode(buf.limit(payload));
    assertEquals(7, back.requestId());
    assertEquals(List.of(BlockRef.of(1, 2, 3)), back.blocks());
  }

  @Test
  void anotherSecretAnAlteredByteOrNoTagIsRefused() {
    ByteBuffer buf = signedRequest();
    MessageAuthenticator other = new MessageAuthenticator("another app".getBytes(StandardCharsets.UTF_8));
    assertThrows(ProtocolException.class, () -> other.verify(buf, 0, buf.limit()));
    for (int i = 0; i < buf.limit(); i += 5) {
      ByteBuffer altered = ByteBuffer.allocate(buf.limit()).put(buf.duplicate().rewind()).flip();
      altered.put(i, (byte) (altered.get(i) ^ 0x10));
      int at = i;
      assertThrows(ProtocolException.class, () -> APP.verify(altered, 0, altered.limit()), "byte " + at);
    }
    assertThrows(ProtocolException.class, () -> APP.verify(buf, 0, MessageAuthenticator.TAG_SIZE));
    assertThrows(IllegalArgumentException.class, () -> new MessageAuthenticator(new byte[0]));
  }
}
