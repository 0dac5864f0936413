// inmem/durability/commit_log.hpp: what the engine asks of durability, as an interface.
//
// A database opened on a directory has a durable_session (durability/session.hpp) behind
// this interface; one in memory has none. The engine calls it through virtual functions
// only, so a program that keeps its database in memory compiles none of the WAL, snapshot
// and file code.
#pragma once

#include <inmem/durability/snapshot.hpp>
#include <inmem/storage/record.hpp>

#include <cstdint>
#include <functional>
#include <span>

namespace inmem::detail {

class commit_log {
public:
    virtual ~commit_log() = default;

    /// Under the writers' lock, at the session's first write: logs the session's header and
    /// its first reservation, durably. Returns the version to continue from (at least last:
    /// more after a crash, past what the crashed session may have handed out).
    virtual version_t start(version_t last, std::uint64_t next_run) = 0;
    /// Under the writers' lock, before version and run (0: none) become visible: makes sure
    /// both are reserved durably, syncing if they are not.
    virtual void reserve(version_t version, std::uint64_t run) = 0;
    /// Under the writers' lock: logs a commit and its time (ns since the epoch); returns its ticket.
    virtual std::uint64_t append(std::span<const write_op> ops, version_t version, std::int64_t time) = 0;
    /// After the lock: waits for the durability the policy promises for ticket. Returns true
    /// when a snapshot is due (the caller takes it).
    virtual bool finish(std::uint64_t ticket) = 0;
    /// Makes every commit so far durable.
    virtual void sync() = 0;
    /// Under the writers' lock: moves the log to a new segment for a snapshot of version
    /// (the latest) and returns the snapshot's header.
    virtual snapshot_header begin_snapshot(version_t version) = 0;
    /// Outside the lock: writes the snapshot of head (records: the pinned store, in key
    /// order) and deletes the files it makes obsolete: with fallback, all but the newest two
    /// snapshots and the WAL the older needs; without, once the new one reads back, every
    /// other snapshot and the WAL before it (db.erase_run: nothing older may stay). On
    /// failure: fail_stop stops the log and rethrows; otherwise the failure is returned (""
    /// on success) and nothing stops.
    virtual std::string write_snapshot(const snapshot_header& head,
                                       const std::function<void(const snapshot_emit&)>& records, bool fail_stop,
                                       bool fallback) = 0;
};

} // namespace inmem::detail
