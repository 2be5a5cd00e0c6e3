#!/usr/bin/env bash
# Example: a Spark job on EFA hosts with efa-shuffle. Build the jar with `bash scripts/test.sh`
# (or `mvn -DskipTests install`); it is shuffle-efa/target/shuffle-efa-*-spark.jar.
JAR=${JAR:-shuffle-efa/target/shuffle-efa-0.1.0-SNAPSHOT-spark.jar}
exec spark-submit \
  --jars "$JAR" \
  --conf spark.shuffle.manager=org.efashuffle.spark.EfaShuffleManager \
  --conf spark.executorEnv.LD_LIBRARY_PATH=/opt/amazon/efa/lib \
  --conf spark.executorEnv.FI_EFA_FORK_SAFE=1 \
  --conf spark.executorEnv.FI_EFA_USE_HUGE_PAGE=0 \
  "$@"
