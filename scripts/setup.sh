#!/usr/bin/env bash
# Installs what building wasmsieve needs on a fresh Debian machine: cmake and ninja
# for WAMR's C build, clang/libclang (bindgen in wamrx-sys, fuzz instrumentation),
# LLVM 19 dev libraries (WAMR's AoT compiler). Idempotent: does nothing when all is there.
set -euo pipefail

pkgs=(cmake ninja-build clang-19 libclang-19-dev libclang-rt-19-dev llvm-19-dev libzstd-dev zlib1g-dev binutils)
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

# SIMDe 0.8.2, the headers WAMR's fast interpreter runs SIMD with. WAMR's cmake
# fetches them from GitHub at build time; build.rs points it at this copy
# instead (FETCHCONTENT_SOURCE_DIR_SIMDE), taken from PyPI's cmeel-simde wheel
# (the same release, header-only) and checked against its hash. Without it the
# fast interpreter is built without SIMD. Debian's libsimde-dev is 0.7.4,
# which gets f32x4.min(-0, +0) wrong.
simde="${WASMSIEVE_SIMDE_DIR:-$HOME/.cache/wasmsieve/simde-0.8.2}"
if [ ! -f "$simde/simde/wasm/simd128.h" ]; then
  echo "setup: fetching SIMDe 0.8.2 headers into $simde" >&2
  tmp=$(mktemp -d)
  if python3 -m pip download -q --no-deps --only-binary=:all: --dest "$tmp" cmeel-simde==0.8.2 >&2 \
    && echo "e44917e0dbcd62cb841a9232a06087e74583c5e8366831ea9390400fcc8f50bb  $tmp/cmeel_simde-0.8.2-0-py3-none-any.whl" | sha256sum -c --quiet; then
    mkdir -p "$simde"
    python3 - "$tmp/cmeel_simde-0.8.2-0-py3-none-any.whl" "$simde" <<'PY'
import sys, zipfile
prefix = "cmeel.prefix/include/"
with zipfile.ZipFile(sys.argv[1]) as z:
    for n in z.namelist():
        if n.startswith(prefix + "simde/") and not n.endswith("/"):
            out = sys.argv[2] + "/" + n[len(prefix):]
            import os; os.makedirs(os.path.dirname(out), exist_ok=True)
            open(out, "wb").write(z.read(n))
PY
  else
    echo "setup: could not fetch SIMDe 0.8.2: the fast interpreter is built without SIMD" >&2
  fi
  rm -rf "$tmp"
fi

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
