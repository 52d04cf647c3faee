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
# No target named: cargo fuzz builds every [[bin]] of fuzz/Cargo.toml at once.
cargo +nightly fuzz build "${build_args[@]}"
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
# The targets link libLLVM dynamically (WAMR's AoT compiler); runner images have
# no LLVM 19. Ship it beside them under its soname, with the libraries it needs
# beyond glibc/libstdc++ (the binaries carry DT_RPATH $ORIGIN, see fuzz/build.rs).
llvm_lib=$(ldd "$OUT/${targets[0]}" | awk '/libLLVM/ && $3 ~ /^\// {print $1 " " $3; exit}')
if [ -n "$llvm_lib" ]; then
  read -r soname path <<<"$llvm_lib"
  cp -L "$path" "$OUT/$soname"
  # Debian's libLLVM looks for its own dependencies in $ORIGIN/../lib (its
  # DT_RUNPATH, which overrides the executable's RPATH): point it at $ORIGIN.
  if command -v patchelf >/dev/null; then
    patchelf --set-rpath '$ORIGIN' "$OUT/$soname"
  else
    echo "build.sh: patchelf missing: $soname keeps its RUNPATH; its dependencies must be installed on the runner" >&2
  fi
  ldd "$path" | awk '$3 ~ /^\// {print $1 " " $3}' | while read -r name dep; do
    case "$name" in
      libc.so*|libm.so*|libstdc++.so*|libgcc_s.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) ;;
      *) cp -L "$dep" "$OUT/$name" ;;
    esac
  done
fi
echo "build.sh: fuzzers in $OUT: ${targets[*]}"
