#!/usr/bin/env bash
# The issue #2 performance gates (performance.md §E), each run beside its calibration baseline in
# the same binary, ROUNDS times (E2, emits/s, is gated on the emit_throughput_parked_consumer rows:
# §E2 measures producers "with the sink not measured"; the busy rows are shown beside them); with a second build, the two builds alternate within each round
# so both see the same machine. Prints every run and, per row, the median and in how many runs
# the gate was met. About 2.5 minutes per build per round on 2 vCPUs.
#
#   bench/gates.sh                           # build ./build-bench (Release) and run 3 rounds
#   bench/gates.sh BUILD_DIR [BASE_BUILD]    # A/B: BASE_BUILD is e.g. a build of the previous main
#   ROUNDS=5 bench/gates.sh ...
#
# Calibration rows (not gated): emit reference_spsc is the "straightforward SPSC prototype" the
# emit gates were set with, on another host; emit copy_floor is the same rings with each event
# copied by one memcpy of its ready-made encoding (the floor of any copy-once design's per-emit
# work; its rings have no hot window, so trailkit's tails can be below it); pipeline ceiling/*/compress_only is the codec alone on
# the same records, which no pipeline on one core can beat. A gate above its calibration row on
# this machine is out of reach here for any design.
set -euo pipefail

SOURCE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${1:-$PWD/build-bench}"
BASE_BUILD="${2:-}"
ROUNDS="${ROUNDS:-3}"
TARGETS=(emit_bench serialize_bench pipeline_bench)

if [[ ! -x "$BUILD_DIR/bench/pipeline_bench" || -z "${SKIP_BUILD:-}" ]]; then
  cmake -S "$SOURCE_DIR" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target "${TARGETS[@]}" >/dev/null
fi
builds=(new)
[[ -n "$BASE_BUILD" ]] && builds=(base new)
dir_of() { if [[ "$1" == base ]]; then echo "$BASE_BUILD"; else echo "$BUILD_DIR"; fi; }

raw="$(mktemp)"
err="$(mktemp)"
trap 'rm -f "$raw" "$err"' EXIT
failures=0
# run_json LABEL BINARY ARGS...: appends the run's benchmarks (one JSON object per line, prefixed
# with LABEL) to $raw; a crash or a non-zero exit is reported with the end of its stderr.
run_json() {
  local label="$1" bin="$2" out rc=0 stat_before
  shift 2
  stat_before="$(head -1 /proc/stat)"
  out="$("$bin" "$@" --benchmark_format=json 2>"$err")" || rc=$?
  # The share of CPU time the hypervisor gave to other guests during the run ("steal"): a busy
  # host, and the slow phases in bench/RESULTS.md, show up here.
  python3 -c 'import json,sys; a,b=[list(map(int,l.split()[1:9])) for l in sys.argv[3:5]]; d=[y-x for x,y in zip(a,b)]
print(sys.argv[1], json.dumps({"name": "steal/" + sys.argv[2], "steal_pct": 100.0 * d[7] / max(1, sum(d))}))' \
    "$label" "$(basename "$bin")" "$stat_before" "$(head -1 /proc/stat)" >>"$raw"
  if [[ $rc -ne 0 || -z "$out" ]]; then
    echo "!! $(basename "$bin") $* exited with $rc; stderr ends:" >&2
    tail -5 "$err" >&2
    failures=$((failures + 1))
    return 0
  fi
  python3 -c 'import json,sys; [print(sys.argv[1], json.dumps(x)) for x in json.load(sys.stdin)["benchmarks"]]' \
    "$label" <<<"$out" >>"$raw"
}
emit_filter='emit_(throughput|throughput_parked_consumer|latency)/(trailkit|reference_spsc|copy_floor|spdlog_baseline)/.*distinct:64/'
pipe_filter='naive|ceiling|trailkit/(gzip_isal1|zstd1)/null'
for round in $(seq 1 "$ROUNDS"); do
  for b in "${builds[@]}"; do
    bin="$(dir_of "$b")/bench"
    echo "== round $round, $b ($bin), $(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg)" >&2
    run_json "$b" "$bin/emit_bench" --benchmark_filter="$emit_filter"
    for _ in 1 2; do
      run_json "$b" "$bin/serialize_bench" --benchmark_filter=record_formatter --benchmark_min_time=1
    done
    run_json "$b" "$bin/pipeline_bench" --benchmark_filter="$pipe_filter"
  done
done
[[ $failures -eq 0 ]] || echo "!! $failures benchmark run(s) failed; their rows are missing below" >&2

python3 - "$raw" <<'EOF'
import json, statistics, sys

rows = {}  # (build, label) -> [values]
def add(build, label, value):
    rows.setdefault((build, label), []).append(value)

for line in open(sys.argv[1]):
    build, text = line.split(" ", 1)
    b = json.loads(text)
    if b.get("error_occurred"):
        continue
    name = b["name"].split("/iterations")[0].split("/manual_time")[0]
    if name.startswith("steal/"):
        add(build, f"machine: CPU time stolen during {name[6:]}, %", b["steal_pct"])
    elif name.startswith("emit_throughput"):
        # E2 measures the producers with the sink not running (the parked rows); the others run
        # the consumer on the same 2 cores and are shown for comparison.
        parts = name.split("/")
        impl, threads, mib = parts[1], parts[2], parts[3].split(":")[1]
        method = "parked" if parts[0].endswith("parked_consumer") else "busy"
        label = f"emit {impl} {threads} {mib} MiB {method}"
        add(build, f"{label}, M emits/s", b["emits_per_s"] / 1e6)
        if b.get("dropped", 0):
            add(build, f"{label}, dropped", b["dropped"])
    elif name.startswith("emit_latency/"):
        impl = name.split("/")[1]
        for p in ("p50", "p99", "p99.9"):
            add(build, f"emit {impl} latency {p}, ns", b[f"{p}_ns"])
        if b.get("dropped", 0):  # the worker fell > 40 ms behind 100 k ev/s (E4: must not happen)
            add(build, f"emit {impl} latency run, dropped", b["dropped"])
    elif name == "BM_record_formatter":
        add(build, "serializer, ns @1.2 KB", b["ns_per_1200B"])
    elif name.startswith("pipeline/"):
        add(build, name[len("pipeline/"):] + ", k ev/s @1.2 KB", b["events_per_s_at_1200B"] / 1e3)

gates = {
    "emit trailkit threads:1 64 MiB parked, M emits/s": (">=", 5),
    "emit trailkit threads:2 64 MiB parked, M emits/s": (">=", 8),
    "emit trailkit latency p50, ns": ("<=", 150),
    "emit trailkit latency p99, ns": ("<=", 500),
    "emit trailkit latency p99.9, ns": ("<=", 1000),
    "serializer, ns @1.2 KB": ("<=", 450),
    "trailkit/gzip_isal1/null, k ev/s @1.2 KB": (">=", 400),
    "trailkit/zstd1/null, k ev/s @1.2 KB": (">=", 450),
}
def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.2f}"

builds = sorted({b for b, _ in rows}, key=lambda b: b != "base")
labels = sorted({l for _, l in rows})
print(f"{'row':62} {'build':5} {'median':>9}  runs (in order)  gate")
for label in labels:
    for build in builds:
        values = rows.get((build, label))
        if not values:
            continue
        gate = gates.get(label)
        verdict = ""
        if gate:
            op, limit = gate
            met = sum(1 for v in values if (v >= limit if op == ">=" else v <= limit))
            verdict = f"{op} {limit}: met {met}/{len(values)}"
        print(f"{label:62} {build:5} {fmt(statistics.median(values)):>9}  {' / '.join(fmt(v) for v in values)}  {verdict}")
print("\nagainst the calibration rows (medians):")
def ratio(build, a, b):
    x, y = rows.get((build, a)), rows.get((build, b))
    return statistics.median(x) / statistics.median(y) if x and y else None
pairs = [
    ("emit 1 thread, trailkit / reference_spsc", "emit trailkit threads:1 64 MiB parked, M emits/s",
     "emit reference_spsc threads:1 64 MiB parked, M emits/s"),
    ("emit 2 threads, trailkit / reference_spsc", "emit trailkit threads:2 64 MiB parked, M emits/s",
     "emit reference_spsc threads:2 64 MiB parked, M emits/s"),
    ("emit p50, trailkit / reference_spsc", "emit trailkit latency p50, ns", "emit reference_spsc latency p50, ns"),
    ("emit p99, trailkit / reference_spsc", "emit trailkit latency p99, ns", "emit reference_spsc latency p99, ns"),
    ("emit p50, trailkit / copy_floor", "emit trailkit latency p50, ns", "emit copy_floor latency p50, ns"),
    ("emit p99, trailkit / copy_floor", "emit trailkit latency p99, ns", "emit copy_floor latency p99, ns"),
    ("emit p99.9, trailkit / copy_floor", "emit trailkit latency p99.9, ns", "emit copy_floor latency p99.9, ns"),
    ("emit 1 thread, trailkit / copy_floor", "emit trailkit threads:1 64 MiB parked, M emits/s",
     "emit copy_floor threads:1 64 MiB parked, M emits/s"),
    ("gzip end to end / gzip compressor alone", "trailkit/gzip_isal1/null, k ev/s @1.2 KB", "ceiling/gzip_isal1/compress_only, k ev/s @1.2 KB"),
    ("zstd end to end / zstd compressor alone", "trailkit/zstd1/null, k ev/s @1.2 KB", "ceiling/zstd1/compress_only, k ev/s @1.2 KB"),
]
for build in builds:
    for text, a, b in pairs:
        r = ratio(build, a, b)
        if r is not None:
            print(f"  {build:5} {text:45} {r:.2f}")
naive = [v for (b, l), vs in rows.items() if b == "new" and l.startswith("naive") for v in vs]
gzip = rows.get(("new", "trailkit/gzip_isal1/null, k ev/s @1.2 KB"), [])
if naive and gzip:
    print(f"\nend to end vs naive baseline (gate >= 5x): gzip ISA-L 1 median / naive median = "
          f"{statistics.median(gzip) / statistics.median(naive):.1f}x")
EOF
[[ $failures -eq 0 ]]
