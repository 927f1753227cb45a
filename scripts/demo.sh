#!/usr/bin/env bash
# The main job: build trailkit and run the demo (a simulated AWS-like service recording through the
# SDK) into the local default destination ./trail-data. Extra arguments go to `trailkit demo`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/install-deps.sh"
build="${BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DTRAILKIT_BUILD_TESTS=OFF -DTRAILKIT_BUILD_BENCH=OFF \
      -DTRAILKIT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target trailkit_cli -j2
exec "$build/trailkit" demo "$@"
