#!/usr/bin/env bash
# The main job: a shuffle of a few GB on a local cluster of two executor JVMs, with Spark's sort
# shuffle and with efa-shuffle (tcp;ofi_rxm over loopback with map outputs pinned and unpinned,
# then shm), then the block-fetch benchmark (one executor JVM fetching another's shuffle blocks of
# 4 KiB to 4 MiB through efa-shuffle's client and through Spark's Netty client, shm and
# tcp;ofi_rxm), then the transport benchmark (fi_read through the Java API beside the project's
# raw C fi_read benchmark, shm and tcp;ofi_rxm).
# Environment: JOB_BYTES (default 2g) sizes the Spark job; FETCH_ARGS (e.g. "--sizes 4k,1m
# --rounds 3") goes to the block-fetch benchmark; SKIP_JOB=1, SKIP_FETCH=1 or SKIP_TRANSPORT=1
# skip a part.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp -q install -DskipTests
it="$PWD/integration-tests"
cp="$it/target/classes:$(cat "$it/target/classpath.txt")"
if [ "${SKIP_JOB:-0}" != 1 ]; then
  # Spark's local-cluster mode outside Spark's tree: executors inherit this class path.
  SPARK_TESTING=1 SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost \
    java $(cat "$it/target/classes/spark-jvm-options.txt") -Dspark.testing=1 -Dspark.test.home="$it/target" \
    -cp "$cp" org.efashuffle.bench.ShuffleJobBenchmark "${JOB_BYTES:-2g}" 2> "$it/target/main-job.log"
  echo "(Spark's log: $it/target/main-job.log)"
fi
if [ "${SKIP_FETCH:-0}" != 1 ]; then
  SPARK_TESTING=1 SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost \
    java $(cat "$it/target/classes/spark-jvm-options.txt") -Dspark.testing=1 -Dspark.test.home="$it/target" \
    -cp "$cp" org.efashuffle.bench.BlockFetchBenchmark ${FETCH_ARGS:-} 2> "$it/target/block-fetch.log"
  echo "(Spark's log: $it/target/block-fetch.log)"
fi
if [ "${SKIP_TRANSPORT:-0}" != 1 ]; then
  java -cp "$cp" org.efashuffle.bench.TransportBenchmark native-bridge/target/native/fi_read_bench "$@"
fi
