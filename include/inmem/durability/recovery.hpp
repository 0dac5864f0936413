// inmem/durability/recovery.hpp: rebuilding the state from a directory on open.
//
// The newest snapshot that reads back whole and sound (an older one when it is not), then
// every WAL segment from the snapshot's next_segment on, in order, each commit applied whole.
// A torn tail of the last segment (a crash mid-write) is cut off and reported. Damage
// followed by valid records, a missing segment, a record that does not decode or breaks what
// the format promises (wal_format.hpp: versions in sequence, within the reservation, keys by
// the grammar of storage/key.hpp), or a damaged snapshot whose commits no other snapshot and
// WAL still hold, is corruption: open fails, unless options.repair, which cuts the log at the
// damage, deletes what follows and reports what was lost.
//
// Opening writes nothing that needs free space: recovery only reads, cuts a torn tail and
// removes a leftover .tmp; the session's first write is where the log goes on (wal_log.hpp).
#pragma once

#include <inmem/durability/migration.hpp>
#include <inmem/durability/snapshot.hpp>
#include <inmem/durability/wal_format.hpp>
#include <inmem/durability/wal_log.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
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
    std::string lost;                          ///< with repair: commits no readable file held any more
    version_t last_version = 0;                ///< the version of the last commit recovered
    /// The last session that wrote to the directory closed it (false after a crash).
    bool clean_shutdown = true;
    /// After a crash: runs that were active, now run_status::interrupted (resume_run or end_run them).
    std::vector<run_id> interrupted;
    /// A crashed session may have handed out versions up to this one and run ids up to
    /// reserved_run (they may have been seen, then lost): new ones come after them.
    version_t reserved_version = 0;
    std::uint64_t reserved_run = 0;            ///< see reserved_version
    bool snapshot_written = false;             ///< open took a snapshot (see open_options::snapshot_after_bytes)
    std::string snapshot_error;                ///< why that snapshot failed ("" if none); it is retried later
    /// The files were written under another schema and their records were read as this
    /// program's (durability/migration.hpp): what changed, one line each ("kv<Note>:
    /// $.priority: added"); empty when nothing did. The open then took a snapshot under the
    /// program's schema (snapshot_written; snapshot_error if it failed, and the next open
    /// migrates again).
    std::vector<std::string> schema_changes;
    std::uint64_t records_migrated = 0;        ///< records whose key or value was rewritten
    /// Records of types the schema no longer has, left out of the database. The files they
    /// were in are copied first into files_kept, a directory inside the database's, which
    /// opens as the database was under the schema that wrote it.
    std::uint64_t records_dropped = 0;
    std::string files_kept;                    ///< see records_dropped ("" when none were)
    std::chrono::microseconds took{};          ///< time open spent recovering
};

/// How a database directory is opened.
struct open_options {
    /// On corruption (damage followed by valid data, or a damaged snapshot no other file
    /// covers), cut the log at the damage and report what was lost instead of failing.
    bool repair = false;
    /// A WAL segment is closed and a new one started past this size.
    std::uint64_t segment_bytes = std::uint64_t{64} << 20;
    /// A snapshot is taken automatically once this much WAL was written since the last one,
    /// whichever sessions wrote it; at open when recovery replayed that much (0: only when
    /// db.snapshot() is called).
    std::uint64_t snapshot_after_bytes = std::uint64_t{256} << 20;
    /// Where files are read and written; tests substitute one that injects faults.
    std::shared_ptr<file_system> fs = default_file_system();
};

} // namespace inmem

namespace inmem::detail {

/// What recovery found, beyond the report: where writing goes on, and what the sessions
/// before reserved.
struct recovered {
    recovery_report report;
    wal_resume_point resume;          // where this session's log goes on
    std::uint64_t wal_position = 0;   // bytes of WAL since the snapshot recovery loaded
    // The last session's reservation: if it crashed (clean is false), it may have handed out
    // versions and run ids up to these.
    version_t reserved_versions = 0;
    std::uint64_t reserved_runs = 0;
    bool clean = true;                // the last session that wrote closed the database
};

/// Recovers dir: calls put(key, bytes, version) for each snapshot record (in key order) and
/// commit(version, time, ops) for each WAL commit after it, in order (time: ns, 0 when the
/// log is older than commit times).
template <class Put, class Commit>
recovered recover_directory(file_system& fs, const std::filesystem::path& dir, const schema_stamp& schema,
                            const open_options& options, Put&& put, Commit&& commit) {
    const auto start = std::chrono::steady_clock::now();
    recovered out;
    auto& report = out.report;
    const std::span<const schema_stamp::slot> slot_primitives = schema.slots;

    // How the files' schemas (by fingerprint) map onto the program's.
    std::map<std::uint64_t, std::unique_ptr<schema_migration>> migrations;
    auto migration_for = [&](const schema_stamp& stored, const std::string& file) -> schema_migration& {
        auto& m = migrations[stored.fingerprint];
        if (!m) {
            m = std::make_unique<schema_migration>(schema, stored, file);
            report.schema_changes.insert(report.schema_changes.end(), m->changes().begin(), m->changes().end());
        }
        m->reading(file);
        return *m;
    };

    std::map<version_t, std::string> snapshots;
    std::map<std::uint32_t, std::string> segments;
    for (const auto& name : fs.list(dir)) {
        if (auto v = parse_snapshot_name(name)) snapshots.emplace(*v, name);
        else if (auto s = parse_wal_segment_name(name)) segments.emplace(*s, name);
        else if (name.ends_with(".snap.tmp")) fs.remove(dir / name); // an interrupted snapshot
    }
    if (!segments.empty() && segments.rbegin()->first == UINT32_MAX)
        throw error(errc::corruption, "inmem: " + (dir / segments.rbegin()->second).string() +
                                          " has a segment number that leaves no room for the next one");

    // The newest snapshot that reads back whole and sound.
    std::uint32_t first_segment = segments.empty() ? 1 : segments.begin()->first;
    std::vector<std::pair<version_t, std::string>> skipped; // version from the name, why
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
        std::string why;
        auto data = read_snapshot(fs.read_all(dir / it->second), why, it->second);
        if (data) {
            auto& migration = migration_for(data->head.schema, (dir / it->second).string());
            if (!migration.identity()) {
                std::size_t kept = 0;
                std::vector<snapshot_record> added; // derived anew (type index entries)
                migration.begin_snapshot();
                for (auto& rec : data->records) {
                    if (is_history_key(rec.key)) {
                        if (rec.key.size() == 20)
                            rec.bytes = migration.rewrite_history(load_big_endian<std::uint64_t>(rec.key.data() + 5), rec.bytes);
                    } else if (!migration.rewrite(rec.key, &rec.bytes)) {
                        continue;
                    }
                    for (auto& [key, bytes] : migration.take_added())
                        added.push_back({std::move(key), rec.version, std::move(bytes)});
                    if (&data->records[kept] != &rec) data->records[kept] = std::move(rec);
                    ++kept;
                }
                data->records.resize(kept);
                for (auto& rec : added) data->records.push_back(std::move(rec));
                // (renumbered slots can change the records' order: the store takes them in any)
            }
            for (const auto& rec : data->records) {
                const std::string_view bytes = rec.bytes;
                if (!key_is_valid(rec.key, &bytes, slot_primitives)) {
                    why = "impossible content: " + key_problem(rec.key, &bytes, slot_primitives) + " (" +
                          describe_key(rec.key) + ")";
                    data.reset();
                    break;
                }
            }
        }
        if (!data) {
            report.snapshots_skipped.push_back(it->second + ": " + why);
            skipped.emplace_back(it->first, it->second + ": " + why);
            continue;
        }
        for (auto& rec : data->records) put(std::move(rec.key), std::move(rec.bytes), rec.version);
        report.snapshot = it->second;
        report.snapshot_version = data->head.version;
        report.last_version = data->head.version;
        out.reserved_versions = data->head.reserved_versions;
        out.reserved_runs = data->head.reserved_runs;
        out.clean = data->head.clean;
        first_segment = data->head.next_segment;
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

    version_t current = report.last_version; // the last commit's version, or a header's base
    std::uint64_t live_bytes = 0;            // of the segments read, as they are left
    std::uint32_t expected = first_segment;
    std::uint32_t last_format = 0;           // of the last segment read
    std::uint64_t last_schema = schema.fingerprint; // the schema its last header names
    std::uint64_t last_size = 0;             // its size once recovery is done with it
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
        live_bytes += data.size();
        ++report.segments_read;
        std::string problem; // what makes a record impossible: it and everything after are refused
        std::uint64_t good_end = 0;
        std::uint32_t format = 0; // from the segment's first header
        schema_migration* migration = nullptr; // from its last
        bool closed = false;      // a close record ended the session
        wal_entry entry;
        auto scan = scan_wal_segment(data, number, [&](std::string_view payload, std::uint64_t start) {
            if (!problem.empty()) return;
            auto refuse = [&](std::string what) {
                problem = std::move(what);
                good_end = start;
            };
            if (!decode_wal_entry(payload, entry)) return refuse("a record that does not decode");
            if (format == 0 && entry.kind != wal_record::header) return refuse("a segment that does not begin with a header");
            switch (entry.kind) {
            case wal_record::header:
                migration = &migration_for(entry.schema, file);
                last_schema = entry.schema.fingerprint;
                if (format != 0 && (format == 1 || entry.format != format))
                    return refuse("a second header in a segment of format " + std::to_string(format));
                format = entry.format;
                if (entry.version >= version_limit) return refuse("a header whose base version is past 2^63");
                if (entry.version < current)
                    return refuse("a header whose base version " + std::to_string(entry.version) +
                                  " is before the last commit's, " + std::to_string(current));
                if (entry.version > current && (format < 2 || entry.version > out.reserved_versions))
                    return refuse("a header that skips from version " + std::to_string(current) + " to " +
                                  std::to_string(entry.version) + ", beyond what was reserved (" +
                                  std::to_string(out.reserved_versions) + ")");
                current = entry.version;
                closed = false;
                if (format >= 2) out.clean = false; // a session began writing
                return;
            case wal_record::commit:
            case wal_record::timed_commit: // (decode_wal_entry reads both as commit)
                if (closed) return refuse("a commit after its session closed");
                if (entry.version != current + 1)
                    return refuse("commit version " + std::to_string(entry.version) + " where " +
                                  std::to_string(current + 1) + " comes next");
                if (format >= 2 && entry.version > out.reserved_versions)
                    return refuse("commit version " + std::to_string(entry.version) + " beyond the reservation (" +
                                  std::to_string(out.reserved_versions) + ")");
                if (!migration->identity()) {
                    std::erase_if(entry.ops, [&](write_op& op) {
                        return !migration->rewrite(op.key, op.op == write_op::kind::put ? &op.bytes : nullptr);
                    });
                    for (auto& [key, bytes] : migration->take_added())
                        entry.ops.push_back(write_op{write_op::kind::put, std::move(key), std::move(bytes)});
                }
                for (const auto& op : entry.ops) {
                    const std::string_view bytes = op.bytes;
                    const std::string_view* value = op.op == write_op::kind::put ? &bytes : nullptr;
                    if (!key_is_valid(op.key, value, slot_primitives))
                        return refuse("commit " + std::to_string(entry.version) + " holds " +
                                      key_problem(op.key, value, slot_primitives));
                }
                commit(entry.version, entry.time, std::span<write_op>(entry.ops));
                current = report.last_version = entry.version;
                ++report.commits_applied;
                return;
            case wal_record::reserve:
                if (format < 2 || closed) return refuse("a reservation where none can be");
                if (entry.version < current || entry.version >= version_limit || entry.runs >= version_limit)
                    return refuse("a reservation of versions to " + std::to_string(entry.version) + " and runs to " +
                                  std::to_string(entry.runs) + ", below what was committed before (" +
                                  std::to_string(current) + ") or past 2^63");
                out.reserved_versions = entry.version;
                out.reserved_runs = entry.runs;
                return;
            case wal_record::close:
                if (format < 2 || closed) return refuse("a close record where none can be");
                closed = true;
                out.clean = true;
                // Nothing past the last commit was handed out: the next session starts there.
                out.reserved_versions = current;
                out.reserved_runs = 0;
                return;
            }
        });
        if (!problem.empty()) {
            // A record whose checksum holds but whose content is impossible: not a torn write.
            fail_or_repair(file, good_end, data.size(), problem + " at offset " + std::to_string(good_end),
                           std::next(it));
            last_format = format, last_size = good_end;
            live_bytes -= data.size() - good_end;
            break;
        }
        good_end = scan.valid_bytes;
        last_format = format, last_size = data.size();
        const bool last = std::next(it) == segments.end();
        if (scan.how == wal_scan::end::torn && last) {
            if (good_end < data.size()) {
                report.bytes_dropped += data.size() - good_end;
                report.dropped_why = file + ": " + scan.why;
                fs.truncate(dir / name, good_end);
                last_size = good_end;
                live_bytes -= data.size() - good_end;
            }
        } else if (scan.how != wal_scan::end::clean) {
            fail_or_repair(file, good_end, data.size(), scan.why + (last ? "" : ", and later segments follow"),
                           std::next(it));
            last_size = good_end;
            live_bytes -= data.size() - good_end;
            break;
        }
    }

    // A damaged snapshot is needed when nothing recovered reaches its version: its commits
    // would be lost without a word.
    for (const auto& [version, why] : skipped) {
        if (version <= report.last_version) continue;
        const std::string what = "the snapshot " + why + "; no other snapshot and WAL reach its version " +
                                 std::to_string(version) + " (they end at " + std::to_string(report.last_version) +
                                 "), so commits " + std::to_string(report.last_version + 1) + " to " +
                                 std::to_string(version) + " would be lost";
        if (!options.repair)
            throw error(errc::corruption, "inmem: " + dir.string() + ": " + what +
                                              ". Restore the file from a backup, or open with repair to go on "
                                              "without them");
        report.repaired = true;
        report.lost = what;
        // Their versions were seen: go on past them, as after a crash. (Run ids the lost
        // commits began cannot be known, and may be used again.)
        out.reserved_versions = std::max(out.reserved_versions, version);
        out.clean = false;
        break;
    }

    // What was replayed may still sit only in the page cache (a crash between write and
    // fdatasync); make it durable before anything is built on it, or a power loss could
    // keep later commits and lose these. Rotation syncs a segment before the next begins,
    // so only the last one can hold unsynced bytes.
    const auto live = segments.lower_bound(first_segment);
    if (live != segments.end()) fs.open_append(dir / segments.rbegin()->second, false)->sync();

    // The session goes on at the end of the last segment if it is of this format and schema,
    // else in a new one (so that each segment holds one schema's records).
    if (live != segments.end() && (last_format == 0 || last_format == wal_format_version) &&
        last_schema == schema.fingerprint)
        out.resume = {segments.rbegin()->first, last_size, true};
    else
        out.resume = {segments.empty() ? std::max<std::uint32_t>(first_segment, 1)
                                       : std::max(segments.rbegin()->first + 1, first_segment),
                      0, false};
    out.wal_position = live_bytes;
    for (const auto& [fingerprint, m] : migrations) {
        report.records_migrated += m->rewritten();
        report.records_dropped += m->dropped();
    }
    report.clean_shutdown = out.clean;
    report.reserved_version = !out.clean && out.reserved_versions > report.last_version ? out.reserved_versions : 0;
    report.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    return out;
}

} // namespace inmem::detail
