#!/usr/bin/env bash
# WAMR line coverage after a campaign: scripts/coverage.sh [SECONDS] [GENERATOR]
# Builds every WAMR mode with gcc --coverage (WASMSIEVE_COVERAGE=1: own build
# folders, same target dir, so switching costs a relink of this crate, not a
# rebuild of WAMR or the dependencies), clears the counters, fuzzes SECONDS
# (default 600) with 2 jobs and the defaults, or GENERATOR (smith, sweep,
# wamr-seeds: the baseline shaped like WAMR's own fuzzer seeds), into
# out-coverage-GENERATOR (replaced), and prints line coverage per WAMR file
# (also in that folder's coverage.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
gen=${2:-smith}
out=out-coverage-$gen
bash scripts/setup.sh
WASMSIEVE_COVERAGE=1 cargo build --release --locked
# A later normal build replaces target/release/wasmsieve: run a copy.
bin=target/release/wasmsieve-coverage
cp target/release/wasmsieve "$bin"
"$bin" coverage --reset
rm -rf "$out"
status=0
"$bin" fuzz --jobs 2 --time "$secs" --generator "$gen" --out "$out" --shrink-time 0 || status=$?
# 1: a new security finding (the table is wanted all the same); else a failure.
[[ $status -le 1 ]] || exit "$status"
"$bin" coverage | tee "$out/coverage.txt"
exit "$status"
