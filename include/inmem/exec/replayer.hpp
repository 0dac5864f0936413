// inmem/exec/replayer.hpp: re-executing agent code against recorded runs, as a regression
// test (Temporal's replayer in CI): the code changed, do old runs still take the same steps?
//
//   for (const inmem::replay_report& r : inmem::replay_all(db, agent, {.tags = {"prod"}}))
//       if (!r.ok()) std::cerr << inmem::to_string(r) << "\n";
//
// replay_run re-executes one run (exec_mode::replay, exec/execution.hpp) into a scratch run
// and then compares the scratch run with the recorded one: their KV, their events (the step
// records aside: the steps were compared one by one) and their traces. Shared state records
// are not compared (a replay does not write them again). The scratch run stays, ended, tagged
// exec_replay_tag, for a closer look (diff, timeline); db.erase_run(report.replay) drops it.
#pragma once

#include <inmem/exec/divergence.hpp>
#include <inmem/exec/execution.hpp>
#include <inmem/exec/step_record.hpp>
#include <inmem/time_machine/diff.hpp>
#include <inmem/time_machine/print.hpp>
#include <inmem/time_machine/replay.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace inmem {

/// What re-executing one recorded run found.
struct replay_report {
    run_id run{};             ///< the recorded run
    run_id replay{};          ///< the scratch run the code ran against
    std::uint64_t steps = 0;  ///< the steps the code asked for
    std::optional<divergence> diverged{}; ///< where it left the record, if it did
    /// What the code threw that was neither a divergence nor a recorded step's error ("": nothing).
    std::string error{};

    bool ok() const noexcept { return !diverged && error.empty(); }
};

/// A report as text: "run 3: ok (12 steps)", or the divergence's message, or the error.
inline std::string to_string(const replay_report& r) {
    if (r.diverged) return r.diverged->message;
    std::string out = "run " + std::to_string(r.run.value) + ": ";
    if (!r.error.empty()) return out + "the code threw after " + std::to_string(r.steps) + " steps: " + r.error;
    return out + "ok (" + std::to_string(r.steps) + " steps)";
}

namespace detail {

// How the scratch run of a replay differs from the recorded run (KV, events but step records,
// traces); nullopt when it does not.
template <class Db>
std::optional<run_diff> replay_state_difference(const Db& db, run_id recorded, run_id replay) {
    using schema = typename Db::schema_type;
    constexpr std::uint16_t record_slot = schema::template slot_of<primitive::event, step_record>;
    const auto va = make_replay(db.engine(), recorded, latest_version);
    const auto vb = make_replay(db.engine(), replay, latest_version);
    const diff_side sa = read_side<schema>(va), sb = read_side<schema>(vb);
    auto events = [&](run_id run, const std::vector<log_entry>& own) {
        std::vector<log_entry> all = inherited_events<schema>(db, run);
        all.insert(all.end(), own.begin(), own.end());
        std::erase_if(all, [](const log_entry& e) { return e.slot == record_slot; });
        return all;
    };
    run_diff d{recorded, replay, va.version(), vb.version(), compare_values(sa.kv, sb.kv), {},
               align(events(recorded, sa.events), events(replay, sb.events)), align(sa.traces, sb.traces)};
    if (d.empty()) return std::nullopt;
    return d;
}

} // namespace detail

/// Re-executes agent (called as agent(ex) with an execution<Db>) against run's record, into a
/// scratch run, and compares the end states (see above). Never throws for what the agent
/// does: a divergence or an error is in the report. Throws unknown_run, invalid_argument (a
/// run never executed) and what the database throws.
template <class Db, class Agent>
replay_report replay_run(Db& db, run_id run, Agent&& agent) {
    static_assert(std::is_invocable_v<Agent&, execution<Db>&>,
                  "inmem: replay_run(db, run, agent) calls agent(ex) with the execution: take `auto& ex` "
                  "(or inmem::execution<db_type>& ex)");
    replay_report out{run};
    auto ex = execute(db, run, exec_mode::replay);
    out.replay = ex.run();
    auto finish = [&] {
        try {
            ex.finish();
        } catch (const divergence_error& e) {
            out.diverged = e.report();
        }
    };
    try {
        agent(ex);
        finish();
    } catch (const divergence_error& e) {
        out.diverged = e.report();
    } catch (const step_error&) {
        finish(); // the recorded step threw: if the run ended there too, nothing is missing
    } catch (const std::exception& e) {
        out.error = e.what();
    }
    out.steps = ex.steps();
    if (out.ok())
        if (auto d = detail::replay_state_difference(db, run, out.replay)) {
            divergence v;
            v.kind = divergence_kind::final_state;
            v.run = run;
            v.step = out.steps;
            v.state = to_string<typename Db::schema_type>(*d);
            v.message = detail::divergence_message(v);
            out.diverged = std::move(v);
        }
    db.end_run(out.replay, out.ok() ? run_status::completed : run_status::failed);
    return out;
}

/// replay_run for every executed run that query selects (all by default), in its order,
/// scratch runs of earlier replays aside: one report each.
template <class Db, class Agent>
std::vector<replay_report> replay_all(Db& db, Agent&& agent, run_query query = {}) {
    std::vector<run_id> runs;
    for (;;) {
        run_page page = db.runs(query);
        for (const run_info& info : page.runs)
            if (std::find(info.tags.begin(), info.tags.end(), exec_replay_tag) == info.tags.end() &&
                detail::execution_origin(db, info.id))
                runs.push_back(info.id);
        if (!page.next) break;
        query.after = page.next;
    }
    std::vector<replay_report> out;
    out.reserve(runs.size());
    for (const run_id run : runs) out.push_back(replay_run(db, run, agent));
    return out;
}

} // namespace inmem
