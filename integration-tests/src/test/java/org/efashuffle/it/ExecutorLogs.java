package org.efashuffle.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The executors' logs of a local-cluster application (each worker's directory under
 * java.io.tmpdir), read while the context is open: the cluster deletes them when it stops. Only
 * executors started for this driver count: another JVM's local cluster whose application started
 * in the same second has the same application id (app-SECOND-0000) and its worker directories in
 * the same java.io.tmpdir.
 */
final class ExecutorLogs {
  /** One line of one executor's stderr. */
  record Line(String executorId, String text) {}

  private static final Pattern DRIVER_URL = Pattern.compile("\"--driver-url\" \"([^\"]*)\"");

  private ExecutorLogs() {}

  static List<Line> lines(JavaSparkContext sc, Predicate<String> wanted) {
    String app = sc.sc().applicationId();
    String driverUrlEnd = ":" + sc.getConf().get("spark.driver.port");
    List<Line> found = new ArrayList<>();
    try (DirectoryStream<Path> workers = Files.newDirectoryStream(Paths.get(System.getProperty("java.io.tmpdir")),
        "worker-*")) {
      for (Path worker : workers) {
        Path appDir = worker.resolve(app);
        if (!Files.isDirectory(appDir)) {
          continue;
        }
        try (DirectoryStream<Path> executors = Files.newDirectoryStream(appDir)) {
          for (Path executor : executors) {
            List<String> stderr = Files.readAllLines(executor.resolve("stderr"));
            if (!startedFor(stderr, driverUrlEnd)) {
              continue;
            }
            for (String line : stderr) {
              if (wanted.test(line)) {
                found.add(new Line(executor.getFileName().toString(), line));
              }
            }
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return found;
  }

  /** Whether the executor's command (its stderr's first line) has a --driver-url ending in {@code urlEnd}. */
  private static boolean startedFor(List<String> stderr, String urlEnd) {
    Matcher url = DRIVER_URL.matcher(stderr.isEmpty() ? "" : stderr.get(0));
    return url.find() && url.group(1).endsWith(urlEnd);
  }
}
