#!/usr/bin/env bash
# Pattern-matching benchmarks (see README.md): Entente side by side with the
# OASIS reference matcher, then Entente alone at scale. Results go to
# bench/out/patterning/ and are summarised on standard output.
#
# Entente's timings run on one core. As root, the Entente runs are pinned to
# CPU 1 with real-time priority (chrt -f 50) so that other work on a shared
# machine does not preempt them; BENCH_RT=0 turns that off.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out/patterning
mkdir -p "$OUT"
SAMPLE=${REFERENCE_SAMPLE:-300}

ONE_CORE=()
if [ "${BENCH_RT:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v chrt >/dev/null && command -v taskset >/dev/null; then
  ONE_CORE=(taskset -c 1 chrt -f 50)
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv && .venv/bin/pip install -q -r tests/requirements.txt
fi
cargo build --release -q -p patterning --example engine_bench
cargo build --release -q -p entente
BENCH=target/release/examples/engine_bench

echo "== 1. side by side: 10,000 observations (domain, IPv4, SHA-256) x 1,000 equality patterns"
"${ONE_CORE[@]}" $BENCH side-by-side "$OUT/side-by-side" > "$OUT/entente-side-by-side.json"
.venv/bin/python bench/patterning/reference.py "$OUT/side-by-side" "$SAMPLE" > "$OUT/reference-side-by-side.json"
# End to end through the CLI (reading and parsing JSON lines included), on
# the observations repeated 20 times (200,000 lines) so that start-up and
# compiling the indicators do not dominate.
for _ in $(seq 20); do cat "$OUT/side-by-side/observations.jsonl"; done > "$OUT/side-by-side/observations-x20.jsonl"
start=$(date +%s.%N)
"${ONE_CORE[@]}" target/release/entente scan --indicators "$OUT/side-by-side/indicators.json" --format sco-jsonl \
  --output jsonl "$OUT/side-by-side/observations-x20.jsonl" > "$OUT/scan-side-by-side.jsonl" 2> "$OUT/scan-side-by-side.err" || test $? = 1
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "{\"seconds\": %.6f}\n", e - s }' > "$OUT/scan-side-by-side.json"

echo "== 2. Entente alone: 1,000,000 observations x 100,000 indicators"
"${ONE_CORE[@]}" $BENCH full 100000 1000000 > "$OUT/entente-full.json"

.venv/bin/python - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
e = json.load(open(f"{out}/entente-side-by-side.json"))
r = json.load(open(f"{out}/reference-side-by-side.json"))
s = json.load(open(f"{out}/scan-side-by-side.json"))
f = json.load(open(f"{out}/entente-full.json"))
scan_lines = sum(1 for _ in open(f"{out}/scan-side-by-side.jsonl"))
print(f"side by side: entente engine {e['observations_per_second']:,.0f} obs/s, "
      f"stix2-matcher {r['observations_per_second']:,.1f} obs/s on the first {r['observations']} observations")
print(f"  ratio {e['observations_per_second'] / r['observations_per_second']:,.0f}x; identical matches on the sample: {r['identical_matches']}"
      f" ({r['observations_matched']} of {r['observations']} observations matched)")
print(f"  entente scan end to end (JSON lines read and parsed): {200000 / s['seconds']:,.0f} obs/s"
      f" = {200000 / s['seconds'] / r['observations_per_second']:,.0f}x; {scan_lines} matches reported for 200,000 observations"
      f" (engine: {e['observations_matched']} of 10,000 observations matched)")
print(f"full: compile {f['indicators']:,} indicators in {f['compile_seconds']:.2f} s, peak RSS {f['peak_rss_mb_after_compile']:.0f} MB;")
print(f"  {f['observations']:,} observations matched at {f['observations_per_second_matching']:,.0f} obs/s"
      f" ({f['calls_preempted']} preempted calls left out), {f['matches']:,} matches")
PY
