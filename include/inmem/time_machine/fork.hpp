// inmem/time_machine/fork.hpp: a what-if from any point of a run (fork), and taking a run
// back to one of its points (rollback).
//
//   auto what_if = inmem::fork(db, run, inmem::at_event{3}, {.name = "retry with a new prompt"});
//   db.kv<Plan>().put(what_if, "plan", other_plan);   // the parent never changes
//   inmem::rollback(db, run, 2);                       // undo run's last two commits
//
// fork begins a new active run whose parent is the run, with the fork point in its metadata
// (fork_version_metadata), a copy of the parent's working state at that point (its KV and its
// vectors) as its first state (one commit, with its run record: O(parent's state)), and, when the parent had events by then, an
// event chain that begins from the parent's chain head at that point (chain_link_metadata:
// the child's first event links to it, and verify() checks it). LangGraph's update_state
// fork, DBOS's fork_workflow.
//
// rollback, on an active run, puts the run's KV and vectors back as they were at a point
// with compensating writes (puts and erases) and an inmem::rolled_back event, in one transaction: atomic and
// crash-safe, and the history keeps everything it replaced. The schema lists
// inmem::rolled_back among its events to use it.
#pragma once

#include <inmem/error.hpp>
#include <inmem/primitives/event_chain.hpp>
#include <inmem/primitives/typed_log.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/time_machine/replay.hpp>
#include <inmem/vocabulary.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace inmem {

/// The event rollback appends: the run's KV and vectors went back to what they were after commit `to`
/// (`steps` commits back, when rollback was given steps), undoing commits up to `from`.
struct rolled_back {
    version_t to = 0;
    version_t from = 0;
    std::uint64_t steps = 0;
    std::uint64_t puts = 0;   ///< keys written back
    std::uint64_t erases = 0; ///< keys erased (they did not exist at the point)
    bool operator==(const rolled_back&) const = default;
};

namespace detail {

// The prefix of run's records of primitive p (all its types).
inline std::string primitive_range_prefix(run_id run, primitive p) {
    std::string prefix = run_range_prefix(run);
    prefix.push_back(static_cast<char>(p));
    return prefix;
}

// The primitives whose records are a run's working state, which fork copies and rollback
// restores: KV and vectors (events and traces are logs: a fork links to them instead).
inline constexpr primitive working_state[] = {primitive::kv, primitive::vector};

template <class Schema>
inline constexpr std::size_t event_type_count =
    std::tuple_size_v<decltype(types_of_kind<primitive::event>(typename Schema::slots{}))>;

} // namespace detail

/// Forks run at a point (its end by default): a new active run whose parent is run and whose
/// first state is run's KV and vectors then (see above); options name it, tag it, add metadata (its
/// parent is run, whatever options.parent says). Returns the new run. Throws as replay()
/// does. Writes to either run never change the other.
template <class Db>
run_id fork(Db& db, run_id run, replay_point at = {}, run_options options = {}) {
    using schema = typename Db::schema_type;
    const auto view = replay(db, run, at);
    std::vector<detail::write_op> ops;
    for (const primitive p : detail::working_state)
        view.scan(detail::primitive_range_prefix(run, p), [&](std::string_view key, const detail::stored_record& rec) {
            ops.push_back(detail::write_op{detail::write_op::kind::put, std::string(key), rec.bytes});
        });
    options.parent = run;
    options.metadata[std::string(fork_version_metadata)] = std::to_string(view.version());
    if constexpr (detail::event_type_count<schema> > 0) {
        const auto head = db.events().head(view);
        if (head.count > 0) {
            options.metadata[std::string(fork_events_metadata)] = std::to_string(head.count);
            const std::string_view hash(reinterpret_cast<const char*>(head.hash.data()), head.hash.size());
            options.metadata[std::string(detail::chain_link_metadata)] = detail::hash_to_hex(hash);
            constexpr std::uint16_t log_slot =
                detail::slots_of_kind<schema, primitive::event, detail::event_type_count<schema>>()[0];
            ops.push_back(detail::write_op{detail::write_op::kind::put, detail::event_head_key(run, log_slot),
                                           detail::linked_head(detail::event_type_count<schema>, hash)});
        }
    }
    return db.engine().begin_run(std::move(options), ops);
}

namespace detail {

// The version of the commit `steps` commits of run before its last (0: before its first).
template <class Engine>
version_t steps_back(const Engine& engine, run_id run, std::uint64_t steps) {
    std::vector<version_t> commits;
    if (const auto history = engine.history(run))
        history->read(engine.last_version(), [&](const history_item& item) {
            if (item.kind == history_record::commit) commits.push_back(item.version);
        });
    return steps >= commits.size() ? 0 : commits[commits.size() - 1 - steps];
}

template <class Db>
rolled_back rollback_to(Db& db, run_id run, version_t to, std::uint64_t steps) {
    using schema = typename Db::schema_type;
    static_assert(schema::template contains<primitive::event, rolled_back>,
                  "inmem: rollback records an inmem::rolled_back event: list it in the schema's events, "
                  "inmem::events<..., inmem::rolled_back>");
    const auto then = make_replay(db.engine(), run, to);
    std::map<std::string, std::string, std::less<>> target; // the run's working state at the point
    for (const primitive p : working_state)
        then.scan(primitive_range_prefix(run, p),
                  [&](std::string_view key, const stored_record& rec) { target.emplace(key, rec.bytes); });
    return db.transact(
        run,
        [&](auto& tx) {
            rolled_back event{then.version(), tx.snapshot_version(), steps, 0, 0};
            std::vector<std::string> erase;
            std::vector<std::pair<std::string, std::string>> put;
            std::map<std::string, std::string, std::less<>> missing = target;
            for (const primitive p : working_state)
                tx.scan(primitive_range_prefix(run, p), [&](std::string_view key, const stored_record& rec) {
                    const auto it = missing.find(key);
                    if (it == missing.end()) erase.emplace_back(key);
                    else {
                        if (it->second != rec.bytes) put.emplace_back(key, it->second);
                        missing.erase(it);
                    }
                });
            for (auto& [key, bytes] : missing) put.emplace_back(key, std::move(bytes));
            event.puts = put.size();
            event.erases = erase.size();
            for (auto& key : erase) tx.erase(std::move(key));
            for (auto& [key, bytes] : put) tx.put(std::move(key), std::move(bytes));
            db.events().append(tx, event);
            return event;
        },
        {.level = isolation::serializable}); // a key the run added meanwhile is not left behind
}

} // namespace detail

/// Puts run's KV and vectors back to what they were at a point (see above); run must be active. Returns the
/// rolled_back event it appended (puts and erases 0: nothing differed, and only the event was
/// written). Throws unknown_run, run_not_active, and as replay() does.
template <class Db>
rolled_back rollback(Db& db, run_id run, replay_point at) {
    const version_t to = detail::resolve_point(db, run, at);
    return detail::rollback_to(db, run, to, 0);
}

/// Undoes run's last `steps` commits (of the run's own; 0 undoes nothing but records the
/// event), as rollback(db, run, point) does for the point just before them.
template <class Db>
rolled_back rollback(Db& db, run_id run, std::uint64_t steps) {
    db.engine().check_known(run);
    return detail::rollback_to(db, run, detail::steps_back(db.engine(), run, steps), steps);
}

} // namespace inmem
