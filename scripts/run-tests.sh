#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite.
# Environment: INMEM_BUILD_DIR (default build), INMEM_MESON_ARGS (extra `meson setup` options),
# INMEM_TEST_ARGS (extra `meson test` arguments, e.g. "--suite unit"), INMEM_TARGETS (build only
# these targets, e.g. "stress_tests", and test without rebuilding the others; "auto": the targets
# that the suites named in INMEM_TEST_ARGS need, tools/suite_targets.py).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
build=${INMEM_BUILD_DIR:-build}
# shellcheck disable=SC2086
if [ -f "$build/build.ninja" ]; then
  [ -z "${INMEM_MESON_ARGS:-}" ] || meson configure "$build" ${INMEM_MESON_ARGS}
else
  meson setup "$build" ${INMEM_MESON_ARGS:-}
fi
if [ "${INMEM_TARGETS:-}" = auto ]; then
  # shellcheck disable=SC2086
  suites=$(printf '%s\n' ${INMEM_TEST_ARGS:-} | sed -n '/^--suite$/{n;p}')
  # shellcheck disable=SC2086
  INMEM_TARGETS=$(python3 tools/suite_targets.py "$build" $suites | tr '\n' ' ')
  echo "run-tests: building only $INMEM_TARGETS"
fi
# shellcheck disable=SC2086
if [ -n "${INMEM_TARGETS:-}" ]; then # build only these targets, and test without rebuilding the rest
  meson compile -C "$build" ${INMEM_TARGETS}
  meson test -C "$build" --no-rebuild --print-errorlogs --num-processes "$(nproc)" ${INMEM_TEST_ARGS:-}
else
  meson compile -C "$build"
  meson test -C "$build" --print-errorlogs --num-processes "$(nproc)" ${INMEM_TEST_ARGS:-}
fi
