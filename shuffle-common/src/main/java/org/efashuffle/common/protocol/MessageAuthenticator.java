package org.efashuffle.common.protocol;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signs and checks control messages with the application's shared secret (HMAC-SHA256, a 32-byte
 * tag after the message), so that only executors of the same application can ask for memory keys
 * or answer with them. The reply address is inside the signed bytes: a replayed request is
 * answered to the executor that made it, never to whoever replayed it. Thread-safe: each call
 * takes its own {@link Mac}.
 */
public final class MessageAuthenticator {
  public static final int TAG_SIZE = 32;
  private static final String ALGORITHM = "HmacSHA256";

  private final SecretKeySpec key;

  public MessageAuthenticator(byte[] secret) {
    if (secret == null || secret.length == 0) {
      throw new IllegalArgumentException("an empty secret authenticates nothing");
    }
    this.key = new SecretKeySpec(secret, ALGORITHM);
  }

  /** Appends the tag of {@code out}'s bytes [start, start + length) after them; returns the signed length. */
  public int sign(ByteBuffer out, int start, int length) {
    byte[] tag = tag(out, start, length);
    if (out.limit() - start - length < TAG_SIZE) {
      throw new IllegalArgumentException("no room for the authentication tag");
    }
    out.put(start + length, tag);
    return length + TAG_SIZE;
  }

  /**
   * Checks a signed message of {@code length} bytes at {@code start}; returns the length of the
   * message without its tag.
   *
   * @throws ProtocolException when the tag is missing or does not match (another application's
   *     secret, or bytes altered on the way)
   */
  public int verify(ByteBuffer in, int start, int length) {
    int payload = length - TAG_SIZE;
    if (payload <= 0) {
      throw new ProtocolException("an unsigned message where a signed one was expected");
    }
    byte[] received = new byte[TAG_SIZE];
    in.get(start + payload, received);
    if (!MessageDigest.isEqual(received, tag(in, start, payload))) {
      throw new ProtocolException("authentication tag does not match (a peer without this application's secret?)");
    }
    return payload;
  }

  private byte[] tag(ByteBuffer buf, int start, int length) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      mac.update(buf.duplicate().limit(start + length).position(start));
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(ALGORITHM + " is part of every Java runtime", e);
    }
  }
}
