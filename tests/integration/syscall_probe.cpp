// syscall_probe: an unmodified program using a database, for tests that inject system-call
// failures from outside (tests/integration/syscall_faults.sh runs it under strace).
//
//   syscall_probe setup DIR      creates a database with a few commits
//   syscall_probe open DIR       opens it and reads
//   syscall_probe commits DIR    opens it and commits until one fails (automatic snapshots
//                                list the directory), then tries one more write
// Prints one line per outcome: "ok ...", or "inmem::error <code> <what>" for the error the
// library threw; exits 0 when only inmem::error (or nothing) escaped, 1 when any other
// exception did.
#include <inmem/inmem.hpp>

#include <cstdio>
#include <exception>
#include <string>

namespace {
using probe_schema = inmem::schema<inmem::kv<std::string>>;
using probe_db = inmem::basic_database<probe_schema, inmem::durability::strict>;

int report(const inmem::error& e) {
    std::printf("inmem::error %d %s\n", e.code().value(), e.what());
    return 0;
}
} // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: syscall_probe setup|open|commits DIR\n");
        return 2;
    }
    const std::string mode = argv[1];
    const std::string dir = argv[2];
    try {
        if (mode == "setup") {
            probe_db db(dir);
            const auto run = db.begin_run({.name = "probe"});
            for (int i = 0; i < 10; ++i) db.kv<std::string>().put(run, "k" + std::to_string(i), "v");
            std::printf("ok setup\n");
        } else if (mode == "open") {
            probe_db db(dir);
            std::printf("ok opened, %zu runs\n", db.runs().size());
        } else if (mode == "commits") {
            probe_db db(dir, {.snapshot_after_bytes = 4096});
            const auto run = db.runs().at(0).id;
            std::printf("ok opened\n");
            try {
                for (int i = 0; i < 1000; ++i) db.kv<std::string>().put(run, "c" + std::to_string(i), std::string(100, 'x'));
                std::printf("ok no commit failed\n");
            } catch (const inmem::error& e) {
                report(e);
                try {
                    db.kv<std::string>().put(run, "after", "x");
                    std::printf("ok a write after the failure went through\n");
                } catch (const inmem::error& later) {
                    report(later);
                }
            }
        } else {
            std::fprintf(stderr, "syscall_probe: unknown mode %s\n", mode.c_str());
            return 2;
        }
    } catch (const inmem::error& e) {
        return report(e);
    } catch (const std::exception& e) {
        std::printf("other exception: %s\n", e.what());
        return 1;
    }
    return 0;
}
