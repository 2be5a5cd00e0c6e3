package org.efashuffle.bench.tpcds;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The TPC-DS query texts (v1.4) that Spark ships in its spark-sql tests jar
 * ({@code org.apache.spark:spark-sql_2.13:<version>:tests}), resources {@code tpcds/q*.sql},
 * read from the class path: that jar must be on it (on the driver only).
 */
public final class TpcdsQueries {
  private static final String DIRECTORY = "tpcds";
  private static final Pattern NAME = Pattern.compile("q(\\d+)([a-z]?)");

  private TpcdsQueries() {}

  /**
   * The queries by name (q1, q2, ..., q14a, q14b, ... q99), in that order.
   *
   * @param names the queries wanted, or empty for all of them
   * @throws IllegalArgumentException naming a query the jar does not have
   */
  public static Map<String, String> load(List<String> names) {
    List<String> all = available();
    List<String> wanted = names.isEmpty() ? all : names;
    Map<String, String> queries = new LinkedHashMap<>();
    for (String name : wanted) {
      if (!all.contains(name)) {
        throw new IllegalArgumentException("no TPC-DS query " + name + " in " + DIRECTORY
            + "/ on the class path (there are " + all.size() + ": " + String.join(",", all) + ")");
      }
      queries.put(name, text(name));
    }
    return queries;
  }

  /** The names of the queries on the class path, in query order. */
  public static List<String> available() {
    URL first = TpcdsQueries.class.getClassLoader().getResource(DIRECTORY + "/q1.sql");
    if (first == null) {
      throw new IllegalStateException("no " + DIRECTORY + "/q1.sql on the class path: add Spark's spark-sql tests jar"
          + " (org.apache.spark:spark-sql_2.13:<spark version>:tests) to the driver's class path");
    }
    List<String> names = new ArrayList<>();
    try {
      if (first.getProtocol().equals("jar")) {
        JarURLConnection connection = (JarURLConnection) first.openConnection();
        try (JarFile jar = new JarFile(Paths.get(connection.getJarFileURL().toURI()).toFile())) {
          for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
            addIfQuery(names, e.nextElement().getName());
          }
        }
      } else {
        try (Stream<java.nio.file.Path> files = Files.list(Paths.get(first.toURI()).getParent())) {
          files.forEach(f -> addIfQuery(names, DIRECTORY + "/" + f.getFileName()));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    names.sort(Comparator.comparingInt((String n) -> Integer.parseInt(number(n).group(1)))
        .thenComparing(n -> number(n).group(2)));
    return names;
  }

  private static void addIfQuery(List<String> names, String entry) {
    if (entry.startsWith(DIRECTORY + "/") && entry.endsWith(".sql")) {
      String name = entry.substring(DIRECTORY.length() + 1, entry.length() - 4);
      if (NAME.matcher(name).matches()) {
        names.add(name);
      }
    }
  }

  private static Matcher number(String name) {
    Matcher m = NAME.matcher(name);
    m.matches();
    return m;
  }

  private static String text(String name) {
    try (InputStream in = TpcdsQueries.class.getClassLoader().getResourceAsStream(DIRECTORY + "/" + name + ".sql")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
