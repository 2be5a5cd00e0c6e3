#!/usr/bin/env bash
# The main job: a shuffle of a few GB on a local cluster of two executor JVMs, with Spark's sort
# shuffle, with efa-shuffle (tcp;ofi_rxm over loopback, then shm) and as the ceiling (sort shuffle
# on one executor JVM with the same two cores), Kryo serialization, plus sort and efa-shuffle over
# tcp;ofi_rxm with Java serialization; each a fresh application per round, medians over the rounds;
# then the block-fetch benchmark (one executor JVM fetching another's shuffle blocks of 4 KiB to
# 4 MiB through efa-shuffle's client and through Spark's Netty client, shm and tcp;ofi_rxm); then
# the transport benchmark (fi_read through the Java API beside the project's raw C fi_read
# benchmark, shm and tcp;ofi_rxm).
# Environment: JOB_BYTES (default 2g) sizes the Spark job, ROUNDS (default 3) its rounds, JAVA_ROWS=0
# leaves out the Java-serialization pair, JOB_PROVIDERS (e.g. "tcp;ofi_rxm@lo tcp;ofi_rxm@lo+unpinned
# shm") replaces the efa-shuffle configurations; FETCH_ARGS (e.g. "--sizes 4k,1m --rounds 3") goes to
# the block-fetch benchmark; SKIP_JOB=1, SKIP_FETCH=1 or SKIP_TRANSPORT=1 skip a part;
# MVN_FLAGS (e.g. -o) go to Maven, SKIP_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  bash scripts/setup.sh
  # package, not install: the reactor's own jars, nothing written to ~/.m2.
  mvn -B -ntp -q ${MVN_FLAGS:-} -pl integration-tests -am package -DskipTests
fi
it="$PWD/integration-tests"
cp="$it/target/classes:$(cat "$it/target/classpath.txt")"
if [ "${SKIP_JOB:-0}" != 1 ]; then
  job_args=(--rounds "${ROUNDS:-3}")
  [ "${JAVA_ROWS:-1}" = 0 ] && job_args+=(--no-java)
  job_args+=("${JOB_BYTES:-2g}")
  # shellcheck disable=SC2206 # the providers are words; each may hold ';'
  [ -n "${JOB_PROVIDERS:-}" ] && job_args+=($JOB_PROVIDERS)
  # Spark's local-cluster mode outside Spark's tree: executors inherit this class path.
  SPARK_TESTING=1 SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=localhost \
    java $(cat "$it/target/classes/spark-jvm-options.txt") -Dspark.testing=1 -Dspark.test.home="$it/target" \
    -cp "$cp" org.efashuffle.bench.ShuffleJobBenchmark "${job_args[@]}" 2> "$it/target/main-job.log"
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
