// inmem/durability/recovery.hpp: rebuilding the state from a directory on open.
//
// The newest snapshot that reads back whole (an older one when it is damaged), then every
// WAL segment from the snapshot's next_segment on, in order, each commit applied whole.
// A torn tail of the last segment (a crash mid-write) is cut off and reported. Damage
// followed by valid records, a missing segment, or a commit that does not decode is
// corruption: open fails, unless options.repair, which cuts the log at the damage, deletes
// what follows and reports what was dropped.
#pragma once

#include <inmem/durability/snapshot.hpp>
#include <inmem/durability/wal_format.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace inmem {

/// What opening a database directory found and did.
struct recovery_report {
    std::string snapshot;                      ///< file name of the snapshot loaded ("" if none)
    version_t snapshot_version = 0;            ///< the version it holds
    std::vector<std::string> snapshots_skipped; ///< damaged snapshots passed over, each with why
    std::uint64_t segments_read = 0;           ///< WAL segments replayed
    std::uint64_t commits_applied = 0;         ///< WAL commits replayed
    std::uint64_t wal_bytes = 0;               ///< bytes of WAL read
    std::uint64_t bytes_dropped = 0;           ///< torn tail (or, with repair, damaged log) cut off
    std::string dropped_why;                   ///< what was found where bytes were dropped
    bool repaired = false;                     ///< repair cut off data that was not a torn tail
    version_t last_version = 0;                ///< the version the database continues from
    std::chrono::microseconds took{};          ///< time open spent recovering
};

/// How a database directory is opened.
struct open_options {
    /// On corruption (damage followed by valid data), cut the log at the damage and report
    /// what was dropped instead of failing.
    bool repair = false;
    /// A WAL segment is closed and a new one started past this size.
    std::uint64_t segment_bytes = std::uint64_t{64} << 20;
    /// A snapshot is taken automatically once this much WAL was written since the last one
    /// (0: only when db.snapshot() is called).
    std::uint64_t snapshot_after_bytes = std::uint64_t{256} << 20;
    /// Where files are read and written; tests substitute one that injects faults.
    std::shared_ptr<file_system> fs = default_file_system();
};

} // namespace inmem

namespace inmem::detail {

/// Where writing continues after recovery.
struct recovered {
    recovery_report report;
    std::uint32_t next_segment = 1;
    std::uint32_t first_live_segment = 1; // the oldest segment recovery needed
};

/// Recovers dir: calls put(key, bytes, version) for each snapshot record and
/// commit(version, ops) for each WAL commit after it, in order.
template <class Put, class Commit>
recovered recover_directory(file_system& fs, const std::filesystem::path& dir, const schema_stamp& schema,
                            const open_options& options, Put&& put, Commit&& commit) {
    const auto start = std::chrono::steady_clock::now();
    recovered out;
    auto& report = out.report;
    std::map<version_t, std::string> snapshots;
    std::map<std::uint32_t, std::string> segments;
    for (const auto& name : fs.list(dir)) {
        if (auto v = parse_snapshot_name(name)) snapshots.emplace(*v, name);
        else if (auto s = parse_wal_segment_name(name)) segments.emplace(*s, name);
        else if (name.ends_with(".snap.tmp")) fs.remove(dir / name); // an interrupted snapshot
    }

    // The newest snapshot that reads back whole.
    std::uint32_t first_segment = segments.empty() ? 1 : segments.begin()->first;
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
        std::string why;
        auto data = read_snapshot(fs.read_all(dir / it->second), why);
        if (!data) {
            report.snapshots_skipped.push_back(it->second + ": " + why);
            continue;
        }
        check_schema(schema, data->schema, (dir / it->second).string());
        for (auto& rec : data->records) put(std::move(rec.key), std::move(rec.bytes), rec.version);
        report.snapshot = it->second;
        report.snapshot_version = data->version;
        report.last_version = data->version;
        first_segment = data->next_segment;
        break;
    }
    // Without a snapshot the log must start at segment 1: a later start means the history
    // before it is gone, and with it records (the run index) that later commits build on.
    // Repair cannot rebuild that, so this is refused whatever the options.
    if (report.snapshot.empty() && !segments.empty() && segments.begin()->first != 1)
        throw error(errc::corruption, "inmem: " + dir.string() + " has no readable snapshot" +
                                          (snapshots.empty() ? std::string() : " (every snapshot is damaged)") +
                                          " and its WAL starts at segment " +
                                          std::to_string(segments.begin()->first) +
                                          ", so the history before it is gone and cannot be rebuilt; restore the "
                                          "directory from a backup");
    out.first_live_segment = first_segment;

    // Corruption: fail, or (repair) cut file at keep (when file is given) and delete every
    // segment from next on, counting what goes.
    auto fail_or_repair = [&](const std::string& file, std::uint64_t keep, std::uint64_t size, const std::string& why,
                              std::map<std::uint32_t, std::string>::iterator next) {
        if (!options.repair)
            throw error(errc::corruption, "inmem: " + file + " is damaged: " + why +
                                              ". Nothing after it was applied; open with repair to cut the log "
                                              "there and keep what precedes it");
        report.repaired = true;
        report.dropped_why = file + ": " + why;
        if (keep < size) {
            report.bytes_dropped += size - keep;
            fs.truncate(dir / std::filesystem::path(file).filename(), keep);
        }
        const auto first_dropped = next;
        for (; next != segments.end(); ++next) {
            report.bytes_dropped += fs.read_all(dir / next->second).size();
            fs.remove(dir / next->second);
        }
        segments.erase(first_dropped, segments.end());
        fs.sync_directory(dir);
    };

    std::uint32_t expected = first_segment;
    for (auto it = segments.lower_bound(first_segment); it != segments.end(); ++it) {
        const auto& [number, name] = *it;
        const std::string file = (dir / name).string();
        if (number != expected) {
            fail_or_repair(file, 0, 0, "segment " + std::to_string(expected) + " is missing before it",
                           it); // keep == size: nothing to cut; it and what follows are dropped
            break;
        }
        ++expected;
        const std::string data = fs.read_all(dir / name);
        report.wal_bytes += data.size();
        ++report.segments_read;
        bool bad_record = false;
        std::uint64_t good_end = 0;
        bool first = true;
        wal_entry entry;
        auto scan = scan_wal_segment(data, number, [&](std::string_view payload, std::uint64_t start) {
            if (bad_record) return;
            if (!decode_wal_entry(payload, entry) || (first != (entry.kind == wal_record::header))) {
                bad_record = true;
                good_end = start;
                return;
            }
            if (first) check_schema(schema, entry.schema, file);
            else if (entry.version > report.last_version) {
                commit(entry.version, std::span<write_op>(entry.ops));
                report.last_version = entry.version;
                ++report.commits_applied;
            }
            first = false;
        });
        if (bad_record) {
            // A record whose checksum holds but whose content does not decode: not a torn write.
            fail_or_repair(file, good_end, data.size(), "a record that does not decode at offset " +
                                                            std::to_string(good_end), std::next(it));
            break;
        }
        good_end = scan.valid_bytes;
        const bool last = std::next(it) == segments.end();
        if (scan.how == wal_scan::end::torn && last) {
            if (good_end < data.size()) {
                report.bytes_dropped += data.size() - good_end;
                report.dropped_why = file + ": " + scan.why;
                fs.truncate(dir / name, good_end);
            }
        } else if (scan.how != wal_scan::end::clean) {
            fail_or_repair(file, good_end, data.size(), scan.why + (last ? "" : ", and later segments follow"),
                           std::next(it));
            break;
        }
    }
    // What was replayed may still sit only in the page cache (a crash between write and
    // fdatasync); make it durable before anything is built on it, or a power loss could
    // keep later commits and lose these. Rotation syncs a segment before the next begins,
    // so only the last one can hold unsynced bytes.
    if (segments.lower_bound(first_segment) != segments.end())
        fs.open_append(dir / segments.rbegin()->second, false)->sync();
    out.next_segment = segments.empty() ? std::max<std::uint32_t>(first_segment, 1)
                                        : std::max(segments.rbegin()->first + 1, first_segment);
    report.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    return out;
}

} // namespace inmem::detail
