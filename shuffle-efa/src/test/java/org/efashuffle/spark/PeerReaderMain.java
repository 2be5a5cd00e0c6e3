package org.efashuffle.spark;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.efashuffle.common.protocol.BlockLocation;
import org.efashuffle.common.protocol.BlockRef;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.transport.FabricTransport;
import org.efashuffle.transport.FetchedBlock;

/**
 * A peer executor in its own JVM (as in a cluster: shm maps an endpoint of the same process
 * without a copy, so an in-process peer would fault on a closed one): prints its ADDRESS (it
 * serves no block; the test's tasks fetch from it), reads the map outputs of
 * {@link TransportCloseTest} from the transport at the given address, over and over, until its
 * stdin closes. Prints UNDERWAY once 20 blocks arrived, then DONE with its counts; exits 1 on a
 * wrong byte, 2 on a fetch that never completed.
 */
public final class PeerReaderMain {
  private PeerReaderMain() {}

  public static void main(String[] args) throws Exception {
    String domain = args[1].equals("-") ? null : args[1];
    byte[] server = HexFormat.of().parseHex(args[2]);
    long[][] offsets = TransportCloseTest.offsets();
    AtomicBoolean stop = new AtomicBoolean();
    Thread stdin = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in))) {
        while (in.readLine() != null) {
          // until the test closes our stdin
        }
      } catch (java.io.IOException e) {
        // stop as well
      }
      stop.set(true);
    });
    stdin.start();
    int served = 0;
    int failed = 0;
    Random random = new Random(7);
    try (FabricTransport client = FabricTransport.open(args[0], domain,
        EndpointConfig.defaults().withOperationTimeout(java.time.Duration.ofSeconds(5)), d -> b -> null)) {
      System.out.println("ADDRESS " + HexFormat.of().formatHex(client.address())); // the test's tasks fetch from us
      System.out.flush();
      while (!stop.get()) {
        List<BlockRef> refs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          int p = random.nextInt(TransportCloseTest.PARTITIONS);
          refs.add(new BlockRef(0, random.nextInt(TransportCloseTest.MAPS), p,
              p + 1 + random.nextInt(TransportCloseTest.PARTITIONS - p)));
        }
        CompletableFuture<List<FetchedBlock>> fetch = client.fetch(server, refs);
        List<FetchedBlock> blocks;
        try {
          blocks = fetch.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          failed++;
          continue;
        } catch (java.util.concurrent.TimeoutException e) {
          System.out.println("HUNG " + refs);
          System.exit(2);
          return;
        }
        for (FetchedBlock b : blocks) {
          if (b.status() == BlockLocation.Status.OK) {
            String wrong = TransportCloseTest.wrongByte(offsets, b.ref(), b.data());
            if (wrong != null) {
              System.out.println("WRONG " + wrong);
              System.exit(1);
            }
            if (++served == 20) {
              System.out.println("UNDERWAY");
              System.out.flush();
            }
          }
        }
        blocks.forEach(FetchedBlock::release);
      }
    }
    System.out.println("DONE served=" + served + " failed=" + failed);
    System.out.flush();
  }
}
