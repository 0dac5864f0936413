// Tests of inmem/durability/recovery.hpp through a database opened on a directory: what a
// reopen brings back, what continues after it, snapshots and the files they make obsolete.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <map>
#include <thread>

using inmem_test::error_of;
using inmem_test::temp_dir;

namespace {
struct Note {
    std::string text;
    std::int64_t n = 0;
    bool operator==(const Note&) const = default;
};
using note_schema = inmem::schema<inmem::kv<Note>>;
using strict_db = inmem::basic_database<note_schema, inmem::durability::strict>;
using batched_db = inmem::basic_database<note_schema, inmem::durability::batched<inmem::durability::batch_options{.interval_ms = 10}>>;
using durable_dbs = std::tuple<strict_db, batched_db>;

std::size_t count_files(const std::filesystem::path& dir, std::string_view prefix) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        n += e.path().filename().string().starts_with(prefix);
    return n;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("a reopened database holds every commit, and continues after them", "[recovery]",
                        durable_dbs) {
    temp_dir dir;
    std::map<std::string, Note> model;
    inmem::run_id first, second;
    inmem::version_t last = 0;
    {
        TestType db(dir.path());
        CHECK(db.recovery().commits_applied == 0);
        first = db.begin_run({.name = "first", .tags = {"t"}});
        second = db.begin_run({.name = "second", .parent = first});
        auto notes = db.template kv<Note>();
        for (int i = 0; i < 300; ++i) {
            std::string key = "k" + std::to_string(i % 40);
            Note note{"v" + std::to_string(i), i};
            notes.put(i % 2 ? first : second, key, note);
            if (i % 2) model[key] = note;
        }
        CHECK(notes.erase(first, "k1"));
        model.erase("k1");
        db.end_run(second, inmem::run_status::failed);
        last = db.last_version();
    }
    TestType db(dir.path());
    const auto& report = db.recovery();
    CHECK(report.commits_applied == last); // every commit was one WAL record
    CHECK(report.last_version == last);
    CHECK(report.bytes_dropped == 0);
    CHECK(db.last_version() == last);
    auto notes = db.template kv<Note>();
    auto listed = notes.list(first);
    REQUIRE(listed.size() == model.size());
    for (const auto& e : listed) CHECK(model.at(e.key) == e.value);
    CHECK_FALSE(notes.get(first, "k1"));
    // Runs come back with their records; the ended one stays read-only.
    CHECK(db.run(first).name == "first");
    CHECK(db.run(first).status == inmem::run_status::active);
    CHECK(db.run(second).status == inmem::run_status::failed);
    CHECK(db.run(second).parent == first);
    CHECK(error_of([&] { notes.put(second, "x", Note{}); }) == inmem::errc::run_not_active);
    // Ids and versions continue: nothing is ever reused.
    auto third = db.begin_run();
    CHECK(third.value == second.value + 1);
    auto v = notes.put(first, "after", Note{"after", 1});
    CHECK(v > last + 1);
}

TEMPLATE_LIST_TEST_CASE("a snapshot replaces the WAL before it; later commits replay on top", "[recovery]",
                        durable_dbs) {
    temp_dir dir;
    inmem::run_id run;
    {
        TestType db(dir.path());
        run = db.begin_run();
        auto notes = db.template kv<Note>();
        for (int i = 0; i < 100; ++i) notes.put(run, "k" + std::to_string(i), Note{"a", i});
        db.snapshot();
        for (int i = 0; i < 10; ++i) notes.put(run, "k" + std::to_string(i), Note{"b", i});
        notes.erase(run, "k99");
    }
    TestType db(dir.path());
    const auto& report = db.recovery();
    CHECK_FALSE(report.snapshot.empty());
    CHECK(report.snapshot_version == 101); // begin_run and 100 puts
    CHECK(report.commits_applied == 11);
    auto notes = db.template kv<Note>();
    CHECK(notes.get(run, "k5")->text == "b");
    CHECK(notes.get(run, "k50")->text == "a");
    CHECK_FALSE(notes.get(run, "k99"));
    CHECK(notes.list(run).size() == 99);
    CHECK(notes.entry(run, "k50")->version == 52); // versions survive the snapshot (begin_run was 1)
}

TEST_CASE("two snapshots are kept, with the WAL the older needs; the rest is deleted", "[recovery]") {
    temp_dir dir;
    strict_db db(dir.path(), inmem::open_options{.segment_bytes = 4096, .snapshot_after_bytes = 0});
    auto run = db.begin_run();
    auto notes = db.kv<Note>();
    for (int round = 0; round < 4; ++round) {
        for (int i = 0; i < 200; ++i) notes.put(run, "k" + std::to_string(i), Note{std::string(50, 'x'), round});
        db.snapshot();
    }
    CHECK(count_files(dir.path(), "snapshot-") == 2);
    // Segments older than the older snapshot's start are gone: far fewer than were written.
    CHECK(count_files(dir.path(), "wal-") < 20);
    CHECK(count_files(dir.path(), "wal-") >= 1);
}

TEST_CASE("snapshots are taken automatically past snapshot_after_bytes of WAL", "[recovery]") {
    temp_dir dir;
    inmem::run_id run;
    {
        batched_db db(dir.path(), inmem::open_options{.snapshot_after_bytes = 64 * 1024});
        run = db.begin_run();
        auto notes = db.kv<Note>();
        for (int i = 0; i < 2000; ++i) notes.put(run, "k" + std::to_string(i % 300), Note{std::string(100, 'y'), i});
        CHECK(count_files(dir.path(), "snapshot-") >= 1);
    }
    batched_db db(dir.path());
    CHECK_FALSE(db.recovery().snapshot.empty());
    CHECK(db.recovery().commits_applied < 2001);
    CHECK(db.kv<Note>().get(run, "k299")->n == 1799);
}

TEST_CASE("batched commits are durable after sync() and after close", "[recovery]") {
    temp_dir dir;
    inmem::run_id run;
    {
        inmem::basic_database<note_schema, inmem::durability::batched<inmem::durability::batch_options{.interval_ms = 60000}>> db(dir.path());
        run = db.begin_run();
        db.kv<Note>().put(run, "a", Note{"a", 1});
        db.sync();
        db.kv<Note>().put(run, "b", Note{"b", 2}); // only the close makes this one durable
    }
    batched_db db(dir.path());
    CHECK(db.kv<Note>().get(run, "a")->n == 1);
    CHECK(db.kv<Note>().get(run, "b")->n == 2);
}

TEST_CASE("concurrent strict committers all survive a reopen", "[recovery]") {
    temp_dir dir;
    std::vector<inmem::run_id> runs;
    {
        strict_db db(dir.path());
        for (int t = 0; t < 4; ++t) runs.push_back(db.begin_run());
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 50; ++i) db.kv<Note>().put(runs[t], "k" + std::to_string(i), Note{"t", i});
            });
        for (auto& th : threads) th.join();
    }
    strict_db db(dir.path());
    for (auto run : runs) CHECK(db.kv<Note>().list(run).size() == 50);
    CHECK(db.recovery().commits_applied == 4 + 200);
}

TEST_CASE("a directory is open in one place at a time", "[recovery]") {
    temp_dir dir;
    {
        strict_db db(dir.path());
        CHECK(error_of([&] { strict_db again(dir.path()); }) == inmem::errc::database_locked);
    }
    CHECK(error_of([&] { strict_db again(dir.path()); }) == inmem::errc::ok);
}

TEST_CASE("a default-constructed database writes no files, whatever its durability policy", "[recovery]") {
    temp_dir dir;
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path(dir.path());
    {
        strict_db db;
        auto run = db.begin_run();
        db.kv<Note>().put(run, "k", Note{"x", 1});
        db.sync();
        db.snapshot();
        CHECK(db.recovery().commits_applied == 0);
    }
    std::filesystem::current_path(cwd);
    CHECK(std::filesystem::is_empty(dir.path()));
}
