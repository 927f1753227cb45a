#!/usr/bin/env bash
# Installs trailkit from an existing build dir into a temporary prefix, builds the quick-start
# example as an outside consumer with find_package(trailkit CONFIG), runs it, and checks that it
# wrote a CloudTrail log file.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:?usage: run_install_test.sh BUILD_DIR}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cmake -S "$here/consumer" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$work/consumer" -j2 >/dev/null
(cd "$work" && "$work/consumer/consumer")
"$work/consumer/consumer_s3" >/dev/null
count=$(find "$work/trail-data/AWSLogs" -name '*_CloudTrail_*.json.gz' | wc -l)
if [ "$count" -lt 1 ]; then
  echo "install test: FAILED (no log file written by the consumer)"
  exit 1
fi
echo "install test: passed ($count log file(s) written by the find_package consumer)"
