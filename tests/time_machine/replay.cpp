// Tests of inmem/time_machine/replay.hpp and the history it reads (history/run_history.hpp):
// a run as it was at any point, after overwrites and erasures, across reopen and snapshots.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/time_machine.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <map>
#include <optional>
#include <random>
#include <string>

using inmem_test::error_of;

namespace {
struct Note {
    std::string text;
    int n = 0;
    bool operator==(const Note&) const = default;
};
struct Said {
    std::string what;
    bool operator==(const Said&) const = default;
};
using replay_schema = inmem::schema<inmem::kv<Note, int>, inmem::events<Said>>;
using configurations = inmem_test::all_configurations<replay_schema>;

// What a run's KV of Note held after each commit: version -> key -> note.
using model = std::map<inmem::version_t, std::map<std::string, Note>>;

template <class Db>
std::map<std::string, Note> listed(Db& db, const inmem::replay_view<typename Db::engine_type>& view) {
    std::map<std::string, Note> out;
    for (const auto& e : db.template kv<Note>().list(view)) out.emplace(e.key, e.value);
    return out;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("replay shows a run's KV as of every commit, overwritten and erased values included",
                        "[replay]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto run = holder->begin_run();
    auto other = holder->begin_run();
    model states;
    std::map<std::string, Note> now;
    states[0] = now;
    std::mt19937 rng(7);
    for (int i = 0; i < 200; ++i) {
        auto& db = *holder;
        const std::string key = "k" + std::to_string(rng() % 12);
        inmem::version_t v = 0;
        if (rng() % 4 == 0) {
            if (!db.template kv<Note>().erase(run, key)) continue;
            v = db.last_version();
            now.erase(key);
        } else {
            const Note note{"note " + std::to_string(i), i};
            v = db.template kv<Note>().put(run, key, note);
            now[key] = note;
        }
        states[v] = now;
        db.template kv<Note>().put(other, key, Note{"other", -i}); // another run's writes in between
        if constexpr (inmem_test::test_database<TestType>::persistent) {
            if (i == 80) db.snapshot();
            if (i == 120) holder.reopen();
        }
    }
    auto check_all = [&](auto& db) {
        for (const auto& [v, expected] : states) {
            const auto view = inmem::replay(db, run, inmem::at_version{v});
            INFO("version " << v);
            CHECK(view.version() == v);
            CHECK(listed(db, view) == expected);
            for (int k = 0; k < 12; ++k) {
                const std::string key = "k" + std::to_string(k);
                const auto it = expected.find(key);
                CHECK(db.template kv<Note>().get(view, key) ==
                      (it == expected.end() ? std::nullopt : std::optional<Note>(it->second)));
            }
            // Between commits of the run: as of the commit before.
            const auto between = inmem::replay(db, run, inmem::at_version{v + 1});
            if (!states.contains(v + 1)) CHECK(listed(db, between) == expected);
        }
        CHECK(listed(db, inmem::replay(db, run)) == now); // the end
    };
    check_all(*holder);
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        holder->snapshot();
        holder.reopen();
        check_all(*holder);
    }
}

TEMPLATE_LIST_TEST_CASE("replay at an event or a time shows the run just after that commit; events read at the point",
                        "[replay]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto log = db.events();
    for (int i = 0; i < 10; ++i) {
        db.clock(); // (the system clock: times only go forward within a run)
        log.append(run, Said{"step " + std::to_string(i)});
        db.template kv<int>().put(run, "step", i);
    }
    for (std::uint64_t seq = 0; seq < 10; ++seq) {
        const auto view = inmem::replay(db, run, inmem::at_event{seq});
        CHECK(log.count(view) == seq + 1);
        const auto events = log.read(view);
        REQUIRE(events.size() == seq + 1);
        CHECK(std::get<Said>(events.back().value).what == "step " + std::to_string(seq));
        // The event's commit came before the put of the same step.
        const auto step = db.template kv<int>().get(view, "step");
        if (seq == 0) CHECK_FALSE(step);
        else CHECK(step == static_cast<int>(seq) - 1);
        CHECK(log.head(view).hash == events.back().hash);

        const auto at_time = inmem::replay(db, run, inmem::at_time{events.back().time});
        CHECK(at_time.version() >= view.version());
        CHECK(log.count(at_time) >= seq + 1);
    }
    CHECK(error_of([&] { (void)inmem::replay(db, run, inmem::at_event{10}); }) == inmem::errc::not_found);
    CHECK(error_of([&] { (void)inmem::replay(db, inmem::run_id{99}); }) == inmem::errc::unknown_run);
    const auto before = inmem::replay(db, run, inmem::at_time{std::chrono::system_clock::time_point{}});
    CHECK(before.version() == 0);
    CHECK(log.count(before) == 0);
    CHECK(db.template kv<int>().list(before).empty());
}

TEMPLATE_LIST_TEST_CASE("a replay never changes: writes after it do not show, and two replays are equal", "[replay]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto notes = db.template kv<Note>();
    notes.put(run, "a", Note{"first", 1});
    const auto v1 = notes.put(run, "a", Note{"second", 2});
    const auto at_end = inmem::replay(db, run);
    const auto at_v1 = inmem::replay(db, run, inmem::at_version{v1 - 1});
    notes.put(run, "a", Note{"third", 3});
    notes.put(run, "b", Note{"new", 4});
    CHECK(notes.get(at_end, "a") == Note{"second", 2});
    CHECK_FALSE(notes.get(at_end, "b"));
    CHECK(notes.get(at_v1, "a") == Note{"first", 1});
    CHECK(listed(db, inmem::replay(db, run, inmem::at_version{v1})) ==
          listed(db, inmem::replay(db, run, inmem::at_version{v1})));
    CHECK(notes.get(run, "a") == Note{"third", 3}); // the live run is as it is
}
