// inmem/durability/session.hpp: one open of a database directory, from recovery to close.
//
// durable_session owns what a database on disk needs beyond the store: the directory lock,
// the recovered state, the WAL, the background flusher (batched durability), snapshots and
// the removal of the files they make obsolete, and the reservations that keep every
// version and run id that anybody may have seen from naming something else after a crash:
// before a version or a run id becomes visible, a reserve record covering it is durable
// (wal_format.hpp). Reservations are taken a chunk ahead and renewed when half used, so a
// commit waits for them only when it outruns the flusher; a chunk that made a commit wait
// doubles. On close the session logs a close record: the next open then knows whether the
// runs left active were left so on purpose, or by a crash.
#pragma once

#include <inmem/durability/commit_log.hpp>
#include <inmem/durability/file.hpp>
#include <inmem/durability/recovery.hpp>
#include <inmem/durability/snapshot.hpp>
#include <inmem/durability/wal_log.hpp>
#include <inmem/error.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace inmem::detail {

/// How a durability policy makes commits durable, as values.
struct durability_params {
    bool sync_each_commit = false; ///< strict: a commit returns once durable
    std::uint32_t interval_ms = 100; ///< batched: the flusher's period
    std::uint64_t max_bytes = std::uint64_t{4} << 20; ///< batched: flush early past this much pending
};

class durable_session final : public commit_log {
public:
    /// Locks dir (creating it if needed) and recovers it, calling put and commit as
    /// recover_directory() does. Throws what recovery throws, database_locked, io_error.
    template <class Put, class Commit>
    durable_session(const std::filesystem::path& dir, open_options options, schema_stamp schema,
                    durability_params params, Put&& put, Commit&& commit)
        : options_(std::move(options)), dir_(dir), schema_(std::move(schema)), params_(params) {
        auto& fs = *options_.fs;
        try {
            fs.create_directories(dir_);
            lock_ = fs.lock_directory(dir_);
            found_ = recover_directory(fs, dir_, schema_, options_, std::forward<Put>(put), std::forward<Commit>(commit));
        } catch (const error&) {
            throw;
        } catch (const std::system_error& e) { // a file system of the user's that throws its own errors
            throw as_error(e, ("opening " + dir_.string()).c_str());
        }
        durable_versions_ = pending_versions_ = found_.reserved_versions;
        durable_runs_ = pending_runs_ = found_.reserved_runs;
        wal_ = std::make_unique<wal_log>(options_.fs, dir_, found_.resume, schema_, options_.segment_bytes,
                                         found_.wal_position);
        if (!params_.sync_each_commit) flusher_ = std::thread([this] { flush_loop(); });
    }

    durable_session(const durable_session&) = delete;
    durable_session& operator=(const durable_session&) = delete;

    ~durable_session() override {
        if (flusher_.joinable()) {
            {
                std::lock_guard lock(flush_mutex_);
                stop_flusher_ = true;
            }
            flush_cv_.notify_all();
            flusher_.join();
        }
        try {
            if (started_ && !wal_->failed()) wal_->append_close();
            wal_->sync(); // batched commits still pending, and the close record
        } catch (const std::exception&) {
            // The failure is on record; recovery on the next open keeps what reached disk,
            // and without the close record it treats this session as crashed.
        }
    }

    /// What recovery found.
    const recovered& found() const noexcept { return found_; }

    /// Copies every snapshot and WAL segment of the directory into its subdirectory name
    /// (replacing what is there), synced, and returns its path: what the open keeps of records
    /// a migration leaves out (recovery_report::records_dropped).
    std::filesystem::path keep_files(const std::string& name) {
        auto& fs = *options_.fs;
        const auto to = dir_ / name;
        try {
            fs.create_directories(to);
            for (const auto& file : fs.list(dir_)) {
                if (!parse_snapshot_name(file) && !parse_wal_segment_name(file)) continue;
                auto out = fs.open_append(to / file, true);
                out->append(fs.read_all(dir_ / file));
                out->sync();
            }
            fs.sync_directory(to);
            fs.sync_directory(dir_);
        } catch (const std::exception& e) {
            throw as_error(e, ("keeping the files before a migration in " + to.string()).c_str());
        }
        return to;
    }

    /// Whether the WAL since the last snapshot (as recovered) is past the threshold.
    bool snapshot_due_at_open() const noexcept {
        return options_.snapshot_after_bytes && found_.wal_position >= options_.snapshot_after_bytes;
    }

    version_t start(version_t last, std::uint64_t next_run) override {
        // After a crash, what the crashed session may have handed out is skipped (the engine
        // did so for run ids: next_run is past them).
        const version_t base = found_.clean ? last : std::max(last, found_.reserved_versions);
        wal_->start(base);
        started_ = true;
        pending_versions_ = base + version_chunk_;
        pending_runs_ = next_run - 1 + run_chunk_;
        wal_->sync_to(wal_->append_reservation(pending_versions_, pending_runs_));
        durable_versions_ = pending_versions_;
        durable_runs_ = pending_runs_;
        return base;
    }

    void reserve(version_t version, std::uint64_t run) override {
        if (pending_ticket_ && wal_->durable() >= pending_ticket_) {
            durable_versions_ = pending_versions_;
            durable_runs_ = pending_runs_;
            pending_ticket_ = 0;
        }
        const bool short_of_versions = version > durable_versions_, short_of_runs = run > durable_runs_;
        if (short_of_versions || short_of_runs) { // this commit waits: reserve more next time
            if (short_of_versions) version_chunk_ = std::min(version_chunk_ * 2, max_version_chunk);
            if (short_of_runs) run_chunk_ = std::min(run_chunk_ * 2, max_run_chunk);
            if (version > pending_versions_ || run > pending_runs_) renew(version, run);
            wal_->sync_to(pending_ticket_);
            durable_versions_ = pending_versions_;
            durable_runs_ = pending_runs_;
            pending_ticket_ = 0;
            return;
        }
        if (!pending_ticket_ && (version + version_chunk_ / 2 > durable_versions_ || run + run_chunk_ / 2 > durable_runs_))
            renew(version, run); // made durable by the next flush or strict commit
    }

    std::uint64_t append(std::span<const write_op> ops, version_t version, std::int64_t time) override {
        return wal_->append(ops, version, time);
    }

    bool finish(std::uint64_t ticket) override {
        if (params_.sync_each_commit) wal_->sync_to(ticket);
        else if (wal_->pending_bytes() >= params_.max_bytes) flush_cv_.notify_one();
        return options_.snapshot_after_bytes && ticket > snapshot_position_.load() &&
               ticket - snapshot_position_.load() >= options_.snapshot_after_bytes;
    }

    void sync() override { wal_->sync(); }

    snapshot_header begin_snapshot(version_t version) override {
        snapshot_header head;
        head.version = version;
        head.next_segment = wal_->rotate(version);
        head.reserved_versions = std::max(version, started_ ? pending_versions_ : found_.reserved_versions);
        head.reserved_runs = started_ ? pending_runs_ : found_.reserved_runs;
        head.clean = !started_ && found_.clean; // a live session that wrote is not closed yet
        head.schema = schema_;
        snapshot_position_ = wal_->appended();
        return head;
    }

    std::string write_snapshot(const snapshot_header& head, const std::function<void(const snapshot_emit&)>& records,
                               bool fail_stop, bool fallback) override {
        auto& fs = *options_.fs;
        try {
            wal_->sync(); // the segments the snapshot replaces are complete on disk
            detail::write_snapshot(fs, dir_, head, records);
            if (fallback) remove_obsolete_files();
            else remove_all_before(head);
            return {};
        } catch (const std::exception& e) {
            const error failure = as_error(e, "writing a snapshot");
            if (fail_stop) {
                wal_->fail(failure); // fail-stop: a failed write or sync is never retried and trusted
                throw failure;
            }
            try { // nothing depends on the half-written file: leave no litter
                fs.remove(dir_ / (snapshot_name(head.version) + ".tmp"));
            } catch (const std::exception&) {
            }
            return failure.what();
        }
    }

private:
    static constexpr std::uint64_t max_version_chunk = std::uint64_t{1} << 26;
    static constexpr std::uint64_t max_run_chunk = std::uint64_t{1} << 16;

    // Every I/O failure reaches callers as an inmem::error (a std::filesystem or other
    // library exception becomes io_error).
    static error as_error(const std::exception& e, const char* doing) {
        if (const auto* ours = dynamic_cast<const error*>(&e)) return *ours;
        return error(errc::io_error, std::string("inmem: ") + doing + " failed: " + e.what());
    }

    // Appends a reservation a chunk past version and run (and never below the last one).
    void renew(version_t version, std::uint64_t run) {
        pending_versions_ = std::max(pending_versions_, version + version_chunk_);
        if (run) pending_runs_ = std::max(pending_runs_, run + run_chunk_);
        pending_ticket_ = wal_->append_reservation(pending_versions_, pending_runs_);
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
        auto older = read_snapshot(fs.read_all(dir_ / snaps[1].second), why, snaps[1].second);
        if (!older) return; // keep everything rather than trust a damaged fallback
        for (std::size_t i = 2; i < snaps.size(); ++i) fs.remove(dir_ / snaps[i].second);
        for (const auto& [number, name] : segs)
            if (number < older->head.next_segment) fs.remove(dir_ / name);
        fs.sync_directory(dir_);
    }

    // Deletes every snapshot but head's and the WAL segments before it, once head's file reads
    // back whole (else it keeps everything and says so: the caller asked for a purge).
    void remove_all_before(const snapshot_header& head) {
        auto& fs = *options_.fs;
        const std::string name = snapshot_name(head.version);
        std::string why;
        if (!read_snapshot(fs.read_all(dir_ / name), why, name))
            throw error(errc::io_error, "inmem: the snapshot just written, " + name + ", does not read back (" + why +
                                            "); the older files are kept");
        for (const auto& file : fs.list(dir_)) {
            if (auto v = parse_snapshot_name(file); v && *v != head.version) fs.remove(dir_ / file);
            else if (auto s = parse_wal_segment_name(file); s && *s < head.next_segment) fs.remove(dir_ / file);
        }
        fs.sync_directory(dir_);
    }

    void flush_loop() {
        const auto interval = std::chrono::milliseconds(params_.interval_ms);
        std::unique_lock lock(flush_mutex_);
        while (!stop_flusher_) {
            flush_cv_.wait_for(lock, interval);
            if (stop_flusher_) break;
            lock.unlock();
            try {
                wal_->sync();
            } catch (const std::exception&) {
                // The log is now failed: every later commit says so.
            }
            lock.lock();
        }
    }

    open_options options_;
    std::filesystem::path dir_;
    schema_stamp schema_;
    durability_params params_;
    std::unique_ptr<directory_lock> lock_;
    recovered found_;
    std::unique_ptr<wal_log> wal_;
    std::atomic<std::uint64_t> snapshot_position_{0}; // the log's position at the last snapshot

    // Reservations, under the engine's writers' lock.
    bool started_ = false;
    version_t durable_versions_ = 0, pending_versions_ = 0;
    std::uint64_t durable_runs_ = 0, pending_runs_ = 0;
    std::uint64_t pending_ticket_ = 0; // of a reservation not yet known durable (0: none)
    std::uint64_t version_chunk_ = std::uint64_t{1} << 16;
    std::uint64_t run_chunk_ = 32;

    std::mutex flush_mutex_;
    std::condition_variable flush_cv_;
    bool stop_flusher_ = false;
    std::thread flusher_;
};

} // namespace inmem::detail
