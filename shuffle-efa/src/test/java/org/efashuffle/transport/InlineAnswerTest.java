package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A reader takes blocks inline only as far as it asked: a fetch into memory asks for an answer's
 * worth and gets the bytes the answer carries; a fetch into sinks asks for none, and an answer
 * that carries some anyway fails the fetch. The server here is a raw endpoint playing one.
 */
class InlineAnswerTest {
  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  @ParameterizedTest
  @MethodSource("org.efashuffle.transport.FabricTransportTest#providers")
  void aReaderTakesInlineBytesOnlyAsFarAsItAsked(String provider, String domain) throws Exception {
    byte[] bytes = new byte[3000];
    new Random(9).nextBytes(bytes);
    List<BlockRef> refs = List.of(BlockRef.of(0, 1, 2));
    BlockSinks sinks = (ref, length) -> {
      throw new AssertionError("no block of an answer that fails is written: " + ref);
    };
    try (RawPeer server = new RawPeer(provider, domain);
         FabricTransport client = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> b -> null)) {
      long reader = server.endpoint.insertPeer(client.address());

      CompletableFuture<List<FetchedBlock>> intoMemory = client.fetch(server.address(), refs);
      Message.FetchRequest asked = (Message.FetchRequest) server.next(null, 30);
      assertNotNull(asked, "no request");
      assertEquals(ControlChannel.PAYLOAD_SIZE, asked.inlineBytes(), "a fetch into memory takes an answer's worth inline");
      server.send(reader, RawPeer.encode(new Message.FetchAnswer(asked.requestId(), server.address(),
          List.of(BlockLocation.inline(bytes.length)), bytes), null));
      List<FetchedBlock> blocks = intoMemory.get(30, TimeUnit.SECONDS);
      assertEquals(BlockLocation.Status.OK, blocks.get(0).status());
      byte[] got = new byte[bytes.length];
      blocks.get(0).data().get(got);
      assertArrayEquals(bytes, got);
      blocks.get(0).release();

      CompletableFuture<List<FetchedBlock>> intoSinks = client.fetch(server.address(), refs, sinks);
      asked = (Message.FetchRequest) server.next(null, 30);
      assertNotNull(asked, "no request");
      assertEquals(0, asked.inlineBytes(), "a fetch into sinks takes nothing inline");
      server.send(reader, RawPeer.encode(new Message.FetchAnswer(asked.requestId(), server.address(),
          List.of(BlockLocation.inline(bytes.length)), bytes), null));
      ExecutionException refused = assertThrows(ExecutionException.class, () -> intoSinks.get(30, TimeUnit.SECONDS));
      assertTrue(String.valueOf(refused.getCause()).contains("more than the 0 asked for"), String.valueOf(refused.getCause()));
    }
  }
}
