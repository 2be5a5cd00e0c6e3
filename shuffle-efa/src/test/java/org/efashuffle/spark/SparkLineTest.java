package org.efashuffle.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

class SparkLineTest {
  private static final SparkLine SPARK_35_212 = new SparkLine("3.5", "2.12", "spark3.5_2.12", "0.1.0");
  private static final SparkLine SPARK_41_213 = new SparkLine("4.1", "2.13", "spark", "0.1.0");

  @Test
  void theSameLineAndScalaPass() {
    assertNull(SPARK_35_212.mismatch("3.5.9", "2.12.18"));
    assertNull(SPARK_35_212.mismatch("3.5.1", "2.12.15"));
    assertNull(SPARK_41_213.mismatch("4.1.3-amzn-0", "2.13.17"));
  }

  @Test
  void anotherLineNamesTheJarBuiltForIt() {
    assertEquals("efa-shuffle: shuffle-efa-0.1.0-spark3.5_2.12.jar is built for Spark 3.5 with Scala 2.12, but this "
        + "is Spark 4.1.1 with Scala 2.13.17: use shuffle-efa-0.1.0-spark.jar instead",
        SPARK_35_212.mismatch("4.1.1", "2.13.17"));
    assertEquals("efa-shuffle: shuffle-efa-0.1.0-spark.jar is built for Spark 4.1 with Scala 2.13, but this "
        + "is Spark 3.5.2 with Scala 2.12.18: use shuffle-efa-0.1.0-spark3.5_2.12.jar instead",
        SPARK_41_213.mismatch("3.5.2", "2.12.18"));
    assertEquals("efa-shuffle: shuffle-efa-0.1.0-spark.jar is built for Spark 4.1 with Scala 2.13, but this "
        + "is Spark 4.2.0 with Scala 2.13.17: use shuffle-efa-0.1.0-spark4.2_2.13.jar instead",
        SPARK_41_213.mismatch("4.2.0", "2.13.17"));
  }

  @Test
  void theSameLineWithAnotherScalaNamesThatScalasJar() {
    assertEquals("efa-shuffle: shuffle-efa-0.1.0-spark3.5_2.12.jar is built for Spark 3.5 with Scala 2.12, but this "
        + "is Spark 3.5.9 with Scala 2.13.8: use shuffle-efa-0.1.0-spark3.5_2.13.jar instead",
        SPARK_35_212.mismatch("3.5.9", "2.13.8"));
  }

  @Test
  void aLineWithoutAJarSaysWhichLinesHaveOne() {
    assertEquals("efa-shuffle: shuffle-efa-0.1.0-spark.jar is built for Spark 4.1 with Scala 2.13, but this "
        + "is Spark 3.4.1 with Scala 2.12.17, for which efa-shuffle has no jar; there are jars for Spark 3.5 "
        + "(Scala 2.12 or 2.13), 4.0, 4.1 and 4.2 (Scala 2.13)",
        SPARK_41_213.mismatch("3.4.1", "2.12.17"));
    assertEquals("efa-shuffle: shuffle-efa-0.1.0-spark.jar is built for Spark 4.1 with Scala 2.13, but this "
        + "is Spark 4.0.0 with Scala 2.12.18, for which efa-shuffle has no jar; there are jars for Spark 3.5 "
        + "(Scala 2.12 or 2.13), 4.0, 4.1 and 4.2 (Scala 2.13)",
        SPARK_41_213.mismatch("4.0.0", "2.12.18"));
  }

  @Test
  void theJarUnderTestIsBuiltForTheSparkOnItsClassPath() {
    SparkLine built = SparkLine.built();
    String spark = org.apache.spark.package$.MODULE$.SPARK_VERSION();
    assertNull(built.mismatch(spark, scala.util.Properties.versionNumberString()));
    assertEquals(built, SparkLine.checkRunning());
  }

  @Test
  void requireRunningOnFailsWithTheMessage() {
    SparkLine built = SparkLine.built();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> built.requireRunningOn("3.4.1", "2.12.17"));
    assertEquals(built.mismatch("3.4.1", "2.12.17"), e.getMessage());
  }
}
