#!/usr/bin/env bash
# Runs one cargo-fuzz target for a bounded time on a corpus that persists
# between runs (the nightly workflow caches it), seeded from corpus/TARGET.
#   scripts/nightly-fuzz-target.sh TARGET SECONDS CORPUS_DIR
# Inputs that stop the target land in fuzz/artifacts/TARGET/ and are triaged
# with the isolated harness; exit 1 only for a confirmed security finding.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/nightly-fuzz-target.sh TARGET SECONDS CORPUS_DIR}" seconds="${2:?seconds}" corpus="${3:?corpus folder}"
grep -q "^name = \"$target\"" fuzz/Cargo.toml || { echo "nightly-fuzz-target: no target $target in fuzz/Cargo.toml" >&2; exit 2; }
WASMSIEVE_SETUP_FUZZ=1 bash scripts/setup.sh
cargo build --release --locked
cargo +nightly fuzz build -O "$target"
mkdir -p "$corpus" "fuzz/artifacts/$target"
extra=()
[ -f "fuzz/$target.dict" ] && extra+=("-dict=fuzz/$target.dict")
[ "$target" = aot_mutated ] && extra+=("-detect_leaks=0")
# -fork keeps fuzzing past a crash; each stop leaves an artifact to triage.
fuzz/target/x86_64-unknown-linux-gnu/release/"$target" -max_total_time="$seconds" -fork=1 \
  -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
  -artifact_prefix="fuzz/artifacts/$target/" "${extra[@]}" "$corpus" "corpus/$target" || true
status=0
for a in fuzz/artifacts/"$target"/*; do
  [ -e "$a" ] || continue
  # Verdicts only: security inputs stay out of public logs (P12).
  ./target/release/wasmsieve triage --libfuzzer --json "$a" 2>/dev/null >"$a.triage.json" || true
  python3 - "$a.triage.json" <<'PY' || status=1
import json, sys
findings = [f for file in json.load(open(sys.argv[1]))["files"] for f in file["findings"]]
for f in findings:
    print("  %s / %s in %s" % (f["verdict"]["bucket"], f["verdict"]["kind"], f["engine"]))
sys.exit(1 if any(f["verdict"]["bucket"] == "security" for f in findings) else 0)
PY
done
echo "nightly-fuzz-target: $target ran ${seconds}s; corpus $(ls "$corpus" | wc -l) inputs; artifacts in fuzz/artifacts/$target"
exit "$status"
