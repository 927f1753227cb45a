#!/usr/bin/env bash
# Installs the Debian packages trailkit needs to build, test and benchmark. Idempotent: when every
# package is already installed it changes nothing and does not touch the network.
set -euo pipefail
packages=(
  build-essential cmake pkg-config git
  libboost1.81-dev nlohmann-json3-dev libzstd-dev zlib1g-dev libisal-dev libdeflate-dev libssl-dev
  libsqlite3-dev libcli11-dev libgtest-dev libbenchmark-dev libspdlog-dev
  gzip zstd python3
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
