// inmem/durability/snapshot.hpp: the whole state in one file, so the WAL before it can go.
//
//   snapshot := magic:"inmem-snap" format:u32 version:u64 next_segment:u32 schema
//               count:varint record{count} crc:u32
//   record   := key:string version:u64 bytes:string
//   crc      := masked CRC-32C of every byte before it
// (schema and string as in wal_format.hpp.) The file snapshot-<version, 16 hex digits>.snap
// holds every record as of version; recovery loads it and replays the WAL from segment
// next_segment on. It is written to a .tmp file, synced, renamed into place, and the
// directory synced, so a crash leaves either the old set of snapshots or the new one.
#pragma once

#include <inmem/durability/file.hpp>
#include <inmem/durability/wal_format.hpp>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inmem::detail {

inline constexpr std::string_view snapshot_magic = "inmem-snap";
inline constexpr std::uint32_t snapshot_format_version = 1;

/// One record as a snapshot carries it.
struct snapshot_record {
    std::string key;
    version_t version = 0;
    std::string bytes;
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

/// Writes records as the snapshot of version into dir, atomically; returns its file name.
inline std::string write_snapshot(file_system& fs, const std::filesystem::path& dir, version_t version,
                                  std::uint32_t next_segment, const schema_stamp& schema,
                                  const std::vector<snapshot_record>& records) {
    const std::string name = snapshot_name(version);
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
    w.fixed(version);
    w.fixed(next_segment);
    write_schema(w, schema);
    w.varint(records.size());
    for (const auto& r : records) {
        write_string(w, r.key);
        w.fixed(r.version);
        write_string(w, r.bytes);
        flush(false);
    }
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
    version_t version = 0;
    std::uint32_t next_segment = 0;
    schema_stamp schema;
    std::vector<snapshot_record> records;
};

/// Parses a snapshot file's bytes; on damage returns nullopt and says why.
inline std::optional<snapshot_data> read_snapshot(std::string_view bytes, std::string& why) {
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
    const char* magic;
    std::uint32_t format;
    std::uint64_t count;
    if (!r.bytes(snapshot_magic.size(), magic) || std::string_view(magic, snapshot_magic.size()) != snapshot_magic ||
        !r.fixed(format) || format != snapshot_format_version || !r.fixed(out.version) ||
        !r.fixed(out.next_segment) || !read_schema(r, out.schema) || !r.count(count, 10)) {
        why = "malformed header";
        return std::nullopt;
    }
    out.records.resize(count);
    for (auto& rec : out.records)
        if (!read_string(r, rec.key) || !r.fixed(rec.version) || !read_string(r, rec.bytes)) {
            why = "malformed record";
            return std::nullopt;
        }
    if (r.remaining() != 0) {
        why = "trailing bytes";
        return std::nullopt;
    }
    return out;
}

} // namespace inmem::detail
