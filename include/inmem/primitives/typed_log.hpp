// inmem/primitives/typed_log.hpp: what the event log and the trace store share: a per-run
// log of several schema types.
//
// Both keep, per run, one sequence of all the schema's types of their family (events.hpp:
// inmem::events<...>, traces.hpp: inmem::traces<...>), seq 0, 1, 2, ... assigned at commit.
// What is the same in the two is written here once: the family's types as a tuple (and the
// variant of them all) and their slots, the decoding of one of them at its ordinal, the
// binary search over seqs and index entries, how an append's ops go into a transaction, and
// the ticket that an append in a transaction hands out. The storage layouts differ and stay
// apart (event_chain.hpp, trace_store.hpp); the time conversions are in event_chain.hpp.
#pragma once

#include <inmem/error.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/reflect.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/transaction.hpp>
#include <inmem/vocabulary.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace inmem::detail {

/// The value types of the slots of kind P, in schema order, as a std::tuple (for decltype).
template <primitive P, class... Slots>
auto types_of_kind(slot_list<Slots...>)
    -> decltype(std::tuple_cat(std::declval<std::conditional_t<Slots::kind == P, std::tuple<typename Slots::type>,
                                                               std::tuple<>>>()...));

/// The slots of Schema's types of kind P, in schema order (Count of them: the tuple's size).
template <class Schema, primitive P, std::size_t Count>
constexpr std::array<std::uint16_t, Count> slots_of_kind() {
    std::array<std::uint16_t, Count> out{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < Schema::size; ++i)
        if (Schema::slot_infos[i].kind == P) out[n++] = static_cast<std::uint16_t>(i);
    return out;
}

/// The position of slot among slots (slots_of_kind): a type's ordinal; N when it is not there.
template <std::size_t N>
constexpr std::size_t ordinal_in(const std::array<std::uint16_t, N>& slots, std::uint16_t slot) noexcept {
    for (std::size_t i = 0; i < N; ++i)
        if (slots[i] == slot) return i;
    return N;
}

/// The std::variant of a std::tuple's types.
template <class Tuple>
struct tuple_to_variant;
template <class... T>
struct tuple_to_variant<std::tuple<T...>> {
    using type = std::variant<T...>;
};

/// The position of T in a std::tuple's types (its size when T is not among them).
template <class T, class Tuple>
struct index_in_tuple;
template <class T, class... U>
struct index_in_tuple<T, std::tuple<U...>> {
    static constexpr std::size_t value = [] {
        constexpr bool same[] = {std::is_same_v<T, U>..., false};
        for (std::size_t i = 0; i < sizeof...(U); ++i)
            if (same[i]) return i;
        return sizeof...(U);
    }();
};

/// The first i in [lo, hi) with !before(i) (before is true then false along i); hi if none.
template <class Before>
std::uint64_t first_not_before(std::uint64_t lo, std::uint64_t hi, Before&& before) {
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        if (before(mid)) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

template <class V, class Types, class Fail>
V decode_typed(std::size_t ordinal, std::string_view bytes, Fail&& fail);

template <class Types, class Fail, std::size_t... I>
typename tuple_to_variant<Types>::type decode_alternative(std::size_t ordinal, std::string_view bytes, Fail& fail,
                                                          std::index_sequence<I...>) {
    std::optional<typename tuple_to_variant<Types>::type> out;
    (void)((ordinal == I && (out.emplace(std::in_place_index<I>,
                                         decode_typed<std::tuple_element_t<I, Types>, Types>(ordinal, bytes, fail)),
                             true)) ||
           ...);
    return std::move(*out);
}

/// Decodes bytes as V: one of Types (a std::tuple), or the std::variant of them all, which
/// then holds the type at ordinal (ordinal < the tuple's size). When the bytes do not decode,
/// calls fail(std::string what), which throws, with what = "does not decode as T: why".
template <class V, class Types, class Fail>
V decode_typed(std::size_t ordinal, std::string_view bytes, Fail&& fail) {
    if constexpr (std::is_same_v<V, typename tuple_to_variant<Types>::type>) {
        return decode_alternative<Types>(ordinal, bytes, fail, std::make_index_sequence<std::tuple_size_v<Types>>{});
    } else {
        auto value = inmem::decode<V>(bytes);
        if (!value) fail("does not decode as " + std::string(type_name<V>()) + ": " + value.error().message());
        return std::move(value).value();
    }
}

/// Moves the ops of one append into tx: the first (the entry itself) by tx.append, whose
/// position it returns, then those whose finalizer is_closing(finalizer) names a head by
/// tx.append_closing (once per commit, after the appends), the others by tx.append.
template <class Engine, class IsClosing>
std::size_t append_to(basic_transaction<Engine>& tx, std::span<write_op> ops, IsClosing&& is_closing) {
    const std::size_t index = tx.append(std::move(ops[0].key), std::move(ops[0].bytes), ops[0].finalize);
    for (std::size_t i = 1; i < ops.size(); ++i) {
        if (is_closing(ops[i].finalize)) tx.append_closing(std::move(ops[i].key), {}, ops[i].finalize);
        else tx.append(std::move(ops[i].key), std::move(ops[i].bytes), ops[i].finalize);
    }
    return index;
}

/// What event_ticket and trace_ticket hold: the run, the transaction's shared seqs
/// (basic_transaction::appended) and the append's position among them.
class append_ticket {
public:
    append_ticket(run_id run, std::shared_ptr<const std::vector<std::uint64_t>> seqs, std::size_t index) noexcept
        : run_(run), seqs_(std::move(seqs)), index_(index) {}

    /// Whether the transaction committed the append.
    bool committed() const noexcept { return (*seqs_)[index_] != not_committed; }

protected:
    /// The append's seq; throws invalid_argument before the commit, naming what ("an event
    /// appended", "a trace recorded").
    std::uint64_t seq_or_throw(const char* what) const {
        if (!committed())
            throw error(errc::invalid_argument, std::string("inmem: ") + what +
                                                    " in a transaction has an id once the transaction committed; "
                                                    "this one has not (yet)");
        return (*seqs_)[index_];
    }

    run_id run_;
    std::shared_ptr<const std::vector<std::uint64_t>> seqs_;
    std::size_t index_;
};

} // namespace inmem::detail
