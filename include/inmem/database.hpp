// inmem/database.hpp: basic_database, which composes a schema, the policies and the primitives.
#pragma once

#include <inmem/clock.hpp>
#include <inmem/concurrency/optimistic.hpp>
#include <inmem/concurrency/single_thread.hpp>
#include <inmem/durability/batched.hpp>
#include <inmem/durability/none.hpp>
#include <inmem/durability/recovery.hpp>
#include <inmem/durability/strict.hpp>
#include <inmem/engine.hpp>
#include <inmem/fwd.hpp>
#include <inmem/policy.hpp>
#include <inmem/primitives/events.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/primitives/kv.hpp>
#include <inmem/primitives/runs.hpp>
#include <inmem/primitives/states.hpp>
#include <inmem/primitives/traces.hpp>
#include <inmem/primitives/vectors.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/memory.hpp>
#include <inmem/transaction.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <type_traits>
#include <vector>

namespace inmem {

template <class Schema, class... Policies>
class basic_database {
    static_assert(detail::is_schema_v<Schema>,
                  "inmem: the first argument of basic_database is the schema, inmem::schema<...>; "
                  "policies follow it, e.g. basic_database<my_schema, inmem::durability::none>");
    static_assert(detail::check_policies<Policies...>());
    static_assert(Schema::checked); // instantiates the schema: its storable checks run here

public:
    using schema_type = Schema;
    using storage_policy = detail::select_policy_t<storage_kind, storage::memory, Policies...>;
    using concurrency_policy = detail::select_policy_t<concurrency_kind, concurrency::optimistic, Policies...>;
    using durability_policy = detail::select_policy_t<durability_kind, durability::batched, Policies...>;
    using clock_policy = detail::select_policy_t<clock_kind, clocks::system, Policies...>;
    static_assert(inmem::storage_policy<storage_policy>,
                  "inmem: this storage policy does not meet inmem::storage_policy (policy.hpp): its backend "
                  "must provide find, latest, put, erase, scan_prefix, garbage, collect and release");
    static_assert(inmem::concurrency_policy<concurrency_policy>,
                  "inmem: this concurrency policy does not meet inmem::concurrency_policy (policy.hpp): it "
                  "needs a mutex_type (lock, unlock) and a snapshots_type (pin, pin_at, unpin, oldest)");
    static_assert(inmem::durability_policy<durability_policy>,
                  "inmem: this durability policy does not meet inmem::durability_policy (policy.hpp): it "
                  "needs persistent, and when persistent sync_each_commit (and options when batched)");
    static_assert(inmem::clock_policy<clock_policy>,
                  "inmem: this clock policy does not meet inmem::clock_policy (policy.hpp): it needs "
                  "default construction and a const noexcept now() returning std::chrono::system_clock::time_point");
    using engine_type = detail::engine<storage_policy, concurrency_policy, durability_policy, detail::run_record_codec>;
    /// What begin() returns and transact() hands its closure.
    using transaction = basic_transaction<engine_type>;

    /// An empty database in memory: nothing is written to disk, whatever the durability policy.
    basic_database() : engine_(indexes_.observers()) { set_up(); }

    /// Opens the database in directory dir, creating it or recovering what it holds (see
    /// recovery()). Throws database_locked if another process has it open, schema_mismatch
    /// if it was written under another schema, corruption if the log is damaged before its
    /// end (unless options.repair), io_error or no_space.
    explicit basic_database(const std::filesystem::path& dir, open_options options = {})
        : engine_(dir, std::move(options), detail::stamp_of<Schema>(), indexes_.observers()) {
        set_up();
        static_assert(durability_policy::persistent,
                      "inmem: durability::none keeps nothing on disk, so it cannot open a directory; "
                      "use durability::batched (the default) or durability::strict");
    }
    basic_database(const basic_database&) = delete;
    basic_database& operator=(const basic_database&) = delete;

    /// Starts a run and returns its id, never used before. Throws unknown_run if
    /// options.parent is not a run of this database.
    run_id begin_run(run_options options = {}) { return engine_.begin_run(std::move(options)); }

    /// Ends an active or interrupted run with a final status; it accepts no more writes but
    /// stays readable. Throws unknown_run, run_not_active (already ended, saying how) or
    /// invalid_argument (a status that is not final).
    void end_run(run_id run, run_status status = run_status::completed) { engine_.end_run(run, status); }

    /// Makes an interrupted run (see run_status::interrupted) active again, to go on writing
    /// to it. Throws unknown_run, run_not_active (it has ended) or invalid_argument (it is
    /// active already).
    void resume_run(run_id run) { engine_.resume_run(run); }

    /// Drops the intermediate history of run, which has ended: what its commits overwrote
    /// and erased, and their times (a retention choice). Its final records and its event log
    /// stay; replay (inmem/time_machine.hpp) then shows its end only. Throws unknown_run, and
    /// invalid_argument while it is active or interrupted.
    void compact(run_id run) { engine_.compact(run); }

    /// Forgets run, which has ended (a user's right to be forgotten): its records, events,
    /// traces, history and run index record, in one commit; only a record that its id was
    /// erased stays, so the id is never reused and errors about it say so. With
    /// {.cascade = true} its descendants go too (all must have ended); without, a run with a
    /// child not yet erased is refused. A durable database then takes a snapshot and deletes
    /// the older snapshots and the WAL (O(database) on disk): nothing of the run is left in
    /// the directory, and until the next snapshot there is no fallback snapshot.
    /// Shared state records the run wrote are other runs' too and stay. Returns the runs
    /// erased, in id order. Throws unknown_run or invalid_argument (saying why).
    std::vector<run_id> erase_run(run_id run, erase_options options = {}) { return engine_.erase_run(run, options); }

    /// The run index record of run. Throws unknown_run.
    run_info run(run_id run) const { return engine_.run(run); }

    /// Every run's record, oldest first.
    std::vector<run_info> runs() const { return engine_.runs(); }

    /// The records of the runs whose status is status, oldest first: e.g. the runs a crash
    /// interrupted, db.runs(run_status::interrupted). O(runs).
    std::vector<run_info> runs(run_status status) const { return engine_.runs(status); }

    /// The runs matching query (filters combined; see run_query), in its order, at one
    /// snapshot, a page at a time when query.limit is set (page.next resumes):
    ///   db.runs({.statuses = {run_status::failed}, .tags = {"prod"}, .limit = 100})
    /// From in-memory secondary indexes: O(log n) plus the candidates of the most selective
    /// indexed filter. Throws unknown_run (parent or descendant_of) or invalid_argument.
    run_page runs(const run_query& query) const { return engine_.runs(query); }

    /// Sets the metadata key of run (active) to value, in one commit (none when it already
    /// holds it). Throws unknown_run, run_not_active or invalid_argument (an empty key).
    void set_metadata(run_id run, std::string key, std::string value) {
        engine_.set_metadata(run, std::move(key), std::move(value));
    }

    /// Erases the metadata key of run (active), in one commit (none when it has no such key).
    /// Throws unknown_run, run_not_active or invalid_argument (an empty key).
    void erase_metadata(run_id run, std::string key) { engine_.set_metadata(run, std::move(key), std::nullopt); }

    /// The handle of primitive family F (primitives/family.hpp) for value type T, which the
    /// schema must list in F's entry: db.handle<inmem::kv_family, Plan>() is db.kv<Plan>().
    template <class F, class T>
    typename F::template handle<engine_type, T> handle() noexcept {
        static_assert(family_with_handle<F, engine_type, T>,
                      "inmem: db.handle<F, T>() needs a primitive family F with a handle (see "
                      "inmem/primitives/family.hpp); this one is planned but not built yet");
        static_assert(Schema::template contains<F::id, T>,
                      "inmem: T is not in the schema for this primitive family; list it in the family's "
                      "schema entry: inmem::schema<inmem::kv<..., T>> for db.kv<T>(), inmem::states<..., T> "
                      "for db.states<T>(), inmem::family_entry<F, ..., T> for db.handle<F, T>()");
        if constexpr (Schema::template contains<F::id, T>) {
            constexpr std::uint16_t slot = Schema::template slot_of<F::id, T>;
            if constexpr (requires { typename F::template index<T>; })
                return typename F::template handle<engine_type, T>(engine_, slot, indexes_.template at<slot>());
            else return typename F::template handle<engine_type, T>(engine_, slot);
        }
    }

    /// The handle of primitive family F over all the types of its schema entry (the event
    /// log: db.handle<inmem::event_family>() is db.events()).
    template <class F>
        requires requires { typename F::template schema_handle<engine_type, Schema>; }
    typename F::template schema_handle<engine_type, Schema> handle() noexcept {
        return typename F::template schema_handle<engine_type, Schema>(engine_);
    }

    /// The event log of every run: the types the schema lists in inmem::events<...>.
    template <class S = Schema> // (a template, so that schemas without events never name their log)
    event_log<engine_type, S> events() noexcept {
        return handle<event_family>();
    }

    /// The trace store of every run: the types the schema lists in inmem::traces<...>.
    template <class F = trace_family> // (a template, so that schemas without traces never name it)
    auto traces() noexcept {
        return handle<F>();
    }

    /// The typed KV of value type T, which the schema must list in inmem::kv<...>.
    template <class T>
    kv_handle<engine_type, T> kv() noexcept { return handle<kv_family, T>(); }

    /// The state records of value type T, which the schema must list in inmem::states<...>.
    template <class T>
    state_handle<engine_type, T> states() noexcept { return handle<state_family, T>(); }

    /// The vectors of a collection the schema lists in inmem::vectors<...>: named by its
    /// metadata type (db.vectors<Doc>(), when one collection has it) or by the collection
    /// itself (db.vectors<inmem::collection<Doc, 384>>()).
    template <class MetaOrCollection>
    auto vectors() noexcept {
        return handle<vector_family, detail::collection_named<Schema, MetaOrCollection>>();
    }

    /// Opens a transaction of run (which must exist; it must be active when committing) at
    /// the latest version. See inmem/transaction.hpp.
    transaction begin(run_id run, transaction_options options = {}) { return transaction(engine_, run, options); }

    /// Runs fn(tx) in a new transaction of run and commits it; on errc::conflict, runs it again
    /// in a fresh transaction after a short randomised pause, up to options.max_attempts times,
    /// then throws the conflict. Returns what fn returns or, when fn returns nothing, the
    /// commit's version. If fn throws, nothing it wrote is applied and the exception propagates.
    /// fn may run several times: keep its effects outside the database idempotent.
    template <class Fn>
    auto transact(run_id run, Fn&& fn, transaction_options options = {}) {
        static_assert(std::is_invocable_v<Fn&, transaction&>,
                      "inmem: transact(run, fn) calls fn(tx) with the transaction: take `auto& tx` "
                      "(or `db_type::transaction& tx`)");
        using result_type = std::invoke_result_t<Fn&, transaction&>;
        for (unsigned attempt = 1;; ++attempt) {
            try {
                transaction tx = begin(run, options);
                if constexpr (std::is_void_v<result_type>) {
                    std::invoke(fn, tx);
                    return tx.active() ? tx.commit() : tx.committed_version();
                } else {
                    result_type out = std::invoke(fn, tx);
                    if (tx.active()) tx.commit();
                    return out;
                }
            } catch (const error& e) {
                if (e.code() != errc::conflict || attempt >= std::max(1u, options.max_attempts)) throw;
            }
            pause_before_retry(attempt, options);
        }
    }

    /// The version of the latest commit (0 in a new database).
    version_t last_version() const { return engine_.last_version(); }

    /// The engine under the handles: what primitive families' handles and components that
    /// take a database (inmem/walk.hpp) build on. Not needed to use the database.
    engine_type& engine() noexcept { return engine_; }
    const engine_type& engine() const noexcept { return engine_; }

    /// This database's clock (the clock policy's object; clocks::system by default): where
    /// run start and end times and lease expiries come from. A clocks::manual one is set
    /// through it: db.clock().set(t), db.clock().advance(d).
    clock_policy& clock() noexcept { return clock_; }
    const clock_policy& clock() const noexcept { return clock_; }

    /// What opening the directory found and did (all zero for a database in memory).
    const recovery_report& recovery() const noexcept { return engine_.recovery(); }

    /// Makes every commit so far durable before returning (batched: without waiting for the
    /// next flush). Throws io_error, no_space or failed.
    void sync() { engine_.sync(); }

    /// Writes a snapshot of the whole state now and deletes the WAL it makes obsolete
    /// (also taken automatically, see open_options::snapshot_after_bytes).
    void snapshot() { engine_.snapshot(); }

private:
    // What both constructors do once the engine is built, before any other use.
    void set_up() noexcept {
        engine_.describe_keys_with(&detail::describe_stored_key<Schema>);
        engine_.use_clock({&clock_, [](const void* clock) noexcept {
                               return static_cast<const clock_policy*>(clock)->now();
                           }});
    }

    static void pause_before_retry(unsigned attempt, const transaction_options& options) {
        // splitmix64, seeded per thread by its address and the clock: jitter needs no <random>.
        thread_local std::uint64_t state = reinterpret_cast<std::uintptr_t>(&state) ^
                                           static_cast<std::uint64_t>(
                                               std::chrono::steady_clock::now().time_since_epoch().count());
        std::uint64_t jitter = (state += 0x9e3779b97f4a7c15ull);
        jitter = (jitter ^ (jitter >> 30)) * 0xbf58476d1ce4e5b9ull;
        jitter = (jitter ^ (jitter >> 27)) * 0x94d049bb133111ebull;
        jitter ^= jitter >> 31;
        const auto base = std::min(options.max_backoff, options.first_backoff * (1u << std::min(attempt - 1, 20u)));
        const auto micros =
            base.count() / 2 + static_cast<long long>(jitter % static_cast<std::uint64_t>(base.count() + 1));
        if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
    }

    [[no_unique_address]] clock_policy clock_; // before the engine, which reads it
    detail::family_indexes<Schema> indexes_;   // before the engine, which feeds them
    engine_type engine_;
};

} // namespace inmem
