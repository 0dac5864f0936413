// inmem/schema/schema.hpp: the list of stored types a database is declared with.
//
//   using agent_schema = inmem::schema<inmem::kv<Plan, std::string>,
//                                      inmem::events<ToolCall, ToolResult>,
//                                      inmem::states<Lease>>;
//
// Each (primitive, type) pair is a slot with a small index; the index is part of every
// stored key, so slots must only ever be appended. The schema's fingerprint covers the slots
// in order and each type's layout; data written under another fingerprint is refused.
#pragma once

#include <inmem/schema/fingerprint.hpp>
#include <inmem/schema/storable.hpp>

#include <boost/hana/at_key.hpp>
#include <boost/hana/find.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/map.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/pair.hpp>
#include <boost/hana/type.hpp>

#include <array>
#include <cstdint>
#include <string_view>

namespace inmem {

/// The primitive a slot belongs to. Stable: written into keys.
enum class primitive : std::uint8_t { kv = 1, event = 2, state = 3, trace = 4, vector = 5 };

/// A readable name of a primitive ("kv", "events", ...).
constexpr std::string_view to_string(primitive p) noexcept {
    switch (p) {
    case primitive::kv: return "kv";
    case primitive::event: return "events";
    case primitive::state: return "states";
    case primitive::trace: return "traces";
    case primitive::vector: return "vectors";
    }
    return "?";
}

namespace detail {
// The identity of a slot: a primitive's id and a value type (a type may be in several families).
template <primitive P, class T>
struct slot_key {};

template <class Family, class T>
struct slot {
    static constexpr primitive kind = Family::id;
    using family = Family;
    using type = T;
    using key = slot_key<Family::id, T>;
};
template <class... Slots>
struct slot_list {};

template <class... Lists>
struct concat_slots;
template <>
struct concat_slots<> {
    using type = slot_list<>;
};
template <class... A>
struct concat_slots<slot_list<A...>> {
    using type = slot_list<A...>;
};
template <class... A, class... B, class... Rest>
struct concat_slots<slot_list<A...>, slot_list<B...>, Rest...> {
    using type = typename concat_slots<slot_list<A..., B...>, Rest...>::type;
};

template <class E>
concept schema_entry = requires { typename E::slots; };

} // namespace detail

/// What a primitive family declares (primitives/family.hpp has the whole contract): the id
/// written into its keys (stable, unique in a schema) and its name as tools spell it.
template <class F>
concept family_identity = requires {
    { F::id } -> std::convertible_to<primitive>;
    { F::name } -> std::convertible_to<std::string_view>;
};

/// A schema entry of family F listing value types T...: how each primitive declares its
/// entry (`template <class... T> struct kv : inmem::family_entry<kv_family, T...> {};`).
template <class F, class... T>
struct family_entry {
    static_assert(family_identity<F>, "inmem: family_entry<F, T...> needs a family F with static constexpr "
                                      "inmem::primitive id and std::string_view name (see primitives/family.hpp)");
    static_assert(sizeof...(T) > 0, "inmem: a schema entry lists at least one type, e.g. inmem::kv<Plan>");
    using family = F;
    using slots = detail::slot_list<detail::slot<F, T>...>;
};

// inmem::kv, inmem::events, inmem::states, inmem::traces and inmem::vectors are declared
// with their families (primitives/kv.hpp, events.hpp, states.hpp, traces.hpp, vectors.hpp).

namespace detail {
// A slot's layout fingerprint: its type's, mixed with what its family adds that the layout
// does not show (a vector collection's metric: `template <class T> static constexpr
// std::uint64_t fingerprint_extra`).
template <class S>
consteval std::uint64_t slot_fingerprint() {
    if constexpr (requires { S::family::template fingerprint_extra<typename S::type>; }) {
        fnv1a_sink sink;
        add_number(sink, fingerprint_v<typename S::type>);
        sink.add("+");
        add_number(sink, std::uint64_t{S::family::template fingerprint_extra<typename S::type>});
        return sink.hash;
    } else {
        return fingerprint_v<typename S::type>;
    }
}

template <class... Slots, std::size_t... I>
constexpr auto make_slot_map(slot_list<Slots...>, std::index_sequence<I...>) {
    return boost::hana::make_map(
        boost::hana::make_pair(boost::hana::type_c<typename Slots::key>, boost::hana::size_c<I>)...);
}

template <class Slot, class... Slots>
constexpr std::size_t count_slot(slot_list<Slots...>) {
    return (std::size_t{0} + ... + std::is_same_v<typename Slot::key, typename Slots::key>);
}

// Whether two different families of the schema claim the same id.
template <class... Slots>
constexpr bool ids_unique(slot_list<Slots...>) {
    constexpr std::array<primitive, sizeof...(Slots)> ids{Slots::kind...};
    constexpr std::array<std::string_view, sizeof...(Slots)> names{Slots::family::name...};
    for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (ids[i] == ids[j] && names[i] != names[j]) return false;
    return true;
}

/// One row of a schema's description: what a slot holds, for reports and file headers.
struct slot_info {
    primitive kind;
    std::string_view family; ///< the family's name ("kv", "state", ...)
    std::string_view type_name;
    std::uint64_t fingerprint;
};
} // namespace detail

/// A database's schema: its stored types, grouped by primitive (see kv, events, states,
/// traces, vectors). Every type must be storable; a type may appear once per primitive.
template <class... Entries>
struct schema {
    static_assert((detail::schema_entry<Entries> && ...),
                  "inmem: every argument of inmem::schema<...> is an entry such as inmem::kv<T...>, "
                  "inmem::events<T...>, inmem::states<T...>, inmem::traces<T...> or inmem::vectors<T...> "
                  "(or a primitive family's own, inmem::family_entry<F, T...>)");

    using slots = typename detail::concat_slots<typename Entries::slots...>::type;

private:
    template <class... S>
    static consteval std::size_t count(detail::slot_list<S...>) {
        return sizeof...(S);
    }
    template <class... S>
    static consteval bool unique(detail::slot_list<S...> l) {
        return ((detail::count_slot<S>(l) == 1) && ...);
    }
    template <class... S>
    static consteval bool all_storable(detail::slot_list<S...>) {
        return (detail::storable_v<typename S::type> && ...);
    }
    template <class... S>
    static consteval auto infos(detail::slot_list<S...> l) {
        if constexpr (all_storable(l))
            return std::array<detail::slot_info, sizeof...(S)>{
                detail::slot_info{S::kind, S::family::name, detail::type_name<typename S::type>(),
                                  detail::slot_fingerprint<S>()}...};
        else
            return std::array<detail::slot_info, sizeof...(S)>{}; // the storable check said why
    }

public:
    /// Number of slots (type x primitive pairs).
    static constexpr std::size_t size = count(slots{});
    static_assert(size < 65536, "inmem: a schema holds at most 65535 types");
    static_assert(unique(slots{}), "inmem: a type is listed twice for the same primitive in inmem::schema<...>; "
                                   "list each type once");
    static_assert(detail::ids_unique(slots{}), "inmem: two primitive families of this schema declare the same id; "
                                               "give each family its own inmem::primitive id");
    static_assert(all_storable(slots{}));

    /// True once the checks above passed; basic_database asserts it to run them early.
    static constexpr bool checked = true;

    /// Compile-time map from hana::type<slot<P, T>> to the slot's index.
    static constexpr auto slot_map = detail::make_slot_map(slots{}, std::make_index_sequence<size>{});

    /// True when T is declared for primitive P.
    template <primitive P, class T>
    static constexpr bool contains =
        decltype(boost::hana::is_just(boost::hana::find(slot_map, boost::hana::type_c<detail::slot_key<P, T>>)))::value;

    /// The index of (P, T); only valid when contains<P, T>.
    template <primitive P, class T>
    static constexpr std::uint16_t slot_of =
        static_cast<std::uint16_t>(decltype(+slot_map[boost::hana::type_c<detail::slot_key<P, T>>])::value);

    /// Each slot's primitive, type name and layout fingerprint, in slot order.
    static constexpr auto slot_infos = infos(slots{});

    /// The fingerprint of the whole schema: the slots in order, each with its layout.
    static constexpr std::uint64_t fingerprint = [] {
        detail::fnv1a_sink sink;
        for (const auto& s : slot_infos) {
            detail::add_number(sink, static_cast<std::uint64_t>(s.kind));
            sink.add(":");
            detail::add_number(sink, s.fingerprint);
            sink.add(";");
        }
        return sink.hash;
    }();
};

namespace detail {
template <class T>
inline constexpr bool is_schema_v = false;
template <class... E>
inline constexpr bool is_schema_v<schema<E...>> = true;

} // namespace detail

} // namespace inmem
