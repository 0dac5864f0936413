// inmem/walk.hpp: the run walker, one scan of everything a run wrote, family by family.
//
//   inmem::walk_run(db, run, [](const inmem::walked_record& r) {
//       std::cout << r.family << " " << r.type << " '" << r.parts.key << "' v" << r.version << "\n";
//   });
//
// A run's data is one contiguous key range (storage/key.hpp), so the walk costs what the run
// wrote. Records come in key order: by primitive id, then slot, then key, each split by
// its primitive family (primitives/family.hpp), with its stored bytes and, where the family
// frames them (a state journal's writer), the value's own codec bytes: what replay, diff,
// export and the tools are built on, without naming a C++ type. Shared records (state
// records) are not a run's data; their journal entries in the run are.
#pragma once

#include <inmem/error.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace inmem {

/// One record of a run, as walk_run yields it. The views are valid during the callback.
struct walked_record {
    std::string_view family;               ///< the family's name ("kv", "state", ...)
    std::string_view type;                 ///< the value type's name
    key_parts parts;                       ///< slot, run, user key and sequence number
    version_t version = 0;                 ///< the commit that wrote it
    std::string_view stored;               ///< the stored bytes, as they are
    std::optional<std::string_view> value; ///< the value's codec bytes; nullopt: an erasure marker
    run_id writer{};                       ///< the run that wrote it
    bool derived = false;                  ///< the family's bookkeeping (an index, a chain head), not a value
};

namespace detail {

/// A stored record of a run split by the family of Schema that owns it (what walk_run
/// yields); the views are into key and bytes. what names the caller in the corruption error
/// thrown for a record no family owns or whose value its family refuses.
template <class Schema>
walked_record walked_of(std::string_view key, version_t version, std::string_view bytes, const char* what) {
    const auto parts = parse_stored_key<Schema>(key);
    if (!parts)
        throw error(errc::corruption, std::string("inmem: ") + what + ": " + describe_key(key) +
                                          " belongs to no primitive family of the schema");
    const slot_entry& slot = slot_table<Schema>[parts->slot];
    const auto value = slot.value_of(*parts, bytes);
    if (!value)
        throw error(errc::corruption, std::string("inmem: ") + what + ": the value of " + describe_stored_key<Schema>(key) +
                                          " is not what its family stores");
    walked_record out{slot.family, slot.type, *parts, version, bytes, value->value, value->writer, value->derived};
    if (value->slot && std::size_t{*value->slot} < slot_table<Schema>.size()) { // the value's own type
        out.parts.slot = *value->slot;
        out.type = slot_table<Schema>[*value->slot].type;
    }
    return out;
}

} // namespace detail

/// Calls f(const walked_record&) for every record of run at the latest version, in key
/// order; f may return false to stop. Throws unknown_run, and corruption for a record that
/// no family of the schema owns or whose value its family refuses.
template <class Db, class F>
void walk_run(const Db& db, run_id run, F&& f) {
    using schema = typename Db::schema_type;
    db.engine().scan(run, detail::run_range_prefix(run), [&](std::string_view key, const detail::stored_record& rec) {
        const walked_record out = detail::walked_of<schema>(key, rec.version, rec.bytes, "walk_run");
        if constexpr (std::is_void_v<decltype(f(out))>) {
            f(out);
            return true;
        } else {
            return static_cast<bool>(f(out));
        }
    });
}

} // namespace inmem
