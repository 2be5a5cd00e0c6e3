package org.efashuffle.transport;

import org.efashuffle.common.protocol.MessageAuthenticator;
import org.efashuffle.fabric.EndpointConfig;

/**
 * How a {@link FabricTransport} runs: its endpoint's settings, the authenticator of its control
 * messages (null: none), and the budget of its receive pool, the registered memory fabric reads
 * land in (a fetch that finds it full registers memory of its own for its duration).
 */
public record TransportOptions(EndpointConfig endpoint, MessageAuthenticator authenticator, long receivePoolBytes) {
  public static final long DEFAULT_RECEIVE_POOL_BYTES = 256L << 20;

  public static TransportOptions of(EndpointConfig endpoint) {
    return new TransportOptions(endpoint, null, DEFAULT_RECEIVE_POOL_BYTES);
  }

  public TransportOptions withAuthenticator(MessageAuthenticator authenticator) {
    return new TransportOptions(endpoint, authenticator, receivePoolBytes);
  }

  public TransportOptions withReceivePoolBytes(long bytes) {
    return new TransportOptions(endpoint, authenticator, bytes);
  }
}
