// inmem/durability/wal_format.hpp: the bytes of the write-ahead log, and how to read them back.
//
// A database directory holds segments wal-00000001.log, wal-00000002.log, ... Each segment
// is a sequence of 32 KiB blocks (the last one may be short) filled with physical records:
//
//   physical := crc:u32 length:u16 type:u8 segment:u32 payload[length]     (header: 11 bytes)
//     crc     := masked CRC-32C of length, type, segment and payload (little-endian ints)
//     type    := 1 full | 2 first | 3 middle | 4 last   (0 never: zeroed bytes are not a record)
//     segment := the number in the file's name, so bytes left over from an older file
//                (recycled, preallocated) can never be taken for records of this one
//   A record never crosses a block boundary: a logical record that does not fit is split
//   into first, middle..., last fragments; fewer than 11 bytes left in a block are zeros.
//
//   logical  := header | commit | timed | reserve | close
//   header   := 0x01 magic:"inmem-wal" format:u32 base_version:u64 schema
//               (first in every segment, and first of every session that continues one)
//   schema   := fingerprint:u64 varint(n) slot{n}
//   slot     := primitive:u8 fingerprint:u64 name:string description:string
//               description: the type's structure, describe<T>()'s text (format 4; before
//               it a slot ends after its name)
//   commit   := 0x02 version:u64 varint(n) op{n}            (one commit = one logical record)
//   timed    := 0x05 version:u64 time:i64 varint(n) op{n}   a commit and its time, nanoseconds
//                                            since the epoch by the database's clock (format 3)
//   op       := 0x01 key:string bytes:string  (put) | 0x02 key:string  (erase)
//   reserve  := 0x03 versions:u64 runs:u64   the session may hand out versions <= versions and
//                                            run ids <= runs (format 2)
//   close    := 0x04                         the session closed the database (format 2)
//   string   := varint(size) byte{size}
//
// Format 2 promises (recovery refuses a log that breaks one, naming the file and offset):
// versions are below 2^63; the first commit after a header has version base_version + 1 and
// every later one the previous + 1; a header's base_version is the previous version, or more
// only after a crash, up to what was reserved (the versions a crashed session may have handed
// out are never used again); no commit is beyond the latest reservation, and none is below
// what was committed; after a close only a header follows. Format 3 writes every commit as
// `timed` (runs' histories keep their commits' times); format 4 adds each slot's description
// to the schema, so that tools can read the values without the program's types. Formats 3, 2
// and 1 (2 and 1: no reserve, no close, one header per segment; their commits' times read as
// 0) are still read.
//
// Reading stops at the first physical record that is incomplete or fails its checksum. What
// follows decides what that was: nothing valid after it is a torn tail (a crash mid-write:
// cut off and reported); a valid record after it is corruption, an error unless the caller
// asked for repair.
#pragma once

#include <inmem/durability/crc32c.hpp>
#include <inmem/bytes.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace inmem::detail {

inline constexpr std::size_t wal_block_size = 32768;
inline constexpr std::size_t wal_header_size = 11;
inline constexpr std::uint32_t wal_format_version = 4;
/// The first WAL format whose schema holds the slots' descriptions.
inline constexpr std::uint32_t wal_descriptions_format = 4;
inline constexpr std::uint32_t oldest_wal_format = 1; // still read
/// Versions, base versions and reservations stay below this (recovery refuses more).
inline constexpr version_t version_limit = version_t{1} << 63;
inline constexpr std::string_view wal_magic = "inmem-wal";

enum class wal_type : std::uint8_t { full = 1, first = 2, middle = 3, last = 4 };
enum class wal_record : std::uint8_t { header = 1, commit = 2, reserve = 3, close = 4, timed_commit = 5 };

/// wal-00000042.log
inline std::string wal_segment_name(std::uint32_t segment) {
    char name[32];
    std::snprintf(name, sizeof name, "wal-%08u.log", segment);
    return name;
}

/// The segment number of a file name, or nullopt when it is not a segment.
inline std::optional<std::uint32_t> parse_wal_segment_name(std::string_view name) {
    // %08u: 8 digits, up to 10 past 99999999.
    if (name.size() < 16 || name.size() > 18 || !name.starts_with("wal-") || !name.ends_with(".log"))
        return std::nullopt;
    std::uint64_t n = 0;
    for (char c : name.substr(4, name.size() - 8)) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > UINT32_MAX || (name.size() > 16 && name[4] == '0')) return std::nullopt;
    return static_cast<std::uint32_t>(n);
}

inline void write_string(writer& w, std::string_view s) {
    w.varint(s.size());
    w.bytes(s.data(), s.size());
}
inline bool read_string(reader& r, std::string& out) {
    std::uint64_t n;
    const char* p;
    if (!r.count(n, 1) || !r.bytes(n, p)) return false;
    out.assign(p, n);
    return true;
}

/// Writes a schema stamp; with_descriptions: each slot's description too (WAL format 4 and
/// snapshot format 4 on).
inline void write_schema(writer& w, const schema_stamp& s, bool with_descriptions = true) {
    w.fixed(s.fingerprint);
    w.varint(s.slots.size());
    for (const auto& slot : s.slots) {
        w.fixed(slot.primitive);
        w.fixed(slot.fingerprint);
        write_string(w, slot.name);
        if (with_descriptions) write_string(w, slot.description);
    }
}
inline bool read_schema(reader& r, schema_stamp& s, bool with_descriptions = true) {
    std::uint64_t n;
    if (!r.fixed(s.fingerprint) || !r.count(n, with_descriptions ? 11 : 10)) return false;
    s.slots.resize(n);
    for (auto& slot : s.slots) {
        if (!r.fixed(slot.primitive) || !r.fixed(slot.fingerprint) || !read_string(r, slot.name)) return false;
        if (with_descriptions && !read_string(r, slot.description)) return false;
    }
    return true;
}

/// The payload of a header record: the start of a segment or of a session's part of one.
inline std::string wal_header_payload(std::uint64_t base_version, const schema_stamp& schema,
                                      std::uint32_t format = wal_format_version) {
    std::string out;
    writer w(out);
    w.fixed(static_cast<std::uint8_t>(wal_record::header));
    w.bytes(wal_magic.data(), wal_magic.size());
    w.fixed(format);
    w.fixed(base_version);
    write_schema(w, schema, format >= wal_descriptions_format);
    return out;
}

/// The payload of a reserve record.
inline std::string wal_reserve_payload(version_t versions, std::uint64_t runs) {
    std::string out;
    writer w(out);
    w.fixed(static_cast<std::uint8_t>(wal_record::reserve));
    w.fixed(versions);
    w.fixed(runs);
    return out;
}

/// The payload of a close record.
inline std::string wal_close_payload() { return std::string(1, static_cast<char>(wal_record::close)); }

/// Appends the payload of a commit record to out: a `timed` one when time is given.
inline void append_commit_payload(std::string& out, version_t version, std::span<const write_op> ops,
                                  std::optional<std::int64_t> time = std::nullopt) {
    writer w(out);
    w.fixed(static_cast<std::uint8_t>(time ? wal_record::timed_commit : wal_record::commit));
    w.fixed(version);
    if (time) w.fixed(*time);
    w.varint(ops.size());
    for (const auto& op : ops) {
        w.fixed(static_cast<std::uint8_t>(op.op == write_op::kind::put ? 1 : 2));
        write_string(w, op.key);
        if (op.op == write_op::kind::put) write_string(w, op.bytes);
    }
}

/// A decoded logical record.
struct wal_entry {
    wal_record kind{};
    version_t version = 0;            // commit: its version; header: the base version; reserve: versions
    std::int64_t time = 0;            // commit: its time (ns; 0 when not logged)
    std::uint64_t runs = 0;           // reserve: run ids
    std::uint32_t format = 0;         // header
    std::vector<write_op> ops;        // commit
    schema_stamp schema;              // header
};

/// Decodes a logical record's payload; false when it is malformed.
inline bool decode_wal_entry(std::string_view payload, wal_entry& out) {
    reader r(payload);
    std::uint8_t kind;
    if (!r.fixed(kind)) return false;
    out.kind = static_cast<wal_record>(kind);
    switch (out.kind) {
    case wal_record::header: {
        const char* magic;
        if (!r.bytes(wal_magic.size(), magic) || std::string_view(magic, wal_magic.size()) != wal_magic) return false;
        if (!r.fixed(out.format) || out.format < oldest_wal_format || out.format > wal_format_version) return false;
        if (!r.fixed(out.version) || !read_schema(r, out.schema, out.format >= wal_descriptions_format)) return false;
        return r.remaining() == 0;
    }
    case wal_record::reserve: return r.fixed(out.version) && r.fixed(out.runs) && r.remaining() == 0;
    case wal_record::close: return r.remaining() == 0;
    case wal_record::commit:
    case wal_record::timed_commit: break;
    default: return false;
    }
    std::uint64_t n;
    out.time = 0;
    if (!r.fixed(out.version) || (out.kind == wal_record::timed_commit && !r.fixed(out.time)) || !r.count(n, 2))
        return false;
    out.kind = wal_record::commit; // (the time says which it was)
    out.ops.clear();
    out.ops.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        std::uint8_t op;
        write_op w;
        if (!r.fixed(op) || (op != 1 && op != 2) || !read_string(r, w.key)) return false;
        w.op = op == 1 ? write_op::kind::put : write_op::kind::erase;
        if (op == 1 && !read_string(r, w.bytes)) return false;
        out.ops.push_back(std::move(w));
    }
    return r.remaining() == 0;
}

/// Cuts logical records into physical ones for one segment, tracking where its blocks end.
class wal_formatter {
public:
    wal_formatter(std::uint32_t segment, std::uint64_t offset) noexcept : segment_(segment), offset_(offset) {}

    /// Appends the physical records of payload to out.
    void add(std::string_view payload, std::string& out) {
        bool first = true;
        do {
            std::size_t left = wal_block_size - offset_ % wal_block_size;
            if (left < wal_header_size) { // pad the block's tail
                out.append(left, '\0');
                offset_ += left;
                left = wal_block_size;
            }
            const std::size_t n = std::min(payload.size(), left - wal_header_size);
            const bool last = n == payload.size();
            const wal_type type = first && last ? wal_type::full
                                  : first       ? wal_type::first
                                  : last        ? wal_type::last
                                                : wal_type::middle;
            append_physical(out, type, payload.substr(0, n));
            payload.remove_prefix(n);
            offset_ += wal_header_size + n;
            first = false;
        } while (!payload.empty());
    }

    std::uint32_t segment() const noexcept { return segment_; }
    std::uint64_t offset() const noexcept { return offset_; }

private:
    void append_physical(std::string& out, wal_type type, std::string_view data) {
        char header[wal_header_size];
        const auto length = to_little_endian(static_cast<std::uint16_t>(data.size()));
        const auto seg = to_little_endian(segment_);
        std::memcpy(header + 4, &length, 2);
        header[6] = static_cast<char>(type);
        std::memcpy(header + 7, &seg, 4);
        std::uint32_t crc = crc32c_extend(0, header + 4, wal_header_size - 4);
        crc = to_little_endian(crc32c_mask(crc32c_extend(crc, data.data(), data.size())));
        std::memcpy(header, &crc, 4);
        out.append(header, wal_header_size);
        out.append(data);
    }

    std::uint32_t segment_;
    std::uint64_t offset_;
};

/// How reading a segment ended.
struct wal_scan {
    enum class end { clean, torn, corrupt };
    end how = end::clean;
    std::uint64_t valid_bytes = 0; // bytes up to the end of the last complete logical record
    std::string why;               // for torn and corrupt: what was found at valid_bytes
};

namespace wal_detail {
// The physical record at pos, if its header and checksum are valid for this segment.
inline bool physical_at(std::string_view data, std::size_t pos, std::uint32_t segment, wal_type& type,
                        std::string_view& payload) {
    const std::size_t block_left = wal_block_size - pos % wal_block_size;
    if (block_left < wal_header_size || data.size() - pos < wal_header_size) return false;
    const char* h = data.data() + pos;
    std::uint32_t crc;
    std::uint16_t length;
    std::uint32_t seg;
    std::memcpy(&crc, h, 4);
    std::memcpy(&length, h + 4, 2);
    std::memcpy(&seg, h + 7, 4);
    crc = to_little_endian(crc);
    length = to_little_endian(length);
    seg = to_little_endian(seg);
    const auto t = static_cast<std::uint8_t>(h[6]);
    if (t < 1 || t > 4 || seg != segment) return false;
    if (wal_header_size + length > block_left || data.size() - pos - wal_header_size < length) return false;
    std::uint32_t actual = crc32c_extend(0, h + 4, wal_header_size - 4);
    actual = crc32c_extend(actual, h + wal_header_size, length);
    if (crc32c_mask(actual) != crc) return false;
    type = static_cast<wal_type>(t);
    payload = std::string_view(h + wal_header_size, length);
    return true;
}

// The length a damaged record's header claims, when the header itself looks sound (a known
// type, this segment, fits its block): then its payload is the record's own bytes.
inline std::optional<std::size_t> sound_header_length(std::string_view data, std::size_t pos,
                                                      std::uint32_t segment) {
    const std::size_t block_left = wal_block_size - pos % wal_block_size;
    if (data.size() - pos < wal_header_size || block_left < wal_header_size) return std::nullopt;
    std::uint16_t length;
    std::uint32_t seg;
    std::memcpy(&length, data.data() + pos + 4, 2);
    std::memcpy(&seg, data.data() + pos + 7, 4);
    const auto t = static_cast<std::uint8_t>(data[pos + 6]);
    length = to_little_endian(length);
    if (t < 1 || t > 4 || to_little_endian(seg) != segment || wal_header_size + length > block_left)
        return std::nullopt;
    return length;
}

// Whether any valid physical record starts at or after from: in from's block at any
// offset, or at the start of a later block. Only called after damage, so its cost does not
// matter.
inline bool valid_record_after(std::string_view data, std::size_t from, std::uint32_t segment) {
    wal_type type;
    std::string_view payload;
    if (from >= data.size()) return false;
    const std::size_t pos = from - 1;
    const std::size_t block_end = std::min(data.size(), (pos / wal_block_size + 1) * wal_block_size);
    for (std::size_t p = pos + 1; p < block_end; ++p)
        if (physical_at(data, p, segment, type, payload)) return true;
    for (std::size_t p = block_end; p < data.size(); p += wal_block_size)
        if (physical_at(data, p, segment, type, payload)) return true;
    return false;
}

inline bool all_zero(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}
} // namespace wal_detail

/// Reads the logical records of one segment's bytes, calling on_record(payload, start) for
/// each, start being where the bytes after the previous logical record begin.
/// Stops at the first damage and says whether it was a torn tail or corruption.
template <class F>
wal_scan scan_wal_segment(std::string_view data, std::uint32_t segment, F&& on_record) {
    wal_scan result;
    std::string assembled;
    bool in_fragment = false;
    std::size_t pos = 0;
    while (pos < data.size()) {
        const std::size_t block_left = wal_block_size - pos % wal_block_size;
        if (block_left < wal_header_size) { // padding at the end of a block
            if (!wal_detail::all_zero(data.substr(pos, std::min(block_left, data.size() - pos)))) {
                result.how = wal_scan::end::corrupt;
                result.why = "non-zero bytes in a block's padding at offset " + std::to_string(pos);
                return result;
            }
            pos += block_left;
            continue;
        }
        wal_type type;
        std::string_view payload;
        if (!wal_detail::physical_at(data, pos, segment, type, payload)) {
            const bool zeros = wal_detail::all_zero(data.substr(pos));
            // A sound header whose payload runs past the end is a write cut short: torn. One
            // whose payload is all there fails its checksum: look for valid records past it,
            // not inside it (a value may itself hold bytes that look like records).
            const auto claimed = wal_detail::sound_header_length(data, pos, segment);
            const bool cut_short = claimed && pos + wal_header_size + *claimed > data.size();
            const std::size_t search_from = claimed ? pos + wal_header_size + *claimed : pos + 1;
            const bool more = !zeros && !cut_short && wal_detail::valid_record_after(data, search_from, segment);
            result.how = more ? wal_scan::end::corrupt : wal_scan::end::torn;
            result.why = std::string(zeros ? "zeroed bytes" : more ? "a damaged record followed by valid ones"
                                                                  : "an incomplete or damaged last record") +
                         " at offset " + std::to_string(pos);
            return result;
        }
        pos += wal_header_size + payload.size();
        const bool starts = type == wal_type::full || type == wal_type::first;
        if (starts == in_fragment) {
            // A valid fragment out of sequence: something before it was lost. A crash only
            // loses a tail, so this is damage with a valid record after it.
            result.how = wal_scan::end::corrupt;
            result.why = "a record fragment out of sequence before offset " + std::to_string(pos);
            return result;
        }
        if (type == wal_type::full) {
            on_record(payload, result.valid_bytes);
            result.valid_bytes = pos;
        } else if (type == wal_type::first) {
            assembled.assign(payload);
            in_fragment = true;
        } else {
            assembled.append(payload);
            if (type == wal_type::last) {
                in_fragment = false;
                on_record(std::string_view(assembled), result.valid_bytes);
                result.valid_bytes = pos;
            }
        }
    }
    if (in_fragment) {
        result.how = wal_scan::end::torn;
        result.why = "a record whose last fragment was never written, at offset " + std::to_string(result.valid_bytes);
    }
    return result;
}

} // namespace inmem::detail
