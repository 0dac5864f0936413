#!/usr/bin/env bash
# Builds and runs the side-by-side comparison with RocksDB, LMDB and SQLite (bench/compare),
# installing what is missing, and prints the table; the JSON goes to compare.json.
# Usage: scripts/run-compare.sh [compare_bench options, e.g. --full or --quick]
# Environment: INMEM_BUILD_DIR (default build-compare).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/install-peers.sh
build=${INMEM_BUILD_DIR:-build-compare}
if [ -f "$build/build.ninja" ]; then
  meson configure "$build" -Dbuildtype=release -Db_ndebug=true -Dcompare_bench=true
else
  meson setup "$build" -Dbuildtype=release -Db_ndebug=true -Dcompare_bench=true
fi
meson compile -C "$build" bench/compare/compare_bench
"$build/bench/compare/compare_bench" --json compare.json "$@"
