// inmem/storage/key.hpp: how every stored record is addressed in the one ordered store.
//
// Grammar (integers big-endian, so byte order is numeric order):
//   key          := ns:u32 space:u8 body
//   space 0 catalog, body := kind:u8 ...
//     kind 0 run record   := run:u64                      -> run_info
//     kind 1 run gap      := first:u64                    -> last:u64 (big-endian)
//       run ids first..last were reserved by a session that crashed before it used them
//       (or before what it did with them was durable): they are never runs
//     kind 2 erased run   := run:u64                      -> "" (db.erase_run forgot the run:
//       the id stays taken and says so, nothing else of it is kept)
//   space 1 run data, body := run:u64 primitive:u8 slot:u16 user_key
//     primitive 0, slot 0: the run's history (history/history_store.hpp), not a family's
//   space 2 shared,   body := primitive:u8 slot:u16 name  (state records, across runs)
//
// Everything a run wrote is the contiguous range [ns run, ns run+1) of space 1, which is
// what makes replaying or diffing a run cost O(run size). ns is a namespace (tenant, app,
// agent) that outlives runs; 0 is the default and the only one used so far.
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/error.hpp>
#include <inmem/vocabulary.hpp>

#include <array>
#include <bit>
#include <span>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace inmem::detail {

inline constexpr std::size_t run_key_prefix_size = 4 + 1 + 8 + 1 + 2;

inline void check_user_key(std::string_view key) {
    if (key.size() > max_key_size)
        throw error(errc::key_too_large, "inmem: a key of " + std::to_string(key.size()) +
                                             " bytes exceeds inmem::max_key_size (" +
                                             std::to_string(max_key_size) + ")");
}

/// The primitive byte of history keys (no family has it).
inline constexpr std::uint8_t history_primitive = 0;
/// The bytes of a compact command.
inline constexpr std::string_view history_compact_command = "compact";

/// Whether key is under a run's history prefix (a command, or a snapshot piece).
inline bool is_history_key(std::string_view key) noexcept {
    return key.size() >= 16 && static_cast<key_space>(key[4]) == key_space::run &&
           static_cast<std::uint8_t>(key[13]) == history_primitive;
}

/// Whether a history key and its value (nullptr: an erasure) are well-formed.
inline bool history_key_is_valid(std::string_view key, const std::string_view* bytes) noexcept {
    if (load_big_endian<std::uint16_t>(key.data() + 14) != 0) return false;
    if (key.size() == 16) return !bytes || *bytes == history_compact_command;
    return key.size() == 20 && bytes;
}

/// Writes into out the key of a record a run wrote: (ns, run, primitive, slot) then the
/// user's key. Reusing out avoids an allocation on read paths.
inline void run_data_key_into(std::string& out, std::uint32_t ns, std::uint64_t run, std::uint8_t primitive,
                              std::uint16_t slot, std::string_view user_key) {
    std::array<char, run_key_prefix_size> prefix;
    store_big_endian(prefix.data(), ns);
    prefix[4] = static_cast<char>(key_space::run);
    store_big_endian(prefix.data() + 5, run);
    prefix[13] = static_cast<char>(primitive);
    store_big_endian(prefix.data() + 14, slot);
    out.resize(run_key_prefix_size + user_key.size());
    std::memcpy(out.data(), prefix.data(), prefix.size());
    if (!user_key.empty()) std::memcpy(out.data() + prefix.size(), user_key.data(), user_key.size());
}

/// The key of a record a run wrote, as a new string.
inline std::string run_data_key(std::uint32_t ns, std::uint64_t run, std::uint8_t primitive, std::uint16_t slot,
                                std::string_view user_key) {
    std::string key;
    run_data_key_into(key, ns, run, primitive, slot, user_key);
    return key;
}

/// The length of the prefix that records listed together share: one run's data
/// (ns space run), the run index (ns space kind), one slot of shared records (ns space
/// primitive slot). The memory backend keeps an ordered index per such group. A key too
/// short to name its space gets 5 (ns and space).
constexpr std::size_t group_prefix_size(std::string_view key) noexcept {
    if (key.size() < 5) return 5;
    switch (static_cast<key_space>(key[4])) {
    case key_space::run: return 13;
    case key_space::catalog: return 6;
    case key_space::shared: return 8;
    }
    return 5;
}

/// Writes into out the key of a shared record (a state record): (ns, primitive, slot) then
/// its name.
inline void shared_key_into(std::string& out, std::uint32_t ns, std::uint8_t primitive, std::uint16_t slot,
                            std::string_view name) {
    out.resize(8 + name.size());
    store_big_endian(out.data(), ns);
    out[4] = static_cast<char>(key_space::shared);
    out[5] = static_cast<char>(primitive);
    store_big_endian(out.data() + 6, slot);
    if (!name.empty()) std::memcpy(out.data() + 8, name.data(), name.size());
}

/// Appends bytes as a person reads them: printable ASCII as it is, the rest as \xNN.
inline void append_printable(std::string& out, std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f && u != '\\') out.push_back(c);
        else out += {'\\', 'x', hex[u >> 4], hex[u & 15]};
    }
}

/// A stored key as a person reads it in an error message, without knowing its family: the
/// run or shared slot it belongs to, then the user's key (a schema's families say more:
/// primitives/family.hpp, describe_stored_key).
inline std::string describe_key(std::string_view key) {
    std::string out;
    std::size_t user = 0;
    if (key.size() >= run_key_prefix_size && static_cast<key_space>(key[4]) == key_space::run) {
        out = "key '";
        user = run_key_prefix_size;
    } else if (key.size() >= 8 && static_cast<key_space>(key[4]) == key_space::shared) {
        out = "record '";
        user = 8;
    } else {
        out = "internal key '";
    }
    append_printable(out, key.substr(user));
    if (key.size() >= run_key_prefix_size && static_cast<key_space>(key[4]) == key_space::run)
        out += "' of run " + std::to_string(read_big_endian<std::uint64_t>(key, 5));
    else out += "'";
    return out;
}

/// The prefix of everything run wrote (ns space run): its range.
inline std::string run_range_prefix(run_id run) {
    std::string prefix = run_data_key(default_namespace, run.value, 0, 0, {});
    prefix.resize(run_key_prefix_size - 3);
    return prefix;
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

/// The key of a run gap's record in the run index (see the grammar above).
inline std::string run_gap_key(std::uint32_t ns, std::uint64_t first) {
    std::string key = run_catalog_key(ns, first);
    key[5] = static_cast<char>(catalog_kind::run_gap);
    return key;
}

/// The key of an erased run's record in the run index (see the grammar above).
inline std::string erased_run_key(std::uint32_t ns, std::uint64_t run) {
    std::string key = run_catalog_key(ns, run);
    key[5] = static_cast<char>(catalog_kind::erased_run);
    return key;
}

/// Where a stored key of run data or a shared record points: its space, primitive, slot,
/// run (0 for a shared record) and what follows them (the family's part: the user's key,
/// a name, a sequence number). nullopt for catalog keys and keys too short to say.
struct key_address {
    key_space space = key_space::run;
    std::uint8_t primitive = 0;
    std::uint16_t slot = 0;
    std::uint64_t run = 0;
    std::string_view rest;
};

inline std::optional<key_address> address_of(std::string_view key) noexcept {
    if (key.size() >= run_key_prefix_size && static_cast<key_space>(key[4]) == key_space::run)
        return key_address{key_space::run, static_cast<std::uint8_t>(key[13]), load_big_endian<std::uint16_t>(key.data() + 14),
                           load_big_endian<std::uint64_t>(key.data() + 5), key.substr(run_key_prefix_size)};
    if (key.size() >= 8 && static_cast<key_space>(key[4]) == key_space::shared)
        return key_address{key_space::shared, static_cast<std::uint8_t>(key[5]), load_big_endian<std::uint16_t>(key.data() + 6),
                           0, key.substr(8)};
    return std::nullopt;
}

/// Whether a stored key and its value (bytes; nullptr for an erasure) are well-formed by
/// the grammar above and by the family of the slot they name (slots[i].check, when set;
/// key_problem says why not). Cheap: recovery runs it on every record.
inline bool key_is_valid(std::string_view key, const std::string_view* bytes,
                         std::span<const schema_stamp::slot> slots) noexcept {
    if (key.size() < 6 || key.size() > 16 + max_key_size + 8) return false;
    const char* k = key.data();
    auto slot_ok = [&](std::size_t at) {
        const auto slot = load_big_endian<std::uint16_t>(k + at + 1);
        return slot < slots.size() && slots[slot].primitive == static_cast<std::uint8_t>(k[at]) &&
               (!slots[slot].check || !slots[slot].check(key, bytes));
    };
    switch (static_cast<key_space>(k[4])) {
    case key_space::catalog:
        if (key.size() != 14 || static_cast<std::uint8_t>(k[5]) > 2 || load_big_endian<std::uint64_t>(k + 6) == 0)
            return false;
        if (bytes && static_cast<catalog_kind>(k[5]) == catalog_kind::erased_run) return bytes->empty();
        return !bytes || static_cast<catalog_kind>(k[5]) != catalog_kind::run_gap ||
               (bytes->size() == 8 && load_big_endian<std::uint64_t>(bytes->data()) >= load_big_endian<std::uint64_t>(k + 6));
    case key_space::run:
        if (key.size() < run_key_prefix_size || load_big_endian<std::uint64_t>(k + 5) == 0) return false;
        return static_cast<std::uint8_t>(k[13]) == history_primitive ? history_key_is_valid(key, bytes) : slot_ok(13);
    case key_space::shared:
        return key.size() >= 8 && slot_ok(5);
    }
    return false;
}

/// What is wrong with a stored key and its value (bytes; nullptr for an erasure), by the
/// grammar above and the slot's family, or "" when nothing is: recovery refuses a file
/// holding such a record, since what it builds on (the run index, journals, shared records)
/// reads them so. slots[i] is schema slot i (its primitive and, when set, its family's
/// check). Values are checked where their layout is fixed (a state record's writer, a run
/// gap's end); others are decoded, and refused, when read.
inline std::string key_problem(std::string_view key, const std::string_view* bytes,
                               std::span<const schema_stamp::slot> slots) {
    if (key.size() < 6) return "a key of " + std::to_string(key.size()) + " bytes is too short for any record";
    if (key.size() > 16 + max_key_size + 8) return "a key of " + std::to_string(key.size()) + " bytes is too long";
    auto slot_problem = [&](std::size_t at) -> std::string {
        const auto primitive = static_cast<std::uint8_t>(key[at]);
        const auto slot = read_big_endian<std::uint16_t>(key, at + 1);
        if (slot >= slots.size() || slots[slot].primitive != primitive)
            return "a record of slot " + std::to_string(slot) + " as primitive " + std::to_string(primitive) +
                   ", which the schema does not have";
        if (const char* why = slots[slot].check ? slots[slot].check(key, bytes) : nullptr)
            return "a " + std::string(slots[slot].family) + " record of slot " + std::to_string(slot) + " (" +
                   slots[slot].name + ") with " + why;
        return {};
    };
    switch (static_cast<key_space>(key[4])) {
    case key_space::catalog:
        if (key.size() != 14 || static_cast<std::uint8_t>(key[5]) > 2) return "a malformed run index key";
        if (read_big_endian<std::uint64_t>(key, 6) == 0) return "a run index key for run 0";
        if (bytes && static_cast<catalog_kind>(key[5]) == catalog_kind::run_gap &&
            (bytes->size() != 8 || read_big_endian<std::uint64_t>(*bytes, 0) < read_big_endian<std::uint64_t>(key, 6)))
            return "a malformed run gap record";
        if (bytes && static_cast<catalog_kind>(key[5]) == catalog_kind::erased_run && !bytes->empty())
            return "a malformed erased run record";
        return {};
    case key_space::run:
        if (key.size() < run_key_prefix_size) return "a malformed key of run data";
        if (read_big_endian<std::uint64_t>(key, 5) == 0) return "a key of run data for run 0";
        if (static_cast<std::uint8_t>(key[13]) == history_primitive)
            return history_key_is_valid(key, bytes) ? std::string() : "a malformed record of a run's history";
        return slot_problem(13);
    case key_space::shared:
        if (key.size() < 8) return "a malformed key of a shared record";
        return slot_problem(5);
    }
    return "a key in unknown space " + std::to_string(static_cast<unsigned>(static_cast<unsigned char>(key[4])));
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
