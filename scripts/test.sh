#!/usr/bin/env bash
# The test command: installs what is missing, then runs every test.
# Tests run in release: debug builds of wasmtime and WAMR are far too slow
# to execute real modules, and the campaign uses the same build output.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Lints first (Cargo.toml's [lints]; every allow says why): seconds once built.
cargo clippy --release --locked --all-targets -- -D warnings
cargo test --release --locked "$@"
# The cargo-fuzz crate is not part of this workspace: check that it still
# compiles against the library (same target dir, so the WAMR build is shared).
cargo check --release --locked --manifest-path fuzz/Cargo.toml --target-dir target
