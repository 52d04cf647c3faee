#!/usr/bin/env bash
# A time-boxed nightly campaign for CI: builds, fuzzes every WAMR mode against
# wasmtime, keeps artifacts, and fails the job only when a NEW security finding
# appears (exit 1). Resumes when the artifact folder from an earlier night is
# restored into $OUT.
#   NIGHTLY_TIME  seconds of fuzzing (default 3600)
#   OUT           campaign folder (default nightly-out)
#   SEED          campaign seed (default: the date, so each night explores anew)
set -euo pipefail
cd "$(dirname "$0")/.."
time_s="${NIGHTLY_TIME:-3600}"
out="${OUT:-nightly-out}"
seed="${SEED:-$(date -u +%Y%m%d)}"
bash scripts/setup.sh
cargo build --release --locked
status=0
./target/release/wasmsieve fuzz --time "$time_s" --seed "$seed" --out "$out" \
  --sarif "$out/wasmsieve.sarif" --fail-on security "$@" || status=$?
# Manipulated-AoT findings are bugs by policy (P4): they never fail the job.
./target/release/wasmsieve fuzz --aot-mutate --time "$((time_s / 10 + 1))" --seed "$seed" \
  --out "$out/aot-mutate" --fail-on never || true
echo "nightly: summary $out/summary.json, report $out/report.html, SARIF $out/wasmsieve.sarif"
exit "$status"
