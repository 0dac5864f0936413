#!/usr/bin/env bash
# Runs the recovery fuzzer on a fresh seed corpus (tests/fuzz/make_seeds.cpp) plus the inputs
# of earlier findings (tests/fuzz/regressions/):
#   run_fuzz.sh MAKE_SEEDS REPLAY REGRESSIONS                 every input once (any compiler)
#   run_fuzz.sh MAKE_SEEDS LIBFUZZER REGRESSIONS RUNS         RUNS mutations (clang's libFuzzer)
# A finding fails the test; libFuzzer writes it to the current directory as crash-*, oom-*
# or timeout-* (copy it to tests/fuzz/regressions/ once fixed).
set -euo pipefail
make_seeds=$1 target=$2 regressions=$3 runs=${4:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$make_seeds" "$work/corpus"
cp "$regressions"/* "$work/corpus/"
if [ -z "$runs" ]; then
  "$target" "$work/corpus"
else
  # -timeout: an input that takes 10 s hangs (the old code spun forever on a wrapped version).
  "$target" -runs="$runs" -seed=1 -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    "$work/corpus" 2>&1 | grep -v '^#' | tail -20
  exit "${PIPESTATUS[0]}"
fi
