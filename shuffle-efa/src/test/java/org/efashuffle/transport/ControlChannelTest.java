package org.efashuffle.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.stream.Stream;
import org.efashuffle.common.protocol.Message;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.Fabric;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Two control channels on real endpoints: what one sends, the other receives once. */
class ControlChannelTest {
  static Stream<Arguments> providers() {
    return Stream.of(Arguments.of("shm", null), Arguments.of("tcp;ofi_rxm", "lo"));
  }

  @AfterEach
  void nothingLeaks() {
    assertTrue(Fabric.openObjects().isZero(), "native objects still open: " + Fabric.openObjects());
  }

  /**
   * Many threads send through 64 send slots at once, so most sends wait for a slot and are handed
   * one as earlier sends finish: every message arrives exactly once and every send completes.
   * The receiver's handler throws for some messages, which must not cost any other message.
   */
  @ParameterizedTest
  @MethodSource("providers")
  void everyMessageFromManyThreadsArrivesOnceAndEverySendCompletes(String provider, String domainName)
      throws Exception {
    int threads = 8;
    int perThread = 2500;
    int inFlightPerThread = 16; // 8 x 16 sends outstanding for 64 slots: always some waiting
    int total = threads * perThread;
    AtomicIntegerArray received = new AtomicIntegerArray(total);
    CountDownLatch allReceived = new CountDownLatch(total);
    try (FabricDomain domain = FabricDomain.open(provider, domainName);
         FabricEndpoint senderEndpoint = domain.openEndpoint(EndpointConfig.defaults());
         FabricEndpoint receiverEndpoint = domain.openEndpoint(EndpointConfig.defaults());
         ControlChannel sender = new ControlChannel(senderEndpoint, 64, 64, null, m -> {});
         ControlChannel receiver = new ControlChannel(receiverEndpoint, 64, 64, null, m -> {
           int id = (int) m.requestId();
           received.incrementAndGet(id);
           allReceived.countDown();
           if (id % 997 == 0) {
             throw new IllegalStateException("a handler failing on message " + id);
           }
         })) {
      long peer = sender.peer(receiver.address());
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<List<CompletableFuture<Void>>>> senders = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int first = t * perThread;
          senders.add(pool.submit(() -> {
            List<CompletableFuture<Void>> sent = new ArrayList<>(perThread);
            for (int i = first; i < first + perThread; i++) {
              sent.add(sender.send(peer, new Message.FetchDone(i)));
              if (sent.size() > inFlightPerThread) {
                // keep sending while earlier sends finish: new sends meet slots being handed back
                sent.get(sent.size() - 1 - inFlightPerThread).get(60, TimeUnit.SECONDS);
              }
            }
            return sent;
          }));
        }
        List<CompletableFuture<Void>> sends = new ArrayList<>(total);
        for (Future<List<CompletableFuture<Void>>> s : senders) {
          sends.addAll(s.get(120, TimeUnit.SECONDS)); // a send that throws fails the test here
        }
        CompletableFuture.allOf(sends.toArray(new CompletableFuture<?>[0])).get(120, TimeUnit.SECONDS);
        assertTrue(allReceived.await(120, TimeUnit.SECONDS), allReceived.getCount() + " messages never arrived");
      } finally {
        pool.shutdownNow();
      }
      senderEndpoint.close(); // nothing more arrives once the sender is gone
      receiverEndpoint.close();
      for (int i = 0; i < total; i++) {
        assertEquals(1, received.get(i), "message " + i + " received " + received.get(i) + " times");
      }
    }
  }
}
