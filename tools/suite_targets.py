#!/usr/bin/env python3
"""Prints the build targets that the tests of the given meson suites need, one per line.

Usage: tools/suite_targets.py BUILD_DIR SUITE...

CI's sanitizer and clang stages run a few suites only; building just these targets
(scripts/run-tests.sh with INMEM_TARGETS=auto) spares them the header and bench programs
that no test they run uses. A test whose program is missing would fail, not pass silently.
"""
import json
import subprocess
import sys


def introspect(build, what):
    out = subprocess.run(['meson', 'introspect', '--' + what, build],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    build, suites = argv[1], set(argv[2:])
    names = {t['id']: t['name'] for t in introspect(build, 'targets')}
    wanted = set()
    for test in introspect(build, 'tests'):
        # a test's suites read "project:suite"
        if suites & {s.split(':')[-1] for s in test['suite']}:
            for dep in test.get('depends', []):
                if dep in names:
                    wanted.add(names[dep])
    if not wanted:
        sys.exit(f'suite_targets: no test in suites {sorted(suites)}')
    print('\n'.join(sorted(wanted)))


if __name__ == '__main__':
    main(sys.argv)
