// inmem/durability/snapshot.hpp: the whole state in one file, so the WAL before it can go.
//
//   snapshot := magic:"inmem-snap" format:u32 version:u64 next_segment:u32 head record* end
//   head     := reserved_versions:u64 reserved_runs:u64 clean:u8 schema          (format 2)
//   record   := 0x01 key:string version:u64 bytes:string      (format 2: in key order)
//   end      := 0x00 count:u64 crc:u32
//   crc      := masked CRC-32C of every byte before it
// (schema and string as in wal_format.hpp.) The file snapshot-<version, 16 hex digits>.snap
// holds every record as of version; recovery loads it and replays the WAL from segment
// next_segment on. reserved_* are the highest version and run id any session may have
// handed out (wal_format.hpp's reserve records, which the deleted WAL held); clean says
// whether the last session that wrote before the snapshot was closed. It is written to a
// .tmp file, synced, renamed into place, and the directory synced, so a crash leaves either
// the old set of snapshots or the new one.
//
// Format 4 is format 3 whose schema holds each slot's description (wal_format.hpp's format
// 4), format 3 is format 2 that may hold runs' histories (records under primitive 0 of a
// run's range, storage/key.hpp); formats 3 and 2 are still read, and format 1: magic format version next_segment schema count:varint
// (key:string version:u64 bytes:string){count} crc, records in no order.
//
// Reading checks what recovery builds on: the name's version is the header's, versions are
// below 2^63, next_segment is a real segment number, every record's version is in
// [1, version], keys are unique (format 2: strictly increasing), and the reservation covers
// the snapshot's version. A snapshot that breaks one is as good as damaged.
#pragma once

#include <inmem/durability/file.hpp>
#include <inmem/durability/wal_format.hpp>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace inmem::detail {

inline constexpr std::string_view snapshot_magic = "inmem-snap";
inline constexpr std::uint32_t snapshot_format_version = 4;
/// The first snapshot format whose schema holds the slots' descriptions.
inline constexpr std::uint32_t snapshot_descriptions_format = 4;

/// One record as a snapshot carries it.
struct snapshot_record {
    std::string key;
    version_t version = 0;
    std::string bytes;
};

/// What a snapshot's header says besides its records.
struct snapshot_header {
    version_t version = 0;
    std::uint32_t next_segment = 0;
    version_t reserved_versions = 0;
    std::uint64_t reserved_runs = 0;
    bool clean = true;
    schema_stamp schema;
};

inline std::string snapshot_name(version_t version) {
    char name[48];
    std::snprintf(name, sizeof name, "snapshot-%016llx.snap", static_cast<unsigned long long>(version));
    return name;
}

inline std::optional<version_t> parse_snapshot_name(std::string_view name) {
    if (name.size() != 30 || !name.starts_with("snapshot-") || !name.ends_with(".snap")) return std::nullopt;
    version_t v = 0;
    for (char c : name.substr(9, 16)) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return std::nullopt;
        v = v * 16 + static_cast<version_t>(d);
    }
    return v;
}

/// Receives a snapshot's records, in key order.
using snapshot_emit = std::function<void(std::string_view key, version_t version, std::string_view bytes)>;

/// Writes the snapshot of head.version into dir, atomically: records(emit) calls emit for
/// every record, in key order. Returns the file name. Throws inmem::error on I/O failure
/// (the .tmp file is then left for the next open to remove).
inline std::string write_snapshot(file_system& fs, const std::filesystem::path& dir, const snapshot_header& head,
                                  const std::function<void(const snapshot_emit&)>& records) {
    const std::string name = snapshot_name(head.version);
    const auto tmp = dir / (name + ".tmp");
    auto file = fs.open_append(tmp, true);
    std::string buf;
    writer w(buf);
    std::uint32_t crc = 0;
    auto flush = [&](bool force) {
        if (buf.size() < (1u << 20) && !force) return;
        crc = crc32c_extend(crc, buf.data(), buf.size());
        file->append(buf);
        buf.clear();
    };
    w.bytes(snapshot_magic.data(), snapshot_magic.size());
    w.fixed(snapshot_format_version);
    w.fixed(head.version);
    w.fixed(head.next_segment);
    w.fixed(head.reserved_versions);
    w.fixed(head.reserved_runs);
    w.fixed(static_cast<std::uint8_t>(head.clean ? 1 : 0));
    write_schema(w, head.schema);
    std::uint64_t count = 0;
    records([&](std::string_view key, version_t version, std::string_view bytes) {
        w.fixed(std::uint8_t{1});
        write_string(w, key);
        w.fixed(version);
        write_string(w, bytes);
        ++count;
        flush(false);
    });
    w.fixed(std::uint8_t{0});
    w.fixed(count);
    flush(true);
    w.fixed(crc32c_mask(crc));
    file->append(buf);
    file->sync();
    file.reset();
    fs.rename(tmp, dir / name);
    fs.sync_directory(dir);
    return name;
}

/// A snapshot read back: its header, and its records if the file is whole.
struct snapshot_data {
    snapshot_header head;
    std::vector<snapshot_record> records;
};

/// Parses a snapshot file's bytes (name: its file name, whose version must be the header's);
/// on damage, or on content that breaks what recovery relies on, returns nullopt and says why.
inline std::optional<snapshot_data> read_snapshot(std::string_view bytes, std::string& why,
                                                  std::string_view name = {}) {
    if (bytes.size() < 4) {
        why = "shorter than its checksum";
        return std::nullopt;
    }
    std::uint32_t stored;
    std::memcpy(&stored, bytes.data() + bytes.size() - 4, 4);
    stored = to_little_endian(stored);
    const auto body = bytes.substr(0, bytes.size() - 4);
    if (crc32c_mask(crc32c(body.data(), body.size())) != stored) {
        why = "checksum mismatch (the file is damaged or incomplete)";
        return std::nullopt;
    }
    reader r(body);
    snapshot_data out;
    auto& head = out.head;
    const char* magic;
    std::uint32_t format;
    if (!r.bytes(snapshot_magic.size(), magic) || std::string_view(magic, snapshot_magic.size()) != snapshot_magic ||
        !r.fixed(format) || format < 1 || format > snapshot_format_version || !r.fixed(head.version) ||
        !r.fixed(head.next_segment)) {
        why = "malformed header";
        return std::nullopt;
    }
    std::uint8_t clean = 1;
    if (format >= 2 && (!r.fixed(head.reserved_versions) || !r.fixed(head.reserved_runs) || !r.fixed(clean) || clean > 1)) {
        why = "malformed header";
        return std::nullopt;
    }
    head.clean = clean == 1;
    if (!read_schema(r, head.schema, format >= snapshot_descriptions_format)) {
        why = "malformed header";
        return std::nullopt;
    }
    auto impossible = [&](std::string what) {
        why = "impossible content: " + std::move(what);
        return std::nullopt;
    };
    if (head.version >= version_limit) return impossible("version " + std::to_string(head.version) + " is past 2^63");
    if (!name.empty() && parse_snapshot_name(name) != head.version)
        return impossible("the header's version " + std::to_string(head.version) + " is not the one in its name");
    if (head.next_segment == 0 || head.next_segment == UINT32_MAX)
        return impossible("the log continues at segment " + std::to_string(head.next_segment) + ", which cannot exist");
    if (format >= 2 && (head.reserved_versions < head.version || head.reserved_versions >= version_limit ||
                        head.reserved_runs >= version_limit))
        return impossible("its reservation (version " + std::to_string(head.reserved_versions) +
                          ") does not cover its own version " + std::to_string(head.version));
    auto check_record = [&](const snapshot_record& rec, std::size_t at) -> bool {
        if (rec.version == 0 || rec.version > head.version) {
            why = "impossible content: the record at offset " + std::to_string(at) + " has version " +
                  std::to_string(rec.version) + ", outside [1, " + std::to_string(head.version) + "]";
            return false;
        }
        return true;
    };
    if (format == 1) {
        std::uint64_t count;
        if (!r.count(count, 10)) {
            why = "malformed header";
            return std::nullopt;
        }
        out.records.resize(count);
        std::unordered_set<std::string_view> keys;
        for (auto& rec : out.records) {
            const std::size_t at = body.size() - r.remaining();
            if (!read_string(r, rec.key) || !r.fixed(rec.version) || !read_string(r, rec.bytes)) {
                why = "malformed record";
                return std::nullopt;
            }
            if (!check_record(rec, at)) return std::nullopt;
        }
        for (const auto& rec : out.records)
            if (!keys.insert(rec.key).second) return impossible("the key " + describe_key(rec.key) + " appears twice");
    } else {
        for (;;) {
            const std::size_t at = body.size() - r.remaining();
            std::uint8_t tag;
            if (!r.fixed(tag) || tag > 1) {
                why = "malformed record";
                return std::nullopt;
            }
            if (tag == 0) {
                std::uint64_t count;
                if (!r.fixed(count) || count != out.records.size()) {
                    why = "malformed end (the record count does not match)";
                    return std::nullopt;
                }
                break;
            }
            snapshot_record rec;
            if (!read_string(r, rec.key) || !r.fixed(rec.version) || !read_string(r, rec.bytes)) {
                why = "malformed record";
                return std::nullopt;
            }
            if (!check_record(rec, at)) return std::nullopt;
            if (!out.records.empty() && !(out.records.back().key < rec.key))
                return impossible("the record at offset " + std::to_string(at) + " (" + describe_key(rec.key) +
                                  ") is not after the one before it in key order");
            out.records.push_back(std::move(rec));
        }
    }
    if (r.remaining() != 0) {
        why = "trailing bytes";
        return std::nullopt;
    }
    return out;
}

} // namespace inmem::detail
