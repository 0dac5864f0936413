#!/usr/bin/env bash
# `meson install` puts the headers and inmem.pc in place, and a program compiled with
# `pkg-config --cflags inmem` alone builds and runs.
set -euo pipefail
src=$(cd "$1" && pwd)
cxx=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
meson setup "$tmp/build" "$src" --prefix=/usr > "$tmp/setup.log" || { cat "$tmp/setup.log"; exit 1; }
meson install -C "$tmp/build" --no-rebuild --destdir "$tmp/root" > "$tmp/install.log" || { cat "$tmp/install.log"; exit 1; }
pc=$(find "$tmp/root" -name inmem.pc)
[ -n "$pc" ] || { echo "FAIL: no inmem.pc installed"; exit 1; }
[ -f "$tmp/root/usr/include/inmem/inmem.hpp" ] || { echo "FAIL: headers not installed"; exit 1; }
cat > "$tmp/main.cpp" <<'CPP'
#include <inmem/inmem.hpp>
struct Note { std::string text; };
int main() {
    inmem::database<inmem::schema<inmem::kv<Note>, inmem::events<Note>>> db; // events: links libcrypto
    auto run = db.begin_run();
    if (db.events().append(run, Note{"e"}).seq != 0 || !db.events().verify(run)) return 2;
    db.kv<Note>().put(run, "n", Note{"hi"});
    return db.kv<Note>().get(run, "n")->text == "hi" ? 0 : 1;
}
CPP
cflags=$(PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --cflags inmem)
libs=$(PKG_CONFIG_SYSROOT_DIR="$tmp/root" PKG_CONFIG_PATH="$(dirname "$pc")" pkg-config --libs inmem)
# shellcheck disable=SC2086
"$cxx" $cflags "$tmp/main.cpp" -o "$tmp/main" $libs
"$tmp/main"
echo "ok: installed headers and inmem.pc ($cflags $libs) build a program"
