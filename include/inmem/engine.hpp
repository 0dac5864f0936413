// inmem/engine.hpp: the core every primitive writes and reads through.
//
// The engine owns the store, the lock, the version counter and the run registry. It knows
// nothing of the schema: primitives hand it encoded keys and values. Every change goes
// through commit_locked(), which assigns the next version, hands the change to the
// durability journal and then applies it, so a later durability or concurrency policy
// changes one place.
#pragma once

#include <inmem/error.hpp>
#include <inmem/primitives/runs.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>

#include <algorithm>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

namespace inmem::detail {

inline std::string describe_run(run_id run) { return "run " + std::to_string(run.value); }

template <class StoragePolicy, class ConcurrencyPolicy, class DurabilityPolicy>
class engine {
public:
    using backend_type = typename StoragePolicy::backend;
    using mutex_type = typename ConcurrencyPolicy::mutex_type;
    using journal_type = typename DurabilityPolicy::journal;

    engine() = default;
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    run_id begin_run(run_options options) {
        std::unique_lock lock(mutex_);
        if (options.parent && !status_of(*options.parent))
            throw error(errc::unknown_run, "inmem: begin_run: the parent " + describe_run(*options.parent) +
                                               " does not exist in this database");
        run_info info{.id = run_id{next_run_},
                      .name = std::move(options.name),
                      .tags = std::move(options.tags),
                      .parent = options.parent,
                      .status = run_status::active,
                      .started = std::chrono::system_clock::now(),
                      .ended = std::nullopt};
        write_op op{write_op::kind::put, run_catalog_key(default_namespace, info.id.value), encode(info)};
        if (statuses_.size() == statuses_.capacity()) // grow first, so recording the status cannot fail
            statuses_.reserve(std::max<std::size_t>(64, statuses_.capacity() * 2));
        commit_locked(std::span(&op, 1));
        statuses_.push_back(run_status::active); // statuses_[id - 1]: ids are dense from 1
        ++next_run_;
        return info.id;
    }

    void end_run(run_id run, run_status status) {
        if (status != run_status::completed && status != run_status::failed && status != run_status::cancelled)
            throw error(errc::invalid_argument, "inmem: end_run needs a final status (completed, failed or "
                                                "cancelled), not " + std::string(to_string(status)));
        std::unique_lock lock(mutex_);
        check_writable(run);
        run_info info = load_run(run);
        info.status = status;
        info.ended = std::chrono::system_clock::now();
        write_op op{write_op::kind::put, run_catalog_key(default_namespace, run.value), encode(info)};
        commit_locked(std::span(&op, 1));
        statuses_[run.value - 1] = status;
    }

    run_info run(run_id run) const {
        std::shared_lock lock(mutex_);
        check_known(run);
        return load_run(run);
    }

    std::vector<run_info> runs() const {
        std::shared_lock lock(mutex_);
        std::string prefix;
        append_big_endian(prefix, default_namespace);
        prefix.push_back(static_cast<char>(key_space::catalog));
        prefix.push_back(static_cast<char>(catalog_kind::run));
        std::vector<run_info> out;
        out.reserve(statuses_.size());
        store_.scan_prefix(prefix, [&](std::string_view key, const stored_record& rec) {
            out.push_back(decode_run(rec, run_id{read_big_endian<std::uint64_t>(key, prefix.size())}));
        });
        return out;
    }

    /// Applies ops written by run (which must be active) as one commit; returns its version.
    version_t commit(run_id run, std::span<write_op> ops) {
        std::unique_lock lock(mutex_);
        check_writable(run);
        return commit_locked(ops);
    }

    /// Erases key on behalf of run; false (and no commit) when the key is absent.
    bool erase(run_id run, std::string key) {
        std::unique_lock lock(mutex_);
        check_writable(run);
        if (!store_.find(key)) return false;
        write_op op{write_op::kind::erase, std::move(key), {}};
        commit_locked(std::span(&op, 1));
        return true;
    }

    /// Calls f(const stored_record*) for key (nullptr when absent) under a read lock and
    /// returns what f returns. run must exist.
    template <class F>
    decltype(auto) read(run_id run, std::string_view key, F&& f) const {
        std::shared_lock lock(mutex_);
        check_known(run);
        return f(store_.find(key));
    }

    /// Calls f(key, record) for every key under prefix, in key order, under a read lock.
    template <class F>
    void scan(run_id run, std::string_view prefix, F&& f) const {
        std::shared_lock lock(mutex_);
        check_known(run);
        store_.scan_prefix(prefix, f);
    }

    /// The version of the latest commit (0 before the first).
    version_t last_version() const {
        std::shared_lock lock(mutex_);
        return version_;
    }

private:
    // The journal sees the ops first (durability logs them before they are visible); then
    // the store takes their keys and bytes, so the ops are left empty.
    version_t commit_locked(std::span<write_op> ops) {
        const version_t version = version_ + 1;
        journal_.append(std::span<const write_op>(ops), version);
        for (auto& op : ops) {
            if (op.op == write_op::kind::put) store_.put(std::move(op.key), std::move(op.bytes), version);
            else store_.erase(op.key);
        }
        version_ = version;
        return version;
    }

    // The status of run, or nullptr when it is not a run of this database.
    const run_status* status_of(run_id run) const noexcept {
        return run.value - 1 < statuses_.size() ? &statuses_[run.value - 1] : nullptr;
    }

    void check_known(run_id run) const {
        if (!status_of(run))
            throw error(errc::unknown_run, "inmem: " + describe_run(run) +
                                               " does not exist in this database (begin_run returns run ids)");
    }

    void check_writable(run_id run) const {
        const run_status* status = status_of(run);
        if (!status)
            throw error(errc::unknown_run, "inmem: cannot write to " + describe_run(run) +
                                               ": it does not exist in this database (begin_run returns run ids)");
        if (*status != run_status::active)
            throw error(errc::run_not_active, "inmem: cannot write to " + describe_run(run) + ": it has ended (" +
                                                  std::string(to_string(*status)) +
                                                  "); begin a new run to write more");
    }

    run_info load_run(run_id run) const {
        const stored_record* rec = store_.find(run_catalog_key(default_namespace, run.value));
        if (!rec) throw error(errc::corruption, "inmem: the run index has no record of " + describe_run(run));
        return decode_run(*rec, run);
    }

    static run_info decode_run(const stored_record& rec, run_id run) {
        auto info = decode<run_info>(rec.bytes);
        if (!info)
            throw error(errc::corruption, "inmem: the run index record of " + describe_run(run) +
                                              " does not decode: " + info.error().message());
        return std::move(info).value();
    }

    mutable mutex_type mutex_;
    backend_type store_;
    journal_type journal_;
    version_t version_ = 0;
    std::uint64_t next_run_ = 1;
    std::vector<run_status> statuses_; // of run id i at [i - 1]
};

} // namespace inmem::detail
