package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.common.protocol.MessageAuthenticator;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A bare endpoint (no transport, anyone who can reach the executor) sends what a transport would
 * never send. Each is refused with a logged reason (or answered NOT_FOUND), the transport keeps
 * serving, and no answer names memory outside a block that was asked for.
 */
class HostileInputTest {
  private static final int HEADER = 4 + 1 + 1 + 8;
  private static final MessageAuthenticator APP = new MessageAuthenticator("app secret".getBytes(StandardCharsets.UTF_8));
  private static final MessageAuthenticator OTHER = new MessageAuthenticator("old secret".getBytes(StandardCharsets.UTF_8));

  static Stream<Arguments> providers() {
    return Stream.of(Arguments.of("shm", null), Arguments.of("tcp;ofi_rxm", "lo"));
  }

  static Stream<Arguments> providersSignedOrNot() {
    return providers().flatMap(a -> Stream.of(Arguments.of(a.get()[0], a.get()[1], true),
        Arguments.of(a.get()[0], a.get()[1], false)));
  }

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  private static void assertServes(FabricTransport client, FabricTransport server, FabricTransportTest.MapOutputs outputs)
      throws Exception {
    List<BlockRef> refs = List.of(BlockRef.of(0, 3, 4), new BlockRef(0, 5, 0, 3));
    List<FetchedBlock> blocks = client.fetch(server.address(), refs).get(60, TimeUnit.SECONDS);
    for (int i = 0; i < refs.size(); i++) {
      BlockRef ref = refs.get(i);
      int m = (int) ref.mapId();
      long start = outputs.offsets[m][ref.startReduceId()];
      long end = outputs.offsets[m][ref.endReduceId() - 1] + outputs.sizes[m][ref.endReduceId() - 1];
      FabricTransportTest.MapOutputs.assertBytes(blocks.get(i).data(), start, end - start, ref);
    }
    blocks.forEach(FetchedBlock::release);
  }

  /**
   * Providers that report a message larger than the posted receive as FI_ETRUNC. Not shm
   * (libfabric 1.17): a message over its inject size (4 KiB) is copied by cross-memory attach, and
   * a truncated one loops forever inside the receiver's fi_cq_read (measured: the progress thread
   * spins, the endpoint never closes). Only a process of the same user on the same host can send
   * one over shm (cross-memory attach needs ptrace rights), so no boundary is crossed there.
   */
  static Stream<Arguments> truncatingProviders() {
    return Stream.of(Arguments.of("tcp;ofi_rxm", "lo"));
  }

  /**
   * Messages larger than a receive slot (the provider truncates them) and empty ones, more than
   * there are slots: none retires a slot, so a normal fetch still gets its answer.
   */
  @ParameterizedTest
  @MethodSource("truncatingProviders")
  void oversizedAndEmptyMessagesNeverRetireAReceiveSlot(String provider, String domain) throws Exception {
    try (LogRecords logs = new LogRecords();
         FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> outputs);
         FabricTransport client = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> b -> null);
         RawPeer raw = new RawPeer(provider, domain)) {
      outputs.region = server.domain().register(outputs.memory);
      long peer = raw.endpoint.insertPeer(server.address());
      byte[] big = new byte[ControlChannel.MESSAGE_SIZE + 808];
      new Random(1).nextBytes(big);
      // tcp;ofi_rxm drops the connection after a truncated message, losing what followed it: send
      // one at a time, again until the server has seen it (a retired slot would never see it)
      deliverOneByOne(raw, peer, big, 70, logs, "control receive failed");
      deliverOneByOne(raw, peer, new byte[0], 10, logs, "dropped a control message");
      assertServes(client, server, outputs);
      assertEquals(0, outputs.open.get() - server.leasedBlocks());
    }
  }

  @ParameterizedTest
  @MethodSource("providersSignedOrNot")
  void badRequestsAreRefusedAndServingGoesOn(String provider, String domain, boolean signed) throws Exception {
    MessageAuthenticator signer = signed ? APP : null;
    TransportOptions options = TransportOptions.of(EndpointConfig.defaults()).withAuthenticator(signer);
    try (LogRecords logs = new LogRecords();
         FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(provider, domain, options,
             d -> ref -> ref.shuffleId() == 0 ? outputs.publish(ref) : null);
         FabricTransport client = FabricTransport.open(provider, domain, options, d -> b -> null);
         RawPeer raw = new RawPeer(provider, domain)) {
      outputs.region = server.domain().register(outputs.memory);
      long peer = raw.endpoint.insertPeer(server.address());
      byte[] me = raw.address();
      Map<Long, List<BlockRef>> asked = new HashMap<>();

      // Refused before decoding a message: bytes that are not ours, cut short, or with a trailing tail.
      byte[] noise = new byte[200];
      new Random(2).nextBytes(noise);
      expectRefusal(raw, peer, RawPeer.sign(noise, signer), logs, "not an efa-shuffle message");
      byte[] good = RawPeer.encode(new Message.FetchRequest(1, me, List.of(BlockRef.of(0, 1, 1))), null);
      expectRefusal(raw, peer, RawPeer.sign(Arrays.copyOf(good, 20), signer), logs, "truncated");
      expectRefusal(raw, peer, RawPeer.sign(Arrays.copyOf(good, good.length + 9), signer), logs, "after the message");
      // Stale key: signed with another secret; or, to a server without a secret, a signed message.
      expectRefusal(raw, peer, RawPeer.encode(new Message.FetchRequest(2, me, List.of(BlockRef.of(0, 1, 1))),
          signed ? OTHER : APP), logs, signed ? "tag does not match" : "after the message");
      // Block refs no reader makes: a negative map id, an empty or reversed partition range.
      expectRefusal(raw, peer, RawPeer.sign(withBlockField(good, me.length, 4, ByteBuffer.allocate(8).putLong(0, -1).array()),
          signer), logs, "invalid block");
      expectRefusal(raw, peer, RawPeer.sign(withBlockField(good, me.length, 16, ByteBuffer.allocate(4).putInt(0, 1).array()),
          signer), logs, "invalid block");
      // A reply address that is not an address of this fabric: too short, too long.
      expectRefusal(raw, peer, RawPeer.encode(new Message.FetchRequest(3, Arrays.copyOf(me, 4),
          List.of(BlockRef.of(0, 1, 1))), signer), logs, "reply address");
      expectRefusal(raw, peer, RawPeer.encode(new Message.FetchRequest(4, Arrays.copyOf(me, me.length + 7),
          List.of(BlockRef.of(0, 1, 1))), signer), logs, "reply address");
      // More blocks than an answer can hold (the request itself fits a slot).
      List<BlockRef> many = new ArrayList<>();
      for (int i = 0; i < client.maxBlocksPerFetch() + 40; i++) {
        many.add(BlockRef.of(0, i % FabricTransportTest.MAPS, i % FabricTransportTest.PARTITIONS));
      }
      expectRefusal(raw, peer, RawPeer.encode(new Message.FetchRequest(5, me, many), signer), logs, "blocks");
      assertEquals(0, outputs.open.get(), "nothing was published for a refused request");
      // An answer nobody asked for, naming a server this executor never sent to: no done goes out.
      byte[] stranger;
      try (org.efashuffle.fabric.FabricEndpoint other = raw.domain.openEndpoint(EndpointConfig.defaults())) {
        stranger = other.address();
      }
      expectRefusal(raw, peer, RawPeer.encode(new Message.FetchAnswer(5, stranger,
          List.of(BlockLocation.ok(4096, 10, 1))), signer), logs, "never sent a request to");

      // Well-formed requests for blocks that do not exist: answered NOT_FOUND, nothing published.
      List<BlockRef> absent = List.of(BlockRef.of(7, 1, 1), new BlockRef(0, 1, 25, 40), BlockRef.of(0, 500, 0),
          BlockRef.of(0, 1, 30));
      asked.put(6L, absent);
      raw.send(peer, RawPeer.encode(new Message.FetchRequest(6, me, absent), signer));
      Message.FetchAnswer notFound = answer(raw, signer, asked, outputs);
      for (BlockLocation l : notFound.locations()) {
        assertEquals(BlockLocation.Status.NOT_FOUND, l.status());
      }

      // Replayed: the same request id twice while its lease is held; the second is refused.
      List<BlockRef> wanted = List.of(BlockRef.of(0, 2, 3), new BlockRef(0, 4, 5, 9));
      asked.put(8L, wanted);
      byte[] request = RawPeer.encode(new Message.FetchRequest(8, me, wanted), signer);
      raw.send(peer, request);
      Message.FetchAnswer first = answer(raw, signer, asked, outputs);
      assertEquals(List.of(BlockLocation.Status.OK, BlockLocation.Status.OK),
          first.locations().stream().map(BlockLocation::status).toList());
      expectRefusal(raw, peer, request, logs, "duplicate request id 8");

      assertServes(client, server, outputs);
      raw.send(peer, RawPeer.encode(new Message.FetchDone(8), signer));
      assertTrue(outputs.closed.tryAcquire(2 + 2, 30, TimeUnit.SECONDS), "every lease was released");
      assertEquals(0, outputs.open.get());
      assertEquals(0, server.leasedBlocks());
    }
  }

  /** Sends {@code bytes} {@code times} times, each again until the server has logged {@code seen} once more. */
  private static void deliverOneByOne(RawPeer raw, long peer, byte[] bytes, int times, LogRecords logs, String seen)
      throws Exception {
    int before = logs.count(seen);
    for (int i = 1; i <= times; i++) {
      int attempts = 0;
      do {
        assertTrue(attempts++ < 100, "message " + i + " of " + bytes.length + " bytes never seen by the server: " + seen);
        raw.trySend(peer, bytes);
      } while (!logs.awaitMillis(seen, before + i, 300));
    }
  }

  /** A request's bytes with {@code value} written over its first block ref at {@code fieldOffset}. */
  private static byte[] withBlockField(byte[] request, int addressLength, int fieldOffset, byte[] value) {
    byte[] copy = request.clone();
    // After the header, the reply address, the inline byte budget and the block count.
    System.arraycopy(value, 0, copy, HEADER + 2 + addressLength + 4 + 4 + fieldOffset, value.length);
    return copy;
  }

  private static void expectRefusal(RawPeer raw, long peer, byte[] bytes, LogRecords logs, String reason) throws Exception {
    int before = logs.count(reason);
    raw.send(peer, bytes);
    assertTrue(logs.await(reason, before + 1, 30), "no refusal logged with \"" + reason + "\": " + logs.all());
  }

  /**
   * The next answer the raw peer gets: it answers a request it sent, and every location it gives
   * is exactly the range of the block that was asked for there (no byte outside it).
   */
  private static Message.FetchAnswer answer(RawPeer raw, MessageAuthenticator signer, Map<Long, List<BlockRef>> asked,
      FabricTransportTest.MapOutputs outputs) throws Exception {
    Message message = raw.next(signer, 30);
    assertNotNull(message, "no answer");
    Message.FetchAnswer answer = (Message.FetchAnswer) message;
    List<BlockRef> refs = asked.get(answer.requestId());
    assertNotNull(refs, "an answer to request " + answer.requestId() + ", which was never made");
    assertEquals(refs.size(), answer.locations().size());
    for (int i = 0; i < refs.size(); i++) {
      BlockLocation l = answer.locations().get(i);
      if (l.status() == BlockLocation.Status.OK) {
        BlockRef ref = refs.get(i);
        int m = (int) ref.mapId();
        long start = outputs.offsets[m][ref.startReduceId()];
        long end = outputs.offsets[m][ref.endReduceId() - 1] + outputs.sizes[m][ref.endReduceId() - 1];
        assertEquals(outputs.region.remoteAddress(start), l.remoteAddress(), ref + " starts where it is");
        assertEquals(end - start, l.length(), ref + " is exactly as long as it is");
      }
    }
    return answer;
  }
}
