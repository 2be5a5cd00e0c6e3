package org.efashuffle.bench;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.efashuffle.fabric.EndpointConfig;
import org.efashuffle.fabric.FabricDomain;
import org.efashuffle.fabric.FabricEndpoint;
import org.efashuffle.fabric.MemoryRegion;
import org.efashuffle.fabric.NativeMemory;

/**
 * The benchmark's target JVM: registers {@link TransportBenchmark#SOURCE_SIZE} bytes of known
 * data behind an endpoint whose progress thread serves reads exactly as it does in production,
 * prints {@code READY address-hex remote-address key}, and serves until stdin closes.
 * Arguments: provider, domain ("" for any), and "busy" to keep the progress thread polling
 * instead of blocking when idle (to separate the cost of a blocking target from the API's).
 */
public final class TransportTargetMain {
  private TransportTargetMain() {}

  public static void main(String[] args) throws Exception {
    String domainName = args.length > 1 && !args[1].isEmpty() ? args[1] : null;
    boolean busy = args.length > 2 && args[2].equals("busy");
    EndpointConfig config = busy ? EndpointConfig.defaults().withSpin(Duration.ofDays(365)) : EndpointConfig.defaults();
    try (NativeMemory memory = NativeMemory.allocate(TransportBenchmark.SOURCE_SIZE);
         FabricDomain domain = FabricDomain.open(args[0], domainName)) {
      byte[] data = new byte[(int) memory.size()];
      for (int i = 0; i < data.length; i++) {
        data[i] = TransportBenchmark.expected(i);
      }
      memory.put(0, data, 0, data.length);
      MemoryRegion region = domain.register(memory);
      FabricEndpoint endpoint = domain.openEndpoint(config);
      System.out.println("READY " + java.util.HexFormat.of().formatHex(endpoint.address()) + " "
          + region.remoteAddress(0) + " " + region.key());
      System.out.flush();
      BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      while (stdin.readLine() != null) {
        // serve until the benchmark closes our stdin
      }
    }
  }
}
