package org.efashuffle.transport;

import java.util.HexFormat;
import java.util.Random;
import org.efashuffle.fabric.EndpointConfig;

/** A transport serving {@link FabricTransportTest.MapOutputs} in its own JVM until stdin closes. */
public final class TransportServerMain {
  private TransportServerMain() {}

  public static void main(String[] args) throws Exception {
    String domain = args[1].equals("-") ? null : args[1];
    try (FabricTransportTest.MapOutputs outputs = new FabricTransportTest.MapOutputs(new Random(5));
         FabricTransport server = FabricTransport.open(args[0], domain, EndpointConfig.defaults(), d -> outputs)) {
      outputs.region = server.domain().register(outputs.memory);
      System.out.println("READY " + HexFormat.of().formatHex(server.address()));
      System.out.flush();
      java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in));
      String peer = in.readLine();
      if (peer != null && !peer.isEmpty()) {
        // Fetch from the test's transport too, at the same time as it fetches from us.
        byte[] address = HexFormat.of().parseHex(peer);
        for (int m = 0; m < FabricTransportTest.MAPS; m++) {
          java.util.List<org.efashuffle.common.protocol.BlockRef> refs = new java.util.ArrayList<>();
          for (int p = 0; p < FabricTransportTest.PARTITIONS; p++) {
            refs.add(org.efashuffle.common.protocol.BlockRef.of(0, m, p));
          }
          server.fetch(address, refs).get(60, java.util.concurrent.TimeUnit.SECONDS).forEach(FetchedBlock::release);
        }
        System.out.println("FETCHED");
        System.out.flush();
      }
      while (in.readLine() != null) {
        // serve until the test closes our stdin
      }
    }
  }
}
