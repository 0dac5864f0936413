// Tests of inmem/time_machine/fork.hpp, timeline.hpp and diff.hpp on small, known runs.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/time_machine.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <string>

using inmem_test::error_of;

namespace {
struct Plan {
    std::string goal;
    int budget = 0;
    bool operator==(const Plan&) const = default;
};
struct Said {
    std::string what;
    bool operator==(const Said&) const = default;
};
using fork_schema = inmem::schema<inmem::kv<Plan>, inmem::states<int>, inmem::events<Said, inmem::rolled_back>>;
using db_type = inmem::basic_database<fork_schema, inmem::durability::none>;
using configurations = inmem_test::all_configurations<fork_schema>;

// A run of three steps: each appends an event and rewrites the plan.
template <class Db>
inmem::run_id three_steps(Db& db) {
    auto run = db.begin_run({.name = "agent"});
    for (int i = 0; i < 3; ++i) {
        db.events().append(run, Said{"step " + std::to_string(i)});
        db.template kv<Plan>().put(run, "plan", Plan{"goal " + std::to_string(i), i});
    }
    db.template kv<Plan>().put(run, "notes", Plan{"notes", 9});
    return run;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("fork at an event: the child starts from the parent's state then, links its chain, and "
                        "neither changes the other",
                        "[fork]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = three_steps(db);
    const auto child = inmem::fork(db, run, inmem::at_event{1}, {.name = "what if", .tags = {"fork"}});
    const auto info = db.run(child);
    CHECK(info.parent == run);
    CHECK(info.status == inmem::run_status::active);
    CHECK(info.name == "what if");
    CHECK(info.metadata.at("inmem.fork.events") == "2");
    // After event 1's commit: the plan of step 0, no notes yet.
    CHECK(db.template kv<Plan>().get(child, "plan") == Plan{"goal 0", 0});
    CHECK_FALSE(db.template kv<Plan>().get(child, "notes"));
    CHECK(db.events().count(child) == 0);

    const auto parent_head = db.events().head(inmem::replay(db, run, inmem::at_event{1}));
    const auto first = db.events().append(child, Said{"another step"});
    CHECK(first.seq == 0);
    const auto e = db.events().get(first);
    REQUIRE(e);
    CHECK(e->prev_hash == parent_head.hash); // the child's chain begins from the parent's
    CHECK(db.events().verify(child));
    db.template kv<Plan>().put(child, "plan", Plan{"other goal", 7});
    CHECK(db.template kv<Plan>().get(run, "plan") == Plan{"goal 2", 2});
    db.template kv<Plan>().put(run, "plan", Plan{"parent goes on", 3});
    CHECK(db.template kv<Plan>().get(child, "plan") == Plan{"other goal", 7});
    CHECK(db.events().verify(run));

    if constexpr (inmem_test::test_database<TestType>::persistent) {
        holder.reopen();
        CHECK(holder->events().verify(child));
        CHECK(holder->template kv<Plan>().get(child, "plan") == Plan{"other goal", 7});
    }
}

TEST_CASE("a fork's chain that does not start from its recorded link fails verify", "[fork]") {
    db_type db;
    const auto run = three_steps(db);
    const auto child = inmem::fork(db, run); // at its end
    db.events().append(child, Said{"x"});
    REQUIRE(db.events().verify(child));
    db.set_metadata(child, "inmem.fork.chain", std::string(64, '0')); // another link
    const auto report = db.events().verify(child);
    CHECK_FALSE(report);
    CHECK(report.problem == inmem::chain_problem::broken_link);
    CHECK(report.first_invalid == 0);
    db.set_metadata(child, "inmem.fork.chain", "not hex");
    CHECK(db.events().verify(child).problem == inmem::chain_problem::malformed);
}

TEST_CASE("fork of a run without events, and of an unknown run", "[fork]") {
    db_type db;
    auto run = db.begin_run();
    db.kv<Plan>().put(run, "plan", Plan{"only kv", 1});
    const auto child = inmem::fork(db, run, inmem::at_version{0}); // before anything
    CHECK(db.kv<Plan>().list(child).empty());
    CHECK_FALSE(db.run(child).metadata.contains("inmem.fork.chain"));
    const auto at_end = inmem::fork(db, run);
    CHECK(db.kv<Plan>().get(at_end, "plan") == Plan{"only kv", 1});
    CHECK(error_of([&] { inmem::fork(db, inmem::run_id{42}); }) == inmem::errc::unknown_run);
}

TEMPLATE_LIST_TEST_CASE("rollback puts the KV back with compensating writes and an event; history keeps everything",
                        "[fork]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = three_steps(db);
    const auto before = db.last_version();
    const auto event = inmem::rollback(db, run, 2); // undo the last two commits: the notes, the last plan
    CHECK(event.steps == 2);
    CHECK(event.puts == 1);
    CHECK(event.erases == 1);
    CHECK(db.template kv<Plan>().get(run, "plan") == Plan{"goal 1", 1});
    CHECK_FALSE(db.template kv<Plan>().get(run, "notes"));
    const auto last = db.events().template read<inmem::rolled_back>(run);
    REQUIRE(last.size() == 1);
    CHECK(last[0].value == event);
    CHECK(db.template kv<Plan>().get(inmem::replay(db, run, inmem::at_version{before}), "notes") == Plan{"notes", 9});
    // Back to the start, by event.
    inmem::rollback(db, run, inmem::at_event{0});
    CHECK(db.template kv<Plan>().list(run).empty());
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        holder.reopen();
        CHECK(holder->template kv<Plan>().list(run).empty());
        CHECK(holder->template kv<Plan>().get(inmem::replay(*holder, run, inmem::at_version{before}), "plan") ==
              Plan{"goal 2", 2});
    }
    holder->end_run(run);
    CHECK(error_of([&] { inmem::rollback(*holder, run, 1); }) == inmem::errc::run_not_active);
}

TEST_CASE("the timeline has one step per commit with what it put, replaced and erased", "[fork]") {
    db_type db;
    db.clock();
    auto run = db.begin_run();
    auto plans = db.kv<Plan>();
    const auto v1 = plans.put(run, "plan", Plan{"a", 1});
    const auto v2 = plans.put(run, "plan", Plan{"b", 2});
    db.events().append(run, Said{"said"});
    const auto v3 = db.last_version();
    plans.erase(run, "plan");
    const auto v4 = db.last_version();
    db.states<int>().set(run, "counter", 5);
    const auto v5 = db.last_version();
    const auto steps = inmem::timeline(db, run);
    REQUIRE(steps.size() == 5);
    CHECK(steps[0].version == v1);
    REQUIRE(steps[0].changes.size() == 1);
    CHECK(steps[0].changes[0].family == "kv");
    CHECK(steps[0].changes[0].key == "plan");
    CHECK_FALSE(steps[0].changes[0].before);
    CHECK(inmem::decode<Plan>(*steps[0].changes[0].after).value() == Plan{"a", 1});
    CHECK(steps[1].version == v2);
    REQUIRE(steps[1].changes.size() == 1);
    CHECK(inmem::decode<Plan>(*steps[1].changes[0].before).value() == Plan{"a", 1});
    CHECK(inmem::decode<Plan>(*steps[1].changes[0].after).value() == Plan{"b", 2});
    CHECK(steps[2].version == v3);
    REQUIRE(steps[2].changes.size() == 1); // the event (its chain head is bookkeeping)
    CHECK(steps[2].changes[0].family_id == inmem::primitive::event);
    CHECK(steps[2].changes[0].sequence == 0);
    CHECK(inmem::decode<Said>(*steps[2].changes[0].after).value() == Said{"said"});
    CHECK(steps[3].version == v4);
    REQUIRE(steps[3].changes.size() == 1);
    CHECK_FALSE(steps[3].changes[0].after); // erased
    CHECK(inmem::decode<Plan>(*steps[3].changes[0].before).value() == Plan{"b", 2});
    CHECK(steps[4].version == v5);
    REQUIRE(steps[4].changes.size() == 1);
    CHECK(steps[4].changes[0].family_id == inmem::primitive::state);
    CHECK(steps[4].changes[0].key == "counter");
    for (std::size_t i = 1; i < steps.size(); ++i) CHECK(steps[i].time >= steps[i - 1].time);
    CHECK(steps[0].time.time_since_epoch().count() != 0);
    CHECK(inmem::timeline(db, run) == steps); // deterministic
}

TEST_CASE("diff names added, removed and changed keys, state writes, and the first divergent event", "[fork]") {
    db_type db;
    const auto run = three_steps(db);
    const auto child = inmem::fork(db, run, inmem::at_event{1});
    db.events().append(child, Said{"inserted"});
    db.events().append(child, Said{"step 1"}); // what the parent said next, after one event more
    db.kv<Plan>().put(child, "extra", Plan{"extra", 1});
    db.states<int>().set(child, "s", 1);

    const auto d = inmem::diff(db, run, child);
    CHECK_FALSE(d.empty());
    // KV: the child has the plan of step 0 (changed), no notes (removed), an extra (added).
    REQUIRE(d.kv.size() == 3);
    CHECK(d.kv[0].key == "extra");
    CHECK(d.kv[0].added());
    CHECK(d.kv[1].key == "notes");
    CHECK(d.kv[1].removed());
    CHECK(d.kv[2].key == "plan");
    CHECK(d.kv[2].changed());
    CHECK(inmem::decode<Plan>(*d.kv[2].a).value() == Plan{"goal 2", 2});
    CHECK(inmem::decode<Plan>(*d.kv[2].b).value() == Plan{"goal 0", 0});
    REQUIRE(d.states.size() == 1);
    CHECK(d.states[0].key == "s");
    CHECK(d.states[0].added());
    // Events: the parent said step 0, 1, 2; the child, forked after event 1, inherited step 0
    // and 1, then said "inserted" and "step 1".
    CHECK(d.events.same == 2);
    REQUIRE(d.events.first_divergence_b);
    CHECK(d.events.first_divergence_b->run == child);
    CHECK(d.events.first_divergence_b->seq == 0);
    REQUIRE(d.events.first_divergence_a);
    CHECK(d.events.first_divergence_a->run == run);
    CHECK(d.events.first_divergence_a->seq == 2);

    // One inserted event does not make everything after it differ.
    auto x = db.begin_run();
    auto y = db.begin_run();
    for (int i = 0; i < 6; ++i) {
        if (i == 2) db.events().append(y, Said{"inserted"});
        db.events().append(x, Said{std::to_string(i)});
        db.events().append(y, Said{std::to_string(i)});
    }
    const auto e = inmem::diff(db, x, y).events;
    CHECK(e.same == 6);
    CHECK(e.only_a.empty());
    REQUIRE(e.only_b.size() == 1);
    CHECK(e.only_b[0].seq == 2);
    CHECK(e.first_divergence_b->seq == 2);
    CHECK_FALSE(e.first_divergence_a);

    CHECK(inmem::diff(db, run, run).empty());
    CHECK(inmem::diff(db, {run, inmem::at_event{1}}, {run, inmem::at_event{1}}).empty());
    const auto over_time = inmem::diff(db, {run, inmem::at_event{0}}, run);
    CHECK(over_time.events.only_b.size() == 2);
    CHECK(over_time.events.same == 1);
}
