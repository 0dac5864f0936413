#!/usr/bin/env bash
# inmem works as a meson subproject: a fresh consumer project finds it with
# dependency('inmem'), builds against it and runs.
set -euo pipefail
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/subprojects"
ln -s "$src" "$tmp/subprojects/inmem"
cat > "$tmp/meson.build" <<'MESON'
project('consumer', 'cpp', default_options : ['cpp_std=c++20'])
executable('consumer', 'main.cpp', dependencies : dependency('inmem', fallback : 'inmem'))
MESON
cat > "$tmp/main.cpp" <<'CPP'
#include <inmem/inmem.hpp>
struct Note { std::string text; };
int main() {
    inmem::database<inmem::schema<inmem::kv<Note>, inmem::events<Note>>> db; // events: links libcrypto
    auto run = db.begin_run();
    if (db.events().append(run, Note{"e"}).seq != 0 || !db.events().verify(run)) return 2;
    db.kv<Note>().put(run, "n", Note{"hello"});
    return db.kv<Note>().get(run, "n")->text == "hello" ? 0 : 1;
}
CPP
meson setup "$tmp/build" "$tmp" --wrap-mode=nodownload > "$tmp/setup.log" || { cat "$tmp/setup.log"; exit 1; }
meson compile -C "$tmp/build" > "$tmp/compile.log" || { cat "$tmp/compile.log"; exit 1; }
"$tmp/build/consumer"
echo "ok: inmem builds and runs as a subproject"
