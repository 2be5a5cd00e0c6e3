package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.common.protocol.MessageAuthenticator;
import org.efashuffle.common.protocol.MessageCodec;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * A bare endpoint that is not a transport: it sends whatever bytes a test makes (well-formed,
 * malformed, signed or not) and collects the messages it receives, undecoded.
 */
final class RawPeer implements AutoCloseable {
  static final int BUFFER = 64 << 10;
  private static final int RECEIVES = 16;

  final FabricDomain domain;
  final FabricEndpoint endpoint;
  private final RegisteredMemory sendBuffer;
  private final RegisteredMemory receiveBuffers;
  private final BlockingQueue<byte[]> received = new LinkedBlockingQueue<>();

  RawPeer(String provider, String domainName) {
    domain = FabricDomain.open(provider, domainName);
    endpoint = domain.openEndpoint(EndpointConfig.defaults());
    sendBuffer = RegisteredMemory.allocate(domain, BUFFER);
    receiveBuffers = RegisteredMemory.allocate(domain, (long) RECEIVES * BUFFER);
    for (int i = 0; i < RECEIVES; i++) {
      postReceive(i);
    }
  }

  private void postReceive(int slot) {
    endpoint.receive(receiveBuffers.region(), (long) slot * BUFFER, BUFFER).whenComplete((n, e) -> {
      if (e == null) {
        byte[] bytes = new byte[n.intValue()];
        receiveBuffers.memory().byteBuffer((long) slot * BUFFER, n.intValue()).get(bytes);
        received.add(bytes);
        postReceive(slot);
      }
    });
  }

  byte[] address() {
    return endpoint.address();
  }

  /** Sends {@code bytes} as one message to {@code peer} (an address-vector handle) and waits until it left. */
  void send(long peer, byte[] bytes) throws Exception {
    sendBuffer.memory().put(0, bytes, 0, bytes.length);
    endpoint.send(sendBuffer.region(), 0, bytes.length, peer).get(30, TimeUnit.SECONDS);
  }

  /** As {@link #send}, but a send the provider fails (e.g. the peer dropped the connection) returns false. */
  boolean trySend(long peer, byte[] bytes) throws Exception {
    try {
      send(peer, bytes);
      return true;
    } catch (java.util.concurrent.ExecutionException e) {
      return false;
    }
  }

  /** Encodes (and with {@code signer}, signs) a message. */
  static byte[] encode(Message message, MessageAuthenticator signer) {
    ByteBuffer out = ByteBuffer.allocate(BUFFER);
    int n = MessageCodec.encode(message, out);
    if (signer != null) {
      n = signer.sign(out, 0, n);
    }
    byte[] bytes = new byte[n];
    out.get(0, bytes);
    return bytes;
  }

  /** Signs raw bytes (as a peer with the secret could, whatever they hold); unchanged without a signer. */
  static byte[] sign(byte[] bytes, MessageAuthenticator signer) {
    if (signer == null) {
      return bytes;
    }
    ByteBuffer out = ByteBuffer.allocate(bytes.length + MessageAuthenticator.TAG_SIZE);
    out.put(0, bytes);
    byte[] signed = new byte[signer.sign(out, 0, bytes.length)];
    out.get(0, signed);
    return signed;
  }

  /** The next message received within {@code seconds}, decoded (and checked, with {@code signer}); null if none came. */
  Message next(MessageAuthenticator signer, long seconds) throws InterruptedException {
    byte[] bytes = received.poll(seconds, TimeUnit.SECONDS);
    if (bytes == null) {
      return null;
    }
    ByteBuffer in = ByteBuffer.wrap(bytes);
    if (signer != null) {
      in.limit(signer.verify(in, 0, bytes.length));
    }
    return MessageCodec.decode(in);
  }

  @Override
  public void close() {
    endpoint.close();
    receiveBuffers.close();
    sendBuffer.close();
    domain.close();
  }
}
