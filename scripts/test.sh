#!/usr/bin/env bash
# The test command: set-up, native build and every module's tests (real bytes through
# libfabric's shm and tcp;ofi_rxm providers). Extra arguments go to Maven.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mvn -B -ntp install "$@"
