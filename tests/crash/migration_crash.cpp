// A schema migration under kill -9 (durability/migration.hpp): a database filled under v1
// (notes overwritten once, so the runs' histories hold old values; state records; events; a
// type v2 drops; a snapshot half way) is opened by a child under v2, which migrates it, keeps
// the dropped type's files and takes a snapshot under v2, and is SIGKILLed at a random moment
// of that open. The parent then finds the directory either as it was (every old file byte
// for byte, no snapshot under v2) or migrated (a whole snapshot under v2), never a mix,
// reopens it under v2 and checks every value field by field, the history and the event chain.
//   migration_crash --kills N        (exits 1 on any violation)
// It prints the open-time cost of the migration against a plain open of the same data.
#include <inmem/durability/snapshot.hpp>
#include <inmem/inmem.hpp>
#include <inmem/time_machine.hpp>

#include "../support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>

namespace v1 {
struct Note {
    std::string text;
    int priority = 0;
    std::string legacy;
};
struct Task {
    int step = 0;
};
struct Said {
    std::string what;
};
struct Gone {
    int x = 0;
};
} // namespace v1
namespace v2 {
struct Note {
    std::int64_t priority = 0;
    std::string text;
    bool done = true;
};
struct Task {
    int step = 0;
    std::optional<std::string> owner;
};
struct Added {
    int y = 0;
};
} // namespace v2

#define NAMED(T, N)                                                                                                    \
    template <>                                                                                                        \
    struct inmem::schema_traits<T> {                                                                                   \
        static constexpr std::string_view name = N;                                                                    \
    }
NAMED(v1::Note, "Note");
NAMED(v2::Note, "Note");
NAMED(v1::Task, "Task");
NAMED(v2::Task, "Task");
NAMED(v1::Said, "Said");
NAMED(v1::Gone, "Gone");
NAMED(v2::Added, "Added");
#undef NAMED

namespace {
namespace fs = std::filesystem;
using v1_schema = inmem::schema<inmem::kv<v1::Note, v1::Gone>, inmem::states<v1::Task>, inmem::events<v1::Said>>;
using v2_schema = inmem::schema<inmem::kv<v2::Added, v2::Note>, inmem::states<v2::Task>, inmem::events<v1::Said>>;
using v1_db = inmem::basic_database<v1_schema, inmem::durability::strict>;
using v2_db = inmem::basic_database<v2_schema, inmem::durability::strict>;

constexpr int notes = 20000, tasks = 100, said = 1000;

std::string text_of(int i, int round) { return "note " + std::to_string(i) + " round " + std::to_string(round); }

inmem::version_t fill(const fs::path& dir) {
    v1_db db(dir, {.snapshot_after_bytes = 0});
    const auto run = db.begin_run({.name = "v1"});
    auto kv = db.kv<v1::Note>();
    inmem::version_t first_round = 0;
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < notes; i += 100)
            db.transact(run, [&](auto& tx) {
                for (int j = i; j < i + 100; ++j) kv.put(tx, "n" + std::to_string(j), {text_of(j, round), j, "legacy"});
            });
        if (round == 0) {
            first_round = db.last_version();
            db.snapshot(); // the second round and the rest come from the WAL
        }
    }
    for (int i = 0; i < tasks; ++i)
        if (!db.states<v1::Task>().init(run, "t" + std::to_string(i), {i})) std::abort();
    for (int i = 0; i < said; ++i) db.events().append(run, v1::Said{"said " + std::to_string(i)});
    db.kv<v1::Gone>().put(run, "g", {7});
    return first_round;
}


void copy_dir(const fs::path& from, const fs::path& to) {
    fs::remove_all(to);
    fs::create_directories(to);
    for (const auto& [name, bytes] : inmem_test::regular_files(from)) std::ofstream(to / name, std::ios::binary) << bytes;
}

// Whether dir holds a snapshot, whole, written under v2.
bool has_v2_snapshot(const fs::path& dir) {
    for (const auto& [name, bytes] : inmem_test::regular_files(dir)) {
        if (!inmem::detail::parse_snapshot_name(name)) continue;
        std::string why;
        const auto snap = inmem::detail::read_snapshot(bytes, why, name);
        if (snap && snap->head.schema.fingerprint == v2_schema::fingerprint) return true;
    }
    return false;
}

std::uint64_t violation(const char* what) {
    std::fprintf(stderr, "migration_crash: %s\n", what);
    return 1;
}

// Every value as v2 reads it; the count of violations.
std::uint64_t check_values(v2_db& db, inmem::version_t first_round) {
    std::uint64_t bad = 0;
    const auto run = db.runs().at(0).id;
    auto kv = db.kv<v2::Note>();
    if (kv.list(run).size() != notes) bad += violation("notes are missing");
    for (int i = 0; i < notes; ++i) {
        const auto n = kv.get(run, "n" + std::to_string(i));
        if (!n || n->text != text_of(i, 1) || n->priority != i || !n->done) bad += violation("a note is wrong");
    }
    const auto then = inmem::replay(db, run, inmem::at_version{first_round});
    std::size_t old = 0;
    for (const auto& e : kv.list(then)) {
        ++old;
        if (e.value.text != text_of(std::stoi(e.key.substr(1)), 0) || !e.value.done)
            bad += violation("a note of the history is wrong");
    }
    if (old != notes) bad += violation("the history lost notes");
    for (int i = 0; i < tasks; ++i) {
        const auto t = db.states<v2::Task>().read("t" + std::to_string(i));
        if (!t || t->value.step != i || t->value.owner) bad += violation("a state record is wrong");
    }
    const auto events = db.events().read(run);
    if (events.size() != said) bad += violation("events are missing");
    if (!db.events().verify(run)) bad += violation("the event chain does not verify");
    if (!db.kv<v2::Added>().list(run).empty()) bad += violation("a record became an Added");
    return bad;
}

int parent(std::uint64_t kills) {
    inmem_test::temp_dir root;
    const fs::path original = root.path() / "v1", dir = root.path() / "db";
    const inmem::version_t first_round = fill(original);
    const auto before = inmem_test::regular_files(original);

    // The cost of the migration at open (with its snapshot), against a plain open of the same
    // files; the best of five each.
    using clock = std::chrono::steady_clock;
    double plain_ms = 1e30, migrate_ms = 1e30;
    std::uint64_t migrated = 0;
    for (int i = 0; i < 5; ++i) {
        copy_dir(original, dir);
        auto t0 = clock::now();
        { v1_db plain(dir, {.snapshot_after_bytes = 0}); }
        plain_ms = std::min(plain_ms, std::chrono::duration<double, std::milli>(clock::now() - t0).count());
        copy_dir(original, dir);
        t0 = clock::now();
        { v2_db db(dir); migrated = db.recovery().records_migrated; }
        migrate_ms = std::min(migrate_ms, std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }

    std::mt19937_64 rng(std::random_device{}());
    std::uint64_t violations = 0, found_old = 0, found_new = 0;
    for (std::uint64_t k = 1; k <= kills; ++k) {
        copy_dir(original, dir);
        const pid_t pid = ::fork();
        if (pid == 0) {
            try {
                v2_db db(dir);
                ::_exit(0);
            } catch (...) {
                ::_exit(3);
            }
        }
        const auto wait = std::chrono::microseconds(static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(
                                                                                       migrate_ms * 1200 + 1)));
        std::this_thread::sleep_for(wait);
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) != 0) violations += violation("the child failed to open");
        // Old or new, never a mix.
        const bool migrated_files = has_v2_snapshot(dir);
        if (!migrated_files) {
            ++found_old;
            const auto now = inmem_test::regular_files(dir);
            for (const auto& [name, bytes] : before) {
                const auto it = now.find(name);
                if (it == now.end() || it->second != bytes) violations += violation("an old file changed before the v2 snapshot");
            }
        } else {
            ++found_new;
        }
        try {
            v2_db db(dir);
            if (migrated_files != db.recovery().schema_changes.empty())
                violations += violation(migrated_files ? "a v2 snapshot and still a migration"
                                                       : "no v2 snapshot and nothing migrated");
            violations += check_values(db, first_round);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "migration_crash: reopening failed: %s\n", e.what());
            ++violations;
        }
    }
    std::printf("migration under kill -9: %llu kills (%llu found as before, %llu migrated), %llu violations; "
                "an open migrating %llu records took %.1f ms, %.2fx a plain open of the same files (%.1f ms): %.0f ns "
                "more per record\n",
                static_cast<unsigned long long>(kills), static_cast<unsigned long long>(found_old),
                static_cast<unsigned long long>(found_new), static_cast<unsigned long long>(violations),
                static_cast<unsigned long long>(migrated), migrate_ms, migrate_ms / plain_ms, plain_ms,
                (migrate_ms - plain_ms) * 1e6 / double(migrated ? migrated : 1));
    if (migrated < notes) {
        violation("the migration rewrote too few records: the test proved nothing");
        return 1;
    }
    return violations == 0 ? 0 : 1;
}
} // namespace

int main(int argc, char** argv) {
    std::uint64_t kills = 20;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string_view(argv[i]) == "--kills") kills = std::stoull(argv[i + 1]);
    return parent(kills);
}
