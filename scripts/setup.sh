#!/usr/bin/env bash
# Installs every Debian 12 package that agentrt's build, tests and benchmarks need.
# Idempotent: packages already present are skipped by apt-get. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  clang clang-format libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev
  libpcre2-dev libopenblas-dev libxxhash-dev libzstd-dev
  libyaml-cpp-dev librocksdb-dev libcpp-httplib-dev libcaf-dev libssl-dev
  openssl  # the cluster TLS tests make their certificates with it
  curl jq wrk
  nodejs
  chromium  # the dashboard's browser test (tests/dashboard, puppeteer-core)
)
# npm ships inside nodesource's nodejs; Debian's own nodejs needs the separate npm package.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
