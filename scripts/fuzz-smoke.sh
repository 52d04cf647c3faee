#!/usr/bin/env bash
# CI smoke test of the cargo-fuzz targets: builds all four once (cargo fuzz build
# -O: WAMR instrumented with SanitizerCoverage + ASan) and runs each for a fixed
# number of inputs from its seed corpus. Fails when a target does not build or
# stops on something the isolated harness does not confirm. A stop that
# `wasmsieve triage` confirms is a real WAMR finding (WAMR 2.4.3 has some the
# loader target reaches within 200 runs); so is a sanitizer report whose fault
# is in WAMR's C sources (undefined behaviour the uninstrumented harness cannot
# observe, such as the fast interpreter's overlapping v128 copy). Either is
# printed by kind only and kept in fuzz/artifacts/TARGET/ with its log, and
# fails the run only with FUZZ_SMOKE_STRICT=1.
#   FUZZ_SMOKE_RUNS     inputs per target (default 200)
#   FUZZ_SMOKE_TARGETS  space-separated subset (default: all four)
#   FUZZ_SMOKE_STRICT   1: any stop fails
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${FUZZ_SMOKE_RUNS:-200}"
read -r -a targets <<<"${FUZZ_SMOKE_TARGETS:-diff_interp diff_aot wamr_load aot_mutated}"
WASMSIEVE_SETUP_FUZZ=1 bash scripts/setup.sh
t0=$SECONDS
# `cargo fuzz build` takes one target or none (= all, one cargo invocation).
if [ -z "${FUZZ_SMOKE_TARGETS:-}" ]; then
  cargo +nightly fuzz build -O
else
  for t in "${targets[@]}"; do cargo +nightly fuzz build -O "$t"; done
fi
echo "fuzz-smoke: built ${targets[*]} in $((SECONDS - t0)) s"
bin=fuzz/target/x86_64-unknown-linux-gnu/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
  extra=()
  [ -f "fuzz/$t.dict" ] && extra+=("-dict=fuzz/$t.dict")
  # WAMR 2.4.3's AoT loader leaks nested init expressions when it rejects a
  # malformed .aot ("invalid init expr type"): a known bug of the manipulated-AoT
  # bucket (P4), not what this smoke test is for.
  [ "$t" = aot_mutated ] && extra+=("-detect_leaks=0")
  s=$SECONDS
  # The seeds are read, never written: new inputs go to the temporary corpus.
  if "$bin/$t" -runs="$runs" -seed=1 -artifact_prefix="$work/$t/artifacts/" "${extra[@]}" \
       "$work/$t/corpus" "corpus/$t" >"$work/$t/log" 2>&1; then
    echo "fuzz-smoke: $t ok, $runs runs in $((SECONDS - s)) s ($(grep -o 'cov: [0-9]*' "$work/$t/log" | tail -1))"
  else
    # CI logs may be public: a confirmed finding is summarised by bucket and
    # kind only, its input stays in fuzz/artifacts/ (security findings are
    # private, P12). Anything else is a harness problem: full log tail.
    confirmed=0 found=0
    : >"$work/$t/triage"
    for a in "$work/$t/artifacts"/*; do
      [ -e "$a" ] || continue
      found=1
      mkdir -p fuzz/artifacts/"$t" && cp "$a" fuzz/artifacts/"$t"/
      kept="fuzz/artifacts/$t/$(basename "$a")"
      # Triage knows each target's artifacts by their folder (aot_mutated:
      # it re-runs the recipe to rebuild the mutated .aot).
      input="$kept"
      if [ -x target/release/wasmsieve ] && [ -e "$input" ]; then
        rc=0; ./target/release/wasmsieve triage --libfuzzer "$input" >>"$work/$t/triage" 2>&1 || rc=$?
        [ "$rc" = 1 ] && confirmed=1
      else
        echo "no target/release/wasmsieve to triage with (cargo build --release)" >>"$work/$t/triage"
      fi
    done
    # The sanitizer's one-line summary names the fault's source file: inside
    # WAMR's tree (core/iwasm, core/shared) it is WAMR's, anywhere else ours.
    sanitized=$(grep -E '^SUMMARY: [A-Za-z]+Sanitizer: [a-z-]+ .*/core/(iwasm|shared)/' "$work/$t/log" |
      sed -E 's/^SUMMARY: ([A-Za-z]+Sanitizer): ([a-z-]+) .*/\1 \2 in WAMR/' | head -1 || true)
    if [ "$found" = 1 ] && [ "$confirmed" = 0 ] && [ -n "$sanitized" ]; then
      confirmed=1
      echo "sanitizer only: $sanitized" >>"$work/$t/triage"
      cp "$work/$t/log" fuzz/artifacts/"$t"/sanitizer.log
    fi
    if [ "$found" = 1 ] && [ "$confirmed" = 1 ]; then
      verdicts=$({ grep -oE '\): [a-z-]+ / [a-z-]+ in [a-z0-9-]+' "$work/$t/triage" | sed 's/^): //' || true
                   grep -oE '^sanitizer only: .*' "$work/$t/triage" || true; } | sort -u | paste -sd, -)
      echo "fuzz-smoke: $t stopped after $((SECONDS - s)) s on a WAMR finding ($verdicts);" \
        "input in fuzz/artifacts/$t/ (not printed)"
      if [ "${FUZZ_SMOKE_STRICT:-0}" = 1 ]; then status=1; fi
    else
      status=1
      echo "fuzz-smoke: $t FAILED after $((SECONDS - s)) s (not confirmed by triage); log tail:" >&2
      tail -40 "$work/$t/log" >&2
      cat "$work/$t/triage" >&2
    fi
  fi
done
echo "fuzz-smoke: total $((SECONDS - t0)) s"
exit "$status"
