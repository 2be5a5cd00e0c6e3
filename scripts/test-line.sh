#!/usr/bin/env bash
# Builds and tests one Spark line (a profile of the root pom):
#   bash scripts/test-line.sh spark-3.5|spark-3.5-scala2.13|spark-4.0|spark-4.1|spark-4.2 [full] [maven args...]
# Without "full": the build (the line's shaded jar under shuffle-efa/target/...), the local-cluster
# RDD tests (SparkShuffleTest), the line check (SparkLineTest) and Spark's own ShuffleSuite from
# that line's spark-core tests jar. With "full": every test of every module, as scripts/test.sh
# runs them on the default line. It runs `mvn package`, never install: a line other than the
# default builds under each module's target/sparkX.Y_S/ and leaves the default line's build and
# ~/.m2 alone.
set -euo pipefail
cd "$(dirname "$0")/.."
lines="spark-3.5 spark-3.5-scala2.13 spark-4.0 spark-4.1 spark-4.2"
line=${1:-}
if [[ " $lines " != *" $line "* ]]; then
  echo "usage: $0 LINE [full] [maven args...]; LINE is one of: $lines" >&2
  exit 2
fi
shift
full=false
if [ "${1:-}" = full ]; then
  full=true
  shift
fi
bash scripts/setup.sh
start=$(date +%s)
if $full; then
  mvn -B -ntp -P "$line" package "$@"
else
  mvn -B -ntp -P "$line" -pl integration-tests -am package \
    -Dtest=SparkShuffleTest,SparkLineTest -Dsurefire.failIfNoSpecifiedTests=false \
    -DsparkSuites=org.efashuffle.it.EfaShuffleSuite "$@"
fi
echo "test-line: $line $($full && echo full || echo quick) passed in $(( $(date +%s) - start )) s"
