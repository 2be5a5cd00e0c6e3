package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.common.protocol.MessageAuthenticator;
import org.efashuffle.common.protocol.MessageCodec;
import org.efashuffle.common.protocol.ProtocolException;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * Control messages over an endpoint: a ring of posted receive slots and a pool of send slots in
 * one registered block. Every received message is decoded, its slot posted again, and the message
 * handed to the handler on the progress thread (which must not block). Sends that find no free
 * slot wait in order for one. With an authenticator every message is signed, and a received one
 * whose tag does not check is dropped. The channel owns its memory and registration;
 * {@link #close()} frees them after the endpoint is closed by its owner.
 */
final class ControlChannel implements AutoCloseable {
  static final int MESSAGE_SIZE = 8192;
  /** Room for a message's own bytes: what is left of a slot after an authentication tag. */
  static final int PAYLOAD_SIZE = MESSAGE_SIZE - MessageAuthenticator.TAG_SIZE;
  private static final Logger LOG = Logger.getLogger(ControlChannel.class.getName());

  private final FabricEndpoint endpoint;
  private final int receiveSlots;
  private final RegisteredMemory slots;
  private final NativeMemory memory;
  private final MemoryRegion region;
  private final Consumer<Message> handler;
  private final MessageAuthenticator authenticator;
  private final ArrayDeque<Integer> freeSendSlots = new ArrayDeque<>();
  private final ArrayDeque<Runnable> waitingSends = new ArrayDeque<>();
  private final Map<String, Long> peers = new ConcurrentHashMap<>();
  private volatile boolean closed;

  /** @param authenticator signs and checks every message; null when the application has no secret */
  ControlChannel(FabricEndpoint endpoint, int receiveSlots, int sendSlots, MessageAuthenticator authenticator,
      Consumer<Message> handler) {
    this.endpoint = endpoint;
    this.receiveSlots = receiveSlots;
    this.authenticator = authenticator;
    this.handler = handler;
    this.slots = RegisteredMemory.allocate(endpoint.domain(), (long) (receiveSlots + sendSlots) * MESSAGE_SIZE);
    this.memory = slots.memory();
    this.region = slots.region();
    for (int i = 0; i < sendSlots; i++) {
      freeSendSlots.add(receiveSlots + i);
    }
    for (int i = 0; i < receiveSlots; i++) {
      postReceive(i);
    }
  }

  /** This side's fabric address, for peers to answer to. */
  byte[] address() {
    return endpoint.address();
  }

  /** The address-vector handle of a peer, inserted on first use. */
  long peer(byte[] address) {
    return peers.computeIfAbsent(HexFormat.of().formatHex(address), k -> endpoint.insertPeer(address));
  }

  private void postReceive(int slot) {
    if (closed) {
      return;
    }
    endpoint.receive(region, (long) slot * MESSAGE_SIZE, MESSAGE_SIZE).whenComplete((length, error) -> {
      if (error != null) {
        if (!closed) {
          LOG.log(Level.WARNING, "control receive failed; slot " + slot + " retired", error);
        }
        return;
      }
      Message message = null;
      try {
        ByteBuffer bytes = memory.byteBuffer((long) slot * MESSAGE_SIZE, length.intValue());
        if (authenticator != null) {
          bytes.limit(authenticator.verify(bytes, 0, bytes.limit()));
        }
        message = MessageCodec.decode(bytes);
      } catch (ProtocolException e) {
        LOG.warning("dropped a control message: " + e.getMessage());
      }
      postReceive(slot);
      if (message != null) {
        handler.accept(message);
      }
    });
  }

  /** Sends a message to a peer; the future completes once libfabric is done with its bytes. */
  CompletableFuture<Void> send(long peer, Message message) {
    CompletableFuture<Void> sent = new CompletableFuture<>();
    Runnable attempt = () -> sendInSlot(takeSlot(), peer, message, sent);
    synchronized (freeSendSlots) {
      if (freeSendSlots.isEmpty()) {
        waitingSends.add(attempt);
        return sent;
      }
    }
    attempt.run();
    return sent;
  }

  private int takeSlot() {
    synchronized (freeSendSlots) {
      return freeSendSlots.remove();
    }
  }

  private void sendInSlot(int slot, long peer, Message message, CompletableFuture<Void> sent) {
    try {
      ByteBuffer out = memory.byteBuffer((long) slot * MESSAGE_SIZE, MESSAGE_SIZE);
      int length = MessageCodec.encode(message, out.duplicate().limit(PAYLOAD_SIZE));
      if (authenticator != null) {
        length = authenticator.sign(out, 0, length);
      }
      endpoint.send(region, (long) slot * MESSAGE_SIZE, length, peer).whenComplete((n, error) -> {
        releaseSlot(slot);
        if (error != null) {
          sent.completeExceptionally(error);
        } else {
          sent.complete(null);
        }
      });
    } catch (RuntimeException e) {
      releaseSlot(slot);
      sent.completeExceptionally(e);
    }
  }

  private void releaseSlot(int slot) {
    Runnable next;
    synchronized (freeSendSlots) {
      freeSendSlots.add(slot);
      next = waitingSends.poll();
    }
    if (next != null) {
      next.run();
    }
  }

  /** Frees the slots' registration and memory; call after the endpoint is closed. */
  @Override
  public void close() {
    closed = true;
    slots.close();
  }
}
