package org.efashuffle.fabric;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * The target in its own JVM: prints {@code READY <description>}, serves reads until a line
 * {@code close} arrives on stdin, then closes everything and prints {@code CLOSED <open objects>}.
 * Arguments: provider, domain ("-" for any), size in bytes, number of registrations.
 */
public final class ReadTargetMain {
  private ReadTargetMain() {}

  public static void main(String[] args) throws Exception {
    String domain = args[1].equals("-") ? null : args[1];
    ReadTarget target = new ReadTarget(args[0], domain, Long.parseLong(args[2]), Integer.parseInt(args[3]));
    System.out.println("READY " + target.describe());
    System.out.flush();
    BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = stdin.readLine()) != null && !line.equals("close")) {
      // serve until told to close
    }
    target.close();
    System.out.println("CLOSED " + Fabric.openObjects().isZero() + " " + Fabric.openObjects());
    System.out.flush();
  }
}
