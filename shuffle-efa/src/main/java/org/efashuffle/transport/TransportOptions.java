package org.efashuffle.transport;

import java.time.Duration;
import org.efashuffle.common.protocol.MessageAuthenticator;
import org.efashuffle.fabric.EndpointConfig;

/**
 * How a {@link FabricTransport} runs: its endpoint's settings (whose operation timeout bounds each
 * read), the authenticator of its control messages (null: none), the budget of its receive pool,
 * the registered memory fabric reads land in (a fetch that finds it full registers memory of its
 * own for its duration), and how long a fetch waits for the peer's answer to its request.
 */
public record TransportOptions(EndpointConfig endpoint, MessageAuthenticator authenticator, long receivePoolBytes,
    Duration requestTimeout) {
  public static final long DEFAULT_RECEIVE_POOL_BYTES = 256L << 20;
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(5);

  public TransportOptions {
    if (requestTimeout.isNegative() || requestTimeout.isZero()) {
      throw new IllegalArgumentException("request timeout must be positive: " + requestTimeout);
    }
  }

  public static TransportOptions of(EndpointConfig endpoint) {
    return new TransportOptions(endpoint, null, DEFAULT_RECEIVE_POOL_BYTES, DEFAULT_REQUEST_TIMEOUT);
  }

  public TransportOptions withAuthenticator(MessageAuthenticator authenticator) {
    return new TransportOptions(endpoint, authenticator, receivePoolBytes, requestTimeout);
  }

  public TransportOptions withReceivePoolBytes(long bytes) {
    return new TransportOptions(endpoint, authenticator, bytes, requestTimeout);
  }

  public TransportOptions withRequestTimeout(Duration timeout) {
    return new TransportOptions(endpoint, authenticator, receivePoolBytes, timeout);
  }
}
