#!/usr/bin/env bash
# Provenance costs (see README.md): composite signatures, RFC 8785
# canonicalisation (this crate beside serde_json_canonicalizer), manifests of
# 1 to 10,000 objects, bytes added per object. Prints a Markdown report and
# keeps it in bench/out/provenance/.
#
# As root the run is pinned to CPU 1 with real-time priority (chrt -f 50) so
# that other work on a shared machine does not preempt it; BENCH_RT=0 turns
# that off. ROUNDS (default 7) is how many runs each figure is the best of.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/out/provenance
mkdir -p "$OUT"

ONE_CORE=()
if [ "${BENCH_RT:-1}" = 1 ] && [ "$(id -u)" = 0 ] && command -v chrt >/dev/null && command -v taskset >/dev/null; then
  ONE_CORE=(taskset -c 1 chrt -f 50)
fi

cargo build --release -q -p provenance --example provenance_bench
BIN="${CARGO_TARGET_DIR:-target}/release/examples/provenance_bench"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/report.md"
"${ONE_CORE[@]}" "$BIN" "${ROUNDS:-7}" | tee -a "$OUT/report.md"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/report.md"
