package org.efashuffle.common.protocol;

/** A control message that could not be decoded; the message says what was wrong. */
public class ProtocolException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ProtocolException(String message) {
    super(message);
  }
}
