// inmem/storage/key.hpp: how every stored record is addressed in the one ordered store.
//
// Grammar (integers big-endian, so byte order is numeric order):
//   key          := ns:u32 space:u8 body
//   space 0 catalog, body := kind:u8 ...
//     kind 0 run record   := run:u64                      -> run_info
//   space 1 run data, body := run:u64 primitive:u8 slot:u16 user_key
//   space 2 shared,   body := primitive:u8 slot:u16 name  (state records, across runs)
//
// Everything a run wrote is the contiguous range [ns run, ns run+1) of space 1, which is
// what makes replaying or diffing a run cost O(run size). ns is a namespace (tenant, app,
// agent) that outlives runs; 0 is the default and the only one used so far.
#pragma once

#include <inmem/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace inmem {

/// A commit's sequence number. Every committed write gets a new, larger one, forever.
using version_t = std::uint64_t;

/// The largest user key (KV key, record name) in bytes.
inline constexpr std::size_t max_key_size = 4096;

} // namespace inmem

namespace inmem::detail {

enum class key_space : std::uint8_t { catalog = 0, run = 1, shared = 2 };
enum class catalog_kind : std::uint8_t { run = 0 };

/// The namespace every key uses until namespaces are exposed.
inline constexpr std::uint32_t default_namespace = 0;

inline constexpr std::size_t run_key_prefix_size = 4 + 1 + 8 + 1 + 2;

template <class Int>
void append_big_endian(std::string& out, Int v) {
    for (int shift = (sizeof(Int) - 1) * 8; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xff));
}

template <class Int>
Int read_big_endian(std::string_view in, std::size_t at) noexcept {
    Int v = 0;
    for (std::size_t i = 0; i < sizeof(Int); ++i) v = static_cast<Int>((v << 8) | static_cast<unsigned char>(in[at + i]));
    return v;
}

inline void check_user_key(std::string_view key) {
    if (key.size() > max_key_size)
        throw error(errc::key_too_large, "inmem: a key of " + std::to_string(key.size()) +
                                             " bytes exceeds inmem::max_key_size (" +
                                             std::to_string(max_key_size) + ")");
}

/// The key of a record a run wrote: prefix (ns, run, primitive, slot) then the user's key.
inline std::string run_data_key(std::uint32_t ns, std::uint64_t run, std::uint8_t primitive, std::uint16_t slot,
                                std::string_view user_key) {
    std::string key;
    key.reserve(run_key_prefix_size + user_key.size());
    append_big_endian(key, ns);
    key.push_back(static_cast<char>(key_space::run));
    append_big_endian(key, run);
    key.push_back(static_cast<char>(primitive));
    append_big_endian(key, slot);
    key.append(user_key);
    return key;
}

/// The key of a run's record in the run index.
inline std::string run_catalog_key(std::uint32_t ns, std::uint64_t run) {
    std::string key;
    key.reserve(4 + 1 + 1 + 8);
    append_big_endian(key, ns);
    key.push_back(static_cast<char>(key_space::catalog));
    key.push_back(static_cast<char>(catalog_kind::run));
    append_big_endian(key, run);
    return key;
}

/// The first key after every key that starts with prefix ("" when there is none).
inline std::string prefix_end(std::string_view prefix) {
    std::string end(prefix);
    while (!end.empty()) {
        auto& last = reinterpret_cast<unsigned char&>(end.back());
        if (last != 0xff) {
            ++last;
            return end;
        }
        end.pop_back();
    }
    return end;
}

} // namespace inmem::detail
