#!/usr/bin/env bash
# A real campaign with the defaults: every WAMR mode built (classic, fast, AoT)
# against wasmtime for 60 seconds, findings and summary.json in ./out.
# Extra arguments go to `wasmsieve fuzz` (e.g. --time 600 --jobs 2 --seed 7).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked
args=("$@")
[[ " ${args[*]-} " == *" --time "* || " ${args[*]-} " == *" --iterations "* ]] || args+=(--time 60)
exec ./target/release/wasmsieve fuzz "${args[@]}"
