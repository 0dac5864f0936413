// inmem/engine.hpp: the core every primitive writes and reads through.
//
// The engine owns the store, the lock, the version counter, the run registry and, when the
// database lives in a directory, the WAL. It knows nothing of the schema: primitives hand it
// encoded keys and values. Every change goes through commit_locked(), which assigns the next
// version, logs the change to the WAL and then applies it; the committer then waits, outside
// the lock, for the durability its policy promises (finish()). A later concurrency policy
// changes these two places.
#pragma once

#include <inmem/durability/file.hpp>
#include <inmem/durability/recovery.hpp>
#include <inmem/durability/snapshot.hpp>
#include <inmem/durability/wal_log.hpp>
#include <inmem/error.hpp>
#include <inmem/primitives/runs.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace inmem::detail {

inline std::string describe_run(run_id run) { return "run " + std::to_string(run.value); }

inline std::string run_catalog_prefix() {
    std::string prefix;
    append_big_endian(prefix, default_namespace);
    prefix.push_back(static_cast<char>(key_space::catalog));
    prefix.push_back(static_cast<char>(catalog_kind::run));
    return prefix;
}

template <class StoragePolicy, class ConcurrencyPolicy, class DurabilityPolicy>
class engine {
public:
    using backend_type = typename StoragePolicy::backend;
    using mutex_type = typename ConcurrencyPolicy::mutex_type;

    /// An empty database in memory.
    engine() = default;

    /// Opens (creating or recovering) the database in dir.
    engine(const std::filesystem::path& dir, open_options options, schema_stamp schema)
        requires DurabilityPolicy::persistent
        : options_(std::move(options)), dir_(dir), schema_(std::move(schema)) {
        auto& fs = *options_.fs;
        fs.create_directories(dir_);
        lock_ = fs.lock_directory(dir_);
        auto found = recover_directory(
            fs, dir_, schema_, options_,
            [&](std::string&& key, std::string&& bytes, version_t v) { store_.put(std::move(key), std::move(bytes), v); },
            [&](version_t v, std::span<write_op> ops) { apply(ops, v); });
        report_ = std::move(found.report);
        version_ = report_.last_version;
        rebuild_runs();
        wal_ = std::make_unique<wal_log>(options_.fs, dir_, found.next_segment, version_, schema_,
                                         options_.segment_bytes);
        wal_->sync(); // this session's segment exists from the start
        if constexpr (!DurabilityPolicy::sync_each_commit) flusher_ = std::thread([this] { flush_loop(); });
    }

    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    ~engine() {
        if (flusher_.joinable()) {
            {
                std::lock_guard lock(flush_mutex_);
                stop_flusher_ = true;
            }
            flush_cv_.notify_all();
            flusher_.join();
        }
        if (wal_) {
            try {
                wal_->sync(); // batched commits still pending
            } catch (const error&) {
                // The failure is on record; recovery on the next open keeps what reached disk.
            }
        }
    }

    run_id begin_run(run_options options) {
        std::uint64_t ticket = 0;
        run_id id;
        {
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
            commit_locked(std::span(&op, 1), ticket);
            statuses_.push_back(run_status::active); // statuses_[id - 1]: ids are dense from 1
            id = info.id;
            ++next_run_;
        }
        finish(ticket);
        return id;
    }

    void end_run(run_id run, run_status status) {
        if (status != run_status::completed && status != run_status::failed && status != run_status::cancelled)
            throw error(errc::invalid_argument, "inmem: end_run needs a final status (completed, failed or "
                                                "cancelled), not " + std::string(to_string(status)));
        std::uint64_t ticket = 0;
        {
            std::unique_lock lock(mutex_);
            check_writable(run);
            run_info info = load_run(run);
            info.status = status;
            info.ended = std::chrono::system_clock::now();
            write_op op{write_op::kind::put, run_catalog_key(default_namespace, run.value), encode(info)};
            commit_locked(std::span(&op, 1), ticket);
            statuses_[run.value - 1] = status;
        }
        finish(ticket);
    }

    run_info run(run_id run) const {
        std::shared_lock lock(mutex_);
        check_known(run);
        return load_run(run);
    }

    std::vector<run_info> runs() const {
        std::shared_lock lock(mutex_);
        const std::string prefix = run_catalog_prefix();
        std::vector<run_info> out;
        out.reserve(statuses_.size());
        store_.scan_prefix(prefix, [&](std::string_view key, const stored_record& rec) {
            out.push_back(decode_run(rec, run_id{read_big_endian<std::uint64_t>(key, prefix.size())}));
        });
        return out;
    }

    /// Applies ops written by run (which must be active) as one commit; returns its version
    /// once it is as durable as the policy promises.
    version_t commit(run_id run, std::span<write_op> ops) {
        std::uint64_t ticket = 0;
        version_t version;
        {
            std::unique_lock lock(mutex_);
            check_writable(run);
            version = commit_locked(ops, ticket);
        }
        finish(ticket);
        return version;
    }

    /// Erases key on behalf of run; false (and no commit) when the key is absent.
    bool erase(run_id run, std::string key) {
        std::uint64_t ticket = 0;
        {
            std::unique_lock lock(mutex_);
            check_writable(run);
            if (!store_.find(key)) return false;
            write_op op{write_op::kind::erase, std::move(key), {}};
            commit_locked(std::span(&op, 1), ticket);
        }
        finish(ticket);
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

    /// What opening the directory found (empty in memory).
    const recovery_report& recovery() const noexcept { return report_; }

    /// Makes every commit so far durable now.
    void sync() {
        if (wal_) wal_->sync();
    }

    /// Writes a snapshot of the whole state and deletes the WAL it makes obsolete. Writers
    /// keep committing while the file is written: the state is copied under the lock (a
    /// memory copy), the file written after it is released.
    void snapshot() {
        if (!wal_) return;
        std::lock_guard one_at_a_time(snapshot_mutex_);
        std::vector<snapshot_record> records;
        version_t version;
        std::uint32_t next_segment;
        {
            std::unique_lock lock(mutex_);
            next_segment = wal_->rotate(version_);
            version = version_;
            snapshot_ticket_ = wal_->appended();
            records.reserve(store_.size());
            store_.for_each([&](std::string_view key, const stored_record& rec) {
                records.push_back({std::string(key), rec.version, rec.bytes});
            });
        }
        wal_->sync(); // the segments the snapshot replaces are complete on disk
        try {
            write_snapshot(*options_.fs, dir_, version, next_segment, schema_, records);
            remove_obsolete_files();
        } catch (const error& e) {
            wal_->fail(e); // fail-stop: a failed write or sync is never retried and trusted
            throw;
        }
    }

private:
    // Assigns the next version, logs ops, applies them; sets ticket for finish().
    version_t commit_locked(std::span<write_op> ops, std::uint64_t& ticket) {
        const version_t version = version_ + 1;
        if (wal_) ticket = wal_->append(std::span<const write_op>(ops), version); // throws when failed
        apply(ops, version);
        version_ = version;
        return version;
    }

    // The store takes the ops' keys and bytes: the ops are left empty.
    void apply(std::span<write_op> ops, version_t version) {
        for (auto& op : ops) {
            if (op.op == write_op::kind::put) store_.put(std::move(op.key), std::move(op.bytes), version);
            else store_.erase(op.key);
        }
    }

    // After the lock is released: the durability the policy promises, then maintenance.
    void finish(std::uint64_t ticket) {
        if (!wal_) return;
        if constexpr (DurabilityPolicy::persistent) {
            if constexpr (DurabilityPolicy::sync_each_commit) {
                wal_->sync_to(ticket);
            } else if (wal_->pending_bytes() >= DurabilityPolicy::options.max_bytes) {
                flush_cv_.notify_one();
            }
        }
        // Past the threshold, the first committer to notice takes the snapshot; the others go on.
        const std::uint64_t since = snapshot_ticket_.load();
        if (options_.snapshot_after_bytes && ticket > since && ticket - since >= options_.snapshot_after_bytes &&
            !snapshot_running_.exchange(true)) {
            struct clear_flag {
                std::atomic<bool>& flag;
                ~clear_flag() { flag = false; }
            } clear{snapshot_running_};
            // If the snapshot fails, this durable commit reports the I/O error: the database has
            // stopped (fail-stop), so the caller cannot apply it twice by retrying; a reopen
            // shows it.
            snapshot();
        }
    }

    // Keeps the two newest snapshots (the older is the fallback if the newer is damaged)
    // and the WAL the older one needs; deletes the rest.
    void remove_obsolete_files() {
        auto& fs = *options_.fs;
        std::vector<std::pair<version_t, std::string>> snaps;
        std::vector<std::pair<std::uint32_t, std::string>> segs;
        for (const auto& name : fs.list(dir_)) {
            if (auto v = parse_snapshot_name(name)) snaps.emplace_back(*v, name);
            else if (auto s = parse_wal_segment_name(name)) segs.emplace_back(*s, name);
        }
        std::sort(snaps.rbegin(), snaps.rend());
        if (snaps.size() < 2) return;
        std::string why;
        auto older = read_snapshot(fs.read_all(dir_ / snaps[1].second), why);
        if (!older) return; // keep everything rather than trust a damaged fallback
        for (std::size_t i = 2; i < snaps.size(); ++i) fs.remove(dir_ / snaps[i].second);
        for (const auto& [number, name] : segs)
            if (number < older->next_segment) fs.remove(dir_ / name);
        fs.sync_directory(dir_);
    }

    void flush_loop() {
        const auto interval = std::chrono::milliseconds(DurabilityPolicy::options.interval_ms);
        std::unique_lock lock(flush_mutex_);
        while (!stop_flusher_) {
            flush_cv_.wait_for(lock, interval);
            if (stop_flusher_) break;
            lock.unlock();
            try {
                wal_->sync();
            } catch (const error&) {
                // The log is now failed: every later commit says so.
            }
            lock.lock();
        }
    }

    // Rebuilds run statuses from the recovered run index; ids are dense from 1.
    void rebuild_runs() {
        const std::string prefix = run_catalog_prefix();
        store_.scan_prefix(prefix, [&](std::string_view key, const stored_record& rec) {
            const run_id id{read_big_endian<std::uint64_t>(key, prefix.size())};
            if (id.value != statuses_.size() + 1)
                throw error(errc::corruption, "inmem: the run index skips from run " +
                                                  std::to_string(statuses_.size()) + " to " + describe_run(id));
            statuses_.push_back(decode_run(rec, id).status);
        });
        next_run_ = statuses_.size() + 1;
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
    version_t version_ = 0;
    std::uint64_t next_run_ = 1;
    std::vector<run_status> statuses_; // of run id i at [i - 1]

    // Durable databases only.
    open_options options_;
    std::filesystem::path dir_;
    schema_stamp schema_;
    std::unique_ptr<directory_lock> lock_;
    recovery_report report_;
    std::unique_ptr<wal_log> wal_;
    std::mutex snapshot_mutex_;
    std::atomic<std::uint64_t> snapshot_ticket_{0};
    std::atomic<bool> snapshot_running_{false};
    std::mutex flush_mutex_;
    std::condition_variable flush_cv_;
    bool stop_flusher_ = false;
    std::thread flusher_;
};

} // namespace inmem::detail
