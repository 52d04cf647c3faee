#!/usr/bin/env bash
# Installs what building wasmsieve needs on a fresh Debian machine: cmake and ninja
# for WAMR's C build, clang/libclang (bindgen in wamrx-sys, fuzz instrumentation),
# LLVM 19 dev libraries (WAMR's AoT compiler). Idempotent: does nothing when all is there.
set -euo pipefail

pkgs=(cmake ninja-build clang-19 libclang-19-dev libclang-rt-19-dev llvm-19-dev libzstd-dev zlib1g-dev binutils)
# The ClusterFuzzLite build (.clusterfuzzlite/build.sh) zips seed corpora and
# points the shipped libLLVM at its neighbours.
[ "${WASMSIEVE_SETUP_FUZZ:-0}" = 1 ] && pkgs+=(zip patchelf)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Clippy for the test command's lint step (a minimal rustup profile lacks it).
if ! cargo clippy --version >/dev/null 2>&1; then
  echo "setup: installing clippy" >&2
  rustup component add clippy
fi

# SIMDe 0.8.2 for the fast interpreter's SIMD (see the script).
bash "$(dirname "$0")/fetch-simde.sh"

# cargo-fuzz and a nightly toolchain only when asked (the fuzz targets need
# them; the tests do not).
if [ "${WASMSIEVE_SETUP_FUZZ:-0}" = 1 ]; then
  if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "setup: installing the nightly Rust toolchain" >&2
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "setup: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
  fi
fi
