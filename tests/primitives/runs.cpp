// Tests of runs (inmem/primitives/runs.hpp and the run registry in engine.hpp).
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <set>

using inmem_test::error_of;

namespace {
struct Note {
    std::string text;
};
using note_db = inmem::database<inmem::schema<inmem::kv<Note>>>;

} // namespace

TEST_CASE("begin_run returns distinct, increasing, non-zero ids", "[runs]") {
    note_db db;
    std::set<std::uint64_t> seen;
    inmem::run_id last{};
    for (int i = 0; i < 100; ++i) {
        auto run = db.begin_run();
        CHECK(run);
        CHECK(run > last);
        CHECK(seen.insert(run.value).second);
        last = run;
    }
}

TEST_CASE("a run's record carries its options, status and times", "[runs]") {
    note_db db;
    auto before = std::chrono::system_clock::now();
    auto parent = db.begin_run({.name = "plan"});
    auto child = db.begin_run({.name = "act", .tags = {"prod", "eu"}, .parent = parent});
    auto info = db.run(child);
    CHECK(info.id == child);
    CHECK(info.name == "act");
    CHECK(info.tags == std::vector<std::string>{"prod", "eu"});
    REQUIRE(info.parent);
    CHECK(*info.parent == parent);
    CHECK(info.status == inmem::run_status::active);
    CHECK(info.started >= before);
    CHECK_FALSE(info.ended);
    CHECK_FALSE(db.run(parent).parent);
}

TEST_CASE("end_run records the final status and end time; the run becomes read-only", "[runs]") {
    note_db db;
    auto run = db.begin_run({.name = "r"});
    auto notes = db.kv<Note>();
    notes.put(run, "k", Note{"v"});
    db.end_run(run, inmem::run_status::failed);
    auto info = db.run(run);
    CHECK(info.status == inmem::run_status::failed);
    REQUIRE(info.ended);
    CHECK(*info.ended >= info.started);
    CHECK(error_of([&] { notes.put(run, "k2", Note{"w"}); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { notes.erase(run, "k"); }) == inmem::errc::run_not_active);
    CHECK(notes.get(run, "k")->text == "v"); // still readable
    CHECK(notes.list(run).size() == 1);
}

TEST_CASE("run lifecycle errors are clear", "[runs]") {
    note_db db;
    auto run = db.begin_run();
    CHECK(error_of([&] { db.end_run(run, inmem::run_status::active); }) == inmem::errc::invalid_argument);
    db.end_run(run);
    CHECK(error_of([&] { db.end_run(run); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { db.end_run(inmem::run_id{999}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { db.run(inmem::run_id{999}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { db.begin_run({.parent = inmem::run_id{999}}); }) == inmem::errc::unknown_run);
    try {
        db.end_run(run);
        FAIL("ended twice");
    } catch (const inmem::error& e) { // says it has ended, and how
        CHECK_THAT(e.what(), Catch::Contains("end_run: run " + std::to_string(run.value)) &&
                                 Catch::Contains("has already ended (completed)"));
    }
    auto failed = db.begin_run();
    db.end_run(failed, inmem::run_status::failed);
    CHECK_THAT(std::string(inmem_test::what_of([&] { db.end_run(failed, inmem::run_status::cancelled); })),
               Catch::Contains("has already ended (failed)"));
    // resume_run is for interrupted runs only (see tests/durability/recovery.cpp for those).
    CHECK(error_of([&] { db.resume_run(failed); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { db.resume_run(db.begin_run()); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.resume_run(inmem::run_id{999}); }) == inmem::errc::unknown_run);
}

TEST_CASE("a failed begin_run consumes no id and leaves no record", "[runs]") {
    note_db db;
    auto a = db.begin_run();
    CHECK_THROWS_AS(db.begin_run({.parent = inmem::run_id{a.value + 100}}), inmem::error);
    auto b = db.begin_run();
    CHECK(b.value == a.value + 1);
    CHECK(db.runs().size() == 2);
}

TEST_CASE("runs() lists every run oldest first with its current record", "[runs]") {
    note_db db;
    auto a = db.begin_run({.name = "a"});
    auto b = db.begin_run({.name = "b"});
    auto c = db.begin_run({.name = "c", .parent = a});
    db.end_run(b, inmem::run_status::cancelled);
    auto all = db.runs();
    REQUIRE(all.size() == 3);
    CHECK(all[0].id == a);
    CHECK(all[1].id == b);
    CHECK(all[1].status == inmem::run_status::cancelled);
    CHECK(all[2].id == c);
    CHECK(all[2].parent == a);
    for (const auto& info : all) CHECK(info == db.run(info.id));
}

TEST_CASE("run statuses have names", "[runs]") {
    CHECK(inmem::to_string(inmem::run_status::active) == "active");
    CHECK(inmem::to_string(inmem::run_status::completed) == "completed");
    CHECK(inmem::to_string(inmem::run_status::failed) == "failed");
    CHECK(inmem::to_string(inmem::run_status::cancelled) == "cancelled");
    CHECK(inmem::to_string(inmem::run_status::interrupted) == "interrupted");
}

TEST_CASE("runs(status) lists the runs with that status, oldest first", "[runs]") {
    note_db db;
    auto a = db.begin_run({.name = "a"});
    auto b = db.begin_run({.name = "b"});
    auto c = db.begin_run({.name = "c"});
    db.end_run(a, inmem::run_status::failed);
    db.end_run(c, inmem::run_status::failed);
    auto failed = db.runs(inmem::run_status::failed);
    REQUIRE(failed.size() == 2);
    CHECK(failed[0].id == a);
    CHECK(failed[1].id == c);
    REQUIRE(db.runs(inmem::run_status::active).size() == 1);
    CHECK(db.runs(inmem::run_status::active)[0].id == b);
    CHECK(db.runs(inmem::run_status::interrupted).empty()); // only a crash interrupts
}
