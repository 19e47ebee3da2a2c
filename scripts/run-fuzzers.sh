#!/usr/bin/env bash
# scripts/run-fuzzers.sh BUILD_DIR SECONDS — runs every libFuzzer target for SECONDS over its
# seed corpus (tests/fuzz/corpus/<target>/). New inputs go to a scratch dir, so the committed
# corpus only changes by hand. Fails on the first crash, leak or timeout.
set -euo pipefail
build=$1
seconds=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for target in "$build"/*_fuzz; do
  [[ -x $target ]] || continue
  name=$(basename "$target")
  corpus="$root/tests/fuzz/corpus/$name"
  mkdir -p "$scratch/$name"
  echo "fuzz: $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$scratch/" "$scratch/$name" "$corpus" >"$scratch/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -50 "$scratch/$name.log"; status=1
  else
    grep -E 'stat::number_of_executed_units|Done' "$scratch/$name.log" | tail -2 || true
  fi
done
exit $status
