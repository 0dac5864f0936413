// The recovery fuzzer's input: a database directory as one byte string.
//
//   image := flags:u8 entry*
//   entry := kind:u8 number:u32 length:u32 bytes[length]     (integers little-endian)
//   kind  := 0 WAL segment wal-<number>.log | 1 snapshot of version <number> | 2 its .tmp
//   flags := bit 0 open with repair | bit 1 keep the checksums as they are (else the harness
//            recomputes them, so that mutations get past them) | bit 2 batched (else strict)
//            | bit 3 small segments
// A length past the end takes what is left; entries of the same file are concatenated.
#pragma once

#include <inmem/durability/crc32c.hpp>
#include <inmem/durability/snapshot.hpp>
#include <inmem/durability/wal_format.hpp>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>

namespace inmem_fuzz {

enum flag : std::uint8_t { repair = 1, keep_checksums = 2, batched = 4, small_segments = 8 };

struct directory_image {
    std::uint8_t flags = 0;
    std::map<std::string, std::string> files; // name -> bytes
};

inline void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
inline std::uint32_t get_u32(std::string_view in, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(in[at + static_cast<std::size_t>(i)]);
    return v;
}

/// The image of a directory's files (LOCK and unknown names are left out).
inline std::string encode_image(std::uint8_t flags, const std::map<std::string, std::string>& files) {
    std::string out(1, static_cast<char>(flags));
    for (const auto& [name, bytes] : files) {
        std::uint8_t kind;
        std::uint32_t number;
        if (auto s = inmem::detail::parse_wal_segment_name(name)) kind = 0, number = *s;
        else if (auto v = inmem::detail::parse_snapshot_name(name); v && *v <= UINT32_MAX)
            kind = 1, number = static_cast<std::uint32_t>(*v);
        else continue;
        out.push_back(static_cast<char>(kind));
        put_u32(out, number);
        put_u32(out, static_cast<std::uint32_t>(bytes.size()));
        out += bytes;
    }
    return out;
}

/// Makes every physical record of a WAL segment carry a valid checksum (the walk trusts the
/// lengths; where they make no sense it stops, leaving the rest as it is).
inline void fix_wal_checksums(std::string& data) {
    using namespace inmem::detail;
    std::size_t pos = 0;
    while (pos < data.size()) {
        const std::size_t block_left = wal_block_size - pos % wal_block_size;
        if (block_left < wal_header_size) {
            pos += block_left;
            continue;
        }
        if (data.size() - pos < wal_header_size) return;
        const auto length = static_cast<std::size_t>(static_cast<unsigned char>(data[pos + 4]) |
                                                     static_cast<unsigned char>(data[pos + 5]) << 8);
        const auto type = static_cast<unsigned char>(data[pos + 6]);
        if (type < 1 || type > 4 || wal_header_size + length > block_left || data.size() - pos - wal_header_size < length)
            return;
        std::uint32_t crc = crc32c_extend(0, data.data() + pos + 4, wal_header_size - 4);
        crc = to_little_endian(crc32c_mask(crc32c_extend(crc, data.data() + pos + wal_header_size, length)));
        std::memcpy(data.data() + pos, &crc, 4);
        pos += wal_header_size + length;
    }
}

/// Makes a snapshot's trailing checksum match its body.
inline void fix_snapshot_checksum(std::string& data) {
    using namespace inmem::detail;
    if (data.size() < 4) return;
    const std::uint32_t crc = to_little_endian(crc32c_mask(crc32c(data.data(), data.size() - 4)));
    std::memcpy(data.data() + data.size() - 4, &crc, 4);
}

/// Reads an image (never fails: whatever the bytes, some directory comes out).
inline directory_image decode_image(std::string_view in) {
    directory_image image;
    if (in.empty()) return image;
    image.flags = static_cast<std::uint8_t>(in[0]);
    std::size_t pos = 1;
    while (in.size() - pos >= 9) {
        const auto kind = static_cast<std::uint8_t>(in[pos]);
        const std::uint32_t number = get_u32(in, pos + 1);
        const std::size_t length = std::min<std::size_t>(get_u32(in, pos + 5), in.size() - pos - 9);
        const std::string_view bytes = in.substr(pos + 9, length);
        pos += 9 + length;
        switch (kind % 3) {
        case 0: image.files[inmem::detail::wal_segment_name(number)] += bytes; break;
        case 1: image.files[inmem::detail::snapshot_name(number)] += bytes; break;
        case 2: image.files[inmem::detail::snapshot_name(number) + ".tmp"] += bytes; break;
        }
    }
    if (!(image.flags & keep_checksums))
        for (auto& [name, bytes] : image.files) {
            if (name.ends_with(".log")) fix_wal_checksums(bytes);
            else if (name.ends_with(".snap")) fix_snapshot_checksum(bytes);
        }
    return image;
}

} // namespace inmem_fuzz
