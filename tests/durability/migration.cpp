// Opening a database under a changed schema (durability/migration.hpp): the records are read
// as the program's types, by type name and field name, from a snapshot and from the WAL,
// with keys renumbered when slots moved and the runs' histories converted too; the open
// reports what changed and takes a snapshot under the new schema; a type the schema dropped
// has its files kept; what cannot be converted is refused before anything is written.
// (The two-program matrix is tests/integration/evolution_*.cpp; kill -9 during a
// migration, tests/crash/migration_crash.cpp.)
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/time_machine.hpp>

#include "../support.hpp"
#include "faulty_fs.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace v1 {
struct Note {
    std::string text;
    int priority = 0;
    std::string legacy;
    bool operator==(const Note&) const = default;
};
struct Task {
    int step = 0;
};
struct Said {
    std::string what;
};
struct Span {
    std::string name;
};
struct Gone {
    int x = 0;
};
} // namespace v1

namespace v2 {
struct Note { // legacy removed, priority widened and moved, done added with a default
    std::int64_t priority = 0;
    std::string text;
    bool done = true;
};
struct Task { // owner added
    int step = 0;
    std::optional<std::string> owner;
};
struct Span { // attempts added
    std::string name;
    int attempts = 3;
};
struct Added {
    int y = 0;
};
struct BadNote { // priority is now a string: no rule
    std::string text;
    std::string priority;
};
struct Said2 { // an event type whose layout changed
    std::string what;
    int weight = 0;
};
} // namespace v2

#define NAMED(T, N)                                                                                                    \
    template <>                                                                                                        \
    struct inmem::schema_traits<T> {                                                                                   \
        static constexpr std::string_view name = N;                                                                    \
    }
NAMED(v1::Note, "Note");
NAMED(v2::Note, "Note");
NAMED(v2::BadNote, "Note");
NAMED(v1::Task, "Task");
NAMED(v2::Task, "Task");
NAMED(v1::Said, "Said");
NAMED(v2::Said2, "Said");
NAMED(v1::Span, "Span");
NAMED(v2::Span, "Span");
NAMED(v1::Gone, "Gone");
NAMED(v2::Added, "Added");
#undef NAMED

namespace {
using inmem::errc;
using inmem_test::temp_dir;

using v1_schema = inmem::schema<inmem::kv<v1::Note, v1::Gone>, inmem::states<v1::Task>, inmem::events<v1::Said>,
                                inmem::traces<v1::Span>>;
// Gone dropped, Added before Note: every slot moves.
using v2_schema = inmem::schema<inmem::kv<v2::Added, v2::Note>, inmem::states<v2::Task>, inmem::events<v1::Said>,
                                inmem::traces<v2::Span>>;
using v1_db = inmem::basic_database<v1_schema, inmem::durability::strict>;
using v2_db = inmem::basic_database<v2_schema, inmem::durability::strict>;


struct written {
    inmem::run_id run;
    inmem::version_t first_put = 0; // the version of the first Note "a"
};

// Fills dir under v1: notes (one overwritten, for the history), a state record, events, traces
// and records of Gone; with_snapshot: the last half after a snapshot.
written write_v1(const std::filesystem::path& dir, bool with_snapshot) {
    v1_db db(dir);
    const auto run = db.begin_run({.name = "v1"});
    auto notes = db.kv<v1::Note>();
    written w{run, notes.put(run, "a", {"first", 1, "old"})};
    notes.put(run, "a", {"second", 2, "older"});
    notes.put(run, "b", {"bee", -7, ""});
    db.kv<v1::Gone>().put(run, "g", {5});
    REQUIRE(db.states<v1::Task>().init(run, "task", {1}));
    db.events().append(run, v1::Said{"hello"});
    if (with_snapshot) db.snapshot();
    db.events().append(run, v1::Said{"world"});
    db.traces().record(run, v1::Span{"plan"});
    db.states<v1::Task>().set(run, "task", {2});
    notes.put(run, "c", {"sea", 3, "x"});
    db.kv<v1::Gone>().put(run, "h", {6});
    return w;
}

// What write_v1 wrote, as v2 reads it (plus, once written, the new "d" and "y").
void check_v2(v2_db& db, const written& w, bool with_new_writes = false) {
    auto notes = db.kv<v2::Note>();
    const auto a = notes.get(w.run, "a");
    REQUIRE(a);
    CHECK(a->text == "second");
    CHECK(a->priority == 2);
    CHECK(a->done); // the default member initialiser
    CHECK(notes.get(w.run, "b")->priority == -7);
    CHECK(notes.get(w.run, "c")->text == "sea");
    CHECK(notes.list(w.run).size() == (with_new_writes ? 4u : 3u));
    CHECK(db.kv<v2::Added>().list(w.run).size() == (with_new_writes ? 1u : 0u));
    const auto task = db.states<v2::Task>().read("task");
    REQUIRE(task);
    CHECK(task->value.step == 2);
    CHECK_FALSE(task->value.owner);
    CHECK(task->writer == w.run);
    const auto said = db.events().read(w.run);
    REQUIRE(said.size() == 2);
    CHECK(std::get<v1::Said>(said[1].value).what == "world");
    CHECK(db.events().verify(w.run)); // renumbering the event type's slot left the chain whole
    const auto spans = db.traces().read(w.run);
    REQUIRE(spans.size() == 1);
    CHECK(std::get<v2::Span>(spans[0].value).name == "plan");
    CHECK(std::get<v2::Span>(spans[0].value).attempts == 3);
    // The history: the overwritten note reads, as of its commit, as the new type.
    const auto then = inmem::replay(db, w.run, inmem::at_version{w.first_put});
    const auto old_notes = notes.list(then);
    REQUIRE(old_notes.size() == 1);
    CHECK(old_notes[0].value.text == "first");
    CHECK(old_notes[0].value.priority == 1);
}
} // namespace

TEST_CASE("a database opens under a changed schema: fields and slots by name, values, states, events, traces and "
          "history converted",
          "[evolution]") {
    temp_dir dir;
    const bool with_snapshot = GENERATE(false, true);
    INFO((with_snapshot ? "from a snapshot and the WAL" : "from the WAL"));
    const written w = write_v1(dir.path(), with_snapshot);
    {
        v2_db db(dir.path());
        const auto& report = db.recovery();
        INFO([&] {
            std::string all;
            for (const auto& c : report.schema_changes) all += c + "\n";
            return all;
        }());
        auto has = [&](std::string_view line) {
            return std::find(report.schema_changes.begin(), report.schema_changes.end(), line) !=
                   report.schema_changes.end();
        };
        CHECK(has("kv<Note>: $.legacy: removed (string)"));
        CHECK(has("kv<Note>: slot 0 is now slot 1"));
        CHECK(has("kv<Gone>: no longer in the schema; its records are dropped"));
        CHECK(has("kv<Added>: new in the schema (slot 0)"));
        CHECK(report.records_migrated > 0);
        CHECK(report.records_dropped > 0);
        CHECK(report.snapshot_written);
        check_v2(db, w);
        // It takes writes under the new schema, beside what was migrated.
        db.kv<v2::Note>().put(w.run, "d", {4, "dee", false});
        db.kv<v2::Added>().put(w.run, "y", {9});
        // The dropped type's records are kept in files that open under the old schema.
        REQUIRE_FALSE(report.files_kept.empty());
        CHECK(std::filesystem::path(report.files_kept).parent_path() == dir.path());
    }
    {
        v2_db db(dir.path()); // the snapshot under the new schema: nothing to migrate
        CHECK(db.recovery().schema_changes.empty());
        CHECK(db.recovery().records_migrated == 0);
        check_v2(db, w, true);
        CHECK(db.kv<v2::Note>().get(w.run, "d")->text == "dee");
        CHECK(db.kv<v2::Added>().get(w.run, "y")->y == 9);
    }
    {
        const std::string kept = (dir.path() / ("before-migration-")).string();
        std::filesystem::path archive;
        for (const auto& e : std::filesystem::directory_iterator(dir.path()))
            if (e.is_directory() && e.path().filename().string().starts_with("before-migration-")) archive = e.path();
        REQUIRE_FALSE(archive.empty());
        v1_db old(archive);
        CHECK(old.recovery().schema_changes.empty());
        CHECK(old.kv<v1::Gone>().get(w.run, "g")->x == 5);
        CHECK(old.kv<v1::Gone>().get(w.run, "h")->x == 6);
        CHECK(old.kv<v1::Note>().get(w.run, "a")->legacy == "older");
    }
}

TEST_CASE("a change without a rule is refused at open, naming the file, the type, the field and both layouts, and "
          "nothing is written",
          "[evolution]") {
    temp_dir dir;
    const bool with_snapshot = GENERATE(false, true);
    write_v1(dir.path(), with_snapshot);
    const auto before = inmem_test::regular_files(dir.path());
    auto refused = [&](auto open, std::vector<std::string> words) {
        try {
            open();
            FAIL("opened");
        } catch (const inmem::error& e) {
            INFO(e.what());
            CHECK(e.code() == errc::schema_mismatch);
            for (const auto& word : words) CHECK_THAT(e.what(), Catch::Contains(word));
        }
        CHECK(inmem_test::regular_files(dir.path()) == before);
    };
    SECTION("a field's type changed") {
        using bad = inmem::basic_database<inmem::schema<inmem::kv<v2::BadNote, v1::Gone>, inmem::states<v1::Task>,
                                                        inmem::events<v1::Said>, inmem::traces<v1::Span>>,
                                          inmem::durability::strict>;
        refused([&] { bad db(dir.path()); },
                {"kv<Note>", "$.priority", "i32", "string", dir.path().string(), "schema_traits"});
    }
    SECTION("an event type's layout changed") {
        using bad = inmem::basic_database<inmem::schema<inmem::kv<v1::Note, v1::Gone>, inmem::states<v1::Task>,
                                                        inmem::events<v2::Said2>, inmem::traces<v1::Span>>,
                                          inmem::durability::strict>;
        refused([&] { bad db(dir.path()); }, {"events<Said>", "hashed", "another type"});
    }
    SECTION("an event type added before the others") {
        using bad = inmem::basic_database<inmem::schema<inmem::kv<v1::Note, v1::Gone>, inmem::states<v1::Task>,
                                                        inmem::events<v2::Added, v1::Said>, inmem::traces<v1::Span>>,
                                          inmem::durability::strict>;
        refused([&] { bad db(dir.path()); }, {"event types changed from [Said] to [Added, Said]", "at the end"});
    }
    SECTION("no type in common") {
        using bad = inmem::basic_database<inmem::schema<inmem::kv<v2::Added>>, inmem::durability::strict>;
        refused([&] { bad db(dir.path()); }, {"none of its types", "kv<Note>", "kv<Added>"});
    }
}

TEST_CASE("a migration that only renumbers slots keeps every value, and the old schema's program can go back",
          "[evolution]") {
    temp_dir dir;
    using a_db = inmem::basic_database<inmem::schema<inmem::kv<v1::Note>>, inmem::durability::strict>;
    using b_db = inmem::basic_database<inmem::schema<inmem::kv<v1::Gone, v1::Note>>, inmem::durability::strict>;
    inmem::run_id run;
    {
        a_db db(dir.path());
        run = db.begin_run();
        for (int i = 0; i < 100; ++i) db.kv<v1::Note>().put(run, "k" + std::to_string(i), {"n", i, "l"});
    }
    {
        b_db db(dir.path());
        CHECK(db.recovery().records_dropped == 0);
        CHECK(db.recovery().files_kept.empty()); // nothing left out: nothing to keep
        CHECK(db.kv<v1::Note>().list(run).size() == 100);
        db.kv<v1::Gone>().put(run, "g", {1});
    }
    {
        a_db db(dir.path()); // Gone dropped again: kept aside
        CHECK(db.recovery().records_dropped == 1);
        CHECK_FALSE(db.recovery().files_kept.empty());
        CHECK(db.kv<v1::Note>().get(run, "k42")->priority == 42);
    }
}

namespace v1 {
struct Doc {
    std::string title;
};
} // namespace v1
namespace v2 {
struct Doc {
    std::string title;
    int year = 2026;
};
} // namespace v2
using v1_docs = inmem::collection<v1::Doc, 4, inmem::metric::l2, inmem::exact>;
using v2_docs = inmem::collection<v2::Doc, 4, inmem::metric::l2, inmem::exact>;
using v1_docs_graph = inmem::collection<v1::Doc, 4, inmem::metric::l2, inmem::hnsw<8, 32, 32>>;
template <>
struct inmem::schema_traits<v1_docs> {
    static constexpr std::string_view name = "docs";
};
template <>
struct inmem::schema_traits<v2_docs> {
    static constexpr std::string_view name = "docs";
};

TEST_CASE("a vector collection migrates: its metadata by field name, its index rebuilt from the migrated records, "
          "and options that changed with it",
          "[evolution]") {
    temp_dir dir;
    using a_db = inmem::basic_database<inmem::schema<inmem::kv<v1::Note>, inmem::vectors<v1_docs>>, inmem::durability::strict>;
    using b_db = inmem::basic_database<inmem::schema<inmem::kv<v1::Note>, inmem::vectors<v2_docs>>, inmem::durability::strict>;
    // the options (not stored) changed, and so did another type: the collection is matched by its layout
    using c_db = inmem::basic_database<inmem::schema<inmem::kv<v1::Gone, v1::Note>, inmem::vectors<v1_docs_graph>>,
                                       inmem::durability::strict>;
    inmem::run_id run;
    {
        a_db db(dir.path());
        run = db.begin_run();
        for (int i = 0; i < 50; ++i)
            db.vectors<v1::Doc>().upsert(run, "d" + std::to_string(i),
                                         std::vector<float>{float(i), 1.0f, 0.0f, float(i % 3)},
                                         {"doc " + std::to_string(i)});
        db.kv<v1::Note>().put(run, "n", {"x", 1, ""});
    }
    {
        const auto copy = dir.path().parent_path() / (dir.path().filename().string() + "-c");
        std::filesystem::copy(dir.path(), copy);
        {
            c_db db(copy);
            CHECK(db.recovery().records_dropped == 0);
            CHECK(db.vectors<v1::Doc>().size() == 50);
            CHECK(db.vectors<v1::Doc>().get(run, "d7")->meta.title == "doc 7");
        }
        std::filesystem::remove_all(copy);
    }
    b_db db(dir.path());
    auto docs = db.vectors<v2::Doc>();
    CHECK(docs.size() == 50);
    const auto d7 = docs.get(run, "d7");
    REQUIRE(d7);
    CHECK(d7->meta.title == "doc 7");
    CHECK(d7->meta.year == 2026);
    CHECK(d7->embedding == std::vector<float>{7.0f, 1.0f, 0.0f, 1.0f});
    const auto hits = docs.search(std::vector<float>{7.0f, 1.0f, 0.0f, 1.0f}, 1);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].id == "d7");
    CHECK(hits[0].meta.year == 2026);
}

TEST_CASE("a migrating open that meets a full disk or a power loss loses nothing: the old files stay, the next open "
          "migrates again",
          "[evolution]") {
    temp_dir dir;
    const written w = write_v1(dir.path(), true);
    const auto before = inmem_test::regular_files(dir.path());
    auto fs = std::make_shared<inmem_test::faulty_file_system>(false);
    inmem::open_options options;
    options.fs = fs;
    SECTION("keeping the dropped type's files fails: the open fails, nothing changed") {
        fs->inject({.op = inmem_test::fs_op::append, .err = ENOSPC, .sticky = true, .path_contains = "before-migration"});
        try {
            v2_db db(dir.path(), options);
            FAIL("opened");
        } catch (const inmem::error& e) {
            CHECK(e.code() == errc::no_space);
            CHECK_THAT(e.what(), Catch::Contains("before-migration"));
        }
        CHECK(inmem_test::regular_files(dir.path()) == before);
    }
    SECTION("the snapshot under the new schema fails: the open goes on, and says so") {
        fs->inject({.op = inmem_test::fs_op::append, .err = ENOSPC, .sticky = true, .path_contains = ".snap.tmp"});
        v2_db db(dir.path(), options);
        CHECK_FALSE(db.recovery().snapshot_written);
        CHECK_FALSE(db.recovery().snapshot_error.empty());
        check_v2(db, w);
        db.kv<v2::Note>().put(w.run, "d", {4, "dee", false}); // written under v2, beside the v1 files
        db.kv<v2::Added>().put(w.run, "y", {9});
    }
    SECTION("a power loss right after the migrating open") {
        { v2_db db(dir.path(), options); }
        fs->simulate_power_loss();
        fs->heal();
        v2_db db(dir.path(), options);
        CHECK(db.recovery().schema_changes.empty()); // the snapshot was durable before anything relied on it
        check_v2(db, w);
        return;
    }
    fs->heal();
    v2_db db(dir.path());
    CHECK_FALSE(db.recovery().schema_changes.empty()); // migrated again, from the old files
    check_v2(db, w, db.kv<v2::Added>().get(w.run, "y").has_value());
}

namespace v1 {
struct Step {
    int n = 0;
};
} // namespace v1

TEST_CASE("event and trace types added at the end of their lists: the logs widen, a log of one type gets its type "
          "index, the chain still verifies",
          "[evolution]") {
    temp_dir dir;
    const bool with_snapshot = GENERATE(false, true);
    INFO((with_snapshot ? "from a snapshot and the WAL" : "from the WAL"));
    using one = inmem::basic_database<inmem::schema<inmem::kv<v1::Note>, inmem::events<v1::Said>, inmem::traces<v1::Span>>,
                                      inmem::durability::strict>;
    using two = inmem::basic_database<
        inmem::schema<inmem::kv<v1::Note>, inmem::events<v1::Said, v1::Gone>, inmem::traces<v1::Span, v1::Step>>,
        inmem::durability::strict>;
    using three = inmem::basic_database<inmem::schema<inmem::kv<v2::Added, v1::Note>, inmem::events<v1::Said, v1::Gone, v1::Step>,
                                                      inmem::traces<v1::Span, v1::Step>>,
                                        inmem::durability::strict>;
    inmem::run_id run;
    {
        one db(dir.path());
        run = db.begin_run();
        for (int i = 0; i < 10; ++i) {
            db.events().append(run, v1::Said{"s" + std::to_string(i)});
            db.traces().record(run, v1::Span{"t" + std::to_string(i)});
            if (with_snapshot && i == 4) db.snapshot();
        }
    }
    {
        two db(dir.path());
        INFO([&] {
            std::string all;
            for (const auto& c : db.recovery().schema_changes) all += c + "\n";
            return all;
        }());
        CHECK(std::find(db.recovery().schema_changes.begin(), db.recovery().schema_changes.end(),
                        "the event log: [Said] now [Said, Gone], its records indexed by type") !=
              db.recovery().schema_changes.end());
        auto events = db.events();
        CHECK(events.verify(run));
        CHECK(events.read<v1::Said>(run).size() == 10); // through the type index the migration built
        CHECK(events.count<v1::Said>(run) == 10);
        CHECK(events.count<v1::Gone>(run) == 0);
        events.append(run, v1::Gone{1});
        events.append(run, v1::Said{"after"});
        CHECK(events.read<v1::Said>(run).size() == 11);
        CHECK(events.read<v1::Said>(run).back().id.seq == 11);
        CHECK(events.read<v1::Gone>(run).size() == 1);
        CHECK(events.verify(run));
        auto traces = db.traces();
        CHECK(traces.read<v1::Span>(run).size() == 10);
        traces.record(run, v1::Step{3});
        CHECK(traces.read<v1::Step>(run).size() == 1);
        CHECK(traces.count(run) == 11);
    }
    {
        three db(dir.path()); // from several types to more, and every slot moved
        auto events = db.events();
        CHECK(events.verify(run));
        CHECK(events.count<v1::Said>(run) == 11);
        CHECK(events.count<v1::Gone>(run) == 1);
        CHECK(events.count<v1::Step>(run) == 0);
        events.append(run, v1::Step{2});
        CHECK(events.read<v1::Step>(run).size() == 1);
        CHECK(events.read(run).size() == 13);
        CHECK(events.verify(run));
        CHECK(db.traces().read<v1::Step>(run).size() == 1);
        CHECK(db.traces().read<v1::Span>(run).size() == 10);
        // and the time machine reads the events as of an older point
        const auto then = inmem::replay(db, run, inmem::at_event{4});
        CHECK(events.read(then).size() == 5);
    }
}
