// Tests of a user's retention choices: db.compact(run) drops a run's intermediate history,
// db.erase_run(run) forgets a run entirely (its data, history and run index entries), in
// memory, across reopen and snapshots, and out of the files on disk.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/time_machine.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <filesystem>
#include <string>
#include <vector>

using inmem_test::error_of;
using inmem_test::what_of;

namespace {
struct Note {
    std::string text;
    bool operator==(const Note&) const = default;
};
struct Said {
    std::string what;
};
struct Step {
    std::string name;
};
using retention_schema = inmem::schema<inmem::kv<Note>, inmem::events<Said>, inmem::traces<Step>>;
using configurations = inmem_test::all_configurations<retention_schema>;
using memory_db = inmem::basic_database<retention_schema, inmem::durability::none>;
using durable_db = inmem::basic_database<retention_schema, inmem::durability::strict>;

// A run that writes secret, overwrites it and erases a key: history worth keeping.
template <class Db>
inmem::run_id secret_run(Db& db, const std::string& secret, std::optional<inmem::run_id> parent = std::nullopt) {
    const auto run = db.begin_run({.name = "run " + secret, .tags = {"t-" + secret}, .parent = parent,
                                   .metadata = {{"who", secret}}});
    db.template kv<Note>().put(run, "note", Note{secret});
    db.template kv<Note>().put(run, "note", Note{"final"});
    db.template kv<Note>().put(run, "gone", Note{secret});
    db.template kv<Note>().erase(run, "gone");
    db.events().append(run, Said{secret});
    db.traces().record(run, Step{secret});
    return run;
}

// The names of the files under dir that hold bytes, space-separated ("" when none does).
std::string files_holding(const std::filesystem::path& dir, const std::string& bytes) {
    std::string out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
        if (entry.is_regular_file() && inmem_test::read_file(entry.path()).find(bytes) != std::string::npos)
            out += entry.path().filename().string() + " ";
    return out;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("compact drops an ended run's intermediate history and keeps its end and its events",
                        "[retention]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = secret_run(db, "s1");
    CHECK(error_of([&] { db.compact(run); }) == inmem::errc::invalid_argument); // still active
    const auto first_write = inmem::timeline(db, run).at(0).version; // the first note
    CHECK(db.template kv<Note>().get(inmem::replay(db, run, inmem::at_version{first_write}), "note") == Note{"s1"});
    db.end_run(run);
    db.compact(run);
    const auto check = [&](auto& d) {
        const auto end = inmem::replay(d, run);
        CHECK(d.template kv<Note>().get(end, "note") == Note{"final"});
        CHECK_FALSE(d.template kv<Note>().get(end, "gone"));
        CHECK(d.events().count(end) == 1);
        CHECK(d.events().verify(run).valid());
        // Points before the compaction are gone, and say so.
        CHECK(error_of([&] { (void)inmem::replay(d, run, inmem::at_version{first_write}); }) ==
              inmem::errc::invalid_argument);
    };
    check(db);
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        holder.reopen();
        check(*holder);
        holder->snapshot();
        holder.reopen();
        check(*holder);
    }
    CHECK(error_of([&] { holder->compact(inmem::run_id{999}); }) == inmem::errc::unknown_run);
}

TEMPLATE_LIST_TEST_CASE("erase_run forgets a run: its records, history, events, traces and run index entries",
                        "[retention]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto keep = secret_run(db, "kept");
    const auto gone = secret_run(db, "forgotten");
    CHECK(error_of([&] { db.erase_run(gone); }) == inmem::errc::invalid_argument); // still active
    db.end_run(gone, inmem::run_status::failed);
    const auto erased = db.erase_run(gone);
    CHECK(erased == std::vector{gone});
    const auto check = [&](auto& d) {
        const auto unknown_erased = [&](auto&& f) {
            CHECK(error_of(f) == inmem::errc::unknown_run);
            CHECK(what_of(f).find("was erased") != std::string::npos);
        };
        unknown_erased([&] { (void)d.run(gone); });
        unknown_erased([&] { (void)d.template kv<Note>().get(gone, "note"); });
        unknown_erased([&] { (void)inmem::replay(d, gone); });
        unknown_erased([&] { d.erase_run(gone); });
        unknown_erased([&] { (void)d.begin_run({.parent = gone}); });
        const auto all = d.runs();
        REQUIRE(all.size() == 1);
        CHECK(all[0].id == keep);
        CHECK(d.runs({.statuses = {inmem::run_status::failed}}).runs.empty());
        CHECK(d.runs({.tags = {"t-forgotten"}}).runs.empty());
        CHECK(d.runs({.metadata = {{"who", "forgotten"}}}).runs.empty());
        CHECK(d.runs({.tags = {"t-kept"}}).runs.size() == 1);
        // The other run is untouched, history and all.
        CHECK(d.template kv<Note>().get(keep, "note") == Note{"final"});
        CHECK(d.events().verify(keep).valid());
        CHECK(inmem::timeline(d, keep).size() == 6); // put, put, put, erase, append, record
        // Ids are never reused.
        const auto next = d.begin_run();
        CHECK(next.value > gone.value);
        d.end_run(next);
        d.erase_run(next);
    };
    check(db);
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        holder.reopen(); // from the WAL
        check(*holder);
        holder->snapshot();
        holder.reopen(); // from a snapshot
        check(*holder);
    }
}

TEST_CASE("erase_run refuses a run with live children unless asked to cascade, and never erases an active run",
          "[retention]") {
    memory_db db;
    const auto root = secret_run(db, "root");
    const auto child = secret_run(db, "child", root);
    const auto grandchild = secret_run(db, "grandchild", child);
    const auto sibling = secret_run(db, "sibling");
    db.end_run(root);
    db.end_run(child);
    CHECK(error_of([&] { db.erase_run(root); }) == inmem::errc::invalid_argument);
    CHECK(what_of([&] { db.erase_run(root); }).find("cascade") != std::string::npos);
    // Cascading reaches the grandchild, which is still active: refused, and nothing is erased.
    CHECK(error_of([&] { db.erase_run(root, {.cascade = true}); }) == inmem::errc::invalid_argument);
    CHECK(what_of([&] { db.erase_run(root, {.cascade = true}); }).find("run " + std::to_string(grandchild.value) + " is active") !=
          std::string::npos);
    CHECK(db.runs().size() == 4);
    db.end_run(grandchild);
    CHECK(db.erase_run(root, {.cascade = true}) == std::vector{root, child, grandchild});
    REQUIRE(db.runs().size() == 1);
    CHECK(db.runs()[0].id == sibling);
    CHECK(db.runs({.descendant_of = sibling}).runs.empty());
}

TEST_CASE("erase_run with an erased child needs no cascade", "[retention]") {
    memory_db db;
    const auto root = secret_run(db, "root");
    const auto child = secret_run(db, "child", root);
    db.end_run(child);
    db.erase_run(child);
    db.end_run(root);
    CHECK(db.erase_run(root) == std::vector{root});
    CHECK(db.runs().empty());
}

TEST_CASE("erase_run takes the run's bytes out of the database's files (the WAL and the snapshots)",
          "[retention]") {
    inmem_test::temp_dir dir;
    const std::string secret = "secret-7f3a9c";
    inmem::run_id gone, keep;
    {
        durable_db db(dir.path());
        keep = secret_run(db, "kept-b41");
        gone = secret_run(db, secret);
        db.end_run(gone);
        db.snapshot(); // in a snapshot file too
        db.kv<Note>().put(keep, "after", Note{"x"});
        CHECK_FALSE(files_holding(dir.path(), secret).empty());
        db.erase_run(gone);
        CHECK(files_holding(dir.path(), secret) == "");
        CHECK_FALSE(files_holding(dir.path(), "kept-b41").empty());
    }
    durable_db db(dir.path());
    CHECK(files_holding(dir.path(), secret) == "");
    CHECK(db.runs().size() == 1);
    CHECK(db.kv<Note>().get(keep, "after") == Note{"x"});
    CHECK(error_of([&] { (void)db.run(gone); }) == inmem::errc::unknown_run);
}
