package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The start-up check of the locked-memory limit, with the limit and the provider as inputs (this
 * host runs as root with CAP_IPC_LOCK, and tcp and shm pin nothing, so a real refusal cannot be
 * produced here).
 */
class LockedMemoryLimitTest {
  private static final Map<String, String> DEFAULTS = Map.of();
  private static final long SMALL = 64 * 1024;

  @Test
  void aPinningProviderUnderALowLimitIsRefusedNamingTheLimitAndTheSettings() {
    String refusal = new LockedMemoryLimit(SMALL, false).refusal("efa", DEFAULTS);
    assertTrue(refusal != null && refusal.contains("ulimit -l") && refusal.contains(SMALL + " bytes")
        && refusal.contains("spark.shuffle.efa.memory.stagingBytes") && refusal.contains("spark.shuffle.efa.memory.receiveBytes")
        && refusal.contains("spark.shuffle.efa.memory.mapOutputBytes") && refusal.contains("provider efa"), refusal);
    assertTrue(new LockedMemoryLimit(SMALL, false).refusal("verbs;ofi_rxm", DEFAULTS) != null);
  }

  @Test
  void noRefusalWhenNothingIsPinnedTheLimitCoversItOrTheProcessMayLockMemory() {
    long needed = LockedMemoryLimit.needed(DEFAULTS);
    assertEquals((128L << 20) + (256L << 20) + (1L << 30) + 128 * 8192, needed);
    assertNull(new LockedMemoryLimit(SMALL, false).refusal("tcp;ofi_rxm", DEFAULTS));
    assertNull(new LockedMemoryLimit(SMALL, false).refusal("shm", DEFAULTS));
    assertNull(new LockedMemoryLimit(LockedMemoryLimit.UNLIMITED, false).refusal("efa", DEFAULTS));
    assertNull(new LockedMemoryLimit(SMALL, true).refusal("efa", DEFAULTS), "CAP_IPC_LOCK");
    assertNull(new LockedMemoryLimit(needed, false).refusal("efa", DEFAULTS));
    assertTrue(new LockedMemoryLimit(needed - 1, false).refusal("efa", DEFAULTS) != null);
    Map<String, String> small = Map.of("spark.shuffle.efa.memory.stagingBytes", "1m",
        "spark.shuffle.efa.memory.receiveBytes", "1m", "spark.shuffle.efa.memory.mapOutputBytes", "0");
    assertNull(new LockedMemoryLimit(4L << 20, false).refusal("efa", small), "settings lowered to fit");
  }

  @Test
  void theLimitAndTheCapabilityAreReadFromProc() {
    String limits = "Limit                     Soft Limit           Hard Limit           Units     \n"
        + "Max processes             95000                95000                processes \n"
        + "Max locked memory         65536                65536                bytes     \n";
    assertEquals(65536, LockedMemoryLimit.parseLimit(limits));
    assertEquals(LockedMemoryLimit.UNLIMITED,
        LockedMemoryLimit.parseLimit("Max locked memory         unlimited            unlimited            bytes\n"));
    assertTrue(LockedMemoryLimit.parseCapIpcLock("Name:\tjava\nCapEff:\t000001ffffffffff\n"));
    assertTrue(LockedMemoryLimit.parseCapIpcLock("CapEff:\t0000000000004000\n"));
    assertFalse(LockedMemoryLimit.parseCapIpcLock("CapEff:\t0000000000000000\n"));
    LockedMemoryLimit here = LockedMemoryLimit.ofThisProcess();
    assertTrue(here.bytes() > 0, here.toString());
  }

  /**
   * A real process under a 64 KiB limit without CAP_IPC_LOCK (prlimit and setpriv drop them for a
   * child JVM): the check reads both and refuses efa, not tcp. What it cannot show here is efa's
   * registration failing past the limit (no EFA device).
   */
  @Test
  void aChildJvmUnderALowLimitWithoutTheCapabilityIsRefusedEfa() throws Exception {
    for (String tool : List.of("/usr/bin/prlimit", "/usr/bin/setpriv")) {
      Assumptions.assumeTrue(Files.isExecutable(Paths.get(tool)), () -> "skipped: no " + tool);
    }
    Process child = new ProcessBuilder("/usr/bin/prlimit", "--memlock=" + SMALL + ":" + SMALL, "/usr/bin/setpriv",
        "--inh-caps=-ipc_lock", "--bounding-set=-ipc_lock",
        Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), LockedMemoryProbe.class.getName())
        .redirectErrorStream(true).start();
    String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(child.waitFor(60, TimeUnit.SECONDS), "probe did not finish");
    assertEquals(0, child.exitValue(), out);
    assertTrue(out.contains("LIMIT " + SMALL + " CAP_IPC_LOCK false"), out);
    assertTrue(out.contains("EFA the locked-memory limit (ulimit -l, RLIMIT_MEMLOCK) of this executor is " + SMALL), out);
    assertTrue(out.contains("TCP null"), out);
  }
}
