#!/usr/bin/env bash
# Runs one cargo-fuzz target on this machine, installing what is missing first
# (apt packages, nightly toolchain, cargo-fuzz):
#   scripts/fuzz-target.sh diff_interp                 # until stopped or a finding
#   scripts/fuzz-target.sh wamr_load -max_total_time=600
# Targets: diff_interp diff_aot wamr_load aot_mutated. The working corpus grows in
# fuzz/corpus/TARGET (not committed); corpus/TARGET holds the committed seeds. A
# finding stops the run and leaves its input in fuzz/artifacts/TARGET/; re-run it
# through the isolated harness with
#   ./target/release/wasmsieve triage fuzz/artifacts/TARGET/crash-... --out out
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:?usage: scripts/fuzz-target.sh TARGET [libFuzzer flags]}"
shift
case "$t" in diff_interp|diff_aot|wamr_load|aot_mutated) ;; *) echo "unknown target $t" >&2; exit 2 ;; esac
WASMSIEVE_SETUP_FUZZ=1 bash scripts/setup.sh
mkdir -p "fuzz/corpus/$t" "corpus/$t"
extra=()
[ -f "fuzz/$t.dict" ] && extra+=("-dict=fuzz/$t.dict")
exec cargo +nightly fuzz run -O "$t" "fuzz/corpus/$t" "corpus/$t" -- "${extra[@]}" "$@"
