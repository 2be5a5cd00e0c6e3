#!/usr/bin/env bash
# Installs what the build needs when it is missing (Debian/Ubuntu, as root or with sudo):
# libfabric-dev (headers + libfabric.so.1), gcc, Maven, a JDK 17, and iproute2 (the subnet test
# creates network namespaces with ip). Safe to run again.
set -euo pipefail

need=()
[ -f /usr/include/rdma/fabric.h ] && ldconfig -p | grep -q 'libfabric\.so\b' || need+=(libfabric-dev)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v mvn >/dev/null || need+=(maven)
command -v javac >/dev/null || need+=(openjdk-17-jdk-headless)
command -v ip >/dev/null || need+=(iproute2)

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

java_major=$(javac -version 2>&1 | sed -E 's/^javac ([0-9]+).*/\1/')
if [ "$java_major" -lt 17 ]; then
  echo "setup: javac $java_major found; efa-shuffle needs Java 17 or newer (set JAVA_HOME)" >&2
  exit 1
fi
