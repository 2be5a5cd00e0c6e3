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
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The executors' logs of a local-cluster application (each worker's directory under
 * java.io.tmpdir), read while the context is open: the cluster deletes them when it stops.
 */
final class ExecutorLogs {
  /** One line of one executor's stderr. */
  record Line(String executorId, String text) {}

  private ExecutorLogs() {}

  static List<Line> lines(JavaSparkContext sc, Predicate<String> wanted) {
    String app = sc.sc().applicationId();
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
            for (String line : Files.readAllLines(executor.resolve("stderr"))) {
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
}
