// inmem/run_registry.hpp: the engine's run registry: which run ids are runs, their
// statuses (lock-free, for the check on every call), the next id, and the run index's
// records (catalog space) it writes through the engine's commits and rebuilds at open.
//
// Run ids are dense from 1, except where a crashed session had reserved ids it may have
// handed out: the next session's first commit records them as a gap of the run index
// (storage/key.hpp), and they are never runs. Runs left active by a crashed session are
// interrupted at the next open (in memory at once, in the run index with that same commit).
// An erased run (db.erase_run) leaves only a record that says so (storage/key.hpp): its id
// is never a run again, and errors about it say it was erased.
// The registry decides and describes; the engine (engine.hpp) locks, commits and publishes.
// It also keeps the run index's secondary indexes (run_index.hpp), which the engine feeds
// every run record it applies (live, in recovery, from a snapshot) and which answer
// queries (db.runs(query)).
#pragma once

#include <inmem/concurrency/run_statuses.hpp>
#include <inmem/durability/recovery.hpp>
#include <inmem/error.hpp>
#include <inmem/run_index.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem::detail {

inline std::string describe_run(run_id run) { return "run " + std::to_string(run.value); }

inline std::string run_catalog_prefix(catalog_kind kind = catalog_kind::run) {
    std::string prefix;
    append_big_endian(prefix, default_namespace);
    prefix.push_back(static_cast<char>(key_space::catalog));
    prefix.push_back(static_cast<char>(kind));
    return prefix;
}

/// How the engine writes and reads the run index's records: the coding comes from above
/// (primitives/runs.hpp reflects run_info through the schema codec), so the engine includes
/// nothing of the schema layer.
template <class C>
concept run_record_coding = requires(const run_info& info, std::string_view bytes) {
    { C::encode(info) } -> std::convertible_to<std::string>;
    { C::decode(bytes).has_value() } -> std::convertible_to<bool>;
    { C::decode(bytes).value() } -> std::convertible_to<run_info>;
};

/// The run registry of an engine whose run records are coded by RunCodec.
template <run_record_coding RunCodec>
class run_registry {
public:
    // ---- Lock-free

    /// Whether run is a run of this database. Lock-free.
    bool known(run_id run) const noexcept { return statuses_.get(run).has_value(); }

    /// Throws unknown_run unless run is a run of this database. Lock-free.
    void check_known(run_id run) const {
        if (!known(run)) throw unknown(run, "");
    }

    /// The status of run, or nullopt when it is none. Lock-free.
    std::optional<run_status> status(run_id run) const noexcept { return statuses_.get(run); }

    /// The error for a run id that is no run (what: the operation, or "").
    error unknown(run_id run, const char* what) const {
        const bool lost = statuses_.in_gap(run);
        return error(errc::unknown_run,
                     std::string("inmem: ") + what + (*what ? ": " : "") + describe_run(run) +
                         (lost                     ? " does not exist: its id was reserved by a session that "
                                                     "crashed before the run was durable, and is never used"
                          : statuses_.erased(run) ? " does not exist any more: it was erased (erase_run)"
                                                  : " does not exist in this database (begin_run returns run ids)"));
    }

    /// Throws unless run is active (under the writers' lock, so that it stays so until the commit).
    void check_writable(run_id run) const {
        const auto current = statuses_.get(run);
        if (!current) throw unknown(run, "cannot write");
        const run_status status = *current;
        if (status == run_status::interrupted)
            throw error(errc::run_not_active, "inmem: cannot write to " + describe_run(run) +
                                                  ": it was interrupted (the process writing while it was active "
                                                  "stopped without closing the database); resume_run(run) to go on "
                                                  "writing, or end_run(run, status) to close it");
        if (status != run_status::active)
            throw error(errc::run_not_active, "inmem: cannot write to " + describe_run(run) + ": it has ended (" +
                                                  std::string(to_string(status)) +
                                                  "); begin a new run to write more");
    }

    /// The record of run as of version at (or latest_version). Throws corruption when missing.
    template <class Store>
    run_info load(const Store& store, run_id run, version_t at) const {
        const stored_record* rec = store.find(run_catalog_key(default_namespace, run.value), at);
        if (!rec) throw error(errc::corruption, "inmem: the run index has no record of " + describe_run(run));
        return decode(*rec, run);
    }

    /// Decodes a run record; a run interrupted at this open reads so before its record does.
    run_info decode(const stored_record& rec, run_id run) const {
        auto info = RunCodec::decode(rec.bytes);
        if (!info)
            throw error(errc::corruption, "inmem: the run index record of " + describe_run(run) +
                                              " does not decode: " + info.error().message());
        if (info.value().status == run_status::active && statuses_.get(run) == run_status::interrupted)
            info.value().status = run_status::interrupted;
        return std::move(info).value();
    }

    /// Every run's record as of version at, oldest first; only those with status `only`.
    template <class Store>
    std::vector<run_info> list(const Store& store, version_t at, std::optional<run_status> only) const {
        const std::string prefix = run_catalog_prefix();
        std::vector<run_info> out;
        store.scan_prefix(prefix, at, [&](std::string_view key, const stored_record& rec) {
            run_info info = decode(rec, run_id{read_big_endian<std::uint64_t>(key, prefix.size())});
            if (!only || info.status == *only) out.push_back(std::move(info));
        });
        return out;
    }

    /// The runs matching query as of version at, which the caller has pinned. Throws
    /// unknown_run (a parent or descendant_of that is no run) or invalid_argument.
    template <class Store>
    run_page query(const Store& store, version_t at, const run_query& q) const {
        check_query(q);
        return query_runs(index_, q, [&](std::uint64_t id) -> std::optional<run_info> {
            const stored_record* rec = store.find(run_catalog_key(default_namespace, id), at);
            if (!rec) return std::nullopt; // begun after the snapshot
            return decode(*rec, run_id{id});
        });
    }

    /// Throws unless q is a query this registry can answer.
    void check_query(const run_query& q) const {
        auto bad = [](const std::string& why) { return error(errc::invalid_argument, "inmem: runs(query): " + why); };
        if (q.parent && !known(*q.parent)) throw unknown(*q.parent, "runs(query): parent");
        if (q.descendant_of && !known(*q.descendant_of)) throw unknown(*q.descendant_of, "runs(query): descendant_of");
        for (const run_status s : q.statuses)
            if (static_cast<std::uint8_t>(s) > static_cast<std::uint8_t>(run_status::interrupted))
                throw bad("unknown status " + std::to_string(static_cast<int>(s)));
        for (const time_range* r : {&q.started, &q.ended})
            if (r->from && r->until && *r->from > *r->until)
                throw bad(std::string(r == &q.started ? "started" : "ended") + " range ends before it begins");
        for (const auto& entry : q.metadata)
            if (entry.first.empty()) throw bad("an empty metadata key (keys are never empty)");
        if (q.after && (q.after->order != q.order || q.after->descending != q.descending))
            throw bad("the cursor `after` comes from a query of another order or direction");
        if (q.after && !q.after->last) throw bad("the cursor `after` names no run");
    }

    /// Throws invalid_argument unless key is a metadata key (not empty, at most max_key_size).
    static void check_metadata_key(std::string_view key, const char* what) {
        if (key.empty() || key.size() > max_key_size)
            throw error(errc::invalid_argument, std::string("inmem: ") + what + ": a metadata key must not be " +
                                                    (key.empty() ? "empty" : "longer than max_key_size bytes"));
    }

    // ---- Under the writers' lock

    /// The id the next begin_run gets.
    std::uint64_t next_id() const noexcept { return next_run_; }

    /// A new run's record, with the next id, started at now or, if the clock went back, at the
    /// last run's start (options.parent must be a run and metadata keys valid: checked here).
    run_info make_run(run_options&& options, std::chrono::system_clock::time_point now) const {
        if (options.parent && !known(*options.parent)) throw unknown(*options.parent, "begin_run: the parent");
        for (const auto& entry : options.metadata) check_metadata_key(entry.first, "begin_run");
        return run_info{.id = run_id{next_run_},
                        .name = std::move(options.name),
                        .tags = std::move(options.tags),
                        .parent = options.parent,
                        .status = run_status::active,
                        .started = index_.start_time(now),
                        .ended = std::nullopt,
                        .metadata = std::move(options.metadata)};
    }

    /// The end time of a run started at started ended at now: never before the last end.
    std::chrono::system_clock::time_point end_time(std::chrono::system_clock::time_point now,
                                                   std::chrono::system_clock::time_point started) const noexcept {
        return index_.end_time(now, started);
    }

    /// Whether key is a run record's: namespace (4 bytes), catalog space, kind run, id (8 bytes).
    static bool is_run_record(std::string_view key) noexcept {
        return key.size() == 14 && key[4] == static_cast<char>(key_space::catalog) &&
               key[5] == static_cast<char>(catalog_kind::run) && read_big_endian<std::uint32_t>(key, 0) == default_namespace;
    }

    /// Feeds the secondary indexes a run index record applied at version (live and in
    /// recovery) or loaded from a snapshot; previous: the key's record before (nullptr: none).
    /// Records that do not decode are skipped (rebuild refuses them). Never throws but
    /// std::bad_alloc.
    void indexed(std::string_view key, std::string_view bytes, const stored_record* previous, version_t version) {
        if (!is_run_record(key)) return; // gaps, other keys
        auto info = RunCodec::decode(bytes);
        if (!info || info.value().id.value != read_big_endian<std::uint64_t>(key, 6)) return;
        std::optional<run_info> before;
        if (previous && !info.value().metadata.empty())
            if (auto old = RunCodec::decode(previous->bytes)) before = std::move(old).value();
        index_.record(info.value(), before ? &before->metadata : nullptr, version);
    }

    /// Clears the index entries that no reader at oldest or later can see (under the lock).
    void collect_index(version_t oldest) noexcept { index_.collect(oldest); }
    bool index_collect_due() const noexcept { return index_.collect_due(); }

    /// The secondary indexes (read-only).
    const run_index& index() const noexcept { return index_; }

    /// The op that writes info to the run index.
    static write_op record_op(const run_info& info) {
        return {write_op::kind::put, run_catalog_key(default_namespace, info.id.value), RunCodec::encode(info)};
    }

    /// Before committing a new run: makes room for its status, so that publishing it cannot fail.
    void prepare_add() { statuses_.reserve(); }
    /// Once the new run's commit is visible (must not throw).
    void added() noexcept { statuses_.push_back(run_status::active); }
    /// Once the new run's commit returned: the next id.
    void advance() noexcept { ++next_run_; }
    /// Once a status change's commit is visible (must not throw).
    void set(run_id run, run_status status) noexcept { statuses_.set(run, status); }

    /// The runs erase_run(run) erases, in id order: run and, with cascade, its descendants not
    /// yet erased. Throws unknown_run, or invalid_argument when one of them has not ended or,
    /// without cascade, run has a child not yet erased.
    std::vector<run_id> to_erase(run_id run, bool cascade) const {
        if (!known(run)) throw unknown(run, "erase_run");
        std::vector<run_id> out{run};
        for (std::size_t i = 0; i < out.size(); ++i) {
            const std::uint64_t slot = index_.find_slot(out[i].value, index_.size());
            for (std::uint64_t c = slot == no_slot ? no_slot : index_.first_child(slot); c != no_slot;
                 c = index_.next_sibling(c)) {
                const run_id child{index_.id_of(c)};
                if (!known(child)) continue; // erased before
                if (!cascade)
                    throw error(errc::invalid_argument,
                                "inmem: erase_run: " + describe_run(run) + " has a child, " + describe_run(child) +
                                    ", that is not erased; erase it first, or pass {.cascade = true} to erase "
                                    "the run with all its descendants");
                out.push_back(child);
            }
        }
        for (const run_id r : out)
            if (const run_status s = *status(r); s == run_status::active || s == run_status::interrupted)
                throw error(errc::invalid_argument,
                            "inmem: erase_run: " + describe_run(r) + " is " + std::string(to_string(s)) +
                                (r == run ? "" : " (a descendant of " + describe_run(run) + ")") +
                                "; only runs that have ended are erased (end_run it first)");
        std::sort(out.begin(), out.end(), [](run_id a, run_id b) { return a.value < b.value; });
        return out;
    }
    /// Once an erasure's commit is visible (must not throw).
    void erased(run_id run) noexcept { statuses_.erase(run); }
    /// Feeds the secondary indexes an erased record (live and in recovery).
    void unindexed(std::string_view key, version_t version) {
        if (is_run_record(key)) index_.forget(read_big_endian<std::uint64_t>(key, 6), version);
    }

    // ---- At open and at a session's first write

    /// At open: rebuilds the statuses from the recovered run index and its gaps, checking that
    /// they cover the ids from 1 on without overlap and that parents are earlier runs.
    template <class Store>
    void rebuild(const Store& store) {
        auto corrupt = [](const std::string& what) {
            return error(errc::corruption, "inmem: the run index " + what + "; restore the directory from a backup");
        };
        const std::string gap_prefix = run_catalog_prefix(catalog_kind::run_gap);
        std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps; // first, last
        store.scan_prefix(gap_prefix, latest_version, [&](std::string_view key, const stored_record& rec) {
            gaps.emplace_back(read_big_endian<std::uint64_t>(key, gap_prefix.size()),
                              read_big_endian<std::uint64_t>(rec.bytes, 0)); // lengths checked by recovery
        });
        auto gap = gaps.begin();
        auto gaps_before = [&](std::uint64_t id) {
            for (; gap != gaps.end() && gap->first == statuses_.next_id() && gap->first < id; ++gap) {
                if (gap->second >= id || gap->second >= version_limit)
                    throw corrupt("has a gap from run " + std::to_string(gap->first) + " to " +
                                  std::to_string(gap->second) + " that overlaps " + describe_run(run_id{id}));
                statuses_.add_gap(gap->second);
            }
        };
        std::vector<std::uint64_t> erased; // the ids of erased runs, ascending
        const std::string erased_prefix = run_catalog_prefix(catalog_kind::erased_run);
        store.scan_prefix(erased_prefix, latest_version, [&](std::string_view key, const stored_record&) {
            erased.push_back(read_big_endian<std::uint64_t>(key, erased_prefix.size()));
        });
        auto next_erased = erased.begin();
        auto erased_before = [&](std::uint64_t id) { // the erased runs and gaps before id
            for (;;) {
                gaps_before(std::min(id, next_erased == erased.end() ? id : *next_erased));
                if (next_erased == erased.end() || *next_erased >= id || *next_erased != statuses_.next_id()) return;
                statuses_.reserve();
                statuses_.push_back_erased();
                ++next_erased;
            }
        };
        const std::string prefix = run_catalog_prefix();
        store.scan_prefix(prefix, latest_version, [&](std::string_view key, const stored_record& rec) {
            const run_id id{read_big_endian<std::uint64_t>(key, prefix.size())};
            erased_before(id.value);
            if (next_erased != erased.end() && *next_erased == id.value)
                throw corrupt("holds a record of " + describe_run(id) + ", which it says was erased");
            if (id.value != statuses_.next_id())
                throw corrupt("skips from run " + std::to_string(statuses_.next_id() - 1) + " to " + describe_run(id));
            const run_info info = decode(rec, id);
            if (info.id != id) throw corrupt("holds the record of " + describe_run(info.id) + " as " + describe_run(id));
            if (info.parent && !known(*info.parent))
                throw corrupt("gives " + describe_run(id) + " a parent, " + describe_run(*info.parent) +
                              ", that is not an earlier run");
            if (static_cast<std::uint8_t>(info.status) > static_cast<std::uint8_t>(run_status::interrupted))
                throw corrupt("gives " + describe_run(id) + " an unknown status");
            statuses_.reserve();
            statuses_.push_back(info.status);
        });
        erased_before(version_limit);
        if (gap != gaps.end())
            throw corrupt("has a gap from run " + std::to_string(gap->first) + " that does not follow its runs");
        if (next_erased != erased.end())
            throw corrupt("says " + describe_run(run_id{*next_erased}) + " was erased, out of the order of its runs");
        next_run_ = statuses_.next_id();
        if (index_.size() - index_.forgotten() != statuses_.size() - statuses_.erased_count())
            throw corrupt("holds " + std::to_string(statuses_.size() - statuses_.erased_count()) +
                          " runs where its records in order make " +
                          std::to_string(index_.size() - index_.forgotten()));
        index_.collect(latest_version); // nobody reads during recovery
    }

    /// After a session that crashed (reserved_runs: the ids it had reserved): those it may
    /// have handed out are never used; the runs it left active are interrupted, at once in
    /// memory, in the run index with session_start_ops. Records both in report.
    void after_crash(std::uint64_t reserved_runs, recovery_report& report) {
        if (reserved_runs >= next_run_) report.reserved_run = reserved_runs;
        next_run_ = std::max<std::uint64_t>(next_run_, reserved_runs + 1);
        statuses_.for_each([&](run_id run, run_status status) {
            if (status == run_status::active) interrupted_.push_back(run);
        });
        for (const run_id run : interrupted_) {
            statuses_.set(run, run_status::interrupted);
            index_.interrupt(run.value, 0);
        }
        index_.collect(latest_version);
        report.interrupted = interrupted_;
    }

    /// What the session's first commit writes after a crash: the ids the crashed session may
    /// have handed out, as a gap of the run index, and the runs it left active, interrupted.
    template <class Store>
    std::vector<write_op> session_start_ops(const Store& store) {
        std::vector<write_op> ops;
        if (const std::uint64_t first = statuses_.next_id(); next_run_ > first) {
            ops.push_back({write_op::kind::put, run_gap_key(default_namespace, first), {}});
            append_big_endian(ops.back().bytes, next_run_ - 1);
            statuses_.add_gap(next_run_ - 1); // ids that are no runs either way: seen at once
        }
        for (const run_id run : interrupted_) {
            run_info info = load(store, run, latest_version);
            info.status = run_status::interrupted;
            ops.push_back(record_op(info));
        }
        interrupted_.clear();
        return ops;
    }

private:
    run_statuses statuses_;           // of every run, and the gaps between their ids
    std::uint64_t next_run_ = 1;      // the id begin_run hands out next, under the writers' lock
    std::vector<run_id> interrupted_; // interrupted at open, not yet written; under the lock
    run_index index_;                 // the secondary indexes, fed by the engine
};

} // namespace inmem::detail
