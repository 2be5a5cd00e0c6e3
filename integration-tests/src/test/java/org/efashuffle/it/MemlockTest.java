package org.efashuffle.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Executors started under a 64 KiB locked-memory limit and without CAP_IPC_LOCK (prlimit and
 * setpriv, applied by a java wrapper that Spark's local cluster launches executors with), asked
 * for provider efa, which pins what it registers: each logs one warning naming the limit and the
 * settings, reads everything over Netty, and the job gives sort shuffle's rows. This host has no
 * EFA device, so efa would not open anyway; the warning shows the start-up check decided, and a
 * registration failing past the limit on a real EFA host stays untested here.
 */
class MemlockTest {
  private static final long LIMIT = 64 * 1024;

  @TempDir
  Path dir;

  @Test
  void anExecutorUnderALowMemlockLimitWarnsOnceAndReadsOverNetty() throws Exception {
    for (String tool : List.of("/usr/bin/prlimit", "/usr/bin/setpriv")) {
      Assumptions.assumeTrue(Files.isExecutable(Paths.get(tool)), () -> "skipped: no " + tool);
    }
    List<String> command = new ArrayList<>(List.of(ExecutorJava.realJava()));
    command.addAll(Arrays.asList(ExecutorJava.sparkJvmOptions()));
    command.addAll(List.of("-Dspark.testing=1", "-Dspark.test.home=" + new File("target").getAbsolutePath(),
        "-cp", System.getProperty("java.class.path"), MemlockJobMain.class.getName()));
    ProcessBuilder builder = new ProcessBuilder(command).redirectError(new File("target/memlock-driver.log"));
    builder.environment().putAll(Map.of("SPARK_TESTING", "1", "SPARK_SCALA_VERSION", "2.13",
        "SPARK_LOCAL_IP", "127.0.0.1", "SPARK_LOCAL_HOSTNAME", "localhost", "JAVA_HOME", javaWrapper().toString()));
    Process driver = builder.start();
    String out = new String(driver.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(driver.waitFor(10, TimeUnit.MINUTES), "driver did not finish");
    assertEquals(0, driver.exitValue(), "driver failed (target/memlock-driver.log):\n" + out);
    System.out.print("memlock driver (executors under ulimit -l " + LIMIT / 1024 + " KiB, no CAP_IPC_LOCK):\n" + out);

    assertTrue(out.contains("ROWS same"), out);
    Map<String, long[]> executors = new HashMap<>();
    Map<String, Integer> warnings = new HashMap<>();
    for (String line : out.split("\n")) {
      String[] f = line.trim().split(" ");
      if (f[0].equals("EXECUTOR")) {
        executors.put(f[1], new long[] {Long.parseLong(f[2]), Long.parseLong(f[3])});
      } else if (f[0].equals("WARNING")) {
        warnings.merge(f[1], 1, Integer::sum);
        assertTrue(line.contains("locked-memory limit") && line.contains(LIMIT + " bytes")
            && line.contains("spark.shuffle.efa.memory.receiveBytes") && line.contains("lacks CAP_IPC_LOCK"), line);
      }
    }
    assertEquals(2, executors.size(), out);
    for (Map.Entry<String, long[]> e : executors.entrySet()) {
      assertEquals(0, e.getValue()[0], "executor " + e.getKey() + " read nothing over the fabric:\n" + out);
      assertEquals(1, warnings.getOrDefault(e.getKey(), 0), "executor " + e.getKey() + " warned once:\n" + out);
    }
    assertTrue(executors.values().stream().mapToLong(v -> v[1]).sum() > 0, "blocks came over Netty:\n" + out);
  }

  /** A JAVA_HOME whose bin/java starts executors under the limit and without CAP_IPC_LOCK; any other java runs unchanged. */
  private Path javaWrapper() throws IOException {
    String realJava = ExecutorJava.realJava();
    String script = String.join("\n",
        "#!/bin/bash",
        "for a in \"$@\"; do",
        "  if [[ $a == --executor-id ]]; then",
        "    exec /usr/bin/prlimit --memlock=" + LIMIT + ":" + LIMIT
            + " /usr/bin/setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock " + realJava + " \"$@\"",
        "  fi",
        "done",
        "exec " + realJava + " \"$@\"",
        "");
    return ExecutorJava.javaHome(dir, script);
  }

}
