// inmem/primitives/family.hpp: what a primitive declares to plug into the database.
//
// A primitive is a family, declared once, in its own header:
//
//   struct kv_family {
//       static constexpr inmem::primitive id = inmem::primitive::kv; // in every key: stable
//       static constexpr std::string_view name = "kv";               // as tools and JSON spell it
//       template <class Engine, class T> using handle = kv_handle<Engine, T>;
//       static std::optional<key_parts> parse(std::string_view key) noexcept;
//       static std::optional<value_parts> value_of(const key_parts&, std::string_view bytes) noexcept;
//       static std::string describe(const key_parts&);                // optional
//   };
//   template <class... T> struct kv : inmem::family_entry<kv_family, T...> {};
//
// A family that keeps a derived index in memory (a vector collection's) also declares
//       template <class T> using index = ...;  // a batch observer, constructed from its slot
// and the database keeps one per slot, fed every batch live and in recovery, and handed to
// the handle's constructor after the slot.
//
// With that, db.handle<F, T>() hands out its handle, the run walker (walk.hpp) yields its
// records, recovery checks its keys and values (parse and value_of must accept them), error
// messages describe its keys, and JSON (json/) shows its values: nothing else is edited.
#pragma once

#include <inmem/schema/evolution.hpp>
#include <inmem/schema/fingerprint.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <array>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace inmem {

/// A stored key split by its family: the slot and run it belongs to, the user's key (or the
/// record's name), and the sequence number or version the key carries, when it has one.
struct key_parts {
    primitive family{};                    ///< the family's id
    std::uint16_t slot = 0;                ///< the schema slot (the value type)
    run_id run{};                          ///< the run whose data it is; 0 for a shared record
    std::string_view key;                  ///< the user's key, or the record's name
    std::optional<std::uint64_t> sequence; ///< e.g. the version of a journal entry
    bool shared = false;                   ///< a record shared by every run (space 2)
};

/// A stored value once its family removed its framing.
struct value_parts {
    std::optional<std::string_view> value; ///< the codec bytes of the value; nullopt: an erasure marker
    run_id writer{};                       ///< the run that wrote it
    /// The slot of the value's type when the key names another (an event log keeps all its
    /// types in one sequence, under its first type's slot); nullopt: the key's slot.
    std::optional<std::uint16_t> slot{};
    /// A record the family derives from its values (an index, a chain head), not a value.
    bool derived = false;
};

/// The contract of a primitive family F whose handle for Engine and T is F::handle<Engine, T>.
template <class F>
concept primitive_family = family_identity<F> && requires(std::string_view key, const key_parts& parts) {
    { F::parse(key) } -> std::same_as<std::optional<key_parts>>;
    { F::value_of(parts, key) } -> std::same_as<std::optional<value_parts>>;
};

/// A family that hands out a handle for Engine and T (db.handle<F, T>()).
template <class F, class Engine, class T>
concept family_with_handle = primitive_family<F> && requires { typename F::template handle<Engine, T>; };

namespace detail {

/// The generic description of parts: "kv key 'plan' of run 3", "state record 'lead'".
inline std::string describe_parts(std::string_view family, const key_parts& parts) {
    std::string out(family);
    out += parts.shared ? " record '" : " key '";
    append_printable(out, parts.key);
    out += "'";
    if (parts.sequence) out += " #" + std::to_string(*parts.sequence);
    if (parts.run) out += " of run " + std::to_string(parts.run.value);
    return out;
}

/// One schema slot at run time, for code that meets stored keys without their C++ types
/// (the walker, recovery, error messages, the tools).
struct slot_entry {
    primitive id{};
    std::string_view family;   ///< the family's name
    std::string_view type;     ///< the value type's name
    std::optional<key_parts> (*parse)(std::string_view key) noexcept = nullptr; ///< nullptr: planned family
    std::optional<value_parts> (*value_of)(const key_parts&, std::string_view bytes) noexcept = nullptr;
    std::string (*describe)(const key_parts&) = nullptr;
    bool built = false;        ///< false for a planned family: no records of it can exist yet
};

template <class Slot>
constexpr slot_entry make_slot_entry() {
    using F = typename Slot::family;
    slot_entry e{F::id, F::name, type_name<typename Slot::type>()};
    if constexpr (primitive_family<F>) {
        e.built = true;
        e.parse = &F::parse;
        e.value_of = &F::value_of;
        if constexpr (requires(const key_parts& p) {
                          { F::describe(p) } -> std::convertible_to<std::string>;
                      })
            e.describe = &F::describe;
    }
    return e;
}

template <class... Slots>
constexpr auto make_slot_table(slot_list<Slots...>) {
    return std::array<slot_entry, sizeof...(Slots)>{make_slot_entry<Slots>()...};
}

/// A slot whose family keeps no index.
struct no_index {
    explicit constexpr no_index(std::uint16_t) noexcept {}
};
template <class Slot>
struct slot_index {
    using type = no_index;
};
template <class Slot>
    requires requires { typename Slot::family::template index<typename Slot::type>; }
struct slot_index<Slot> {
    using type = typename Slot::family::template index<typename Slot::type>;
};

/// The derived indexes of Schema's slots (primitive families' index<T>), one per slot that
/// has one, each constructed from its slot; what the database hands the engine as observers.
template <class Schema, class Slots = typename Schema::slots>
class family_indexes;
template <class Schema, class... Slots>
class family_indexes<Schema, slot_list<Slots...>> {
public:
    family_indexes() : family_indexes(std::make_index_sequence<sizeof...(Slots)>{}) {}
    family_indexes(const family_indexes&) = delete;
    family_indexes& operator=(const family_indexes&) = delete;

    /// The index of slot I.
    template <std::size_t I>
    auto& at() noexcept {
        return std::get<I>(indexes_);
    }

    /// Every index, to observe the engine's batches.
    std::vector<batch_observer*> observers() noexcept {
        std::vector<batch_observer*> out;
        std::apply([&](auto&... index) { (add(out, index), ...); }, indexes_);
        return out;
    }

private:
    template <std::size_t... I>
    explicit family_indexes(std::index_sequence<I...>) : indexes_(static_cast<std::uint16_t>(I)...) {}

    static void add(std::vector<batch_observer*>&, no_index&) noexcept {}
    template <class Index>
    static void add(std::vector<batch_observer*>& out, Index& index) {
        out.push_back(&index);
    }

    std::tuple<typename slot_index<Slots>::type...> indexes_;
};

/// Every slot of Schema at run time, in slot order.
template <class Schema>
inline constexpr auto slot_table = make_slot_table(typename Schema::slots{});

/// Splits a stored key by the family of the slot it names; nullopt when no family of
/// Schema owns it (catalog keys, unknown slots, keys a family refuses).
template <class Schema>
std::optional<key_parts> parse_stored_key(std::string_view key) noexcept {
    const auto at = address_of(key);
    if (!at || at->slot >= slot_table<Schema>.size()) return std::nullopt;
    const slot_entry& slot = slot_table<Schema>[at->slot];
    if (static_cast<std::uint8_t>(slot.id) != at->primitive || !slot.parse) return std::nullopt;
    return slot.parse(key);
}

/// A stored key as its family describes it ("state record 'lead'", "kv key 'plan' of run
/// 3"); keys no family owns, as storage/key.hpp's describe_key does.
template <class Schema>
std::string describe_stored_key(std::string_view key) {
    const auto parts = parse_stored_key<Schema>(key);
    if (!parts) return describe_key(key);
    const slot_entry& slot = slot_table<Schema>[parts->slot];
    return slot.describe ? slot.describe(*parts) : describe_parts(slot.family, *parts);
}

// Recovery's check of a record of slot I: its family parses the key and takes the value
// (nullptr), or why not.
template <class Schema, std::size_t I>
const char* check_slot_record(std::string_view key, const std::string_view* bytes) noexcept {
    constexpr const slot_entry& slot = slot_table<Schema>[I];
    const auto parts = slot.parse(key);
    if (!parts || parts->slot != I) return "a key its family cannot parse";
    if (bytes && !slot.value_of(*parts, *bytes)) return "a value its family refuses";
    return nullptr;
}

// Slot I of a slot list.
template <std::size_t I, class List>
struct slot_at;
template <std::size_t I, class First, class... Rest>
struct slot_at<I, slot_list<First, Rest...>> : slot_at<I - 1, slot_list<Rest...>> {};
template <class First, class... Rest>
struct slot_at<0, slot_list<First, Rest...>> : First {};
template <class Schema, std::size_t I>
using family_of_slot = typename slot_at<I, typename Schema::slots>::family;

// A record of slot I, read from files written under another schema, rewritten by its family
// for the program's (durability/migration.hpp): key is already renumbered; the value its
// framing holds is converted in place and, in a family that keeps its types in one log, the
// type's slot in the framing renumbered. False when the family cannot read the record.
template <class Schema, std::size_t I>
bool rewrite_slot_record(std::string_view key, std::uint16_t stored_slot, std::string& bytes,
                         const record_rewriter& how) {
    using F = family_of_slot<Schema, I>;
    constexpr const slot_entry& slot = slot_table<Schema>[I];
    const auto parts = slot.parse(key);
    if (!parts) return false;
    const auto value = slot.value_of(*parts, bytes);
    if (!value) return false;
    if constexpr (requires { F::log_head_counts_at; }) {
        // A one-log family given more types (at the end): its heads count per type from
        // now on (the first, in a log of one type, counts every record), and the records of
        // a log of one type get its type index entries (i-th of the type: seq i).
        const auto [from, to] = how.log_types(static_cast<std::uint8_t>(F::id));
        if (to > from && to > 1 && parts->key.empty()) {
            constexpr std::size_t counts_at = F::log_head_counts_at;
            if (!parts->sequence && bytes.size() >= counts_at) { // the head
                if (from <= 1) {
                    const std::string next = bytes.substr(1, 8); // the next seq: the count of the one type
                    bytes.resize(counts_at);
                    bytes += next;
                    bytes.append(8 * (to - 1), '\0');
                } else {
                    bytes.append(8 * (to - from), '\0');
                }
            } else if (parts->sequence && from <= 1) {
                std::string index;
                run_data_key_into(index, default_namespace, parts->run.value, static_cast<std::uint8_t>(F::id), parts->slot,
                                  {});
                index.push_back(F::log_type_index_marker);
                append_big_endian(index, *parts->sequence);
                std::string seq;
                append_big_endian(seq, *parts->sequence);
                how.add(std::move(index), std::move(seq));
            }
        }
    }
    if (!value->value) return true; // an erasure marker or a derived record: nothing typed in it
    const std::uint16_t value_slot = value->slot.value_or(stored_slot);
    const std::size_t at = static_cast<std::size_t>(value->value->data() - bytes.data()), size = value->value->size();
    std::string converted;
    if (how.convert(value_slot, *value->value, converted)) bytes.replace(at, size, converted);
    if (value->slot) {
        if constexpr (requires(std::string& b) { F::set_value_slot(b, std::uint16_t{}); })
            F::set_value_slot(bytes, how.slot_of(value_slot));
        else if (how.slot_of(value_slot) != value_slot) return false;
    }
    return true;
}

template <class T>
migration_plan plan_from_description(std::string_view old_description) {
    return plan_migration<T>(parse_type_description(old_description));
}

// The canonical description of each slot's type, in slot order.
template <class... S>
std::vector<std::string> slot_descriptions(slot_list<S...>) {
    return {inmem::describe<typename S::type>()...};
}

template <class Schema, std::size_t I>
constexpr auto slot_rewrite() {
    return slot_table<Schema>[I].built ? &rewrite_slot_record<Schema, I> : nullptr;
}
template <class Schema, std::size_t I>
constexpr bool slot_hashed() {
    if constexpr (requires { family_of_slot<Schema, I>::hashed_values; }) return family_of_slot<Schema, I>::hashed_values;
    else return false;
}
template <class Schema, std::size_t I>
constexpr bool slot_one_log() {
    return requires(std::string& b) { family_of_slot<Schema, I>::set_value_slot(b, std::uint16_t{}); };
}

/// What the files written under Schema record of it (schema_stamp): each slot's primitive,
/// fingerprint, name and description, and its family check, to refuse opening them under
/// another schema or with impossible records.
template <class Schema>
schema_stamp stamp_of() {
    schema_stamp s{Schema::fingerprint, {}};
    std::vector<std::string> descriptions = slot_descriptions(typename Schema::slots{});
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (s.slots.push_back({static_cast<std::uint8_t>(Schema::slot_infos[I].kind), Schema::slot_infos[I].fingerprint,
                            std::string(Schema::slot_infos[I].type_name), slot_table<Schema>[I].family,
                            slot_table<Schema>[I].built ? &check_slot_record<Schema, I> : nullptr,
                            std::move(descriptions[I]), slot_rewrite<Schema, I>(), slot_hashed<Schema, I>(),
                            slot_one_log<Schema, I>(),
                            &plan_from_description<typename slot_at<I, typename Schema::slots>::type>}),
         ...);
    }(std::make_index_sequence<Schema::size>{});
    return s;
}

} // namespace detail
} // namespace inmem
