package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Executor stop: the endpoint, then the domain, then memory are closed while other threads post
 * reads, sends and receives, insert and remove peers, register and deregister memory and copy
 * into memory. Calls on closed objects must become exceptions naming the object, never a crash;
 * every operation's future completes and settles; nothing native stays open.
 */
@ExtendWith(NoNativeLeaks.class)
class CloseWhileBusyTest {
  private static final long DATA = 4L << 20;
  private static final long LOCAL = 8L << 20;

  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  /** A call on an object another thread closed: what the stopping executor expects. */
  private static boolean closedObject(Throwable t) {
    return t instanceof IllegalStateException && t.getMessage() != null && t.getMessage().contains("is closed");
  }

  @ParameterizedTest
  @MethodSource("providers")
  void closingTheEndpointThenTheDomainUnderLoadNeverCrashesAndCompletesEverything(TestProviders.Provider p)
      throws Exception {
    try (ChildJvm child = new ChildJvm(List.of(), ReadTargetMain.class, p.name(),
        p.domain() == null ? "-" : p.domain(), Long.toString(DATA), "1")) {
      String ready = child.readLine();
      assertTrue(ready.startsWith("READY "), ready);
      RemoteData data = new RemoteData(ready.substring("READY ".length()));
      for (int round = 0; round < 3; round++) {
        runRound(p, data, round);
      }
      child.in.println("close");
      assertTrue(child.readLine().startsWith("CLOSED true"));
    }
  }

  private static void runRound(TestProviders.Provider p, RemoteData data, int round) throws Exception {
    FabricDomain domain = FabricDomain.open(p.name(), p.domain());
    FabricEndpoint endpoint = domain.openEndpoint(EndpointConfig.defaults().withOperationTimeout(Duration.ofSeconds(20)));
    NativeMemory local = NativeMemory.allocate(LOCAL);
    MemoryRegion region = domain.register(local);
    long peer = endpoint.insertPeer(data.address);
    long self = endpoint.insertPeer(endpoint.address());
    Queue<FabricOperation> operations = new ConcurrentLinkedQueue<>();
    Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
    AtomicBoolean stop = new AtomicBoolean();
    List<Thread> workers = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      int id = i;
      Random random = new Random(round * 31 + id);
      Semaphore window = new Semaphore(32);
      workers.add(worker("reader-" + i, stop, unexpected, () -> {
        long length = 4096 + random.nextInt(60 << 10);
        long offset = random.nextInt((int) (DATA - length));
        window.acquireUninterruptibly();
        FabricOperation read;
        try {
          read = endpoint.read(region, (id + 1) * (1L << 20), length, peer, data.remoteAddresses[0] + offset,
              data.keys[0]);
        } catch (RuntimeException e) {
          window.release();
          throw e;
        }
        operations.add(read);
        read.whenComplete((n, e) -> window.release());
      }));
    }
    Semaphore messages = new Semaphore(32);
    workers.add(worker("messages", stop, unexpected, () -> {
      messages.acquireUninterruptibly();
      FabricOperation send;
      try {
        operations.add(endpoint.receive(region, 0, 4096));
        send = endpoint.send(region, 8192, 512, self);
      } catch (RuntimeException e) {
        messages.release();
        throw e;
      }
      operations.add(send);
      send.whenComplete((n, e) -> messages.release());
    }));
    // shm 1.17 maps each name once per process: removing a second handle of the target's name
    // would unmap the one the reads use, so on shm the same name is only inserted again (up to
    // 200 times: shm takes 256 peers); tcp takes inserts and removes of it.
    boolean removes = !p.name().equals("shm");
    AtomicInteger inserts = new AtomicInteger();
    workers.add(worker("peers", stop, unexpected, () -> {
      if (!removes && inserts.get() >= 200) {
        return; // nothing more to insert
      }
      long h = endpoint.insertPeer(data.address);
      inserts.incrementAndGet();
      if (removes && h != peer) {
        endpoint.removePeer(h);
      }
    }));
    for (int i = 0; i < 2; i++) {
      workers.add(worker("registrar-" + i, stop, unexpected, () -> {
        try (RegisteredMemory m = RegisteredMemory.allocate(domain, 64 << 10)) {
          m.memory().put(0, new byte[16], 0, 16);
        }
        NativeMemory own = NativeMemory.allocate(64 << 10);
        try {
          domain.register(own).close();
        } finally {
          own.close();
        }
      }));
    }
    workers.add(worker("copier", stop, unexpected, () -> {
      byte[] chunk = new byte[4096];
      local.put(LOCAL - 4096, chunk, 0, chunk.length);
      local.get(LOCAL - 8192, chunk, 0, chunk.length);
    }));
    workers.forEach(Thread::start);
    Thread.sleep(400); // load runs before the stop
    if (round == 1) {
      region.close(); // deregistered under posts first, as a pool releasing its batch on stop
    }
    endpoint.close();
    domain.close();
    local.close();
    stop.set(true);
    for (Thread w : workers) {
      w.join(TimeUnit.SECONDS.toMillis(60));
      assertTrue(!w.isAlive(), w.getName() + " still running");
    }
    assertTrue(unexpected.isEmpty(), "unexpected failures: " + unexpected);
    int failed = 0;
    for (FabricOperation op : operations) {
      try {
        op.handle((v, e) -> null).get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new AssertionError("operation did not complete", e);
      }
      op.settled().get(30, TimeUnit.SECONDS);
      failed += op.isCompletedExceptionally() ? 1 : 0;
    }
    System.out.printf("%s round %d: %d operations, %d failed by the close%n", p, round, operations.size(), failed);
    assertTrue(operations.size() > 100, "too little load: " + operations.size());
    assertTrue(Fabric.openObjects().isZero(), "open after close: " + Fabric.openObjects());
  }

  /** Runs {@code step} until stopped; a closed-object exception is expected, anything else recorded. */
  private static Thread worker(String name, AtomicBoolean stop, Queue<Throwable> unexpected, Runnable step) {
    Thread t = new Thread(() -> {
      while (!stop.get()) {
        try {
          step.run();
        } catch (Throwable e) {
          if (!closedObject(e)) {
            unexpected.add(e);
            return;
          }
        }
      }
    }, "close-while-busy-" + name);
    t.setDaemon(true);
    return t;
  }
}
