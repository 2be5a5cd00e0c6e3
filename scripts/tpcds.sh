#!/usr/bin/env bash
# TPC-DS with efa-shuffle against Spark's sort shuffle on a local cluster of two executor JVMs
# (Spark's local-cluster mode), small enough for one machine: builds, generates the tables once
# (reused by later runs), runs the queries, prints a table and writes CSV and SVG.
# Environment (defaults in brackets):
#   SCALE [0.1]  QUERIES [q3,q7,q19,q42,q52,q55,q96; "all" for every query]  ROUNDS [3]  WARMUP [1]
#   DATA [integration-tests/target/tpcds-data/sf$SCALE]  OUT [integration-tests/target/tpcds-results]
#   PROVIDER [tcp;ofi_rxm]  DOMAIN [lo]  EXECUTOR_MEMORY_MB [1536]  MVN_FLAGS (e.g. -o)  SKIP_BUILD=1
#   SPARK_OPTS: more -Dspark.* settings, e.g. "-Dspark.sql.shuffle.partitions=16"
set -euo pipefail
cd "$(dirname "$0")/.."
it="$PWD/integration-tests"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/setup.sh
  # package, not install: the reactor's own jars, nothing written to ~/.m2.
  mvn -B -ntp -q ${MVN_FLAGS:-} -pl integration-tests -am package -DskipTests
fi
scale="${SCALE:-0.1}"
queries="${QUERIES:-q3,q7,q19,q42,q52,q55,q96}"
args=(--data "${DATA:-$it/target/tpcds-data/sf$scale}" --scale "$scale" --rounds "${ROUNDS:-3}"
  --warmup "${WARMUP:-1}" --out "${OUT:-$it/target/tpcds-results}")
[ "$queries" != all ] && args+=(--queries "$queries")
cp="$it/target/classes:$(cat "$it/target/classpath.txt")"
# Spark's local-cluster mode outside Spark's tree: executors inherit this class path.
SPARK_TESTING=1 SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost \
  java $(cat "$it/target/classes/spark-jvm-options.txt") -Dspark.testing=1 -Dspark.test.home="$it/target" \
  -Dspark.master="local-cluster[2,1,${EXECUTOR_MEMORY_MB:-1536}]" -Dspark.driver.host=127.0.0.1 \
  -Dspark.driver.bindAddress=127.0.0.1 -Dspark.ui.enabled=false \
  -Dspark.shuffle.efa.provider="${PROVIDER:-tcp;ofi_rxm}" -Dspark.shuffle.efa.domain="${DOMAIN-lo}" ${SPARK_OPTS:-} \
  -cp "$cp" org.efashuffle.bench.tpcds.TpcdsBenchmark "${args[@]}" "$@" 2> "$it/target/tpcds.log"
echo "(Spark's log: $it/target/tpcds.log)"
