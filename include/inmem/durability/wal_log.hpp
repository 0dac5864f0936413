// inmem/durability/wal_log.hpp: appending commits to the WAL and making them durable.
//
// append() formats a commit into the pending buffer (called under the engine's lock, so
// commits are logged in version order) and returns a ticket: the log's length after it.
// sync_to(ticket) makes the log durable up to the ticket. Whoever calls it while nobody is
// writing becomes the leader: it takes everything pending, writes it and fdatasyncs once,
// while the others wait; so concurrent committers share one fsync (group commit).
// The first failed write or sync puts the log in the failed state for good: the commits
// waiting on it fail, every later append fails (fail-stop), and reopening recovers from
// what reached the disk. Nothing is retried: a failed fsync may have dropped pages.
#pragma once

#include <inmem/durability/file.hpp>
#include <inmem/durability/wal_format.hpp>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace inmem::detail {

class wal_log {
public:
    /// Starts writing at a new segment of dir (recovery chose its number); base_version is
    /// the last version already durable, written into each segment's header.
    wal_log(std::shared_ptr<file_system> fs, std::filesystem::path dir, std::uint32_t segment,
            version_t base_version, schema_stamp schema, std::uint64_t segment_bytes)
        : fs_(std::move(fs)), dir_(std::move(dir)), schema_(std::move(schema)), segment_bytes_(segment_bytes),
          formatter_(segment, 0) {
        begin_segment(base_version);
    }

    wal_log(const wal_log&) = delete;
    wal_log& operator=(const wal_log&) = delete;

    /// Logs one commit; returns its ticket. Throws errc::failed after an I/O failure.
    std::uint64_t append(std::span<const write_op> ops, version_t version) {
        std::lock_guard lock(mu_);
        throw_if_failed();
        if (formatter_.offset() >= segment_bytes_) {
            formatter_ = wal_formatter(formatter_.segment() + 1, 0);
            begin_segment(version - 1);
        }
        payload_.clear();
        append_commit_payload(payload_, version, ops);
        add(payload_);
        return appended_;
    }

    /// Starts a new segment now (for a snapshot: everything after it is in later segments);
    /// returns the new segment's number.
    std::uint32_t rotate(version_t base_version) {
        std::lock_guard lock(mu_);
        throw_if_failed();
        formatter_ = wal_formatter(formatter_.segment() + 1, 0);
        begin_segment(base_version);
        return formatter_.segment();
    }

    /// Returns once everything up to ticket is durable. Throws the I/O failure, or
    /// errc::failed if an earlier one stopped the log.
    void sync_to(std::uint64_t ticket) {
        std::unique_lock lock(mu_);
        while (durable_ < ticket) {
            throw_if_failed();
            if (syncing_) {
                cv_.wait(lock);
                continue;
            }
            syncing_ = true;
            auto chunks = std::move(pending_);
            pending_.clear();
            pending_bytes_.store(0, std::memory_order_relaxed);
            const std::uint64_t target = appended_;
            lock.unlock();
            try {
                write_out(chunks);
            } catch (const error& e) {
                lock.lock();
                fail_locked(e.code(), e.what());
                throw;
            } catch (const std::exception& e) { // anything else must not leave syncing_ set
                lock.lock();
                fail_locked(make_error_code(errc::io_error), e.what());
                throw;
            }
            lock.lock();
            durable_ = target;
            syncing_ = false;
            cv_.notify_all();
        }
        throw_if_failed();
    }

    /// Makes everything appended so far durable.
    void sync() { sync_to(appended()); }

    /// Stops the log for good after an I/O failure elsewhere (a snapshot's): every later
    /// append and sync throws errc::failed.
    void fail(const error& e) {
        std::lock_guard lock(mu_);
        if (!failed_) failed_.emplace(e.code(), e.what());
        cv_.notify_all();
    }

    std::uint64_t appended() const {
        std::lock_guard lock(mu_);
        return appended_;
    }
    /// Bytes appended and not yet written; read without the lock (committers poll it).
    std::uint64_t pending_bytes() const noexcept { return pending_bytes_.load(std::memory_order_relaxed); }
    bool failed() const {
        std::lock_guard lock(mu_);
        return failed_.has_value();
    }
    /// Bytes of WAL written since the log was opened or last rotated (for automatic snapshots).
    std::uint64_t segment_offset() const {
        std::lock_guard lock(mu_);
        return formatter_.offset();
    }

private:
    struct chunk {
        std::uint32_t segment;
        std::string bytes;
    };

    void begin_segment(version_t base_version) {
        pending_.push_back({formatter_.segment(), {}});
        add(wal_header_payload(base_version, schema_));
    }

    void add(std::string_view payload) {
        if (pending_.empty() || pending_.back().segment != formatter_.segment())
            pending_.push_back({formatter_.segment(), {}});
        auto& out = pending_.back().bytes;
        const auto before = out.size();
        formatter_.add(payload, out);
        appended_ += out.size() - before;
        pending_bytes_.fetch_add(out.size() - before, std::memory_order_relaxed);
    }

    // Only the leader runs this, so file_ needs no lock.
    void write_out(std::vector<chunk>& chunks) {
        for (auto& c : chunks) {
            if (!file_ || c.segment != file_segment_) {
                if (file_) file_->sync(); // the old segment is complete before the new one starts
                file_ = fs_->open_append(dir_ / wal_segment_name(c.segment), true);
                file_segment_ = c.segment;
                fs_->sync_directory(dir_);
            }
            if (!c.bytes.empty()) file_->append(c.bytes);
        }
        if (file_) file_->sync();
    }

    void fail_locked(std::error_code code, const std::string& what) {
        if (!failed_) failed_.emplace(code, what);
        syncing_ = false;
        cv_.notify_all();
    }

    void throw_if_failed() const {
        if (failed_)
            throw error(errc::failed, "inmem: writes stopped after an I/O failure (" + failed_->second +
                                          "); reopen the database to recover what reached the disk");
    }

    std::shared_ptr<file_system> fs_;
    std::filesystem::path dir_;
    schema_stamp schema_;
    std::uint64_t segment_bytes_;

    mutable std::mutex mu_;
    std::condition_variable cv_;
    wal_formatter formatter_;
    std::vector<chunk> pending_;
    std::string payload_;
    std::uint64_t appended_ = 0;
    std::uint64_t durable_ = 0;
    std::atomic<std::uint64_t> pending_bytes_{0}; // written under mu_, read without it
    bool syncing_ = false;
    std::optional<std::pair<std::error_code, std::string>> failed_;

    std::unique_ptr<append_file> file_; // the leader's
    std::uint32_t file_segment_ = 0;
};

} // namespace inmem::detail
