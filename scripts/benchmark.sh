#!/usr/bin/env bash
# The main job for now: the transport benchmark. fi_read through the Java API, on shm and on
# tcp;ofi_rxm over loopback, beside the project's raw C fi_read benchmark, in one run.
# Arguments (optional): providers as NAME[@DOMAIN], e.g. shm "tcp;ofi_rxm@lo" efa.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp -q install -DskipTests
cp="integration-tests/target/classes:$(cat integration-tests/target/classpath.txt)"
exec java -cp "$cp" org.efashuffle.bench.TransportBenchmark native-bridge/target/native/fi_read_bench "$@"
