#!/usr/bin/env bash
set -euo pipefail
# Usage: scripts/fetch-simde.sh [DIR]
# SIMDe 0.8.2, the headers WAMR's fast interpreter runs SIMD with. WAMR's cmake
# fetches them from GitHub at build time; build.rs points it at this copy
# instead (FETCHCONTENT_SOURCE_DIR_SIMDE), taken from PyPI's cmeel-simde wheel
# (the same release, header-only) and checked against its hash. Without it the
# fast interpreter is built without SIMD. Debian's libsimde-dev is 0.7.4,
# which gets f32x4.min(-0, +0) wrong.
simde="${1:-${WASMSIEVE_SIMDE_DIR:-$HOME/.cache/wasmsieve/simde-0.8.2}}"
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
