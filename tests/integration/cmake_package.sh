#!/usr/bin/env bash
# `meson install` puts a CMake package in place: a fresh CMake project finds it with
# find_package(inmem CONFIG REQUIRED), links inmem::inmem, builds and runs. The installed tree
# is moved to another prefix before use, so the package must locate itself, and the consumer
# build must see only the installed headers, never the source tree's include/.
# Usage: cmake_package.sh <inmem source root> <C++ compiler>
set -euo pipefail
src=$(cd "$1" && pwd)
cxx=$2
fail() { echo "FAIL: $*" >&2; exit 1; }
# mentions PATH FILE...: some FILE names PATH, as written or as a depfile writes it (spaces as "\ ").
mentions() { local p=$1; shift; grep -rqF -e "$p" -e "${p// /\\ }" -- "$@"; }
command -v cmake > /dev/null || fail "cmake not found (scripts/install-deps.sh installs it)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Configure and install inmem. Header-only: nothing needs building to install it.
meson setup "$tmp/build" "$src" --prefix="$tmp/prefix" -Dbuildtype=plain > "$tmp/setup.log" 2>&1 \
  || { cat "$tmp/setup.log"; fail "meson setup of $src"; }
meson install -C "$tmp/build" --no-rebuild > "$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log"; fail "meson install"; }

# Move the installed tree: the package must find its headers relative to itself.
prefix="$tmp/moved prefix"
mv "$tmp/prefix" "$prefix"
[ -f "$prefix/include/inmem/inmem.hpp" ] || fail "headers not installed under $prefix/include"
config=$(find "$prefix" -name inmemConfig.cmake)
[ -n "$config" ] || fail "no inmemConfig.cmake installed under $prefix"
[ -f "$(dirname "$config")/inmemConfigVersion.cmake" ] || fail "no inmemConfigVersion.cmake next to $config"

# The consumer: nothing in it refers to the source tree.
mkdir "$tmp/app"
cat > "$tmp/app/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(app CXX)
find_package(inmem CONFIG REQUIRED)
add_executable(app main.cpp)
target_link_libraries(app PRIVATE inmem::inmem)
CMAKE
cat > "$tmp/app/main.cpp" <<'CPP'
#include <inmem/inmem.hpp>

#include <iostream>
#include <string>

struct Note {
    std::string text;
    int stars = 0;
};

int main() {
    inmem::database<inmem::schema<inmem::kv<Note>, inmem::events<Note>>> db; // events: links OpenSSL::Crypto
    auto run = db.begin_run();
    if (db.events().append(run, Note{"event", 1}).seq != 0 || !db.events().verify(run)) return 2;
    db.kv<Note>().put(run, "greeting", Note{"hello from cmake", 5});
    auto note = db.kv<Note>().get(run, "greeting");
    if (!note) return 1;
    std::cout << "note: " << note->text << " (" << note->stars << " stars)\n";
}
CPP

# No user or system package registry: the package must come from CMAKE_PREFIX_PATH.
cmake -S "$tmp/app" -B "$tmp/app-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF \
    > "$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "cmake configure of the consumer"; }
found_dir=$(sed -n 's/^inmem_DIR:PATH=//p' "$tmp/app-build/CMakeCache.txt")
[ "$found_dir" = "$(dirname "$config")" ] \
  || fail "find_package found inmem in '$found_dir', not in the installed $(dirname "$config")"
cmake --build "$tmp/app-build" > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "consumer build"; }

# The compile used the installed headers, and nothing from the source tree.
if mentions "$src/include/" "$tmp/app" "$tmp/app-build"; then
  fail "the consumer build refers to the source tree's $src/include"
fi
mentions "$prefix/include" "$tmp/app-build/compile_commands.json" \
  || { cat "$tmp/app-build/compile_commands.json"; fail "the compile command lacks $prefix/include"; }
deps=$(find "$tmp/app-build" -name 'main.cpp.o.d' | head -n 1)
[ -n "$deps" ] || fail "the consumer build left no dependency file (main.cpp.o.d)"
mentions "$prefix/include/inmem/inmem.hpp" "$deps" \
  || fail "$deps does not name $prefix/include/inmem/inmem.hpp: were the installed headers used?"

out=$("$tmp/app-build/app") || fail "the consumer exited with $?"
expected="note: hello from cmake (5 stars)"
[ "$out" = "$expected" ] || fail "the consumer printed '$out', expected '$expected'"
echo "$out"
echo "ok: installed CMake package (find_package(inmem), inmem::inmem) builds a program from a moved prefix"
