#!/usr/bin/env bash
# A schema's fingerprint is written into files, so it must not depend on the compiler that
# built the program. Builds tests/schema/fingerprint_probe.cpp with g++ and with clang++, runs
# both, and fails with a diff when their outputs differ.
#
# usage: fingerprint_portable.sh SOURCE_ROOT
# Exits 77 (meson's "skipped") when g++ or clang++ is missing.
set -euo pipefail

if [ $# -ne 1 ]; then
    echo "usage: $0 SOURCE_ROOT" >&2
    exit 2
fi
root=$1
probe="$root/tests/schema/fingerprint_probe.cpp"
if [ ! -f "$probe" ]; then
    echo "no probe source at $probe" >&2
    exit 2
fi

for cxx in g++ clang++; do
    if ! command -v "$cxx" >/dev/null 2>&1; then
        echo "skipped: $cxx not found; the comparison needs both g++ and clang++"
        exit 77
    fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/inmem-fingerprint.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

for cxx in g++ clang++; do
    if ! "$cxx" -std=c++20 -I"$root/include" -o "$work/probe-$cxx" "$probe" 2>"$work/build-$cxx.log"; then
        echo "FAIL: $cxx could not build the probe:" >&2
        cat "$work/build-$cxx.log" >&2
        exit 1
    fi
    if ! "$work/probe-$cxx" >"$work/out-$cxx.txt"; then
        echo "FAIL: the probe built by $cxx exited with an error" >&2
        exit 1
    fi
    if [ ! -s "$work/out-$cxx.txt" ]; then
        echo "FAIL: the probe built by $cxx printed nothing" >&2
        exit 1
    fi
done

if ! diff -u --label g++ --label clang++ "$work/out-g++.txt" "$work/out-clang++.txt"; then
    echo "FAIL: describe<T>() / fingerprint_v<T> differ between g++ and clang++ (diff above)" >&2
    exit 1
fi
echo "g++ $(g++ -dumpversion) and clang++ $(clang++ -dumpversion) agree on $(grep -c '^  [0-9a-f]\{16\}$' "$work/out-g++.txt") fingerprints"
