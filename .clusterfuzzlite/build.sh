#!/bin/bash -eu
# Builds the cargo-fuzz targets the OSS-Fuzz way: `cargo fuzz build -O` with the
# sanitizer flags the base image sets, then copies each target, its seed corpus
# (zipped) and its options into $OUT. Runs as is outside Docker with SRC/OUT set:
#   SRC=/tmp/src OUT=/tmp/out bash .clusterfuzzlite/build.sh
: "${SRC:?set SRC to the folder holding the wasmsieve checkout}"
: "${OUT:?set OUT to the folder the fuzzers go to}"
cd "$SRC/wasmsieve"
targets=(diff_interp diff_aot wamr_load aot_mutated)
build_args=(-O)
# Inside OSS-Fuzz images cargo fuzz picks the sanitizer from $SANITIZER.
if [ -n "${SANITIZER:-}" ] && [ "${SANITIZER}" != "address" ]; then build_args+=(--sanitizer "$SANITIZER"); fi
cargo +nightly fuzz build "${build_args[@]}" "${targets[@]}"
release=fuzz/target/x86_64-unknown-linux-gnu/release
mkdir -p "$OUT"
for t in "${targets[@]}"; do
  cp "$release/$t" "$OUT/$t"
  if [ -d "corpus/$t" ] && [ -n "$(ls -A "corpus/$t")" ]; then
    (cd "corpus/$t" && zip -q -r "$OUT/${t}_seed_corpus.zip" .)
  fi
  if [ -f "fuzz/$t.options" ]; then cp "fuzz/$t.options" "$OUT/$t.options"; fi
  if [ -f "fuzz/$t.dict" ]; then cp "fuzz/$t.dict" "$OUT/$t.dict"; fi
done
# The AoT targets link LLVM dynamically: ship it beside them.
llvm_lib=$(ls /usr/lib/llvm-19/lib/libLLVM-19.so* 2>/dev/null | head -1 || true)
[ -n "$llvm_lib" ] && cp -L "$llvm_lib" "$OUT/" || true
echo "build.sh: fuzzers in $OUT: ${targets[*]}"
