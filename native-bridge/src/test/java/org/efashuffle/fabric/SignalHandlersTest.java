package org.efashuffle.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * libfabric 1.17's shm replaces SIGSEGV/SIGBUS handlers at the first fi_endpoint of a process
 * with one that unlinks the process's shm regions; the JVM's own SIGSEGVs then removed a live
 * endpoint's region, and a peer mapping it later crashed in fi_cq_read. The shim keeps the JVM's
 * handlers. Each case runs in a fresh JVM, since libfabric installs its handlers once per process.
 */
class SignalHandlersTest {
  static Stream<TestProviders.Provider> providers() {
    return TestProviders.all();
  }

  @ParameterizedTest
  @MethodSource("providers")
  void theJvmsSegvHandlerSurvivesAnEndpointAndItsRegionSurvivesTheJvmsSegvs(TestProviders.Provider p)
      throws Exception {
    String[] args = p.domain() == null ? new String[] {p.name()} : new String[] {p.name(), p.domain()};
    try (ChildJvm child = new ChildJvm(List.of(), SignalHandlersMain.class, args)) {
      assertEquals("HANDLERS kept", child.readLine());
      assertEquals("NPES 1000", child.readLine().replaceAll(" -?\\d+$", ""));
      assertEquals(p.name().equals("shm") ? "REGION exists" : "REGION n/a", child.readLine());
      assertEquals(0, child.waitFor());
    }
  }
}
