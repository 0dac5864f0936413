#!/usr/bin/env python3
"""Runs one compile-fail case: run.py [--expect-fail] SOURCE -- COMPILER ARGS...

With --expect-fail the source is compiled with -DINMEM_EXPECT_FAIL and must fail with the
message given on its `// expect: ...` line. Without it, the same source (its twin, without
the bad line) must compile, which proves the failure comes from that line alone.
"""
import re
import subprocess
import sys


def main():
    argv = sys.argv[1:]
    expect_fail = argv[:1] == ["--expect-fail"]
    if expect_fail:
        argv = argv[1:]
    source, sep, compiler = argv[0], argv[1], argv[2:]
    if sep != "--" or not compiler:
        sys.exit("usage: run.py [--expect-fail] SOURCE -- COMPILER ARGS...")
    text = open(source).read()
    m = re.search(r"^// expect: (.+)$", text, re.M)
    if not m:
        sys.exit(f"{source}: no '// expect: <message>' line")
    expected = m.group(1).strip()
    cmd = compiler + (["-DINMEM_EXPECT_FAIL"] if expect_fail else []) + [source]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    output = proc.stdout + proc.stderr
    if not expect_fail:
        if proc.returncode != 0:
            print(output)
            print(f"FAIL: the twin of {source} must compile but does not")
            return 1
        print(f"ok: the twin of {source} compiles")
        return 0
    if proc.returncode == 0:
        print(f"FAIL: {source} compiled, but must fail with: {expected}")
        return 1
    if expected not in output:
        print(output)
        print(f"FAIL: {source} failed, but not with: {expected}")
        return 1
    print(f"ok: {source} fails with: {expected}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
