// Tests of inmem/durability/recovery.hpp through a database opened on a directory: what a
// reopen brings back, what continues after it, snapshots and the files they make obsolete.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "faulty_fs.hpp"

#include <map>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

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
using batched_db = inmem::basic_database<note_schema, inmem::durability::basic_batched<inmem::durability::batch_options{.interval_ms = 10}>>;
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
        inmem::basic_database<note_schema, inmem::durability::basic_batched<inmem::durability::batch_options{.interval_ms = 60000}>> db(dir.path());
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

// ---- short-lived processes: snapshots and segments across opens (issue 9, bug 1) ----------

TEST_CASE("snapshots come after snapshot_after_bytes of WAL, whichever opens wrote it", "[recovery]") {
    temp_dir dir;
    const inmem::open_options options{.snapshot_after_bytes = 32 * 1024};
    inmem::run_id run;
    for (int open = 0; open < 10; ++open) { // ten short sessions of about 21 KiB each
        strict_db db(dir.path(), options);
        run = db.begin_run();
        for (int i = 0; i < 20; ++i) db.kv<Note>().put(run, "k" + std::to_string(i), Note{std::string(1000, 'x'), i});
    }
    CHECK(count_files(dir.path(), "snapshot-") >= 1); // the old count restarted at each open: none
    strict_db db(dir.path(), options);
    CHECK_FALSE(db.recovery().snapshot.empty());
    CHECK(db.recovery().wal_bytes < 2 * 32 * 1024); // what is replayed stays bounded
    CHECK(db.kv<Note>().get(run, "k19")->n == 19);
}

TEST_CASE("an open that replays more than snapshot_after_bytes takes the snapshot", "[recovery]") {
    temp_dir dir;
    inmem::run_id run;
    {
        strict_db db(dir.path(), inmem::open_options{.snapshot_after_bytes = 0}); // none while writing
        run = db.begin_run();
        for (int i = 0; i < 100; ++i) db.kv<Note>().put(run, "k" + std::to_string(i), Note{std::string(500, 'y'), i});
    }
    CHECK(count_files(dir.path(), "snapshot-") == 0);
    {
        strict_db db(dir.path(), inmem::open_options{.snapshot_after_bytes = 16 * 1024});
        CHECK(db.recovery().snapshot_written);
        CHECK(db.recovery().snapshot_error.empty());
        CHECK(count_files(dir.path(), "snapshot-") == 1);
    }
    strict_db db(dir.path());
    CHECK_FALSE(db.recovery().snapshot.empty());
    CHECK(db.recovery().commits_applied == 0);
    CHECK(db.kv<Note>().list(run).size() == 100);
}

TEST_CASE("opening and closing writes nothing; sessions that write go on in the last segment", "[recovery]") {
    temp_dir dir;
    inmem::run_id run;
    {
        strict_db db(dir.path());
        run = db.begin_run();
        db.kv<Note>().put(run, "a", Note{"a", 1});
    }
    const auto files_before = count_files(dir.path(), "");
    for (int i = 0; i < 200; ++i) strict_db db(dir.path()); // the old code left a segment per open
    CHECK(count_files(dir.path(), "") == files_before);
    CHECK(count_files(dir.path(), "wal-") == 1);
    for (int i = 0; i < 50; ++i) {
        strict_db db(dir.path());
        db.kv<Note>().put(run, "k" + std::to_string(i), Note{"v", i});
    }
    CHECK(count_files(dir.path(), "wal-") == 1);
    strict_db db(dir.path());
    CHECK(db.recovery().clean_shutdown);
    CHECK(db.recovery().segments_read == 1);
    CHECK(db.kv<Note>().list(run).size() == 51);
    CHECK(db.runs().size() == 1);
    CHECK(db.last_version() == 52); // clean closes skip nothing: versions stay dense
}

// ---- the lock: who holds the directory (bug 5) ----------------------------------------------

TEST_CASE("a second open says whether this process or another one holds the directory", "[recovery]") {
    temp_dir dir;
    {
        strict_db db(dir.path());
        const std::string same = inmem_test::what_of([&] { strict_db again(dir.path()); });
        CHECK_THAT(same, Catch::Contains("already open in this process") && Catch::Contains(dir.path().string()));
        CHECK_THAT(same, !Catch::Contains("another process"));
    }
    int ready[2], done[2];
    REQUIRE(::pipe(ready) == 0);
    REQUIRE(::pipe(done) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) { // holds the directory until told to go
        {
            strict_db db(dir.path());
            char c = 'r';
            (void)!::write(ready[1], &c, 1);
            (void)!::read(done[0], &c, 1);
        }
        ::_exit(0);
    }
    char c;
    REQUIRE(::read(ready[0], &c, 1) == 1);
    const std::string other = inmem_test::what_of([&] { strict_db again(dir.path()); });
    CHECK_THAT(other, Catch::Contains("open in another process"));
    CHECK(::write(done[1], &c, 1) == 1);
    int status = 0;
    ::waitpid(child, &status, 0);
    CHECK(error_of([&] { strict_db again(dir.path()); }) == inmem::errc::ok);
    for (int fd : {ready[0], ready[1], done[0], done[1]}) ::close(fd);
}

// ---- after a crash: nothing seen is named again, runs left active are interrupted ----------
// (issue 9, bugs 3 and 4; the crash suite checks the same under kill -9)

namespace {
using manual_db =
    inmem::basic_database<note_schema, inmem::durability::basic_batched<inmem::durability::batch_options{.interval_ms = 3'600'000}>>;
}

TEST_CASE("batched: run ids and versions acknowledged before a crash are never handed out again", "[recovery]") {
    temp_dir dir;
    auto fs = std::make_shared<inmem_test::faulty_file_system>(false);
    inmem::run_id durable_run, lost_run;
    inmem::version_t lost_version = 0;
    {
        manual_db db(dir.path(), inmem::open_options{.fs = fs});
        durable_run = db.begin_run({.name = "durable"});
        db.sync();
        lost_run = db.begin_run({.name = "lost"}); // acknowledged, not yet durable
        lost_version = db.kv<Note>().put(lost_run, "k", Note{"lost", 1});
        fs->simulate_power_loss(); // the machine goes down before the next flush
    }
    manual_db db(dir.path());
    REQUIRE(db.runs().size() == 1); // the lost run is gone, as batched durability allows
    CHECK_FALSE(db.recovery().clean_shutdown);
    CHECK(db.recovery().reserved_version >= lost_version);
    CHECK(db.recovery().reserved_run >= lost_run.value);
    const auto next = db.begin_run({.name = "after"});
    CHECK(next.value > lost_run.value); // the old code gave run 2 again, and version 2
    CHECK(db.last_version() > lost_version);
    // The id that was lost names no run; asking for it says so.
    CHECK(error_of([&] { db.run(lost_run); }) == inmem::errc::unknown_run);
    CHECK_THAT(inmem_test::what_of([&] { db.run(lost_run); }), Catch::Contains("crashed"));
    CHECK(error_of([&] { db.begin_run({.parent = lost_run}); }) == inmem::errc::unknown_run);
}

TEST_CASE("the ids a crash skipped stay skipped after later clean sessions", "[recovery]") {
    temp_dir dir;
    auto fs = std::make_shared<inmem_test::faulty_file_system>(false);
    inmem::run_id lost;
    {
        manual_db db(dir.path(), inmem::open_options{.fs = fs});
        db.begin_run();
        db.sync();
        lost = db.begin_run();
        fs->simulate_power_loss();
    }
    inmem::run_id after;
    {
        manual_db db(dir.path());
        db.resume_run(db.runs().at(0).id); // a write, but no begin_run: the gap is written anyway
    }
    {
        manual_db db(dir.path());
        CHECK(db.recovery().clean_shutdown);
        after = db.begin_run();
        CHECK(after.value > lost.value);
        db.snapshot(); // the gap goes into the snapshot too
    }
    manual_db db(dir.path());
    CHECK(db.runs().size() == 2);
    CHECK(db.begin_run().value == after.value + 1);
}

TEMPLATE_LIST_TEST_CASE("a run left active by a crash is interrupted; resume_run or end_run it", "[recovery]",
                        durable_dbs) {
    temp_dir dir;
    auto fs = std::make_shared<inmem_test::faulty_file_system>(false);
    inmem::run_id working, idle, done;
    {
        TestType db(dir.path(), inmem::open_options{.fs = fs});
        working = db.begin_run({.name = "working"});
        idle = db.begin_run({.name = "idle"});
        done = db.begin_run({.name = "done"});
        db.end_run(done);
        db.template kv<Note>().put(working, "step", Note{"1", 1});
        db.sync();
        fs->simulate_process_crash(); // kill -9: nothing more reaches the disk, not even the close
    }
    {
        TestType db(dir.path());
        const auto& r = db.recovery();
        CHECK_FALSE(r.clean_shutdown);
        CHECK(r.interrupted == std::vector<inmem::run_id>{working, idle});
        CHECK(db.run(working).status == inmem::run_status::interrupted);
        CHECK(db.run(done).status == inmem::run_status::completed);
        auto found = db.runs(inmem::run_status::interrupted);
        REQUIRE(found.size() == 2);
        CHECK(found[0].name == "working");
        // Not writable until a supervisor decides: the message says what to do.
        auto notes = db.template kv<Note>();
        CHECK(error_of([&] { notes.put(working, "step", Note{"2", 2}); }) == inmem::errc::run_not_active);
        CHECK_THAT(inmem_test::what_of([&] { notes.put(working, "step", Note{"2", 2}); }),
                   Catch::Contains("interrupted") && Catch::Contains("resume_run"));
        CHECK(notes.get(working, "step")->n == 1); // still readable
    } // this session wrote nothing: the next open finds the same
    {
        TestType db(dir.path());
        CHECK(db.run(idle).status == inmem::run_status::interrupted);
        db.resume_run(working);
        CHECK(db.run(working).status == inmem::run_status::active);
        CHECK_FALSE(db.run(working).ended);
        db.template kv<Note>().put(working, "step", Note{"2", 2});
        db.end_run(idle, inmem::run_status::cancelled); // an interrupted run can be closed
        CHECK(error_of([&] { db.resume_run(idle); }) == inmem::errc::run_not_active);
    } // closed cleanly: what was left active stays active
    TestType db(dir.path());
    CHECK(db.recovery().clean_shutdown);
    CHECK(db.recovery().interrupted.empty());
    CHECK(db.run(working).status == inmem::run_status::active);
    CHECK(db.run(idle).status == inmem::run_status::cancelled);
    CHECK(db.template kv<Note>().get(working, "step")->n == 2);
}

TEST_CASE("runs left active at a clean close stay active: a process per step of one run works", "[recovery]") {
    temp_dir dir;
    inmem::run_id run;
    {
        strict_db db(dir.path());
        run = db.begin_run();
    }
    for (int step = 0; step < 5; ++step) {
        strict_db db(dir.path());
        CHECK(db.run(run).status == inmem::run_status::active);
        db.kv<Note>().put(run, "step", Note{"s", step});
    }
    strict_db db(dir.path());
    CHECK(db.kv<Note>().get(run, "step")->n == 4);
}
