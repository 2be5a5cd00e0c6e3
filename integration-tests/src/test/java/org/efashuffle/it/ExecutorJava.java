package org.efashuffle.it;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A JAVA_HOME whose bin/java is a script of the test's, so that Spark's local cluster starts its
 * executors through it (in a namespace, under a limit); and the Java options a test driver JVM
 * that runs Spark needs.
 */
final class ExecutorJava {
  private ExecutorJava() {}

  /** This JVM's java, for the script to exec in the end. */
  static String realJava() {
    return Paths.get(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** Writes {@code script} as {@code dir}/java-home/bin/java (executable) and returns that JAVA_HOME. */
  static Path javaHome(Path dir, String script) throws IOException {
    Path bin = Files.createDirectories(dir.resolve("java-home/bin"));
    Path java = bin.resolve("java");
    Files.writeString(java, script);
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir.resolve("java-home");
  }

  /** The root pom's Java 17 options for Spark (spark-jvm-options.txt), one per element. */
  static String[] sparkJvmOptions() throws IOException {
    try (InputStream in = ExecutorJava.class.getResourceAsStream("/spark-jvm-options.txt")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).trim().split("\\s+");
    }
  }
}
