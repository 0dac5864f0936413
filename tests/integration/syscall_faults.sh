#!/usr/bin/env bash
# System-call fault injection into an unmodified program (tests/integration/syscall_probe.cpp):
# strace makes getdents64 (reading a directory) fail with EIO, at open and during the
# automatic snapshot of a commit. Every failure must reach the program as inmem::error, and
# after the one in a commit every write must fail (fail-stop). Skips (exit 77) where strace
# cannot trace (no strace, or ptrace not permitted).
# Usage: syscall_faults.sh PROBE
set -euo pipefail
probe=$1
command -v strace >/dev/null || { echo "SKIP: strace is not installed"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
strace -f -qq -o /dev/null true 2>/dev/null || { echo "SKIP: strace cannot trace here"; exit 77; }

fail() { echo "FAIL: $*"; exit 1; }
"$probe" setup "$dir/db" | grep -q '^ok setup' || fail "setup"

# A directory is read with getdents64 until it returns nothing: the first call reads the
# entries, the next one finds the end. Each listing below fails at its first call, then at
# its second (libstdc++'s directory_iterator throws std::filesystem::filesystem_error from
# operator++ for that one: the old code let it escape).
calls=$(strace -f -qq -c -o "$dir/count" -e trace=getdents64 "$probe" open "$dir/db" >/dev/null; \
        awk '$NF == "getdents64" { print $4 }' "$dir/count")
[ -n "$calls" ] && [ "$calls" -ge 2 ] || fail "could not count the getdents64 calls of an open ($calls)"

for nth in 1 2; do
  # 1. The directory listing at open fails.
  out=$(strace -f -qq -o /dev/null -e trace=getdents64 -e "inject=getdents64:error=EIO:when=$nth" \
          "$probe" open "$dir/db") || fail "at open (call $nth), something other than inmem::error escaped: $out"
  echo "at open, call $nth fails: $out"
  grep -q '^inmem::error 40 .*cannot list' <<<"$out" || fail "at open: expected inmem::error io_error (40), got: $out"

  # 2. The open lists the directory (its getdents64 calls succeed); the automatic snapshots
  # of the commits list it again, and those fail from their nth call on.
  rm -rf "$dir/db" && "$probe" setup "$dir/db" | grep -q '^ok setup' || fail "setup"
  out=$(strace -f -qq -o /dev/null -e trace=getdents64 -e "inject=getdents64:error=EIO:when=$((calls + nth))+" \
          "$probe" commits "$dir/db") || fail "in a commit (call $nth), something other than inmem::error escaped: $out"
  echo "in commits, call $nth fails: $out"
  grep -q '^inmem::error 40 ' <<<"$out" || fail "the commit whose snapshot failed did not throw io_error: $out"
  grep -q '^inmem::error 44 ' <<<"$out" || fail "a write after the failure was not refused with errc::failed: $out"
done
echo "ok: every injected getdents64 failure reached the program as inmem::error, and stopped writes"
