#!/usr/bin/env bash
# Installs what is missing, builds the flagship example and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${INMEM_BUILD_DIR:-build}
[ -f "$build/build.ninja" ] || meson setup "$build"
meson compile -C "$build" examples/quickstart
"$build/examples/quickstart"
