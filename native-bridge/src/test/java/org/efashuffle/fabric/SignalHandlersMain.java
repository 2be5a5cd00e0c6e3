package org.efashuffle.fabric;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/**
 * In a fresh JVM (libfabric installs its handlers once per process): opens an endpoint of the
 * provider in args[0], then makes the JVM take SIGSEGVs of its own (implicit null checks in
 * compiled code), and prints whether the JVM's SIGSEGV/SIGBUS handlers survived the open and,
 * for shm, whether the endpoint's /dev/shm region still exists.
 */
public final class SignalHandlersMain {
  private static final int SIGBUS = 7;
  private static final int SIGSEGV = 11;

  private SignalHandlersMain() {}

  static final class Box {
    int value;
  }

  static int read(Box box) {
    return box.value; // compiled with an implicit null check: a null box faults (SIGSEGV)
  }

  public static void main(String[] args) {
    LibFabricShim.Api shim = Fabric.shim();
    long segv = shim.efab_signal_handler(SIGSEGV);
    long bus = shim.efab_signal_handler(SIGBUS);
    try (FabricDomain domain = FabricDomain.open(args[0], args.length > 1 ? args[1] : null)) {
      FabricEndpoint endpoint = domain.openEndpoint(EndpointConfig.defaults());
      System.out.println("HANDLERS " + (shim.efab_signal_handler(SIGSEGV) == segv
          && shim.efab_signal_handler(SIGBUS) == bus ? "kept" : "replaced"));
      Box box = new Box();
      long sum = 0;
      for (int i = 0; i < 2_000_000; i++) {
        sum += read(box);
      }
      int faults = 0;
      for (int i = 0; i < 1000; i++) {
        try {
          sum += read(null);
        } catch (NullPointerException e) {
          faults++;
        }
      }
      System.gc();
      String name = new String(endpoint.address(), StandardCharsets.US_ASCII).replace("\0", "");
      Path region = Paths.get("/dev/shm", name.substring(name.indexOf("://") + 3));
      System.out.println("NPES " + faults + " " + sum);
      System.out.println("REGION " + (!domain.provider().equals("shm") ? "n/a" : Files.exists(region) ? "exists" : "gone"));
    }
  }
}
