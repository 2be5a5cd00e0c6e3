package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A server's leases on published blocks end: by the reader's done, late or not, or by a timer. */
class LeaseTest {
  static Stream<Arguments> providers() {
    return Stream.of(Arguments.of("shm", null), Arguments.of("tcp;ofi_rxm", "lo"));
  }

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  /**
   * The reader stops waiting before the server answers (the block was on a slow disk); the answer
   * still comes, and the reader tells the server it is done, long before any lease timeout.
   */
  @ParameterizedTest
  @MethodSource("providers")
  void aLateAnswerIsToldDone(String provider, String domain) throws Exception {
    CountDownLatch disk = new CountDownLatch(1);
    try (FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> ref -> {
           try {
             assertTrue(disk.await(60, TimeUnit.SECONDS), "the test never let the disk answer");
           } catch (InterruptedException e) {
             Thread.currentThread().interrupt();
           }
           return outputs.publish(ref);
         });
         FabricTransport client = FabricTransport.open(provider, domain,
             TransportOptions.of(EndpointConfig.defaults()).withRequestTimeout(Duration.ofMillis(300)), d -> b -> null)) {
      outputs.region = server.domain().register(outputs.memory);
      ExecutionException late = assertThrows(ExecutionException.class,
          () -> client.fetch(server.address(), List.of(BlockRef.of(0, 1, 1))).get(30, TimeUnit.SECONDS));
      assertTrue(late.getCause() instanceof TimeoutException, String.valueOf(late.getCause()));
      disk.countDown();
      assertTrue(outputs.closed.tryAcquire(1, 30, TimeUnit.SECONDS), "the late answer's lease was never released");
      assertEquals(0, outputs.open.get());
      assertEquals(0, server.leasedBlocks());
    }
  }

  /** A second request under an id whose lease is held is refused: the first lease is neither lost nor leaked. */
  @ParameterizedTest
  @MethodSource("providers")
  void aDuplicateRequestIdNeverLeaksALease(String provider, String domain) throws Exception {
    try (LogRecords logs = new LogRecords();
         FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(provider, domain, EndpointConfig.defaults(), d -> outputs);
         RawPeer raw = new RawPeer(provider, domain)) {
      outputs.region = server.domain().register(outputs.memory);
      long peer = raw.endpoint.insertPeer(server.address());
      byte[] request = RawPeer.encode(new Message.FetchRequest(42, raw.address(), List.of(BlockRef.of(0, 1, 1))), null);
      raw.send(peer, request);
      Message answer = raw.next(null, 30);
      assertNotNull(answer, "the first request is answered");
      assertEquals(BlockLocation.Status.OK, ((Message.FetchAnswer) answer).locations().get(0).status());
      raw.send(peer, request);
      assertTrue(logs.await("duplicate request id 42", 1, 30), "refused with a reason: " + logs.all());
      assertEquals(1, server.leasedBlocks());
      raw.send(peer, RawPeer.encode(new Message.FetchDone(42), null));
      assertTrue(outputs.closed.tryAcquire(1, 30, TimeUnit.SECONDS), "the lease was released");
      assertEquals(0, outputs.open.get(), "no block published for either request is still open");
      assertEquals(0, server.leasedBlocks());
    }
  }

  /** A reader that never says done (gone, or hostile) holds a lease only until its timeout, with no further request. */
  @ParameterizedTest
  @MethodSource("providers")
  void leasesExpireOnATimer(String provider, String domain) throws Exception {
    EndpointConfig quick = EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(1));
    try (FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(provider, domain, quick, d -> outputs);
         RawPeer raw = new RawPeer(provider, domain)) {
      outputs.region = server.domain().register(outputs.memory);
      long peer = raw.endpoint.insertPeer(server.address());
      raw.send(peer, RawPeer.encode(new Message.FetchRequest(7, raw.address(),
          List.of(BlockRef.of(0, 1, 1), BlockRef.of(0, 2, 2))), null));
      assertNotNull(raw.next(null, 30), "the request is answered");
      assertTrue(outputs.closed.tryAcquire(2, 30, TimeUnit.SECONDS), "the leases expired: " + outputs.open.get() + " open");
      assertEquals(0, server.leasedBlocks());
    }
  }
}
