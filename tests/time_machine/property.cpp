// The time machine against a model (inmem/time_machine.hpp): random workloads of puts,
// erases, state writes, events and traces over interleaved runs and transactions; replay at
// random points, diff, fork and rollback checked against what the model says, in every
// policy combination, and after reopen and snapshots.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/time_machine.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace {
struct Doc {
    std::string body;
    int rev = 0;
    bool operator==(const Doc&) const = default;
};
struct Step {
    std::string what;
    bool operator==(const Step&) const = default;
};
using tm_schema = inmem::schema<inmem::kv<Doc, int>, inmem::states<int>, inmem::events<Step, inmem::rolled_back>,
                                inmem::traces<inmem::trace::decision>>;
using configurations = inmem_test::all_configurations<tm_schema>;

// A run's KV (Doc) as the model keeps it, after each commit of the database.
using kv_state = std::map<std::string, Doc>;
struct run_model {
    std::map<inmem::version_t, kv_state> at; // after each commit that changed it
    kv_state now;
    std::vector<std::string> events;         // what each event said, by seq
    std::map<inmem::version_t, std::size_t> events_at;
    kv_state state_at(inmem::version_t v) const {
        auto it = at.upper_bound(v);
        return it == at.begin() ? kv_state{} : std::prev(it)->second;
    }
    std::size_t events_by(inmem::version_t v) const {
        auto it = events_at.upper_bound(v);
        return it == events_at.begin() ? 0 : std::prev(it)->second;
    }
};

template <class Db>
kv_state listed(Db& db, const inmem::replay_view<typename Db::engine_type>& view) {
    kv_state out;
    for (const auto& e : db.template kv<Doc>().list(view)) out.emplace(e.key, e.value);
    return out;
}

// Random work on runs: returns nothing, fills models.
template <class Db>
void work(Db& db, std::mt19937& rng, const std::vector<inmem::run_id>& runs, std::map<inmem::run_id, run_model>& models,
          int steps) {
    auto docs = db.template kv<Doc>();
    for (int i = 0; i < steps; ++i) {
        const inmem::run_id run = runs[rng() % runs.size()];
        run_model& m = models[run];
        const std::string key = "d" + std::to_string(rng() % 8);
        switch (rng() % 7) {
        case 0:
        case 1: {
            const Doc d{"body " + std::to_string(rng() % 1000), i};
            const auto v = docs.put(run, key, d);
            m.now[key] = d;
            m.at[v] = m.now;
            break;
        }
        case 2:
            if (docs.erase(run, key)) {
                m.now.erase(key);
                m.at[db.last_version()] = m.now;
            }
            break;
        case 3: { // a transaction of several puts and an event
            const Doc a{"tx a", i}, b{"tx b", i};
            const std::string other = "d" + std::to_string(rng() % 8);
            const auto v = db.transact(run, [&](auto& tx) {
                docs.put(tx, key, a);
                docs.put(tx, other, b);
                db.events().append(tx, Step{"tx " + std::to_string(i)});
            });
            m.now[key] = a;
            m.now[other] = b;
            m.at[v] = m.now;
            m.events.push_back("tx " + std::to_string(i));
            m.events_at[v] = m.events.size();
            break;
        }
        case 4: {
            db.events().append(run, Step{"step " + std::to_string(i)});
            m.events.push_back("step " + std::to_string(i));
            m.events_at[db.last_version()] = m.events.size();
            break;
        }
        case 5: db.template states<int>().set(run, "shared", i); break;
        case 6: db.traces().record(run, inmem::trace::decision{"choose " + std::to_string(i)}); break;
        }
    }
}
} // namespace

TEMPLATE_LIST_TEST_CASE("time machine property: replay, diff, fork and rollback agree with a model", "[time_machine]",
                        configurations) {
    constexpr bool persistent = inmem_test::test_database<TestType>::persistent;
    for (unsigned seed = 1; seed <= 3; ++seed) {
        INFO("seed " << seed);
        inmem_test::test_database<TestType> holder;
        std::mt19937 rng(seed);
        std::vector<inmem::run_id> runs;
        for (int r = 0; r < 3; ++r) runs.push_back(holder->begin_run({.name = "r" + std::to_string(r)}));
        std::map<inmem::run_id, run_model> models;
        work(*holder, rng, runs, models, 150);
        if constexpr (persistent) {
            holder->snapshot();
            work(*holder, rng, runs, models, 60); // after the snapshot: in the WAL
            holder.reopen();
        }
        auto& db = *holder;
        const inmem::version_t last = db.last_version();

        // Replay at random points, and at every commit of one run.
        for (int probe = 0; probe < 40; ++probe) {
            const inmem::run_id run = runs[rng() % runs.size()];
            const inmem::version_t v = rng() % (last + 2);
            const auto view = inmem::replay(db, run, inmem::at_version{v});
            INFO("run " << run.value << " at " << v);
            CHECK(listed(db, view) == models[run].state_at(v));
            const auto events = db.events().template read<Step>(view);
            REQUIRE(events.size() == models[run].events_by(v));
            for (std::size_t i = 0; i < events.size(); ++i) CHECK(events[i].value.what == models[run].events[i]);
            CHECK(listed(db, inmem::replay(db, run, inmem::at_version{v})) == listed(db, view)); // deterministic
        }
        for (const auto& [v, state] : models[runs[0]].at) CHECK(listed(db, inmem::replay(db, runs[0], inmem::at_version{v})) == state);

        // The timeline names every commit of the run that the model saw change its KV.
        const auto steps = inmem::timeline(db, runs[0]);
        for (const auto& [v, state] : models[runs[0]].at)
            CHECK(std::any_of(steps.begin(), steps.end(), [&, v = v](const auto& s) { return s.version == v; }));

        // Diff of two runs' KV equals the model's.
        const auto d = inmem::diff(db, runs[0], runs[1]);
        std::size_t expected = 0;
        const auto& a = models[runs[0]].now;
        const auto& b = models[runs[1]].now;
        for (const auto& [k, doc] : a) expected += !b.contains(k) || b.at(k) != doc;
        for (const auto& [k, doc] : b) expected += !a.contains(k);
        const auto doc_slot = TestType::schema_type::template slot_of<inmem::primitive::kv, Doc>;
        CHECK(std::count_if(d.kv.begin(), d.kv.end(), [&](const auto& x) { return x.slot == doc_slot; }) ==
              static_cast<std::ptrdiff_t>(expected));
        CHECK(inmem::diff(db, runs[2], runs[2]).empty());

        // Fork then write never changes the parent; the child starts from the parent's point.
        const inmem::version_t fork_at = rng() % (last + 1);
        const auto child = inmem::fork(db, runs[1], inmem::at_version{fork_at});
        CHECK(listed(db, inmem::replay(db, child)) == models[runs[1]].state_at(fork_at));
        const auto parent_before = listed(db, inmem::replay(db, runs[1]));
        db.template kv<Doc>().put(child, "d0", Doc{"child only", -1});
        db.events().append(child, Step{"child"});
        CHECK(listed(db, inmem::replay(db, runs[1])) == parent_before);
        CHECK(db.events().verify(child));
        CHECK(db.run(child).parent == runs[1]);

        // Rollback then replay equals the model at the point.
        const inmem::version_t back_to = rng() % (last + 1);
        const auto event = inmem::rollback(db, runs[2], inmem::at_version{back_to});
        CHECK(event.to == back_to);
        CHECK(listed(db, inmem::replay(db, runs[2])) == models[runs[2]].state_at(back_to));
        // ... and the history still has what the rollback replaced.
        CHECK(listed(db, inmem::replay(db, runs[2], inmem::at_version{last})) == models[runs[2]].now);
        if constexpr (persistent) {
            holder.reopen();
            CHECK(listed(*holder, inmem::replay(*holder, runs[2])) == models[runs[2]].state_at(back_to));
            CHECK(listed(*holder, inmem::replay(*holder, runs[2], inmem::at_version{last})) == models[runs[2]].now);
            CHECK(listed(*holder, inmem::replay(*holder, child, inmem::at_version{last + 1})) ==
                  models[runs[1]].state_at(fork_at));
        }
    }
}
