// Tests of inmem/exec/: a deterministic fake agent (model and tool steps over the schema's
// types, with state records, events and traces) recorded, then replayed, resumed and forked;
// changed versions of it diverge at exactly the right step with the right report.
#include <catch2/catch.hpp>
#include <inmem/exec.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <chrono>
#include <map>
#include <string>
#include <vector>

using inmem_test::error_of;

namespace {
struct Plan {
    std::string goal;
    int budget = 0;
    bool operator==(const Plan&) const = default;
};
struct Query {
    std::string text;
    int limit = 0;
    bool operator==(const Query&) const = default;
};
struct Said {
    std::string what;
    bool operator==(const Said&) const = default;
};
using exec_schema = inmem::schema<inmem::kv<Plan, std::string>, inmem::states<int>,
                                  inmem::events<Said, inmem::step_record>, inmem::traces<inmem::trace::decision>>;
using db_type = inmem::basic_database<exec_schema, inmem::durability::none>;
using ex_type = inmem::execution<db_type>;

// The fake world: its tools count their calls, so a test sees which functions ran.
struct world {
    std::map<std::string, int> calls;
    std::string answer = "yes"; // what the human says
};

// How the agent may be changed, to make it diverge.
struct variant {
    bool swap_tools = false;   // search and fetch in the other order
    int limit = 5;             // the search's input
    bool extra_step = false;   // one more tool call at the end
    bool skip_last = false;    // stops before the last step
    bool output_as_int = false; // the plan step returns another type
    bool write_outside = false; // writes a KV value outside any step
};

// A deterministic agent: plan (model), search and fetch (tools, each writing through its
// transaction), a human answer, a decision; the clock and a random number recorded too.
template <class Ex>
void agent(Ex& ex, world& w, variant v = {}) {
    auto& db = ex.database();
    auto plans = db.template kv<Plan>();
    auto notes = db.template kv<std::string>();
    Plan plan;
    if (v.output_as_int) (void)ex.step("llm:plan", std::string("triage"), [&] { return 1; });
    else
        plan = ex.step("llm:plan", std::string("triage"), [&] {
            ++w.calls["plan"];
            return Plan{"triage", 3};
        });
    ex.step("tool:save_plan", plan, [&](auto& tx) {
        ++w.calls["save_plan"];
        plans.put(tx, "plan", plan);
        db.events().append(tx, Said{"planned " + plan.goal});
    });
    auto search = [&] {
        return ex.step("tool:search", Query{"logs", v.limit}, [&](auto& tx) {
            ++w.calls["search"];
            notes.put(tx, "found", std::string("3 errors"));
            db.template states<int>().set(tx, "searches", w.calls["search"]);
            return std::string("3 errors");
        });
    };
    auto fetch = [&] {
        return ex.step("tool:fetch", std::string("log-1"), [&](auto& tx) {
            ++w.calls["fetch"];
            notes.put(tx, "log-1", std::string("line 7"));
            return std::string("line 7");
        });
    };
    if (v.swap_tools) {
        fetch();
        search();
    } else {
        search();
        fetch();
    }
    const auto when = ex.now();
    const std::uint64_t dice = ex.random();
    const std::string answer = ex.step("human:approve", std::string("apply the fix?"), [&] {
        ++w.calls["approve"];
        return w.answer;
    });
    if (v.write_outside) notes.put(ex.run(), "outside", std::string("x"));
    if (v.skip_last) return;
    ex.step("tool:decide", answer, [&](auto& tx) {
        ++w.calls["decide"];
        const auto said = db.events().append(tx, Said{"decided " + answer});
        (void)said;
        const auto root = db.traces().record(tx, inmem::trace::decision{"apply " + answer, 0.9});
        db.traces().record(tx, inmem::trace::decision{"why " + std::to_string(dice % 7), 0.5}, {.parent = root});
        notes.put(tx, "decided", answer + " at " + std::to_string(when.time_since_epoch().count() > 0));
    });
    if (v.extra_step) ex.step("tool:extra", [&] { return 1; });
}

inmem::run_id recorded_run(db_type& db, world& w) {
    const auto run = db.begin_run({.name = "triage", .tags = {"prod"}});
    auto ex = inmem::execute(db, run);
    agent(ex, w);
    db.end_run(run);
    return run;
}

inmem::divergence divergence_of(db_type& db, inmem::run_id run, variant v) {
    world w;
    const inmem::replay_report r = inmem::replay_run(db, run, [&](ex_type& ex) { agent(ex, w, v); });
    REQUIRE(r.diverged);
    CHECK(w.calls.empty()); // a replay never calls a step's function
    return *r.diverged;
}
} // namespace

TEST_CASE("a recorded run replays without divergence to an equal state, calling no step function", "[exec]") {
    db_type db;
    world w;
    const auto run = recorded_run(db, w);
    CHECK(w.calls == std::map<std::string, int>{{"approve", 1}, {"decide", 1}, {"fetch", 1}, {"plan", 1},
                                                 {"save_plan", 1}, {"search", 1}});
    CHECK(db.events().count<inmem::step_record>(run) == 8); // plan save search fetch now random approve decide
    const auto steps = db.events().read<inmem::step_record>(run);
    CHECK(steps[0].value.name == "llm:plan");
    CHECK(steps[4].value.name == inmem::now_step);
    CHECK(db.run(run).metadata.contains(std::string(inmem::exec_began_metadata)));

    const auto head = db.events().head(run);
    const auto timeline = inmem::timeline(db, run);
    const auto info = db.run(run);
    world again;
    const inmem::replay_report r = inmem::replay_run(db, run, [&](ex_type& ex) { agent(ex, again); });
    INFO(inmem::to_string(r));
    CHECK(r.ok());
    CHECK(r.steps == 8);
    CHECK(again.calls.empty());
    CHECK(inmem::to_string(r) == "run " + std::to_string(run.value) + ": ok (8 steps)");
    // The scratch run holds what the steps wrote: KV, events, traces (not the shared state).
    CHECK(db.kv<Plan>().get(r.replay, "plan") == Plan{"triage", 3});
    CHECK(db.kv<std::string>().get(r.replay, "decided") == db.kv<std::string>().get(run, "decided"));
    CHECK(db.traces().count(r.replay) == 2);
    CHECK(db.traces().read(r.replay)[1].parent == inmem::trace_id{r.replay, 0});
    CHECK(db.events().count<Said>(r.replay) == 2);
    CHECK(db.events().verify(r.replay).valid());
    CHECK(db.run(r.replay).status == inmem::run_status::completed);
    CHECK(db.run(r.replay).tags == std::vector<std::string>{std::string(inmem::exec_replay_tag)});
    // Replay never writes to the recorded run: its chain, history and record are unchanged.
    CHECK(db.events().head(run) == head);
    CHECK(inmem::timeline(db, run) == timeline);
    CHECK(db.run(run) == info);
    CHECK(db.states<int>().read("searches")->value == 1);
}

TEST_CASE("a changed agent diverges at exactly the first wrong step, with the right report", "[exec]") {
    db_type db;
    world w;
    const auto run = recorded_run(db, w);

    SECTION("steps in another order: a different step, both names") {
        const auto d = divergence_of(db, run, {.swap_tools = true});
        CHECK(d.kind == inmem::divergence_kind::different_step);
        CHECK(d.step == 2);
        CHECK(d.recorded_name == "tool:search");
        CHECK(d.asked_name == "tool:fetch");
        CHECK(d.run == run);
    }
    SECTION("another input: a different step, field by field") {
        const auto d = divergence_of(db, run, {.limit = 9});
        CHECK(d.kind == inmem::divergence_kind::different_step);
        CHECK(d.step == 2);
        CHECK(d.recorded_name == "tool:search");
        CHECK(d.asked_name == "tool:search");
        CHECK(d.recorded_input == "{text: \"logs\", limit: 5}");
        CHECK(d.asked_input == "{text: \"logs\", limit: 9}");
        REQUIRE(d.fields.size() == 1);
        CHECK(d.fields[0] == inmem::field_difference{"limit", "5", "9"});
        CHECK_THAT(d.message, Catch::Contains("diverged at step 2 (different step)") &&
                                  Catch::Contains("field limit: recorded 5, asked 9"));
    }
    SECTION("an extra step: a step the record does not have") {
        const auto d = divergence_of(db, run, {.extra_step = true});
        CHECK(d.kind == inmem::divergence_kind::unexpected_step);
        CHECK(d.step == 8);
        CHECK(d.asked_name == "tool:extra");
        CHECK(d.recorded_name.empty());
    }
    SECTION("a missing step: a recorded step the code never asked for") {
        const auto d = divergence_of(db, run, {.skip_last = true});
        CHECK(d.kind == inmem::divergence_kind::missing_step);
        CHECK(d.step == 7);
        CHECK(d.recorded_name == "tool:decide");
        CHECK(d.asked_name.empty());
    }
    SECTION("another output type") {
        const auto d = divergence_of(db, run, {.output_as_int = true});
        CHECK(d.kind == inmem::divergence_kind::different_step);
        CHECK(d.step == 0);
        CHECK_THAT(d.asked_input, Catch::Contains("another type"));
    }
    SECTION("the same steps but another write outside them: the final state differs") {
        const auto d = divergence_of(db, run, {.write_outside = true});
        CHECK(d.kind == inmem::divergence_kind::final_state);
        CHECK(d.step == 8);
        CHECK_THAT(d.state, Catch::Contains("'outside'"));
    }
    // Whatever diverged, the recorded run is as it was.
    CHECK(db.events().count<inmem::step_record>(run) == 8);
    CHECK(!db.kv<std::string>().get(run, "outside"));
}

TEST_CASE("resume returns the recorded steps without running them and goes on live", "[exec]") {
    inmem_test::test_database<inmem::basic_database<exec_schema, inmem::durability::strict>> db;
    using ex_t = inmem::execution<inmem::basic_database<exec_schema, inmem::durability::strict>>;
    world w;
    const auto run = db->begin_run({.name = "triage"});
    {
        auto ex = inmem::execute(*db, run);
        agent(ex, w, {.skip_last = true}); // "crashes" after step 6
    }
    db.reopen();
    world after;
    auto ex = inmem::execute(*db, run, inmem::exec_mode::resume);
    CHECK(ex.recorded_steps() == 7);
    CHECK(ex.replaying());
    agent(ex, after);
    CHECK(after.calls == std::map<std::string, int>{{"decide", 1}}); // only the step without a record ran
    CHECK(ex.steps() == 8);
    CHECK(!ex.replaying());
    CHECK(db->run(run).metadata.at(std::string(inmem::exec_resumes_metadata)) == "1");
    CHECK(db->kv<std::string>().get(run, "decided"));
    db->end_run(run);
    // The resumed run replays like one that never stopped.
    world again;
    const auto r = inmem::replay_run(*db, run, [&](ex_t& e) { agent(e, again); });
    INFO(inmem::to_string(r));
    CHECK(r.ok());
    CHECK(again.calls.empty());
    // A second resume of a finished run runs nothing: every step is recorded.
    CHECK(error_of([&] { (void)inmem::execute(*db, run, inmem::exec_mode::resume); }) ==
          inmem::errc::run_not_active);
}

TEST_CASE("resume checks the recorded steps as a replay does", "[exec]") {
    db_type db;
    world w;
    const auto run = db.begin_run();
    {
        auto ex = inmem::execute(db, run);
        agent(ex, w, {.skip_last = true});
    }
    world after;
    auto ex = inmem::execute(db, run, inmem::exec_mode::resume);
    try {
        agent(ex, after, {.limit = 6});
        FAIL("no divergence");
    } catch (const inmem::divergence_error& e) {
        CHECK(e.code() == inmem::errc::divergence);
        CHECK(e.report().step == 2);
        CHECK(e.report().kind == inmem::divergence_kind::different_step);
    }
    CHECK(after.calls.empty());
}

TEST_CASE("a step's writes commit with its record; a step that throws records its error and nothing it wrote",
          "[exec]") {
    db_type db;
    const auto run = db.begin_run();
    int runs = 0;
    auto failing = [&](ex_type& ex) {
        ex.step("tool:ok", 1, [&](auto& tx) { db.kv<std::string>().put(tx, "ok", std::string("1")); });
        try {
            ex.step("tool:flaky", 2, [&](auto& tx) {
                ++runs;
                db.kv<std::string>().put(tx, "half", std::string("never"));
                throw std::runtime_error("tool timed out");
                return 0;
            });
            FAIL("no exception");
        } catch (const std::exception& e) {
            CHECK(std::string(e.what()) == "tool timed out");
        }
        ex.step("tool:after", [] { return 3; });
    };
    {
        auto ex = inmem::execute(db, run);
        failing(ex);
    }
    CHECK(runs == 1);
    CHECK(db.kv<std::string>().get(run, "ok"));
    CHECK(!db.kv<std::string>().get(run, "half"));
    const auto steps = db.events().read<inmem::step_record>(run);
    REQUIRE(steps.size() == 3);
    CHECK(steps[1].value.error == "tool timed out");
    CHECK(steps[1].value.output.empty());
    CHECK(steps[0].version != steps[1].version);
    // The step's KV write and its record are one commit.
    CHECK(db.kv<std::string>().entry(run, "ok")->version == steps[0].version);
    // Replayed and resumed, the recorded error comes back as a step_error, without a call.
    auto ex = inmem::execute(db, run, inmem::exec_mode::resume);
    ex.step("tool:ok", 1, [&](auto&) { FAIL("ran again"); });
    CHECK_THROWS_AS(ex.step("tool:flaky", 2, [&](auto&) { return 0; }), inmem::step_error);
    CHECK(runs == 1);
    db.end_run(run);
    const auto r = inmem::replay_run(db, run, failing);
    INFO(inmem::to_string(r));
    CHECK(r.ok());
    CHECK(runs == 1);
}

TEST_CASE("now, random and sleep are recorded: a replay sees the same values and does not wait", "[exec]") {
    inmem::basic_database<exec_schema, inmem::durability::none, inmem::clocks::manual> db;
    using ex_t = inmem::execution<decltype(db)>;
    db.clock().set(std::chrono::system_clock::time_point(std::chrono::hours(1000)));
    std::vector<std::uint64_t> seen;
    std::vector<std::chrono::system_clock::time_point> times;
    auto timed = [&](ex_t& ex) {
        times.push_back(ex.now());
        seen.push_back(ex.random());
        seen.push_back(ex.random());
        ex.sleep_for(std::chrono::milliseconds(300));
        times.push_back(ex.now());
    };
    const auto run = db.begin_run();
    {
        auto ex = inmem::execute(db, run);
        timed(ex);
    }
    db.end_run(run);
    const auto recorded_values = seen;
    const auto recorded_times = times;
    CHECK(recorded_values[0] != recorded_values[1]);
    seen.clear();
    times.clear();
    db.clock().advance(std::chrono::hours(5));
    const auto started = std::chrono::steady_clock::now();
    const auto r = inmem::replay_run(db, run, timed);
    const auto took = std::chrono::steady_clock::now() - started;
    INFO(inmem::to_string(r));
    CHECK(r.ok());
    CHECK(seen == recorded_values);
    CHECK(times == recorded_times);
    CHECK(took < std::chrono::milliseconds(300)); // the recorded sleep is not slept again
}

TEST_CASE("patched lets changed code replay old runs and new ones", "[exec]") {
    db_type db;
    auto old_code = [](ex_type& ex) {
        ex.step("tool:fetch", std::string("a"), [] { return 1; });
        ex.step("tool:reply", [] { return 2; });
    };
    auto new_code = [](ex_type& ex) {
        ex.step("tool:fetch", std::string("a"), [] { return 1; });
        if (ex.patched("search-first")) ex.step("tool:search", [] { return 5; });
        ex.step("tool:reply", [] { return 2; });
    };
    const auto old_run = db.begin_run();
    {
        auto ex = inmem::execute(db, old_run);
        old_code(ex);
    }
    const auto new_run = db.begin_run();
    {
        auto ex = inmem::execute(db, new_run);
        new_code(ex);
    }
    CHECK(db.events().read<inmem::step_record>(new_run)[1].value.name == inmem::patch_step);
    CHECK(inmem::replay_run(db, old_run, new_code).ok()); // no marker: the old path
    CHECK(inmem::replay_run(db, new_run, new_code).ok()); // the marker: the new path
    const auto r = inmem::replay_run(db, new_run, old_code);
    REQUIRE(r.diverged);
    CHECK(r.diverged->step == 1);
    CHECK(r.diverged->recorded_name == inmem::patch_step);
}

TEST_CASE("fork_at_step: a what-if keeps the steps before k and runs live from k, no stale answer", "[exec]") {
    db_type db;
    world w;
    const auto run = recorded_run(db, w); // the human said "yes" at step 6
    const auto what_if = inmem::fork_at_step(db, run, 6, {.name = "what if no"});
    CHECK(db.run(what_if).parent == run);
    CHECK(db.events().count<inmem::step_record>(what_if) == 0); // inherited, not copied
    world other;
    other.answer = "no";
    {
        auto ex = inmem::execute(db, what_if, inmem::exec_mode::resume);
        CHECK(ex.recorded_steps() == 6);
        agent(ex, other);
    }
    // Steps 0..5 came from the record; the human was asked again and the new answer stands.
    CHECK(other.calls == std::map<std::string, int>{{"approve", 1}, {"decide", 1}});
    CHECK(db.kv<std::string>().get(what_if, "decided")->substr(0, 2) == "no");
    CHECK(db.kv<std::string>().get(run, "decided")->substr(0, 3) == "yes");
    db.end_run(what_if);
    const auto d = inmem::diff(db, run, what_if);
    CHECK(d.events.same == 7); // what it inherited: steps 0..5 and the event of step 1
    CHECK(!d.kv.empty());
    // The what-if replays too (its first steps from its parent's record).
    world again;
    again.answer = "no";
    const auto r = inmem::replay_run(db, what_if, [&](ex_type& ex) { agent(ex, again); });
    INFO(inmem::to_string(r));
    CHECK(r.ok());
    CHECK(again.calls.empty());
    // k past the record is refused; k = the number of steps forks at the end.
    CHECK(error_of([&] { (void)inmem::fork_at_step(db, run, 9); }) == inmem::errc::invalid_argument);
    const auto at_end = inmem::fork_at_step(db, run, 8);
    auto ex = inmem::execute(db, at_end, inmem::exec_mode::resume);
    CHECK(ex.recorded_steps() == 8);
}

TEST_CASE("replay_all reports per run and skips the scratch runs", "[exec]") {
    db_type db;
    world w;
    const auto a = recorded_run(db, w);
    const auto b = recorded_run(db, w);
    const auto plain = db.begin_run({.tags = {"prod"}}); // never executed: not replayed
    db.end_run(plain);
    auto first = inmem::replay_all(db, [&](ex_type& ex) {
        world fresh;
        agent(ex, fresh, {.limit = ex.recorded_run() == b ? 9 : 5});
    });
    REQUIRE(first.size() == 2);
    CHECK(first[0].run == a);
    CHECK(first[0].ok());
    CHECK(first[1].run == b);
    REQUIRE(first[1].diverged);
    CHECK(first[1].diverged->step == 2);
    CHECK(inmem::replay_all(db, [&](ex_type& ex) {
              world fresh;
              agent(ex, fresh);
          }, {.tags = {"prod"}}).size() == 2);
}

TEST_CASE("executions refuse what cannot be right, saying why", "[exec]") {
    db_type db;
    world w;
    const auto run = db.begin_run();
    {
        auto ex = inmem::execute(db, run);
        agent(ex, w);
    }
    // Record mode on a run that has steps; replay of a run never executed.
    CHECK_THAT(inmem_test::what_of([&] { (void)inmem::execute(db, run); }),
               Catch::StartsWith("inmem: run " + std::to_string(run.value) +
                                 " already has 8 recorded steps: open it with exec_mode::resume"));
    const auto plain = db.begin_run();
    CHECK(error_of([&] { (void)inmem::execute(db, plain, inmem::exec_mode::replay); }) ==
          inmem::errc::invalid_argument);
    CHECK(error_of([&] { (void)inmem::execute(db, inmem::run_id{999}); }) == inmem::errc::unknown_run);
    db.end_run(plain);
    CHECK(error_of([&] { (void)inmem::execute(db, plain); }) == inmem::errc::run_not_active);
    // Steps do not nest: the inner one throws, so the outer one records that error.
    const auto nested = db.begin_run();
    auto ex = inmem::execute(db, nested);
    const std::string nest = "inmem: step 'inner' was asked for inside another step: steps do not nest";
    CHECK_THAT(inmem_test::what_of([&] { ex.step("outer", [&] { return ex.step("inner", [] { return 1; }); }); }),
               Catch::StartsWith(nest));
    const auto outer = db.events().read<inmem::step_record>(nested);
    REQUIRE(outer.size() == 1);
    CHECK_THAT(outer[0].value.error.value_or(""), Catch::StartsWith(nest));
}
