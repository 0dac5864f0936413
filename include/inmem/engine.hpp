// inmem/engine.hpp: the core every primitive writes and reads through.
//
// The engine owns the store, the lock, the version counter, the run registry
// (run_registry.hpp) and, when the database lives in a directory, a durable session
// (durability/session.hpp) behind the commit_log interface: the three parts, of which this
// file is the commit, read and MVCC core. It knows nothing of the schema: primitives hand it
// encoded keys and values, and the run index's records are coded by RunCodec
// (primitives/runs.hpp). Every change goes through commit_locked(), under the writers'
// lock: it assigns the next version (reserved durably first, so no version anybody saw is
// ever reused), runs the ops' finalize hooks, logs the change, shows it to the batch
// observers, applies it and publishes the version to readers; the committer then, outside
// the lock, frees collected garbage and waits for the durability its policy promises
// (finish()). Readers pin a snapshot and take no lock.
#pragma once

#include <inmem/durability/commit_log.hpp>
#include <inmem/durability/recovery.hpp>
#include <inmem/durability/session.hpp>
#include <inmem/error.hpp>
#include <inmem/history/history_store.hpp>
#include <inmem/policy.hpp>
#include <inmem/run_registry.hpp>
#include <inmem/vocabulary.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/memory.hpp>
#include <inmem/storage/record.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace inmem::detail {

/// Where the engine reads the wall time: the database's clock policy object (clock.hpp),
/// without its type; system_clock until the database says otherwise.
struct wall_clock {
    const void* clock = nullptr;
    std::chrono::system_clock::time_point (*read)(const void* clock) noexcept = [](const void*) noexcept {
        return std::chrono::system_clock::now();
    };

    std::chrono::system_clock::time_point now() const noexcept { return read(clock); }
};

template <storage_policy StoragePolicy, concurrency_policy ConcurrencyPolicy, durability_policy DurabilityPolicy,
          run_record_coding RunCodec>
class engine {
public:
    using backend_type = typename StoragePolicy::backend;
    using mutex_type = typename ConcurrencyPolicy::mutex_type;
    using snapshots_type = typename ConcurrencyPolicy::snapshots_type;

    /// A registered reader: the versions visible at version() stay readable while it lives.
    class pinned {
    public:
        pinned() = default;
        pinned(pinned&& other) noexcept : engine_(std::exchange(other.engine_, nullptr)), pin_(other.pin_), at_(other.at_) {}
        pinned& operator=(pinned&& other) noexcept {
            if (this != &other) {
                release();
                engine_ = std::exchange(other.engine_, nullptr);
                pin_ = other.pin_;
                at_ = other.at_;
            }
            return *this;
        }
        ~pinned() { release(); }

        version_t version() const noexcept { return at_; }
        void release() noexcept {
            if (engine_) std::exchange(engine_, nullptr)->snapshots_.unpin(pin_);
        }

    private:
        friend class engine;
        const engine* engine_ = nullptr;
        typename snapshots_type::pin_type pin_{};
        version_t at_ = 0;
    };

    /// An empty database in memory; observers see every batch it applies.
    explicit engine(std::vector<batch_observer*> observers = {}) : observers_(std::move(observers)) {
        observers_.insert(observers_.begin(), &run_observer_);
        for (batch_observer* o : observers_) o->recovered();
    }

    /// Opens (creating or recovering) the database in dir; observers see what recovery
    /// loads and replays, then every batch applied.
    engine(const std::filesystem::path& dir, open_options options, schema_stamp schema,
           std::vector<batch_observer*> observers = {})
        requires DurabilityPolicy::persistent
        : observers_(std::move(observers))
    {
        observers_.insert(observers_.begin(), &run_observer_); // the run index's secondary indexes
        durability_params params;
        params.sync_each_commit = DurabilityPolicy::sync_each_commit;
        if constexpr (!DurabilityPolicy::sync_each_commit) {
            params.interval_ms = DurabilityPolicy::options.interval_ms;
            params.max_bytes = DurabilityPolicy::options.max_bytes;
        }
        auto session = std::make_unique<durable_session>(
            dir, std::move(options), std::move(schema), params,
            [&](std::string&& key, std::string&& bytes, version_t v) {
                if (is_history_key(key)) {
                    if (!history_.load(key, bytes))
                        throw error(errc::corruption, "inmem: the snapshot's history of " +
                                                          describe_run(run_id{load_big_endian<std::uint64_t>(key.data() + 5)}) +
                                                          " does not read back");
                    return;
                }
                for (batch_observer* o : observers_) o->loaded(key, bytes, v);
                store_.put(std::move(key), std::move(bytes), v);
            },
            [&](version_t v, std::int64_t time, std::span<write_op> ops) {
                apply(ops, v, time);
                if (store_.garbage() >= 4096) store_.collect(v); // nobody reads during recovery
            });
        const recovered& found = session->found();
        report_ = found.report;
        version_ = report_.last_version;
        // A migration left records out: their files are kept before a snapshot replaces them.
        if (report_.records_dropped)
            report_.files_kept = session->keep_files("before-migration-" + std::to_string(version_)).string();
        store_.collect(latest_version);
        visible_.store(version_);
        runs_.rebuild(store_);
        if (!found.clean) runs_.after_crash(found.reserved_runs, report_); // what it may have handed out is never used
        // Files read under another schema are rewritten by a snapshot under this one.
        const bool snapshot_due = session->snapshot_due_at_open() || !report_.schema_changes.empty();
        // The deleter is a function made here: an engine in memory never names the session's
        // destructor, so nothing of the durable code is compiled into programs without it.
        log_ = log_pointer(session.release(), [](commit_log* log) { delete static_cast<durable_session*>(log); });
        for (batch_observer* o : observers_) o->recovered();
        if (snapshot_due) {
            report_.snapshot_error = take_snapshot(false);
            report_.snapshot_written = report_.snapshot_error.empty();
        }
    }

    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;
    ~engine() = default; // the session (if any) logs its close and syncs

    // ---- Runs

    /// Begins a run; initial, ops of a run's range (any run id in their keys), are committed
    /// with its record as the new run's (a fork's first state).
    run_id begin_run(run_options options, std::span<write_op> initial = {}) {
        std::uint64_t ticket = 0;
        run_id id;
        garbage freed;
        {
            std::unique_lock lock(mutex_);
            const run_info info = runs_.make_run(std::move(options), clock_.now()); // checks the parent first
            ensure_session_locked();
            std::vector<write_op> ops;
            ops.reserve(initial.size() + 1);
            ops.push_back(runs_.record_op(info));
            for (write_op& op : initial) {
                if (op.key.size() < run_key_prefix_size || static_cast<key_space>(op.key[4]) != key_space::run)
                    throw error(errc::invalid_argument, "inmem: begin_run: an initial op outside a run's range");
                store_big_endian(op.key.data() + 5, info.id.value);
                ops.push_back(std::move(op));
            }
            runs_.prepare_add();
            if (log_) log_->reserve(version_ + 1, runs_.next_id());
            commit_locked(std::span(ops), ticket, freed, [&] { runs_.added(); });
            id = info.id;
            runs_.advance();
            collect_run_index_locked();
        }
        finish(ticket, freed);
        return id;
    }

    void end_run(run_id run, run_status status) {
        if (status != run_status::completed && status != run_status::failed && status != run_status::cancelled)
            throw error(errc::invalid_argument, "inmem: end_run needs a final status (completed, failed or "
                                                "cancelled), not " + std::string(to_string(status)));
        set_status(run, "end_run", [&](run_status now) {
            if (now != run_status::active && now != run_status::interrupted)
                throw error(errc::run_not_active, "inmem: end_run: " + describe_run(run) + " has already ended (" +
                                                      std::string(to_string(now)) + ")");
            return status;
        });
    }

    void resume_run(run_id run) {
        set_status(run, "resume_run", [&](run_status now) {
            if (now == run_status::active)
                throw error(errc::invalid_argument, "inmem: resume_run: " + describe_run(run) +
                                                        " is active, not interrupted: it can be written to as it is");
            if (now != run_status::interrupted)
                throw error(errc::run_not_active, "inmem: resume_run: " + describe_run(run) + " has ended (" +
                                                      std::string(to_string(now)) + "); only an interrupted run resumes");
            return run_status::active;
        });
    }

    run_info run(run_id run) const {
        runs_.check_known(run);
        const pinned at = pin_for_point_read();
        return runs_.load(store_, run, at.version());
    }

    /// Every run's record, oldest first; only those with status `only` when given.
    std::vector<run_info> runs(std::optional<run_status> only = std::nullopt) const {
        const pinned at = pin_for_point_read();
        return runs_.list(store_, at.version(), only);
    }

    /// The runs matching query at one snapshot, from the run index's secondary indexes.
    run_page runs(const run_query& query) const {
        runs_.check_query(query);
        const pinned at = pin();
        return runs_.query(store_, at.version(), query);
    }

    /// Sets (value) or erases (nullopt) the metadata key of run, which must be active, in one
    /// commit; nothing is written when that changes nothing.
    void set_metadata(run_id run, std::string key, std::optional<std::string> value) {
        runs_.check_metadata_key(key, value ? "set_metadata" : "erase_metadata");
        std::uint64_t ticket = 0;
        garbage freed;
        {
            std::unique_lock lock(mutex_);
            runs_.check_writable(run);
            run_info info = runs_.load(store_, run, latest_version);
            const auto it = info.metadata.find(key);
            if (value) {
                if (it != info.metadata.end() && it->second == *value) return;
                info.metadata.insert_or_assign(std::move(key), std::move(*value));
            } else {
                if (it == info.metadata.end()) return;
                info.metadata.erase(it);
            }
            write_op op = runs_.record_op(info);
            commit_locked(std::span(&op, 1), ticket, freed, [] {});
            collect_run_index_locked();
        }
        finish(ticket, freed);
    }

    /// Drops the history of run, which has ended, before its last commit (its records and
    /// event log stay: replay shows its end only), in one commit. Throws unknown_run and
    /// invalid_argument (it is active or interrupted).
    void compact(run_id run) {
        std::uint64_t ticket = 0;
        garbage freed;
        {
            std::unique_lock lock(mutex_);
            const auto status = runs_.status(run);
            if (!status) throw runs_.unknown(run, "compact");
            if (*status == run_status::active || *status == run_status::interrupted)
                throw error(errc::invalid_argument, "inmem: compact: " + describe_run(run) + " is " +
                                                      std::string(to_string(*status)) +
                                                      "; only a run that has ended is compacted (end_run it first)");
            write_op op{write_op::kind::put, history_key(run.value), std::string(history_compact_command)};
            commit_locked(std::span(&op, 1), ticket, freed, [] {});
        }
        finish(ticket, freed);
    }

    /// Forgets run (ended) and, with cascade, its descendants, in one commit: every record in
    /// their ranges, their histories and run index records go; a record of each id says it
    /// was erased. A durable database then takes a snapshot and deletes every older snapshot
    /// and the WAL before it (they hold the runs). Returns the runs erased, in id order. Throws unknown_run or
    /// invalid_argument (see run_registry::to_erase).
    std::vector<run_id> erase_run(run_id run, erase_options options) {
        std::uint64_t ticket = 0;
        garbage freed;
        std::vector<run_id> erased;
        {
            std::unique_lock lock(mutex_);
            erased = runs_.to_erase(run, options.cascade);
            std::vector<write_op> ops;
            for (const run_id r : erased) {
                store_.scan_prefix(run_range_prefix(r), latest_version, [&](std::string_view key, const stored_record&) {
                    ops.push_back({write_op::kind::erase, std::string(key), {}});
                });
                ops.push_back({write_op::kind::erase, run_catalog_key(default_namespace, r.value), {}});
                ops.push_back({write_op::kind::put, erased_run_key(default_namespace, r.value), {}});
            }
            // The histories last: the erasures before them are kept in them, then dropped.
            for (const run_id r : erased) ops.push_back({write_op::kind::erase, history_key(r.value), {}});
            commit_locked(std::span(ops), ticket, freed, [&] {
                for (const run_id r : erased) runs_.erased(r);
            });
            collect_run_index_locked();
        }
        finish(ticket, freed);
        if (log_) take_snapshot(true, false); // and no fallback: the older snapshots and WAL held the runs
        return erased;
    }

    /// Throws unknown_run unless run is a run of this database. Lock-free.
    void check_known(run_id run) const { runs_.check_known(run); }

    // ---- Reading

    /// Registers a reader at the latest version (transactions hold one for their life).
    pinned pin() const {
        pinned p;
        p.at_ = snapshots_.pin(visible_, p.pin_);
        p.engine_ = this;
        return p;
    }

    /// Calls f(const stored_record*) for key (nullptr when absent) at the latest version and
    /// returns what f returns. run must exist. Lock-free.
    template <class F>
    decltype(auto) read(run_id run, std::string_view key, F&& f) const {
        check_known(run);
        return read_latest(key, std::forward<F>(f));
    }

    /// Calls f(const stored_record*) for key at the latest version, whatever run wrote it.
    template <class F>
    decltype(auto) read_latest(std::string_view key, F&& f) const {
        const pinned at = pin_for_point_read();
        return f(store_.find(key, at.version()));
    }

    /// Calls f(const stored_record*) for key as of snapshot at, which the caller has pinned.
    template <class F>
    decltype(auto) read_at(version_t at, std::string_view key, F&& f) const {
        return f(store_.find(key, at));
    }

    /// Calls f(key, record) for every key under prefix (after `after`, when given) at the
    /// latest version, in key order; f may return false to stop. run must exist (0: no run
    /// to check, for shared records).
    template <class F>
    void scan(run_id run, std::string_view prefix, F&& f, std::string_view after = {}) const {
        if (run) check_known(run);
        const pinned at = pin_for_point_read();
        store_.scan_prefix(prefix, at.version(), f, after);
    }

    /// Calls f(key, record) for every key under prefix (after `after`) as of snapshot at,
    /// which the caller has pinned, in key order; f may return false to stop.
    template <class F>
    void scan_at(version_t at, std::string_view prefix, F&& f, std::string_view after = {}) const {
        store_.scan_prefix(prefix, at, f, after);
    }

    /// The history of run (history/run_history.hpp): what its commits overwrote and erased,
    /// and their versions and times; nullptr while it has written nothing. It stays readable
    /// while held, also after db.compact or db.erase_run replace it.
    std::shared_ptr<const run_history> history(run_id run) const { return history_.find(run.value); }

    /// The version of the latest commit (0 before the first).
    version_t last_version() const noexcept { return visible_.load(std::memory_order_acquire); }

    // ---- Writing

    /// Applies ops written by run (which must be active) as one commit; returns its version
    /// once it is as durable as the policy promises.
    version_t commit(run_id run, std::span<write_op> ops) {
        return *commit_if(run, ops, [](const backend_type&) { return true; });
    }

    /// Commits ops for run if check(store) returns true when called under the writers' lock
    /// (it may look at the latest versions with store.head(key)); returns the commit's
    /// version, or nullopt (nothing written) when check said no.
    template <class Check>
    std::optional<version_t> commit_if(run_id run, std::span<write_op> ops, Check&& check) {
        std::uint64_t ticket = 0;
        version_t version;
        garbage freed;
        {
            std::unique_lock lock(mutex_);
            runs_.check_writable(run);
            if (!check(std::as_const(store_))) return std::nullopt;
            version = commit_locked(ops, ticket, freed, [] {});
        }
        finish(ticket, freed);
        return version;
    }

    /// A range a transaction listed: the keys under prefix after `after` ("": from the
    /// first), up to and including `last` when the listing stopped there ("": to the end).
    struct key_range {
        std::string prefix, after, last;
        bool contains(std::string_view key) const noexcept {
            return (after.empty() || key > after) && (last.empty() || key <= last);
        }
    };

    /// What a transaction read, for validation at commit.
    struct read_set {
        std::span<const std::string> keys;   ///< keys read (present or not)
        std::span<const key_range> ranges;   ///< ranges listed
    };

    /// Commits a transaction of run that read at snapshot `at`: fails with errc::conflict,
    /// writing nothing, if a key it writes (ops without a finalizer) or, when validate
    /// is given, a key or range it read was written by a commit after at.
    version_t commit_transaction(run_id run, version_t at, std::span<write_op> ops, const read_set* validate) {
        return *commit_if(run, ops, [&](const backend_type& store) {
            for (const write_op& op : ops)
                if (!op.finalize && store.latest(op.key) > at) throw conflict("wrote", op.key, at);
            if (!validate) return true;
            for (const std::string& key : validate->keys)
                if (store.latest(key) > at) throw conflict("read", key, at);
            for (const key_range& range : validate->ranges) {
                // A key added, changed or erased after at in the range: erased keys keep a
                // tombstone, so the latest versions of everything ever listed are all here.
                bool changed = false;
                std::string which;
                store.scan_prefix(
                    range.prefix, latest_version,
                    [&](std::string_view key, const stored_record& rec) {
                        if (!range.contains(key)) return false; // past its last key
                        if (rec.version > at) changed = true, which = key;
                        return !changed;
                    },
                    range.after);
                if (!changed) changed = erased_after(store, range, at, which);
                if (changed) throw conflict("listed", which, at);
            }
            return true;
        });
    }

    /// Sets how keys are described in error messages (by the schema's families; the
    /// database sets it once, before any use).
    void describe_keys_with(std::string (*describe)(std::string_view)) noexcept { describe_ = describe; }

    /// Sets where the wall time comes from (the database's clock; set once, before any use).
    void use_clock(wall_clock clock) noexcept { clock_ = clock; }
    /// The wall time by the database's clock: runs' start and end times, leases.
    std::chrono::system_clock::time_point now() const noexcept { return clock_.now(); }

    // ---- Durability

    /// What opening the directory found (empty in memory).
    const recovery_report& recovery() const noexcept { return report_; }

    /// Makes every commit so far durable now.
    void sync() {
        if (log_) log_->sync();
    }

    /// Writes a snapshot of the whole state and deletes the WAL it makes obsolete. Writers
    /// keep committing meanwhile: the snapshot reads the versions of one moment (pinned, so
    /// they stay), without a lock.
    void snapshot() {
        if (log_) take_snapshot(true);
    }

private:
    using log_pointer = std::unique_ptr<commit_log, void (*)(commit_log*)>;

    error conflict(const char* what, std::string_view key, version_t at) const {
        return error(errc::conflict, std::string("inmem: transaction conflict: another commit changed ") +
                                         describe_(key) + ", which the transaction " + what +
                                         ", after its snapshot (version " + std::to_string(at) +
                                         "); nothing was written; run the transaction again (transact() does)");
    }

    // Takes a snapshot; fail_stop: a failure stops the log and throws (a commit's automatic
    // snapshot, db.snapshot()); otherwise it is returned (the snapshot at open: opening must
    // not fail for want of space). Returns "" on success.
    // fallback: keep the previous snapshot as the fallback (false: delete everything older).
    std::string take_snapshot(bool fail_stop, bool fallback = true) {
        std::lock_guard one_at_a_time(snapshot_mutex_);
        snapshot_header head;
        pinned at;
        {
            std::unique_lock lock(mutex_);
            head = log_->begin_snapshot(version_);
            snapshots_.pin_at(version_, at.pin_);
            at.at_ = version_;
            at.engine_ = this;
        }
        return log_->write_snapshot(
            head,
            [&](const snapshot_emit& emit) {
                // Each run's history goes first in its range (primitive 0), in pieces.
                const auto histories = history_.all();
                auto next = histories.begin();
                auto histories_before = [&](std::string_view key) {
                    for (; next != histories.end(); ++next) {
                        const std::string prefix = history_key(next->first);
                        if (!key.empty() && key < prefix) return;
                        std::uint32_t piece = 0;
                        next->second->stream_until(at.version(), [&](std::string_view bytes) {
                            emit(history_key(next->first, piece++), at.version(), bytes);
                        });
                    }
                };
                store_.scan_prefix({}, at.version(), [&](std::string_view key, const stored_record& rec) {
                    histories_before(key);
                    emit(key, rec.version, rec.bytes);
                });
                histories_before({});
            },
            fail_stop, fallback);
    }

    // Whether a key in range was erased after at (scans skip tombstones).
    static bool erased_after(const backend_type& store, const key_range& range, version_t at, std::string& which) {
        bool found = false;
        store.scan_prefix(
            range.prefix, at,
            [&](std::string_view key, const stored_record&) {
                if (!range.contains(key)) return false;
                if (store.find(key, latest_version) == nullptr) found = true, which = key;
                return !found;
            },
            range.after);
        return found;
    }

    pinned pin_for_point_read() const {
        pinned p;
        if constexpr (snapshots_type::point_reads_pin) {
            p.at_ = snapshots_.pin(visible_, p.pin_);
            p.engine_ = this;
        } else {
            p.at_ = visible_.load(std::memory_order_relaxed);
        }
        return p;
    }

    // Assigns the next version, logs ops, applies them, makes the commit visible, then runs
    // publish (which must not throw): what publish records is only seen with the commit.
    using garbage = std::vector<typename backend_type::retired>;

    // (freed receives what a collect detached, to release once the lock is let go.)
    template <class Publish>
    version_t commit_locked(std::span<write_op> ops, std::uint64_t& ticket, garbage& freed, Publish&& publish) {
        ensure_session_locked();
        const version_t version = version_ + 1;
        const auto now = clock_.now(); // the commit's time, read once
        for (const write_op& op : ops)
            if (op.finalize) [[unlikely]] {
                finalize(ops, version, now);
                break;
            }
        const std::int64_t time = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
        if (log_) {
            log_->reserve(version, 0);
            ticket = log_->append(std::span<const write_op>(ops), version, time); // throws when failed
        }
        apply(ops, version, time);
        version_ = version;
        visible_.store(version);
        publish();
        if (store_.garbage() >= collect_at_) {
            store_.collect(snapshots_.oldest(visible_), freed);
            collect_at_ = std::max<std::size_t>(256, store_.garbage() * 2);
        }
        return version;
    }

    // At the session's first write: the log starts (its version may jump past what a crashed
    // session reserved), then what open found after a crash is written in one commit: the
    // run ids the crashed session may have handed out, as a gap of the run index, and the
    // runs it left active, interrupted.
    void ensure_session_locked() {
        if (!log_ || log_started_) return;
        version_ = log_->start(version_, runs_.next_id());
        log_started_ = true;
        std::vector<write_op> ops = runs_.session_start_ops(store_);
        if (ops.empty()) return;
        std::uint64_t ticket = 0;
        garbage freed; // released with the lock held: this happens once a session
        commit_locked(ops, ticket, freed, [] {});
        backend_type::release(freed);
    }

    // Changes the status of run to what next(current status) returns.
    template <class Next>
    void set_status(run_id run, const char* what, Next&& next) {
        std::uint64_t ticket = 0;
        garbage freed;
        {
            std::unique_lock lock(mutex_);
            const auto current = runs_.status(run);
            if (!current) throw runs_.unknown(run, what);
            const run_status status = next(*current);
            run_info info = runs_.load(store_, run, latest_version);
            info.status = status;
            info.ended = status == run_status::active ? std::nullopt
                                                      : std::optional(runs_.end_time(clock_.now(), info.started));
            write_op op = runs_.record_op(info);
            commit_locked(std::span(&op, 1), ticket, freed, [&] { runs_.set(run, status); });
            collect_run_index_locked();
        }
        finish(ticket, freed);
    }

    // Clears the run index's entries no reader can see any more (after a run commit).
    void collect_run_index_locked() noexcept {
        if (runs_.index_collect_due()) runs_.collect_index(snapshots_.oldest(visible_));
    }

    // Feeds the run index's secondary indexes every run record, live and in recovery.
    struct run_index_observer final : batch_observer {
        engine* self;
        explicit run_index_observer(engine* e) noexcept : self(e) {}
        void loaded(std::string_view key, std::string_view bytes, version_t version) noexcept override {
            self->runs_.indexed(key, bytes, nullptr, version);
        }
        void applied(version_t version, std::span<const write_op> ops) noexcept override {
            for (const write_op& op : ops) // (the lookup of the record before only for run records)
                if (!run_registry<RunCodec>::is_run_record(op.key)) continue;
                else if (op.op == write_op::kind::put)
                    self->runs_.indexed(op.key, op.bytes, self->store_.find(op.key, latest_version), version);
                else self->runs_.unindexed(op.key, version);
        }
    };

    // Runs the ops' finalizers, in order, with one context. Out of line, so that commits
    // without hooks keep the commit path as it was.
    [[gnu::noinline]] void finalize(std::span<write_op> ops, version_t version,
                                    std::chrono::system_clock::time_point now) {
        scratch_.clear();
        const commit_context context{version, now, &store_,
                                     [](const void* store, std::string_view key) {
                                         return static_cast<const backend_type*>(store)->find(key);
                                     },
                                     &scratch_};
        for (write_op& op : ops)
            if (op.finalize) std::exchange(op.finalize, nullptr)(op, context);
    }
    [[gnu::noinline]] void notify(std::span<const write_op> ops, version_t version) const {
        for (batch_observer* o : observers_) o->applied(version, ops);
    }

    // The store takes the ops' keys and bytes: the ops are left empty. What they overwrite or
    // erase in a run's range goes to the run's history first.
    void apply(std::span<write_op> ops, version_t version, std::int64_t time) {
        if (!observers_.empty()) [[unlikely]]
            notify(ops, version);
        for (auto& op : ops) {
            if (op.key.size() >= run_key_prefix_size && static_cast<key_space>(op.key[4]) == key_space::run &&
                !keep_history(op, version, time)) [[unlikely]]
                continue;
            if (op.op == write_op::kind::put) store_.put(std::move(op.key), std::move(op.bytes), version);
            else store_.erase(op.key, version);
        }
    }

    // Records op, of a run's range, in the run's history: the commit, and the record op
    // overwrites or erases. False for a history command (done here; not a record).
    bool keep_history(const write_op& op, version_t version, std::int64_t time) {
        const std::string_view key = op.key;
        if (static_cast<std::uint8_t>(key[13]) == history_primitive) [[unlikely]] {
            history_.command(key, op.op == write_op::kind::erase);
            return false;
        }
        run_history& history = history_.writer(load_big_endian<std::uint64_t>(key.data() + 5));
        history.commit(version, time);
        if (const stored_record* old = store_.find(key))
            history.superseded(key.substr(run_key_prefix_size - 3), old->version, old->bytes);
        return true;
    }

    // After the lock is released: frees what the commit's collect detached (the slow part of
    // collecting, kept out of the lock), the durability the policy promises, maintenance.
    void finish(std::uint64_t ticket, garbage& freed) {
        backend_type::release(freed);
        if (!log_) return;
        // Past the threshold, the first committer to notice takes the snapshot; the others go on.
        if (log_->finish(ticket) && !snapshot_running_.exchange(true)) {
            struct clear_flag {
                std::atomic<bool>& flag;
                ~clear_flag() { flag = false; }
            } clear{snapshot_running_};
            // If the snapshot fails, this durable commit reports the I/O error: the database has
            // stopped (fail-stop), so the caller cannot apply it twice by retrying; a reopen
            // shows it.
            take_snapshot(true);
        }
    }

    // Writers, one at a time.
    mutable mutex_type mutex_;
    version_t version_ = 0;          // the last commit's version, under mutex_
    std::size_t collect_at_ = 256;   // garbage count that triggers a collect, under mutex_
    bool log_started_ = false;       // under mutex_
    commit_scratch scratch_;         // the finalizers' of the commit being made, under mutex_
    // Anyone. Each on its own cache line: readers read them on every call, and a line the
    // writer dirties on every commit (the fields above) must not hold what they read.
    alignas(64) backend_type store_;
    alignas(64) std::atomic<version_t> visible_{0}; // the newest version readers may read
    mutable snapshots_type snapshots_;
    run_registry<RunCodec> runs_; // which ids are runs, their statuses, the next id
    history_store history_;       // every run's history: the writer's under mutex_, readers' at will
    std::string (*describe_)(std::string_view) = &describe_key; // keys in error messages
    wall_clock clock_;                                           // the database's clock
    run_index_observer run_observer_{this};  // first of the observers
    std::vector<batch_observer*> observers_; // set at construction

    // Durable databases only.
    recovery_report report_;
    std::mutex snapshot_mutex_;
    std::atomic<bool> snapshot_running_{false};
    log_pointer log_{nullptr, nullptr}; // last: destroyed first, so its close finds the store whole
};

} // namespace inmem::detail
