package org.efashuffle.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Properties;

/**
 * The Spark line (major.minor and Scala binary version) a shuffle-efa jar is built for, and the
 * check that it runs on that line: a jar of another line would otherwise die later with a
 * NoSuchMethodError. Each line is a Maven profile of the root pom, which filters this jar's
 * line into {@code efa-shuffle-line.properties}.
 *
 * @param spark the Spark line, e.g. {@code 3.5}
 * @param scalaBinary the Scala binary version, e.g. {@code 2.12}
 * @param classifier the classifier of the line's shaded jar, e.g. {@code spark3.5_2.12}
 * @param version efa-shuffle's version
 */
record SparkLine(String spark, String scalaBinary, String classifier, String version) {
  private static final String RESOURCE = "efa-shuffle-line.properties";

  /** Classifier of the shaded jar per line (Spark line _ Scala binary version): the root pom's profiles. */
  private static final Map<String, String> CLASSIFIERS = Map.of(
      "3.5_2.12", "spark3.5_2.12",
      "3.5_2.13", "spark3.5_2.13",
      "4.0_2.13", "spark4.0_2.13",
      "4.1_2.13", "spark",
      "4.2_2.13", "spark4.2_2.13");
  private static final String LINES = "Spark 3.5 (Scala 2.12 or 2.13), 4.0, 4.1 and 4.2 (Scala 2.13)";

  /** The line this jar is built for. */
  static SparkLine built() {
    Properties p = new Properties();
    try (InputStream in = SparkLine.class.getResourceAsStream("/" + RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("efa-shuffle: " + RESOURCE + " is missing from the jar");
      }
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException("efa-shuffle: reading " + RESOURCE, e);
    }
    return new SparkLine(p.getProperty("spark.line"), p.getProperty("scala.binary.version"),
        p.getProperty("classifier"), p.getProperty("version"));
  }

  /**
   * Fails unless the Spark and Scala of this JVM are the line this jar is built for. Touches only
   * what every line has (Spark's version string, Scala's), so it runs before anything that differs.
   */
  static SparkLine checkRunning() {
    return built().requireRunningOn(org.apache.spark.package$.MODULE$.SPARK_VERSION(),
        scala.util.Properties.versionNumberString());
  }

  SparkLine requireRunningOn(String sparkVersion, String scalaVersion) {
    String message = mismatch(sparkVersion, scalaVersion);
    if (message != null) {
      throw new IllegalStateException(message);
    }
    return this;
  }

  /** Null when Spark {@code sparkVersion} with Scala {@code scalaVersion} is this line, else what to do. */
  String mismatch(String sparkVersion, String scalaVersion) {
    String runningSpark = majorMinor(sparkVersion);
    String runningScala = majorMinor(scalaVersion);
    if (spark.equals(runningSpark) && scalaBinary.equals(runningScala)) {
      return null;
    }
    String problem = "efa-shuffle: " + jar(classifier) + " is built for Spark " + spark + " with Scala " + scalaBinary
        + ", but this is Spark " + sparkVersion + " with Scala " + scalaVersion;
    String other = CLASSIFIERS.get(runningSpark + "_" + runningScala);
    return other != null
        ? problem + ": use " + jar(other) + " instead"
        : problem + ", for which efa-shuffle has no jar; there are jars for " + LINES;
  }

  private String jar(String jarClassifier) {
    return "shuffle-efa-" + version + "-" + jarClassifier + ".jar";
  }

  /** "3.5" of "3.5.9" or "3.5.1-amzn-0"; the version itself if it has no second dot. */
  private static String majorMinor(String version) {
    int first = version.indexOf('.');
    int second = first < 0 ? -1 : version.indexOf('.', first + 1);
    return second < 0 ? version : version.substring(0, second);
  }
}
