package org.efashuffle.transport;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.common.protocol.MessageAuthenticator;
import org.efashuffle.common.protocol.MessageCodec;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.FabricOperation;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;
import org.efashuffle.fabric.RegisteredMemory;

/**
 * Control messages over an endpoint: a ring of posted receive slots and a pool of send slots in
 * one registered block. Every received message is decoded, its slot posted again, and the message
 * handed to the handler on the progress thread (which must not block). A slot is posted again
 * after any error too (a message too large for it, bytes that do not decode, a handler that
 * throws): nothing a peer sends can take a slot away. Sends that find no free slot wait in order;
 * a slot is handed straight to the next waiting send once libfabric is done with it (its send has
 * settled, which may be after the send's future failed on a timeout). With an authenticator every
 * message is signed, and a received one whose tag does not check is dropped. The channel owns its
 * memory and registration; {@link #close()} frees them after the endpoint is closed by its owner.
 */
final class ControlChannel implements AutoCloseable {
  static final int MESSAGE_SIZE = 8192;
  /** Room for a message's own bytes: what is left of a slot after an authentication tag. */
  static final int PAYLOAD_SIZE = MESSAGE_SIZE - MessageAuthenticator.TAG_SIZE;
  private static final Logger LOG = Logger.getLogger(ControlChannel.class.getName());

  private record PendingSend(long peer, Message message, CompletableFuture<Void> sent) {}

  private final FabricEndpoint endpoint;
  private final RegisteredMemory slots;
  private final NativeMemory memory;
  private final MemoryRegion region;
  private final Consumer<Message> handler;
  private final MessageAuthenticator authenticator;
  private final PeerAddresses peers;
  /** Guards freeSendSlots, waitingSends and closed: a slot is free only while no send waits. */
  private final Object sendLock = new Object();
  private final ArrayDeque<Integer> freeSendSlots = new ArrayDeque<>();
  private final ArrayDeque<PendingSend> waitingSends = new ArrayDeque<>();
  private volatile boolean closed;

  /** @param authenticator signs and checks every message; null when the application has no secret */
  ControlChannel(FabricEndpoint endpoint, int receiveSlots, int sendSlots, MessageAuthenticator authenticator,
      Consumer<Message> handler) {
    this.endpoint = endpoint;
    this.authenticator = authenticator;
    this.handler = handler;
    this.peers = new PeerAddresses(endpoint);
    this.slots = RegisteredMemory.allocateLocal(endpoint.domain(), (long) (receiveSlots + sendSlots) * MESSAGE_SIZE);
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

  /**
   * The address-vector handle of a peer, inserted on first use.
   *
   * @throws IllegalArgumentException when {@code address} is not shaped like an address of this fabric
   */
  long peer(byte[] address) {
    return peers.handle(address);
  }

  /** The handle of a peer this channel has already addressed, or null (nothing reaches native code). */
  Long knownPeer(byte[] address) {
    return peers.known(address);
  }

  /**
   * Posts a receive into {@code slot}. Called at start and then on the progress thread, where no
   * completion can be read while it runs: an operation already done when {@code receive} returns
   * was refused at post (the endpoint is closed or broken), never a message.
   */
  private void postReceive(int slot) {
    if (closed) {
      return;
    }
    FabricOperation receive = endpoint.receive(region, (long) slot * MESSAGE_SIZE, MESSAGE_SIZE);
    if (receive.isCompletedExceptionally()) {
      receive.exceptionally(error -> {
        if (!closed && !endpointClosed(error)) {
          LOG.warning("cannot post control receive slot " + slot + "; it is retired: " + error);
        }
        return null;
      });
      return;
    }
    receive.whenComplete((length, error) -> {
      if (error == null) {
        onMessage(slot, length.intValue());
      } else if (!closed && !endpointClosed(error) && !endpoint.failure().isDone()) {
        // (A stopped endpoint fails every slot: its owner hears it once, from failure().)
        // e.g. FI_ETRUNC, a message larger than the slot: anyone who reaches the endpoint can send one
        LOG.warning("control receive failed (slot " + slot + " posted again): " + error.getMessage());
        receive.settled().thenRun(() -> postReceive(slot));
      }
    });
  }

  private static boolean endpointClosed(Throwable error) {
    return error instanceof IllegalStateException;
  }

  private void onMessage(int slot, int length) {
    Message message = null;
    try {
      ByteBuffer bytes = memory.byteBuffer((long) slot * MESSAGE_SIZE, length);
      if (authenticator != null) {
        bytes.limit(authenticator.verify(bytes, 0, bytes.limit()));
      }
      message = MessageCodec.decode(bytes); // copies what it keeps out of the slot
    } catch (RuntimeException e) {
      LOG.warning("dropped a control message of " + length + " bytes: " + e.getMessage());
    }
    postReceive(slot);
    if (message != null) {
      try {
        handler.accept(message);
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "handling control message " + message + " failed", e);
      }
    }
  }

  /**
   * Sends a message to a peer; the future completes once the send completed (or failed, or timed
   * out). Never throws: a message that cannot be sent fails its future.
   */
  CompletableFuture<Void> send(long peer, Message message) {
    PendingSend send = new PendingSend(peer, message, new CompletableFuture<>());
    int slot;
    synchronized (sendLock) {
      if (closed) {
        send.sent().completeExceptionally(new IllegalStateException("control channel closed"));
        return send.sent();
      }
      Integer free = freeSendSlots.poll();
      if (free == null) {
        waitingSends.add(send);
        return send.sent();
      }
      slot = free;
    }
    sendFrom(slot, send);
    return send.sent();
  }

  /** Sends {@code send} in {@code slot}, which the caller owns; then the slot goes on as {@link #post} says. */
  private void sendFrom(int slot, PendingSend send) {
    while (send != null && !post(slot, send)) {
      send = nextOrFree(slot); // nothing was posted: the slot is free at once
    }
  }

  /**
   * Encodes and posts {@code send} from {@code slot}; true when libfabric took it, and then the
   * slot passes on when the send settles; false when nothing holds the slot any more.
   */
  private boolean post(int slot, PendingSend send) {
    FabricOperation operation;
    try {
      ByteBuffer out = memory.byteBuffer((long) slot * MESSAGE_SIZE, MESSAGE_SIZE);
      int length = MessageCodec.encode(send.message(), out.duplicate().limit(PAYLOAD_SIZE));
      if (authenticator != null) {
        length = authenticator.sign(out, 0, length);
      }
      operation = endpoint.send(region, (long) slot * MESSAGE_SIZE, length, send.peer());
    } catch (RuntimeException e) {
      send.sent().completeExceptionally(e);
      return false;
    }
    operation.whenComplete((n, error) -> {
      if (error != null) {
        send.sent().completeExceptionally(error);
      } else {
        send.sent().complete(null);
      }
    });
    if (operation.settled().isDone()) {
      return false; // refused at post
    }
    operation.settled().thenRun(() -> sendFrom(slot, nextOrFree(slot)));
    return true;
  }

  /** The next waiting send, which now owns {@code slot}; null (and the slot free) when none waits. */
  private PendingSend nextOrFree(int slot) {
    synchronized (sendLock) {
      PendingSend next = waitingSends.poll();
      if (next == null) {
        freeSendSlots.add(slot);
      }
      return next;
    }
  }

  /** Fails the sends still waiting, frees the slots' registration and memory; call after the endpoint is closed. */
  @Override
  public void close() {
    List<PendingSend> waiting;
    synchronized (sendLock) {
      closed = true;
      waiting = new ArrayList<>(waitingSends);
      waitingSends.clear();
    }
    IllegalStateException cause = new IllegalStateException("control channel closed");
    waiting.forEach(s -> s.sent().completeExceptionally(cause));
    slots.close();
  }
}
