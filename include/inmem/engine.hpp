// inmem/engine.hpp: the core every primitive writes and reads through.
//
// The engine owns the store, the lock, the version counter, the run registry and, when the
// database lives in a directory, the WAL. It knows nothing of the schema: primitives hand it
// encoded keys and values. Every change goes through commit_locked(), under the writers'
// lock: it assigns the next version, logs the change to the WAL, applies it and publishes the
// version to readers; the committer then, outside the lock, frees collected garbage and waits
// for the durability its policy promises (finish()). Readers pin a snapshot and take no lock.
#pragma once

#include <inmem/concurrency/append_only_array.hpp>
#include <inmem/durability/file.hpp>
#include <inmem/durability/recovery.hpp>
#include <inmem/durability/snapshot.hpp>
#include <inmem/durability/wal_log.hpp>
#include <inmem/error.hpp>
#include <inmem/primitives/runs.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/memory.hpp>
#include <inmem/storage/record.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <utility>
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
            [&](version_t v, std::span<write_op> ops) {
                apply(ops, v);
                if (store_.garbage() >= 4096) store_.collect(v); // nobody reads during recovery
            });
        report_ = std::move(found.report);
        version_ = report_.last_version;
        store_.collect(latest_version);
        visible_.store(version_);
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

    // ---- Runs

    run_id begin_run(run_options options) {
        std::uint64_t ticket = 0;
        run_id id;
        garbage freed;
        {
            std::unique_lock lock(mutex_);
            if (options.parent && !known(*options.parent))
                throw error(errc::unknown_run, "inmem: begin_run: the parent " + describe_run(*options.parent) +
                                                   " does not exist in this database");
            run_info info{.id = run_id{statuses_.size() + 1},
                          .name = std::move(options.name),
                          .tags = std::move(options.tags),
                          .parent = options.parent,
                          .status = run_status::active,
                          .started = std::chrono::system_clock::now(),
                          .ended = std::nullopt};
            write_op op{write_op::kind::put, run_catalog_key(default_namespace, info.id.value), encode(info)};
            statuses_.reserve_one(); // so that recording the status after the commit cannot fail
            commit_locked(std::span(&op, 1), ticket, freed, [&] { statuses_.push_back(run_status::active); });
            id = info.id;
        }
        finish(ticket, freed);
        return id;
    }

    void end_run(run_id run, run_status status) {
        if (status != run_status::completed && status != run_status::failed && status != run_status::cancelled)
            throw error(errc::invalid_argument, "inmem: end_run needs a final status (completed, failed or "
                                                "cancelled), not " + std::string(to_string(status)));
        std::uint64_t ticket = 0;
        garbage freed;
        {
            std::unique_lock lock(mutex_);
            check_writable(run);
            run_info info = load_run(run, latest_version);
            info.status = status;
            info.ended = std::chrono::system_clock::now();
            write_op op{write_op::kind::put, run_catalog_key(default_namespace, run.value), encode(info)};
            commit_locked(std::span(&op, 1), ticket, freed, [&] { statuses_.set(run.value - 1, status); });
        }
        finish(ticket, freed);
    }

    run_info run(run_id run) const {
        check_known(run);
        const pinned at = pin_for_point_read();
        return load_run(run, at.version());
    }

    std::vector<run_info> runs() const {
        const pinned at = pin_for_point_read();
        const std::string prefix = run_catalog_prefix();
        std::vector<run_info> out;
        store_.scan_prefix(prefix, at.version(), [&](std::string_view key, const stored_record& rec) {
            out.push_back(decode_run(rec, run_id{read_big_endian<std::uint64_t>(key, prefix.size())}));
        });
        return out;
    }

    /// Throws unknown_run unless run is a run of this database. Lock-free.
    void check_known(run_id run) const {
        if (!known(run))
            throw error(errc::unknown_run, "inmem: " + describe_run(run) +
                                               " does not exist in this database (begin_run returns run ids)");
    }

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

    /// Calls f(key, record) for every key under prefix at the latest version, in key order.
    template <class F>
    void scan(run_id run, std::string_view prefix, F&& f) const {
        check_known(run);
        const pinned at = pin_for_point_read();
        store_.scan_prefix(prefix, at.version(), f);
    }

    /// Calls f(key, record) for every key under prefix as of snapshot at, which the caller
    /// has pinned, in key order.
    template <class F>
    void scan_at(version_t at, std::string_view prefix, F&& f) const {
        store_.scan_prefix(prefix, at, f);
    }

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
            check_writable(run);
            if (!check(std::as_const(store_))) return std::nullopt;
            version = commit_locked(ops, ticket, freed, [] {});
        }
        finish(ticket, freed);
        return version;
    }

    /// What a transaction read, for validation at commit.
    struct read_set {
        std::span<const std::string> keys;     ///< keys read (present or not)
        std::span<const std::string> prefixes; ///< ranges scanned
    };

    /// Commits a transaction of run that read at snapshot `at`: fails with errc::conflict,
    /// writing nothing, if a key it writes (ops without append_version) or, when validate
    /// is given, a key or range it read was written by a commit after at.
    version_t commit_transaction(run_id run, version_t at, std::span<write_op> ops, const read_set* validate) {
        return *commit_if(run, ops, [&](const backend_type& store) {
            for (const write_op& op : ops)
                if (!op.append_version && store.latest(op.key) > at) throw conflict("wrote", op.key, at);
            if (!validate) return true;
            for (const std::string& key : validate->keys)
                if (store.latest(key) > at) throw conflict("read", key, at);
            for (const std::string& prefix : validate->prefixes) {
                // A key added, changed or erased after at under the prefix: erased keys keep a
                // tombstone, so the latest versions of everything ever listed are all here.
                bool changed = false;
                std::string which;
                store.scan_prefix(prefix, latest_version, [&](std::string_view key, const stored_record& rec) {
                    if (!changed && rec.version > at) changed = true, which = key;
                });
                if (!changed) changed = erased_after(store, prefix, at, which);
                if (changed) throw conflict("listed", which, at);
            }
            return true;
        });
    }

    // ---- Durability

    /// What opening the directory found (empty in memory).
    const recovery_report& recovery() const noexcept { return report_; }

    /// Makes every commit so far durable now.
    void sync() {
        if (wal_) wal_->sync();
    }

    /// Writes a snapshot of the whole state and deletes the WAL it makes obsolete. Writers
    /// keep committing meanwhile: the snapshot reads the versions of one moment (pinned, so
    /// they stay), without a lock.
    void snapshot() {
        if (!wal_) return;
        std::lock_guard one_at_a_time(snapshot_mutex_);
        std::uint32_t next_segment;
        pinned at;
        {
            std::unique_lock lock(mutex_);
            next_segment = wal_->rotate(version_);
            snapshots_.pin_at(version_, at.pin_);
            at.at_ = version_;
            at.engine_ = this;
            snapshot_ticket_ = wal_->appended();
        }
        std::vector<snapshot_record> records;
        records.reserve(store_.size());
        store_.for_each(at.version(), [&](std::string_view key, const stored_record& rec) {
            records.push_back({std::string(key), rec.version, rec.bytes});
        });
        at.release();
        wal_->sync(); // the segments the snapshot replaces are complete on disk
        try {
            write_snapshot(*options_.fs, dir_, at.version(), next_segment, schema_, records);
            remove_obsolete_files();
        } catch (const error& e) {
            wal_->fail(e); // fail-stop: a failed write or sync is never retried and trusted
            throw;
        }
    }

private:
    static error conflict(const char* what, std::string_view key, version_t at) {
        return error(errc::conflict, std::string("inmem: transaction conflict: another commit changed ") +
                                         describe_key(key) + ", which the transaction " + what +
                                         ", after its snapshot (version " + std::to_string(at) +
                                         "); nothing was written; run the transaction again (transact() does)");
    }

    // Whether a key under prefix was erased after at (scans skip tombstones).
    static bool erased_after(const backend_type& store, std::string_view prefix, version_t at, std::string& which) {
        bool found = false;
        store.scan_prefix(prefix, at, [&](std::string_view key, const stored_record&) {
            if (!found && store.find(key, latest_version) == nullptr) found = true, which = key;
        });
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
        const version_t version = version_ + 1;
        for (write_op& op : ops)
            if (op.append_version) {
                append_big_endian(op.key, version);
                op.append_version = false;
            }
        if (wal_) ticket = wal_->append(std::span<const write_op>(ops), version); // throws when failed
        apply(ops, version);
        version_ = version;
        visible_.store(version);
        publish();
        if (store_.garbage() >= collect_at_) {
            store_.collect(snapshots_.oldest(visible_), freed);
            collect_at_ = std::max<std::size_t>(256, store_.garbage() * 2);
        }
        return version;
    }

    // The store takes the ops' keys and bytes: the ops are left empty.
    void apply(std::span<write_op> ops, version_t version) {
        for (auto& op : ops) {
            if (op.op == write_op::kind::put) store_.put(std::move(op.key), std::move(op.bytes), version);
            else store_.erase(op.key, version);
        }
    }

    // After the lock is released: frees what the commit's collect detached (the slow part of
    // collecting, kept out of the lock), the durability the policy promises, maintenance.
    void finish(std::uint64_t ticket, garbage& freed) {
        backend_type::release(freed);
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
        store_.scan_prefix(prefix, latest_version, [&](std::string_view key, const stored_record& rec) {
            const run_id id{read_big_endian<std::uint64_t>(key, prefix.size())};
            if (id.value != statuses_.size() + 1)
                throw error(errc::corruption, "inmem: the run index skips from run " +
                                                  std::to_string(statuses_.size()) + " to " + describe_run(id));
            statuses_.push_back(decode_run(rec, id).status);
        });
    }

    bool known(run_id run) const noexcept { return run.value - 1 < statuses_.size(); }

    void check_writable(run_id run) const {
        if (!known(run))
            throw error(errc::unknown_run, "inmem: cannot write to " + describe_run(run) +
                                               ": it does not exist in this database (begin_run returns run ids)");
        const run_status status = statuses_.get(run.value - 1);
        if (status != run_status::active)
            throw error(errc::run_not_active, "inmem: cannot write to " + describe_run(run) + ": it has ended (" +
                                                  std::string(to_string(status)) +
                                                  "); begin a new run to write more");
    }

    run_info load_run(run_id run, version_t at) const {
        const stored_record* rec = store_.find(run_catalog_key(default_namespace, run.value), at);
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

    // Writers, one at a time.
    mutable mutex_type mutex_;
    version_t version_ = 0;          // the last commit's version, under mutex_
    std::size_t collect_at_ = 256;   // garbage count that triggers a collect, under mutex_
    // Anyone. Each on its own cache line: readers read them on every call, and a line the
    // writer dirties on every commit (the fields above) must not hold what they read.
    alignas(64) backend_type store_;
    alignas(64) std::atomic<version_t> visible_{0}; // the newest version readers may read
    mutable snapshots_type snapshots_;
    append_only_array<run_status> statuses_; // of run id i at [i - 1]

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
