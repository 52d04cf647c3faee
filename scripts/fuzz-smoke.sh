#!/usr/bin/env bash
# CI smoke test of the cargo-fuzz targets: builds all four once (cargo fuzz build
# -O: WAMR instrumented with SanitizerCoverage + ASan) and runs each for a fixed
# number of inputs from its seed corpus. Fails when a target does not build,
# crashes, or reports a finding on this (correct) WAMR.
#   FUZZ_SMOKE_RUNS   inputs per target (default 200)
#   FUZZ_SMOKE_TARGETS  space-separated subset (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${FUZZ_SMOKE_RUNS:-200}"
read -r -a targets <<<"${FUZZ_SMOKE_TARGETS:-diff_interp diff_aot wamr_load aot_mutated}"
WASMSIEVE_SETUP_FUZZ=1 bash scripts/setup.sh
t0=$SECONDS
cargo +nightly fuzz build -O "${targets[@]}"
echo "fuzz-smoke: built ${targets[*]} in $((SECONDS - t0)) s"
bin=fuzz/target/x86_64-unknown-linux-gnu/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  extra=()
  [ -f "fuzz/$t.dict" ] && extra+=("-dict=fuzz/$t.dict")
  s=$SECONDS
  # The seeds are read, never written: new inputs go to the temporary corpus.
  if "$bin/$t" -runs="$runs" -seed=1 -artifact_prefix="$work/$t/artifacts/" "${extra[@]}" \
       "$work/$t/corpus" "corpus/$t" >"$work/$t/log" 2>&1; then
    echo "fuzz-smoke: $t ok, $runs runs in $((SECONDS - s)) s ($(grep -o 'cov: [0-9]*' "$work/$t/log" | tail -1))"
  else
    status=1
    echo "fuzz-smoke: $t FAILED after $((SECONDS - s)) s; log tail:" >&2
    tail -40 "$work/$t/log" >&2
    for a in "$work/$t/artifacts"/*; do
      [ -e "$a" ] || continue
      mkdir -p fuzz/artifacts/"$t" && cp "$a" fuzz/artifacts/"$t"/
      echo "fuzz-smoke: artifact kept in fuzz/artifacts/$t/$(basename "$a")" >&2
    done
  fi
done
echo "fuzz-smoke: total $((SECONDS - t0)) s"
exit "$status"
