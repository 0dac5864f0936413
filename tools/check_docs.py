#!/usr/bin/env python3
"""Checks the C++ programs of a documentation page: each compiles, runs, and prints what the page says.

    check_docs.py PAGE.md [PAGE.md ...] --cxx COMPILER [--cxx=ARG ...] [-I DIR ...]
                  [--cxxflags=FLAGS] [-l LIB ...] [--program PATH=BINARY ...] [--jobs N] [--timeout S]
                  [--keep DIR] [--update]

The page promises that every C++ program on it is complete and shows what it prints; this
tool keeps that promise checkable. It reads the Markdown fenced blocks (``` or ~~~) of each
page and checks them by these conventions. Markers are HTML comments on a line of their own,
so they are invisible when the page is rendered; between a marker and the block it applies
to there may be blank lines, nothing else.

1. Every ```cpp block (also ```c++ and ```cxx) is a complete program, unless a marker says
   otherwise. It is compiled and linked with

       COMPILER... CXXFLAGS -I DIR... SOURCE -o BINARY -lLIB...

   (CXXFLAGS default: -std=c++20 -Wall -Wextra -Werror -pthread) and run in a fresh,
   empty working directory of its own (deleted afterwards), with stdin from /dev/null. It
   must exit with status 0 within --timeout seconds (default 60). What it writes on stderr
   is shown, but is not a failure. Programs are compiled in parallel (--jobs) and run one at
   a time, in page order.

2. Its expected output:

       <!-- doc-check: output -->
       ```text
       what the nearest ```cpp block above prints on stdout, exactly
       ```

   The ```text block after the marker is the exact standard output of the nearest C++
   block above it (which must be one that is run). The comparison is exact, except that
   a missing final newline on either side is added. A mismatch prints a unified diff,
   expected (the page) against actual.

3. The output of a program that is not on the page:

       <!-- doc-check: output-of examples/quickstart.cpp -->
       ```text
       ...
       ```

   The ```text block is the exact stdout of the program at that path (as the page names
   it). The tool does not build it: `--program examples/quickstart.cpp=/path/to/binary`
   names the built binary, which is run as in rule 1. A path the page names without a
   --program mapping is a failure; a mapping that no page uses is only a warning.

4. A program that must not compile:

       <!-- doc-check: compile-fail "text of the first error" -->
       ```cpp
       ```

   The block is compiled (with -fsyntax-only added) and must fail, and the compiler's
   output must contain the quoted text (the first error is the one the page talks about;
   quote a piece of it). Write \\" for a double quote and \\\\ for a backslash inside the
   text; an HTML comment cannot contain "--". On failure the first 30 lines of the
   compiler's output are shown.

5. A block that is not checked (discouraged: prefer a complete program):

       <!-- doc-check: skip "why this block is not a program" -->
       ```cpp

   The tool prints that it skipped the block, and why.

No other block is checked: ```sh, ```meson, a ```text block without a marker, and so on. A
`doc-check` marker that is not one of the above, or that is not followed by the block kind
it applies to, is a failure. Each check names its block by page, line of the opening fence
and the heading (## or ###) it sits under, e.g. `getting-started.md:155 (4.1 Types and the
schema)`.

Extracted sources are named after the page and the line of the opening fence
(getting-started-L155.cpp) and start with a #line directive, so that the compiler's
messages cite the Markdown file and line. --keep DIR keeps the sources and binaries there.

The compiler: each --cxx is one element of its argv, verbatim (a compiler may be a command
with arguments, like meson's cpp.cmd_array(), e.g. `--cxx ccache --cxx c++`). Use the
`--cxx=ARG` form for an element that starts with "-"; likewise `--cxxflags=...`.
--cxxflags replaces the default flags entirely (it is split like a shell would split it);
the -I directories are always added.

--update rewrites each page in place: the contents of every `output` and `output-of` text
block become the actual output (a block whose program fails is left as it is); every other
byte of the page is unchanged. It is for developers, after an intended change of output;
the test suite never uses it.

Exit status: 0 when every check passes, 1 when one fails, 2 for a usage error. The last line
is a summary: `check_docs: 14 programs compiled and run, 9 outputs matched, 1 compile-fail
case, 0 skipped, 0 failures`.

Registered as a meson test (tests/meson.build):

    check_docs_cxx = []
    foreach a : cpp.cmd_array()
      check_docs_cxx += '--cxx=' + a
    endforeach
    test('getting_started', python,
      args : [meson.project_source_root() / 'tools' / 'check_docs.py',
              meson.project_source_root() / 'docs' / 'getting-started.md',
              '-I' + (meson.project_source_root() / 'include'),
              '--program', 'examples/quickstart.cpp=' + quickstart.full_path()] + check_docs_cxx,
      depends : quickstart, suite : 'docs', timeout : 600)

Python 3.11 standard library only.
"""
import argparse
import concurrent.futures
import dataclasses
import difflib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

DEFAULT_CXXFLAGS = "-std=c++20 -Wall -Wextra -Werror -pthread"
CPP_LANGS = {"cpp", "c++", "cxx"}
COMPILE_TIMEOUT = 600  # seconds, per block
SHOWN_COMPILER_LINES = 30


@dataclasses.dataclass
class Block:
    """One fenced block of a page."""
    page: "Page"
    fence_index: int      # index in page.lines of the opening fence
    close_index: int      # index of the closing fence (len(lines) when unclosed)
    lang: str
    indent: int           # spaces before the opening fence (stripped from content lines)
    fence: str            # the opening fence: ``` or ~~~, or longer
    heading: str
    content: str = ""
    marker: "Marker | None" = None
    # results, filled in by the checks
    source: str = ""
    binary: str = ""
    compile_ok: bool | None = None
    compile_output: str = ""
    compile_argv: list = dataclasses.field(default_factory=list)
    run: "RunResult | None" = None

    @property
    def line(self):
        return self.fence_index + 1

    @property
    def name(self):
        where = f"{self.page.display}:{self.line}"
        return f"{where} ({self.heading})" if self.heading else where


@dataclasses.dataclass
class Marker:
    index: int            # line index of the marker
    kind: str             # output, output-of, compile-fail, skip
    arg: str = ""         # the path, text or reason

    @property
    def line(self):
        return self.index + 1


@dataclasses.dataclass
class RunResult:
    ok: bool
    status: str           # "exit status 0", "killed by signal 11", "timed out after 60 s"
    stdout: str
    stderr: str


@dataclasses.dataclass
class Page:
    path: str
    display: str          # how messages name it
    stem: str             # file name stem for extracted sources
    text: str
    lines: list           # lines with their line endings
    blocks: list = dataclasses.field(default_factory=list)
    errors: list = dataclasses.field(default_factory=list)   # (line, name, message) once parsed


# ---------------------------------------------------------------------------- parsing

HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t]*#*[ \t]*$")
MARKER_ANY = re.compile(r"^\s*<!--\s*doc-check\b")
MARKER = re.compile(r"^\s*<!--\s*doc-check:\s*(.*?)\s*-->\s*$")
QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"$')


def split_lines(text):
    """Lines with their endings; only \\n ends a line (unlike str.splitlines)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def bare(line):
    return line.rstrip("\r\n")


def parse_marker(index, line):
    m = MARKER.match(line)
    if not m:
        raise ValueError("malformed doc-check marker: write <!-- doc-check: KIND ... --> on a line of its own")
    body = m.group(1)
    kind, _, rest = body.partition(" ")
    rest = rest.strip()
    if kind == "output":
        if rest:
            raise ValueError("`doc-check: output` takes no argument (for another program's output, use output-of PATH)")
        return Marker(index, kind)
    if kind == "output-of":
        if len(rest) >= 2 and rest[0] == rest[-1] == '"':
            rest = rest[1:-1]
        if not rest:
            raise ValueError("`doc-check: output-of` needs the program's path, e.g. output-of examples/quickstart.cpp")
        return Marker(index, kind, rest)
    if kind in ("compile-fail", "skip"):
        q = QUOTED.match(rest)
        if not q:
            raise ValueError(f'`doc-check: {kind}` needs a quoted text: <!-- doc-check: {kind} "..." -->')
        text = re.sub(r"\\(.)", r"\1", q.group(1))
        if not text:
            raise ValueError(f"`doc-check: {kind}` needs a non-empty text")
        return Marker(index, kind, text)
    raise ValueError(f"unknown doc-check marker kind {kind!r} (known: output, output-of, compile-fail, skip)")


def parse_page(path, display, stem):
    with open(path, encoding="utf-8", newline="") as f:
        text = f.read()
    page = Page(path=path, display=display, stem=stem, text=text, lines=split_lines(text))
    lines = page.lines
    heading = ""
    title = ""
    pending = None  # the marker waiting for its block
    headings = []   # (line index, heading): where each ## (or deeper) heading starts
    i = 0
    while i < len(lines):
        line = bare(lines[i])
        m = re.match(r"^( {0,3})(`{3,}|~{3,})(.*)$", line)
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            indent, fence, info = len(m.group(1)), m.group(2), m.group(3).strip()
            lang = info.split()[0].lower() if info else ""
            close = re.compile(r"^ {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
            j = i + 1
            while j < len(lines) and not close.match(bare(lines[j])):
                j += 1
            if j == len(lines):
                page.errors.append((i + 1, "the fenced block opened here is never closed"))
            content = []
            for raw in lines[i + 1:j]:
                b = bare(raw)
                n = len(b) - len(b.lstrip(" "))
                content.append(b[min(n, indent):] + "\n")
            block = Block(page=page, fence_index=i, close_index=j, lang=lang, indent=indent, fence=fence,
                          heading=heading or title, content="".join(content))
            if pending is not None:
                block.marker = pending
                pending = None
            page.blocks.append(block)
            i = j + 1
            continue
        if MARKER_ANY.match(line):
            if pending is not None:
                page.errors.append((pending.line, "this doc-check marker is followed by another marker, not by its block"))
                pending = None
            try:
                pending = parse_marker(i, line)
            except ValueError as e:
                page.errors.append((i + 1, str(e)))
            i += 1
            continue
        if line.strip() and pending is not None:
            page.errors.append((pending.line, f"the `doc-check: {pending.kind}` marker must be followed by its "
                                              f"fenced block (blank lines allowed), but line {i + 1} is text"))
            pending = None
        h = HEADING.match(line)
        if h:
            if len(h.group(1)) == 1:
                title = h.group(2)
            else:
                heading = h.group(2)
            headings.append((i, heading or title))
        i += 1
    if pending is not None:
        page.errors.append((pending.line, f"the `doc-check: {pending.kind}` marker is not followed by a block"))

    # A marker must sit on the block kind it applies to.
    for b in page.blocks:
        mk = b.marker
        if mk is None:
            continue
        wants = "text" if mk.kind in ("output", "output-of") else "cpp"
        fits = b.lang in CPP_LANGS if wants == "cpp" else b.lang == "text"
        if not fits:
            page.errors.append((mk.line, f"the `doc-check: {mk.kind}` marker applies to a ```{wants} block, "
                                         f"but the block at line {b.line} is ```{b.lang or '(no language)'}"))
            b.marker = None

    def name_line(line):
        under = [h for index, h in headings if index < line - 1]
        where = f"{page.display}:{line}"
        return f"{where} ({under[-1]})" if under else (f"{where} ({title})" if title else where)
    page.errors = sorted((line, name_line(line), message) for line, message in page.errors)
    return page


# ---------------------------------------------------------------------------- running


def run_program(argv, timeout):
    """Runs argv in a fresh, empty working directory; kills its whole process group on timeout."""
    workdir = tempfile.mkdtemp(prefix="check_docs-run-")
    try:
        try:
            proc = subprocess.Popen(argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as e:
            return RunResult(False, f"could not be started: {e}", "", "")
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            out, err = proc.communicate()
            timed_out = True
        finally:
            # Children it left behind in its process group go too.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        out = out.decode("utf-8", errors="replace")
        err = err.decode("utf-8", errors="replace")
        if timed_out:
            return RunResult(False, f"timed out after {timeout:g} s", out, err)
        if proc.returncode < 0:
            try:
                sig = signal.Signals(-proc.returncode).name
            except ValueError:
                sig = str(-proc.returncode)
            return RunResult(False, f"killed by signal {sig}", out, err)
        return RunResult(proc.returncode == 0, f"exit status {proc.returncode}", out, err)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def compile_block(block, cxx, flags, includes, outdir, libs=()):
    """Writes the block to its own file and compiles it (sets compile_ok, compile_output)."""
    base = f"{block.page.stem}-L{block.line}"
    block.source = os.path.join(outdir, base + ".cpp")
    block.binary = os.path.join(outdir, base)
    line_file = block.page.display.replace("\\", "\\\\").replace('"', '\\"')
    with open(block.source, "w", encoding="utf-8") as f:
        f.write(f'#line {block.line + 1} "{line_file}"\n')
        f.write(block.content)
    inc = [f"-I{d}" for d in includes]
    if block.marker is not None and block.marker.kind == "compile-fail":
        argv = cxx + flags + inc + ["-fsyntax-only", block.source]
    else:
        argv = cxx + flags + inc + [block.source, "-o", block.binary] + list(libs)
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=COMPILE_TIMEOUT)
        block.compile_output = proc.stdout.decode("utf-8", errors="replace")
        block.compile_ok = proc.returncode == 0
    except subprocess.TimeoutExpired as e:
        block.compile_output = (e.stdout or b"").decode("utf-8", errors="replace") + \
            f"\n(the compiler was stopped after {COMPILE_TIMEOUT} s)\n"
        block.compile_ok = False
    except OSError as e:
        block.compile_output = f"cannot run the compiler {shlex.join(argv[:1])}: {e}\n"
        block.compile_ok = False
    block.compile_argv = argv


def normalise(text):
    return text if text.endswith("\n") or not text else text + "\n"


def first_lines(text, n=SHOWN_COMPILER_LINES):
    lines = text.splitlines()
    shown = "\n".join("    " + l for l in lines[:n])
    if len(lines) > n:
        shown += f"\n    ... ({len(lines) - n} more lines)"
    return shown


def indented(text, prefix="    "):
    return "\n".join(prefix + l for l in text.rstrip("\n").split("\n"))


def first_error_line(text):
    for l in text.splitlines():
        if re.search(r"\berror\b", l):
            return l.strip()
    return ""


# ---------------------------------------------------------------------------- main


class Report:
    def __init__(self):
        self.ran = 0
        self.matched = 0
        self.updated = 0
        self.compile_fail = 0
        self.skipped = 0
        self.failures = 0

    def ok(self, name, what):
        print(f"ok      {name}: {what}")

    def fail(self, name, what, details=""):
        self.failures += 1
        print(f"FAIL    {name}: {what}")
        if details:
            print(details.rstrip("\n"))

    def summary(self, update):
        def n(count, one, many):
            return f"{count} {one if count == 1 else many}"
        parts = [n(self.ran, "program compiled and run", "programs compiled and run"),
                 n(self.matched, "output matched", "outputs matched")]
        if update:
            parts.append(n(self.updated, "output updated", "outputs updated"))
        parts += [n(self.compile_fail, "compile-fail case", "compile-fail cases"),
                  f"{self.skipped} skipped",
                  n(self.failures, "failure", "failures")]
        return "check_docs: " + ", ".join(parts)


def parse_args(argv):
    class Parser(argparse.ArgumentParser):
        def error(self, message):
            self.print_usage(sys.stderr)
            print(f"check_docs: error: {message}", file=sys.stderr)
            sys.exit(2)

    p = Parser(prog="check_docs.py", allow_abbrev=False,
               description="Compile, run and compare the C++ programs of Markdown pages (see the docstring).")
    p.add_argument("pages", nargs="+", metavar="PAGE.md")
    p.add_argument("--cxx", action="append", required=True, metavar="ARG",
                   help="the compiler's argv, one element per --cxx (use --cxx=ARG for one starting with -)")
    p.add_argument("-I", dest="includes", action="append", default=[], metavar="DIR", help="include directory")
    p.add_argument("--cxxflags", default=DEFAULT_CXXFLAGS,
                   help=f"compiler flags, split like a shell does (default: {DEFAULT_CXXFLAGS})")
    p.add_argument("-l", dest="libs", action="append", default=[], metavar="LIB",
                   help="a library to link the programs with (after the source: -l crypto)")
    p.add_argument("--program", action="append", default=[], metavar="PATH=BINARY",
                   help="the built binary of a program whose output a page shows with output-of PATH")
    p.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="parallel compiles")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="limit per program run")
    p.add_argument("--keep", metavar="DIR", help="keep the extracted sources and binaries in DIR")
    p.add_argument("--update", action="store_true",
                   help="rewrite the output blocks of the pages with the actual outputs")
    args = p.parse_intermixed_args(argv)
    if args.jobs < 1:
        p.error("--jobs must be at least 1")
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    try:
        args.flags = shlex.split(args.cxxflags)
    except ValueError as e:
        p.error(f"--cxxflags: {e}")
    programs = {}
    for spec in args.program:
        path, sep, binary = spec.partition("=")
        if not sep or not path or not binary:
            p.error(f"--program wants PATH=BINARY, got {spec!r}")
        programs[path] = os.path.abspath(binary)
    args.programs = programs
    for page in args.pages:
        if not os.path.isfile(page):
            p.error(f"no such page: {page}")
    if shutil.which(args.cxx[0]) is None:
        p.error(f"compiler not found: {args.cxx[0]}")
    for d in args.includes:
        if not os.path.isdir(d):
            p.error(f"-I {d}: no such directory")
    return args


def main(argv):
    args = parse_args(argv)
    report = Report()

    pages = []
    stems = set()
    for path in args.pages:
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(os.path.basename(path))[0])
        unique, k = stem, 2
        while unique in stems:
            unique, k = f"{stem}-{k}", k + 1
        stems.add(unique)
        try:
            pages.append(parse_page(path, path, unique))
        except (OSError, UnicodeDecodeError) as e:
            print(f"check_docs: cannot read {path}: {e}", file=sys.stderr)
            return 2

    for page in pages:
        for _, name, message in page.errors:
            report.fail(name, message)

    cpp_blocks = [b for page in pages for b in page.blocks if b.lang in CPP_LANGS]
    to_compile = [b for b in cpp_blocks if not (b.marker and b.marker.kind == "skip")]

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        outdir = os.path.abspath(args.keep)
        cleanup = None
    else:
        cleanup = tempfile.TemporaryDirectory(prefix="check_docs-")
        outdir = cleanup.name
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = [pool.submit(compile_block, b, args.cxx, args.flags, args.includes, outdir, ["-l" + l for l in args.libs]) for b in to_compile]
            for f in futures:
                f.result()

        named = set()
        rewrites = {page.path: {} for page in pages}  # page -> {block fence index: new content}
        for page in pages:
            last_cpp = None
            for b in page.blocks:
                kind = b.marker.kind if b.marker else None
                if b.lang in CPP_LANGS:
                    last_cpp = b
                    if kind == "skip":
                        report.skipped += 1
                        print(f"skipped {b.name}: {b.marker.arg}")
                    elif kind == "compile-fail":
                        check_compile_fail(b, report)
                    else:
                        check_program(b, args.timeout, report)
                elif kind == "output":
                    check_output(b, last_cpp, report, args.update, rewrites[page.path])
                elif kind == "output-of":
                    named.add(b.marker.arg)
                    check_output_of(b, args.programs, args.timeout, report, args.update, rewrites[page.path])
        for path in sorted(set(args.programs) - named):
            print(f"warning: --program {path}=... is given, but no page shows its output (output-of {path})")

        if args.update:
            for page in pages:
                if rewrites[page.path]:
                    rewrite_page(page, rewrites[page.path])
        if args.keep:
            print(f"check_docs: sources and binaries kept in {outdir}")
    finally:
        if cleanup is not None:
            cleanup.cleanup()

    print(report.summary(args.update))
    return 1 if report.failures else 0


def check_program(b, timeout, report):
    if not b.compile_ok:
        report.fail(b.name, "does not compile (the page says it is a complete program)",
                    f"    {shlex.join(b.compile_argv)}\n" + first_lines(b.compile_output))
        return
    b.run = run_program([b.binary], timeout)
    if not b.run.ok:
        details = ""
        if b.run.stdout:
            details += "  stdout:\n" + indented(b.run.stdout) + "\n"
        if b.run.stderr:
            details += "  stderr:\n" + indented(b.run.stderr) + "\n"
        report.fail(b.name, f"ran, but {b.run.status} (must exit with status 0)", details)
        return
    report.ran += 1
    report.ok(b.name, "compiled and ran")
    if b.run.stderr:
        print(f"note    {b.name}: wrote on stderr:\n" + indented(b.run.stderr))


def check_compile_fail(b, report):
    want = b.marker.arg
    if b.compile_ok:
        report.fail(b.name, f'compiles, but must fail to compile with "{want}"',
                    first_lines(b.compile_output) if b.compile_output.strip() else "")
        return
    if want not in b.compile_output:
        first = first_error_line(b.compile_output)
        report.fail(b.name, f'fails to compile, but its output does not contain "{want}"'
                            + (f"\n  first error: {first}" if first else ""),
                    first_lines(b.compile_output))
        return
    report.compile_fail += 1
    report.ok(b.name, f'fails to compile, as it must, with "{want}"')


def compare(b, source_name, actual, report, update, rewrites):
    expected = normalise(b.content)
    actual = normalise(actual)
    if expected == actual:
        report.matched += 1
        report.ok(b.name, f"output of {source_name} matches")
        return
    if update:
        closes = re.compile(r"^ {0,3}" + re.escape(b.fence[0]) + "{" + str(len(b.fence)) + r",}[ \t]*$")
        if any(closes.match(line) for line in actual.split("\n")):
            report.fail(b.name, f"cannot update: the output of {source_name} has a line that would close the "
                                f"block's {b.fence} fence; open and close the block with a longer fence")
            return
        rewrites[b.fence_index] = actual
        report.updated += 1
        print(f"updated {b.name}: the output of {source_name}")
        return
    diff = difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                fromfile=f"expected ({b.page.display}:{b.line})",
                                tofile=f"actual ({source_name})")
    report.fail(b.name, f"the output of {source_name} differs from the page",
                "".join("    " + l for l in diff))


def check_output(b, program, report, update, rewrites):
    if program is None:
        report.fail(b.name, "`doc-check: output` marks this block, but there is no ```cpp block above it")
        return
    kind = program.marker.kind if program.marker else None
    if kind in ("skip", "compile-fail"):
        report.fail(b.name, f"`doc-check: output` marks this block, but the nearest ```cpp block above "
                            f"(line {program.line}) is marked {kind}, so it is not run")
        return
    if program.run is None or not program.run.ok:
        report.fail(b.name, f"output not compared: the program at line {program.line} failed")
        return
    compare(b, f"the program at line {program.line}", program.run.stdout, report, update, rewrites)


def check_output_of(b, programs, timeout, report, update, rewrites):
    path = b.marker.arg
    if path not in programs:
        report.fail(b.name, f"the page shows the output of {path}, but no --program {path}=BINARY was given")
        return
    run = run_program([programs[path]], timeout)
    if not run.ok:
        details = ""
        if run.stdout:
            details += "  stdout:\n" + indented(run.stdout) + "\n"
        if run.stderr:
            details += "  stderr:\n" + indented(run.stderr) + "\n"
        report.fail(b.name, f"{path} ({programs[path]}) {run.status} (must exit with status 0)", details)
        return
    if run.stderr:
        print(f"note    {b.name}: {path} wrote on stderr:\n" + indented(run.stderr))
    compare(b, path, run.stdout, report, update, rewrites)


def rewrite_page(page, rewrites):
    """Replaces the content lines of the given blocks; every other byte stays as it was."""
    blocks = {b.fence_index: b for b in page.blocks}
    out = []
    i = 0
    lines = page.lines
    while i < len(lines):
        if i in rewrites:
            b = blocks[i]
            fence_line = lines[i]
            eol = "\r\n" if fence_line.endswith("\r\n") else "\n"
            out.append(fence_line)
            pad = " " * b.indent
            out.extend(pad + l + eol if l else eol for l in rewrites[i].split("\n")[:-1])
            i = b.close_index
            continue
        out.append(lines[i])
        i += 1
    text = "".join(out)
    if text != page.text:
        with open(page.path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        print(f"check_docs: rewrote {len(rewrites)} output block(s) of {page.display}")


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
