// inmem/durability/wal_log.hpp: appending commits to the WAL and making them durable.
//
// A session (one open of the database) writes nothing until its first write: then start()
// logs a header, either at the end of the segment recovery read last (so short-lived
// processes do not leave a segment each) or at the start of a new one. append() formats a
// record into the pending buffer (called under the engine's lock, so commits are logged in
// version order) and returns a ticket: the log's position after it, counted in bytes since
// the last snapshot. sync_to(ticket) makes the log durable up to the ticket. Whoever calls it
// while nobody is writing becomes the leader: it takes everything pending, writes it and
// fdatasyncs once, while the others wait; so concurrent committers share one fsync (group
// commit). The first failed write or sync puts the log in the failed state for good: the
// commits waiting on it fail, every later append fails (fail-stop), and reopening recovers
// from what reached the disk. Nothing is retried: a failed fsync may have dropped pages.
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
#include <utility>
#include <vector>

namespace inmem::detail {

/// Where a session's log goes on: `segment`, which already holds `size` bytes when
/// `existing` (the last segment recovery read, continued), else a segment to create.
struct wal_resume_point {
    std::uint32_t segment = 1;
    std::uint64_t size = 0;
    bool existing = false;
};

class wal_log {
public:
    /// Writes nothing until start(). position: the bytes of WAL since the last snapshot
    /// (recovery read them), where tickets continue from.
    wal_log(std::shared_ptr<file_system> fs, std::filesystem::path dir, wal_resume_point at, schema_stamp schema,
            std::uint64_t segment_bytes, std::uint64_t position)
        : fs_(std::move(fs)), dir_(std::move(dir)), schema_(std::move(schema)), segment_bytes_(segment_bytes),
          formatter_(at.segment, at.existing ? at.size : 0), continued_(at.existing ? at.segment : 0),
          appended_(position), durable_(position), durable_seen_(position) {}

    wal_log(const wal_log&) = delete;
    wal_log& operator=(const wal_log&) = delete;

    /// Whether this session has logged anything.
    bool started() const {
        std::lock_guard lock(mu_);
        return started_;
    }

    /// Begins this session's part of the log with a header; the first commit after it must
    /// have version base_version + 1. Throws errc::failed after an I/O failure.
    std::uint64_t start(version_t base_version) {
        std::lock_guard lock(mu_);
        throw_if_failed();
        if (formatter_.offset() >= segment_bytes_) formatter_ = wal_formatter(formatter_.segment() + 1, 0);
        started_ = true;
        add(wal_header_payload(base_version, schema_));
        return appended_;
    }

    /// Logs one commit and its time; returns its ticket. Throws errc::failed after an I/O failure.
    std::uint64_t append(std::span<const write_op> ops, version_t version, std::int64_t time) {
        std::lock_guard lock(mu_);
        throw_if_failed();
        if (formatter_.offset() >= segment_bytes_) {
            formatter_ = wal_formatter(formatter_.segment() + 1, 0);
            add(wal_header_payload(version - 1, schema_));
        }
        payload_.clear();
        append_commit_payload(payload_, version, ops, time);
        add(payload_);
        return appended_;
    }

    /// Logs a reservation (see wal_format.hpp); returns its ticket.
    std::uint64_t append_reservation(version_t versions, std::uint64_t runs) {
        std::lock_guard lock(mu_);
        throw_if_failed();
        add(wal_reserve_payload(versions, runs));
        return appended_;
    }

    /// Logs that the session closes cleanly; returns its ticket.
    std::uint64_t append_close() {
        std::lock_guard lock(mu_);
        throw_if_failed();
        add(wal_close_payload());
        return appended_;
    }

    /// Moves the log to a new segment now (for a snapshot: everything after it is in later
    /// segments) and returns its number. A started session writes the new segment's header
    /// (base_version: the last commit's); one that has not started will begin there, and
    /// stays at a segment that does not exist yet (so no number is skipped).
    std::uint32_t rotate(version_t base_version) {
        std::lock_guard lock(mu_);
        throw_if_failed();
        if (started_ || formatter_.segment() == continued_) formatter_ = wal_formatter(formatter_.segment() + 1, 0);
        if (started_) add(wal_header_payload(base_version, schema_));
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
                throw error(errc::io_error, std::string("inmem: writing the WAL failed: ") + e.what());
            }
            lock.lock();
            recycle(chunks);
            durable_ = target;
            durable_seen_.store(target, std::memory_order_release);
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
    /// The position up to which the log is durable; read without the lock.
    std::uint64_t durable() const noexcept { return durable_seen_.load(std::memory_order_acquire); }
    /// Bytes appended and not yet written; read without the lock (committers poll it).
    std::uint64_t pending_bytes() const noexcept { return pending_bytes_.load(std::memory_order_relaxed); }
    bool failed() const {
        std::lock_guard lock(mu_);
        return failed_.has_value();
    }

private:
    struct chunk {
        std::uint32_t segment;
        std::string bytes;
    };

    void add(std::string_view payload) {
        if (pending_.empty() || pending_.back().segment != formatter_.segment())
            pending_.push_back({formatter_.segment(), std::exchange(spare_, {})});
        auto& out = pending_.back().bytes;
        const auto before = out.size();
        formatter_.add(payload, out);
        appended_ += out.size() - before;
        pending_bytes_.fetch_add(out.size() - before, std::memory_order_relaxed);
    }

    // Keeps the largest written chunk's buffer (up to spare_limit) for the next chunk: a
    // buffer grown anew after every flush costs a page fault per 4 KiB appended, which on
    // short commits was a fifth of a commit's time.
    void recycle(std::vector<chunk>& chunks) noexcept {
        for (chunk& c : chunks)
            if (c.bytes.capacity() > spare_.capacity() && c.bytes.capacity() <= spare_limit) {
                c.bytes.clear();
                spare_.swap(c.bytes);
            }
    }
    static constexpr std::size_t spare_limit = std::size_t{16} << 20;

    // Only the leader runs this, so file_ needs no lock. A new segment is created empty
    // (whatever an older file of that name held is not part of the log) and made to exist
    // durably; the continued one is appended to.
    void write_out(std::vector<chunk>& chunks) {
        for (auto& c : chunks) {
            if (!file_ || c.segment != file_segment_) {
                if (file_) file_->sync(); // the old segment is complete before the new one starts
                const bool existing = c.segment == continued_;
                file_ = fs_->open_append(dir_ / wal_segment_name(c.segment), !existing);
                file_segment_ = c.segment;
                if (!existing) fs_->sync_directory(dir_);
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
    std::uint32_t continued_; // the existing segment this session appends to (0: none)
    bool started_ = false;
    std::vector<chunk> pending_;
    std::string spare_; // an empty buffer with capacity, for the next chunk (recycle)
    std::string payload_;
    std::uint64_t appended_;
    std::uint64_t durable_;
    std::atomic<std::uint64_t> durable_seen_; // durable_, for readers without the lock
    std::atomic<std::uint64_t> pending_bytes_{0}; // written under mu_, read without it
    bool syncing_ = false;
    std::optional<std::pair<std::error_code, std::string>> failed_;

    std::unique_ptr<append_file> file_; // the leader's
    std::uint32_t file_segment_ = 0;
};

} // namespace inmem::detail
