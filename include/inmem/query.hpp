// inmem/query.hpp: a small query layer over the typed ranges the primitives return:
// predicates on fields and entry metadata, projection, order_by, limit, with the seq, time,
// label and key ranges of a predicate pushed down into the primitives' scans.
//
//   using inmem::field;
//   auto calls = inmem::from<ToolCall>(db.events(), run)
//                    .where(inmem::seq >= 10 && inmem::seq < 100 && field(&ToolCall::tool) == "search")
//                    .limit(5)
//                    .run();                          // entry_range<event_entry<ToolCall>>
//   auto args = inmem::from(db.kv<Plan>(), run).where(inmem::key.starts_with("plan:"))
//                    .order_by(&Plan::budget, inmem::descending).select(&Plan::goal).to_vector();
//   auto top = db.kv<Plan>().list(run) | inmem::where(field(&Plan::budget) > 3)   // any range,
//              | ranges::views::take(2);                                          // with range-v3
//
// Semantics, whatever order the calls come in: where, then order_by, then limit, then select.
// Cost: a query reads what its pushed-down range holds, in pages, and stops once it has its
// limit; with order_by on anything but the scan's own order (seq or time ascending and seq
// descending for the event log, key ascending for KV and state records) it reads the whole
// pushed-down range and sorts it (stable) before taking the limit.
//
// Opt-in: inmem.hpp does not include this header.
#pragma once

#include <inmem/primitives/events.hpp>
#include <inmem/primitives/kv.hpp>
#include <inmem/primitives/listing.hpp>
#include <inmem/primitives/states.hpp>
#include <inmem/vocabulary.hpp>

#include <range/v3/range/access.hpp>
#include <range/v3/range/concepts.hpp>
#include <range/v3/range/traits.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>
#include <range/v3/view/view.hpp>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace inmem {

/// The direction of an order_by key.
enum class order : std::uint8_t { ascending, descending };
inline constexpr order ascending = order::ascending;
inline constexpr order descending = order::descending;

namespace detail::query {

template <class>
inline constexpr bool always_false = false;

template <class T>
struct is_variant : std::false_type {};
template <class... T>
struct is_variant<std::variant<T...>> : std::true_type {};

template <class C, class V>
struct variant_holds : std::false_type {};
template <class C, class... T>
struct variant_holds<C, std::variant<T...>> : std::bool_constant<(std::is_same_v<C, T> || ...)> {};

// How an entry of type E reaches a C: itself (or a base), through its .value (recursively),
// through a std::variant alternative (then it may hold another type), or not at all.
enum class path : std::uint8_t { direct, nullable, none };

template <class C, class E>
constexpr path path_to() {
    if constexpr (std::is_base_of_v<C, E>) return path::direct;
    else if constexpr (is_variant<E>::value) return variant_holds<C, E>::value ? path::nullable : path::none;
    else if constexpr (requires(const E& e) { e.value; })
        return path_to<C, std::remove_cvref_t<decltype(std::declval<const E&>().value)>>();
    else return path::none;
}

// The C an entry holds, or nullptr when it holds another alternative.
template <class C, class E>
const C* as_class(const E& e) noexcept {
    constexpr path p = path_to<C, E>();
    static_assert(p != path::none,
                  "inmem::field(&T::member): the entries' values are not a T (nor a std::variant holding a T): "
                  "name a member of the type the query reads (e.g. read<T>() / of<T>() for the event log)");
    if constexpr (p == path::none) return nullptr;
    else if constexpr (std::is_base_of_v<C, E>) return &e;
    else if constexpr (is_variant<E>::value) return std::get_if<C>(&e);
    else return as_class<C>(e.value);
}

// What a predicate keeps of a compared value: string literals and char pointers as views
// (the literal outlives the query), everything else by value.
template <class V>
using stored_t = std::conditional_t<std::is_convertible_v<const std::decay_t<V>&, const char*>, std::string_view,
                                    std::decay_t<V>>;

enum class op : std::uint8_t { eq, ne, lt, le, gt, ge };

constexpr op flip(op o) noexcept {
    switch (o) {
    case op::lt: return op::gt;
    case op::le: return op::ge;
    case op::gt: return op::lt;
    case op::ge: return op::le;
    default: return o;
    }
}

template <class T>
constexpr bool plain_integer = std::is_integral_v<T> && !std::is_same_v<T, bool> && !std::is_same_v<T, char> &&
                               !std::is_same_v<T, wchar_t> && !std::is_same_v<T, char8_t> &&
                               !std::is_same_v<T, char16_t> && !std::is_same_v<T, char32_t>;

// a <o> b, with integers of mixed signedness compared by value (std::cmp_*), not converted.
template <class A, class B>
constexpr bool compare(op o, const A& a, const B& b) {
    if constexpr (plain_integer<A> && plain_integer<B>) {
        switch (o) {
        case op::eq: return std::cmp_equal(a, b);
        case op::ne: return std::cmp_not_equal(a, b);
        case op::lt: return std::cmp_less(a, b);
        case op::le: return std::cmp_less_equal(a, b);
        case op::gt: return std::cmp_greater(a, b);
        case op::ge: return std::cmp_greater_equal(a, b);
        }
        return false;
    } else {
        if (o == op::eq || o == op::ne) {
            static_assert(requires { bool(a == b); },
                          "inmem: a field compared with == or != needs a value its type has operator== with");
            return (o == op::eq) == bool(a == b);
        }
        static_assert(requires { bool(a < b); },
                      "inmem: a field compared with <, <=, > or >= needs a value its type has operator< with");
        switch (o) {
        case op::lt: return bool(a < b);
        case op::le: return !bool(b < a);
        case op::gt: return bool(b < a);
        case op::ge: return !bool(a < b);
        default: return false;
        }
    }
}

} // namespace detail::query

/// What a predicate's conjuncts on entry metadata narrow a scan to; each source pushes down
/// what it can (event log: seqs, times, labels; KV and state records: keys) and evaluates the
/// whole predicate on what it reads, so pushing down only ever saves work.
struct scan_bounds {
    bool empty = false;                                          ///< the predicate is never true
    std::uint64_t from = 0;                                      ///< seqs at or after
    std::uint64_t to = std::numeric_limits<std::uint64_t>::max(); ///< seqs before
    std::optional<std::chrono::system_clock::time_point> since{}; ///< times at or after
    std::optional<std::chrono::system_clock::time_point> until{}; ///< times before
    std::optional<std::string> thread{}, agent{};                ///< labels equal to
    std::string prefix{};                                        ///< keys starting with
    std::optional<std::string> key_lo{};                         ///< keys at or after (after: lo_open)
    bool lo_open = false;
    std::optional<std::string> key_hi{};                         ///< keys at or before (before: hi_open)
    bool hi_open = false;

    void seq_at_least(std::uint64_t s) noexcept { from = std::max(from, s); }
    void seq_before(std::uint64_t s) noexcept { to = std::min(to, s); }
    void time_at_least(std::chrono::system_clock::time_point t) { since = since ? std::max(*since, t) : t; }
    void time_before(std::chrono::system_clock::time_point t) { until = until ? std::min(*until, t) : t; }
    void label(std::optional<std::string>& which, std::string_view v) {
        if (which && *which != v) empty = true;
        else which = std::string(v);
    }
    void key_prefix(std::string_view p) {
        if (p.starts_with(prefix)) prefix = std::string(p);
        else if (!std::string_view(prefix).starts_with(p)) empty = true;
    }
    void key_from(std::string_view k, bool open) {
        if (!key_lo || k > *key_lo || (k == *key_lo && open)) key_lo = std::string(k), lo_open = open;
    }
    void key_to(std::string_view k, bool open) {
        if (!key_hi || k < *key_hi || (k == *key_hi && open)) key_hi = std::string(k), hi_open = open;
    }
};

namespace detail::query {

/// Accessors name one part of an entry: a field of its value, or its metadata.
struct accessor_base {};
struct predicate_base {};

template <class T>
concept accessor = std::is_base_of_v<accessor_base, std::remove_cvref_t<T>>;
template <class T>
concept predicate_expr = std::is_base_of_v<predicate_base, std::remove_cvref_t<T>>;
template <class V>
concept operand = !accessor<V> && !predicate_expr<V>;

template <class A, class E>
concept total_on = accessor<A> && requires { A::template total<E>; } && A::template total<E>;

// Pushes a comparison down when the accessor knows how (the metadata accessors do).
template <class A, class V>
void narrow_compare(op o, const V& v, scan_bounds& b) {
    if constexpr (requires { A::narrow(o, v, b); }) A::narrow(o, v, b);
}

/// accessor <op> value.
template <class A, class V>
struct compare_p : predicate_base {
    A a;
    op o;
    V v;
    template <class E>
    bool operator()(const E& e) const {
        const auto* p = a.get(e);
        return p && compare(o, *p, v);
    }
    void narrow(scan_bounds& b) const { narrow_compare<A>(o, v, b); }
};

/// accessor in {values}.
template <class A, class V>
struct in_p : predicate_base {
    A a;
    std::vector<V> vs;
    template <class E>
    bool operator()(const E& e) const {
        const auto* p = a.get(e);
        if (!p) return false;
        for (const auto& v : vs)
            if (compare(op::eq, *p, v)) return true;
        return false;
    }
    void narrow(scan_bounds& b) const {
        if (vs.empty()) {
            b.empty = true;
            return;
        }
        if constexpr (requires(const V& x) { bool(x < x); }) {
            const auto [lo, hi] = std::minmax_element(vs.begin(), vs.end(), [](const V& x, const V& y) { return bool(x < y); });
            narrow_compare<A>(op::ge, *lo, b);
            narrow_compare<A>(op::le, *hi, b);
        }
    }
};

/// accessor starts with a prefix (a string field or key).
template <class A>
struct starts_with_p : predicate_base {
    A a;
    std::string prefix;
    template <class E>
    bool operator()(const E& e) const {
        const auto* p = a.get(e);
        static_assert(std::is_convertible_v<decltype(*p), std::string_view>,
                      "inmem: .starts_with(prefix) applies to a string field (or inmem::key)");
        return p && std::string_view(*p).starts_with(prefix);
    }
    void narrow(scan_bounds& b) const {
        if constexpr (requires { A::narrow_prefix(std::string_view{}, b); }) A::narrow_prefix(prefix, b);
    }
};

/// accessor contains x: a substring of a string field, an element of a range field.
template <class A, class V>
struct contains_p : predicate_base {
    A a;
    V v;
    template <class E>
    bool operator()(const E& e) const {
        const auto* p = a.get(e);
        if (!p) return false;
        using field_type = std::remove_cvref_t<decltype(*p)>;
        if constexpr (std::is_convertible_v<const field_type&, std::string_view>)
            return std::string_view(*p).find(v) != std::string_view::npos;
        else {
            static_assert(std::ranges::input_range<const field_type&>,
                          "inmem: .contains(x) applies to a string field (a substring) or a range field (an element)");
            for (const auto& x : *p)
                if (compare(op::eq, x, v)) return true;
            return false;
        }
    }
};

template <class L, class R>
struct and_p : predicate_base {
    L l;
    R r;
    template <class E>
    bool operator()(const E& e) const { return l(e) && r(e); }
    void narrow(scan_bounds& b) const { // both sides hold: both narrow
        if constexpr (requires { l.narrow(b); }) l.narrow(b);
        if constexpr (requires { r.narrow(b); }) r.narrow(b);
    }
};
template <class L, class R>
struct or_p : predicate_base { // narrows nothing: either side may hold outside the other's range
    L l;
    R r;
    template <class E>
    bool operator()(const E& e) const { return l(e) || r(e); }
};
template <class P>
struct not_p : predicate_base {
    P p;
    template <class E>
    bool operator()(const E& e) const { return !p(e); }
};

/// Any callable taking an entry, as a predicate that combines with && || !.
template <class F>
struct fn_p : predicate_base {
    F f;
    template <class E>
    bool operator()(const E& e) const {
        static_assert(std::is_invocable_v<const F&, const E&>,
                      "inmem: a predicate callable must take the entry (const auto&) and return bool");
        return bool(std::invoke(f, e));
    }
};

/// The predicate of a query without where(): true.
struct always_p : predicate_base {
    template <class E>
    constexpr bool operator()(const E&) const noexcept { return true; }
};

template <class P>
auto as_predicate(P p) {
    if constexpr (predicate_expr<P>) return p;
    else {
        static_assert(!accessor<P>, "inmem: where() takes a predicate: compare the field, e.g. field(&T::m) == x");
        return fn_p<P>{{}, std::move(p)};
    }
}

/// The operations every accessor has, on top of comparisons.
template <class Self>
struct accessor_ops : accessor_base {
    /// True when the part equals one of values.
    template <class V>
    auto in(std::initializer_list<V> values) const {
        return in_p<Self, stored_t<V>>{{}, self(), std::vector<stored_t<V>>(values.begin(), values.end())};
    }
    /// True when the part equals an element of the range values (copied).
    template <std::ranges::input_range R>
    auto in(const R& values) const {
        using V = stored_t<std::ranges::range_value_t<R>>;
        std::vector<V> vs;
        for (const auto& v : values) vs.push_back(V(v));
        return in_p<Self, V>{{}, self(), std::move(vs)};
    }
    /// True when the part (a string) starts with prefix.
    auto starts_with(std::string_view prefix) const { return starts_with_p<Self>{{}, self(), std::string(prefix)}; }
    /// True when the part contains x: a substring of a string, an element of a range.
    template <class V>
    auto contains(V x) const {
        return contains_p<Self, stored_t<V>>{{}, self(), stored_t<V>(std::move(x))};
    }

private:
    const Self& self() const noexcept { return static_cast<const Self&>(*this); }
};

// Comparisons build predicates: accessor <op> value, and value <op> accessor.
#define INMEM_QUERY_OPERATOR(SYM, OP)                                                                          \
    template <accessor A, operand V>                                                                           \
    auto operator SYM(const A& a, V v) {                                                                       \
        return compare_p<A, stored_t<V>>{{}, a, op::OP, stored_t<V>(std::move(v))};                           \
    }                                                                                                          \
    template <operand V, accessor A>                                                                           \
    auto operator SYM(V v, const A& a) {                                                                       \
        return compare_p<A, stored_t<V>>{{}, a, flip(op::OP), stored_t<V>(std::move(v))};                     \
    }
INMEM_QUERY_OPERATOR(==, eq)
INMEM_QUERY_OPERATOR(!=, ne)
INMEM_QUERY_OPERATOR(<, lt)
INMEM_QUERY_OPERATOR(<=, le)
INMEM_QUERY_OPERATOR(>, gt)
INMEM_QUERY_OPERATOR(>=, ge)
#undef INMEM_QUERY_OPERATOR

template <predicate_expr L, predicate_expr R>
auto operator&&(L l, R r) {
    return and_p<L, R>{{}, std::move(l), std::move(r)};
}
template <predicate_expr L, predicate_expr R>
auto operator||(L l, R r) {
    return or_p<L, R>{{}, std::move(l), std::move(r)};
}
template <predicate_expr P>
auto operator!(P p) {
    return not_p<P>{{}, std::move(p)};
}

/// A field of the entries' value type C (see inmem::field).
template <class C, class M>
struct field_t : accessor_ops<field_t<C, M>> {
    M C::*member;

    constexpr explicit field_t(M C::*m) noexcept : member(m) {}
    /// The field, or nullptr when the entry's variant holds another type.
    template <class E>
    const M* get(const E& e) const noexcept {
        const C* c = as_class<C>(e);
        return c ? &(c->*member) : nullptr;
    }
    /// Whether every entry of type E has the field (no variant in the way).
    template <class E>
    static constexpr bool total = path_to<C, E>() == path::direct;
};

// Entry metadata: each names a member of the entries, checked with a message.
#define INMEM_QUERY_META(NAME, WHAT, EXPR)                                                                     \
    template <class E>                                                                                         \
    static auto get(const E& e) noexcept {                                                                     \
        static_assert(requires { EXPR; }, "inmem::" #NAME " applies to " WHAT);                               \
        if constexpr (requires { EXPR; }) return &(EXPR);                                                      \
        else return static_cast<const int*>(nullptr);                                                          \
    }                                                                                                          \
    template <class E>                                                                                         \
    static constexpr bool total = true;

struct seq_t : accessor_ops<seq_t> {
    INMEM_QUERY_META(seq, "entries with an event_id (event_entry: e.id.seq)", e.id.seq)
    template <class V>
    static void narrow(op o, const V& v, scan_bounds& b) noexcept {
        if constexpr (plain_integer<V>) {
            constexpr auto top = std::numeric_limits<std::uint64_t>::max();
            const bool negative = std::cmp_less(v, 0);
            const auto u = negative ? std::uint64_t{0} : static_cast<std::uint64_t>(v);
            switch (o) {
            case op::eq:
                if (negative) b.empty = true;
                else b.seq_at_least(u), b.seq_before(u == top ? top : u + 1);
                break;
            case op::ge:
                if (!negative) b.seq_at_least(u);
                break;
            case op::gt:
                if (!negative) u == top ? void(b.empty = true) : b.seq_at_least(u + 1);
                break;
            case op::le:
                if (negative) b.empty = true;
                else if (u != top) b.seq_before(u + 1);
                break;
            case op::lt:
                if (negative || u == 0) b.empty = true;
                else b.seq_before(u);
                break;
            case op::ne: break;
            }
        }
    }
};

struct time_t_ : accessor_ops<time_t_> {
    INMEM_QUERY_META(time, "entries with a time (event_entry: e.time)", e.time)
    template <class V>
    static void narrow(op o, const V& v, scan_bounds& b) {
        using tp = std::chrono::system_clock::time_point;
        if constexpr (std::is_convertible_v<const V&, tp>) {
            const tp t = v;
            const tp next = t + tp::duration(1);
            switch (o) {
            case op::eq: b.time_at_least(t), b.time_before(next); break;
            case op::ge: b.time_at_least(t); break;
            case op::gt: b.time_at_least(next); break;
            case op::le: b.time_before(next); break;
            case op::lt: b.time_before(t); break;
            case op::ne: break;
            }
        }
    }
};

struct version_t_ : accessor_ops<version_t_> {
    INMEM_QUERY_META(version, "entries with a version (kv_entry, event_entry, state_item)", e.version)
};

struct key_t_ : accessor_ops<key_t_> {
    template <class E>
    static auto get(const E& e) noexcept {
        if constexpr (requires { e.key; }) return &e.key;
        else if constexpr (requires { e.name; }) return &e.name;
        else {
            static_assert(always_false<E>, "inmem::key applies to entries with a key (kv_entry) or a name (state_item)");
            return static_cast<const std::string*>(nullptr);
        }
    }
    template <class E>
    static constexpr bool total = true;
    template <class V>
    static void narrow(op o, const V& v, scan_bounds& b) {
        if constexpr (std::is_convertible_v<const V&, std::string_view>) {
            const std::string_view k = v;
            switch (o) {
            case op::eq: b.key_from(k, false), b.key_to(k, false); break;
            case op::ge: b.key_from(k, false); break;
            case op::gt: b.key_from(k, true); break;
            case op::le: b.key_to(k, false); break;
            case op::lt: b.key_to(k, true); break;
            case op::ne: break;
            }
        }
    }
    static void narrow_prefix(std::string_view p, scan_bounds& b) { b.key_prefix(p); }
};

struct thread_t_ : accessor_ops<thread_t_> {
    INMEM_QUERY_META(thread, "entries with a thread label (event_entry: e.thread)", e.thread)
    template <class V>
    static void narrow(op o, const V& v, scan_bounds& b) {
        if constexpr (std::is_convertible_v<const V&, std::string_view>)
            if (o == op::eq && !std::string_view(v).empty()) b.label(b.thread, v); // "": unlabelled, not indexed
    }
};

struct agent_t_ : accessor_ops<agent_t_> {
    INMEM_QUERY_META(agent, "entries with an agent label (event_entry: e.agent)", e.agent)
    template <class V>
    static void narrow(op o, const V& v, scan_bounds& b) {
        if constexpr (std::is_convertible_v<const V&, std::string_view>)
            if (o == op::eq && !std::string_view(v).empty()) b.label(b.agent, v); // "": unlabelled, not indexed
    }
};

struct value_t_ : accessor_ops<value_t_> {
    INMEM_QUERY_META(value, "entries with a value (kv_entry, event_entry, state_item)", e.value)
};

#undef INMEM_QUERY_META

// Projections (select, order_by): an accessor, a data member pointer or a callable.
template <class C, class M>
constexpr field_t<C, M> field_of(M C::*m) noexcept {
    return field_t<C, M>(m);
}
template <class P>
auto as_projection(P p) {
    if constexpr (std::is_member_object_pointer_v<P>) return field_of(p);
    else return p;
}

template <class P, class E>
decltype(auto) project(const P& p, const E& e) {
    if constexpr (accessor<P>) {
        static_assert(P::template total<E>,
                      "inmem: select/order_by on a field of one event type needs entries of that type: read "
                      "them with read<T>() or from<T>(log, run) / .of<T>() (a where() on it is fine)");
        return *p.get(e);
    } else {
        static_assert(std::is_invocable_v<const P&, const E&>,
                      "inmem: select/order_by take a field (&T::m, inmem::field), entry metadata (inmem::seq, "
                      "inmem::key, ...) or a callable taking the entry");
        return std::invoke(p, e);
    }
}

template <class P, class E>
using projected_t = std::remove_cvref_t<decltype(project(std::declval<const P&>(), std::declval<const E&>()))>;

/// The projection of select(p...): one value, or a tuple of them.
template <class... P>
struct projector {
    std::tuple<P...> ps;
    template <class E>
    auto operator()(const E& e) const {
        if constexpr (sizeof...(P) == 1) {
            using one = projected_t<std::tuple_element_t<0, std::tuple<P...>>, E>;
            return one(project(std::get<0>(ps), e));
        } else
            return std::apply([&](const auto&... p) { return std::tuple<projected_t<P, E>...>(project(p, e)...); }, ps);
    }
};

struct no_projection {};

template <class Proj, class E>
struct result_of {
    using type = std::invoke_result_t<const Proj&, const E&>;
};
template <class E>
struct result_of<no_projection, E> {
    using type = E;
};

template <class P>
struct sort_key {
    P p;
    order dir = order::ascending;
};

// Whether a goes before b by keys (lexicographic over the keys, each in its direction).
template <class Keys, class E>
bool before(const Keys& keys, const E& a, const E& b) {
    return std::apply(
        [&](const auto&... k) {
            int c = 0;
            ((c == 0 ? void(c = [&] {
                 const auto& x = project(k.p, a);
                 const auto& y = project(k.p, b);
                 const int r = compare(op::lt, x, y) ? -1 : compare(op::lt, y, x) ? 1 : 0;
                 return k.dir == order::descending ? -r : r;
             }())
                     : void()),
             ...);
            return c < 0;
        },
        keys);
}

template <class Keys, class E>
void sort_entries(const Keys& keys, std::vector<E>& rows) {
    std::stable_sort(rows.begin(), rows.end(), [&](const E& a, const E& b) { return before(keys, a, b); });
}

// A scan's direction when its own order is the one asked for: 0 forward, 1 reverse, -1 not.
// Each source lists its orders: (accessor type, direction it scans in for ascending/descending).
template <class Keys, class Native>
int native_direction(const Keys& keys, Native native) {
    if constexpr (std::tuple_size_v<Keys> == 0) return 0;
    else if constexpr (std::tuple_size_v<Keys> == 1) return native(std::get<0>(keys));
    else return -1;
}

inline constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

// The next page's size: twice the last (what the predicate rejected costs at most as much
// again), and at least what is still wanted.
inline std::size_t next_page(std::size_t page, std::size_t still_wanted) noexcept {
    const std::size_t doubled = page > unlimited / 2 ? unlimited : page * 2;
    return std::max(doubled, still_wanted);
}

// The context a source reads in: a run by value, a transaction by reference.
template <class At>
using context_t = std::conditional_t<std::is_same_v<std::remove_cvref_t<At>, run_id>, run_id,
                                     std::reference_wrapper<std::remove_reference_t<At>>>;
template <class C>
decltype(auto) at_of(const C& c) {
    if constexpr (std::is_same_v<C, run_id>) return c;
    else return c.get();
}

/// The event log of one run (or transaction), of one event type E (void: any).
template <class Log, class Ctx, class E>
struct event_source {
    Log log;
    Ctx ctx;
    using value_type = std::conditional_t<std::is_void_v<E>, typename Log::any_event, E>;
    using entry_type = event_entry<value_type>;

    template <class T>
    auto of() const {
        static_assert(Log::template is_event<T>, "inmem: of<T>() needs one of the schema's event types");
        return event_source<Log, Ctx, T>{log, ctx};
    }

    template <class Keys>
    static int direction(const Keys& keys) {
        return native_direction(keys, []<class K>(const sort_key<K>& k) {
            if constexpr (std::is_same_v<K, seq_t>) return k.dir == order::ascending ? 0 : 1;
            else if constexpr (std::is_same_v<K, time_t_>) return k.dir == order::ascending ? 0 : -1; // ties: seq order
            else return -1;
        });
    }

    auto read(const event_query& q) const {
        if constexpr (std::is_void_v<E>) return log.read(at_of(ctx), q);
        else return log.template read<E>(at_of(ctx), q);
    }

    template <class Pred>
    void scan(const scan_bounds& b, bool reverse, std::size_t want, const Pred& pred, std::vector<entry_type>& out) const {
        if (b.empty || b.from >= b.to || (b.since && b.until && *b.since >= *b.until)) return;
        event_query q{.from = b.from, .to = b.to, .since = b.since, .until = b.until, .reverse = reverse};
        if (b.thread) q.thread = *b.thread;
        if (b.agent) q.agent = *b.agent;
        std::size_t page = want;
        for (;;) {
            q.limit = page;
            const auto r = read(q);
            for (const auto& e : r)
                if (pred(e)) {
                    out.push_back(e);
                    if (out.size() >= want) return;
                }
            if (r.size() < page) return;
            if (!reverse) q.from = r.back().id.seq + 1;
            else q.to = r.back().id.seq;
            page = next_page(page, want - out.size());
        }
    }
};

/// Keyed records in key order: the KV of one run (or transaction), or state records.
template <class Impl>
struct keyed_source {
    Impl impl;
    using entry_type = typename Impl::entry_type;

    template <class Keys>
    static int direction(const Keys& keys) {
        return native_direction(keys, []<class K>(const sort_key<K>& k) {
            return std::is_same_v<K, key_t_> && k.dir == order::ascending ? 0 : -1;
        });
    }

    template <class Pred>
    void scan(const scan_bounds& b, bool, std::size_t want, const Pred& pred, std::vector<entry_type>& out) const {
        if (b.empty || b.prefix.size() > max_key_size) return;
        const std::string_view prefix = b.prefix;
        std::optional<std::string_view> lo, hi;
        bool lo_open = b.lo_open;
        if (b.key_lo) {
            const std::string_view k = *b.key_lo;
            if (k.starts_with(prefix)) lo = k;
            else if (k > prefix) return; // past every key with the prefix
        }
        if (b.key_hi) {
            const std::string_view k = *b.key_hi;
            if (k < prefix) return;      // before every key with the prefix
            if (k.starts_with(prefix)) hi = k;
        }
        if (lo && lo->empty() && !lo_open) lo.reset(); // every key is at or after ""
        if (lo && hi && (*lo > *hi || (*lo == *hi && (lo_open || b.hi_open)))) return;
        auto past_hi = [&](std::string_view k) { return hi && (k > *hi || (b.hi_open && k == *hi)); };
        auto take = [&](const entry_type& e) {
            if (pred(e)) out.push_back(e);
            return out.size() < want;
        };

        std::string cursor;
        if (lo) {
            // No key is longer than max_key_size: the keys after lo are those after its first
            // max_key_size bytes, and lo itself is none.
            const bool too_long = lo->size() > max_key_size;
            if (!lo_open && !too_long)
                if (auto e = impl.lookup(*lo); e && !take(*e)) return;
            if (hi && *hi == *lo) return;
            cursor = std::string(lo->substr(0, max_key_size));
        }
        // With an upper key bound the listing cannot be told where to stop: pages start small
        // (16) and double, so what is read past the bound is at most about what is in range.
        std::size_t page = want - out.size();
        if (hi) page = std::min<std::size_t>(page, 16);
        for (;;) {
            const auto r = impl.list(prefix, list_options{.after = cursor, .limit = page});
            for (const auto& e : r) {
                const std::string_view k = Impl::key_of(e);
                // (A listing after a key equal to its prefix starts at that key: skip it.)
                if (!cursor.empty() && k <= cursor) continue;
                if (past_hi(k)) return;
                if (!take(e)) return;
            }
            if (r.size() < page) return;
            cursor = std::string(Impl::key_of(r.back()));
            page = next_page(page, want - out.size());
        }
    }
};

template <class Handle, class Ctx, class T>
struct kv_impl {
    Handle handle;
    Ctx ctx;
    using entry_type = kv_entry<T>;
    auto list(std::string_view prefix, list_options o) const { return handle.list(at_of(ctx), prefix, o); }
    std::optional<entry_type> lookup(std::string_view key) const { return handle.entry(at_of(ctx), key); }
    static std::string_view key_of(const entry_type& e) noexcept { return e.key; }
};

template <class Handle, class T>
struct state_impl {
    Handle handle;
    using entry_type = state_item<T>;
    auto list(std::string_view prefix, list_options o) const { return handle.list(prefix, o); }
    std::optional<entry_type> lookup(std::string_view name) const {
        auto e = handle.read(name);
        if (!e) return std::nullopt;
        return entry_type{std::string(name), std::move(e->value), e->version, e->writer};
    }
    static std::string_view key_of(const entry_type& e) noexcept { return e.name; }
};

/// Any range of entries (or of plain values): nothing to push down, read in its order.
template <class R>
struct range_source {
    mutable R r; // a view, a container it owns, or a pointer to one it does not
    decltype(auto) range() const {
        if constexpr (std::is_pointer_v<R>) return *r;
        else return (r);
    }
    using entry_type = ranges::range_value_t<std::remove_pointer_t<R>>;

    template <class Keys>
    static int direction(const Keys& keys) {
        return native_direction(keys, [](const auto&) { return -1; });
    }

    template <class Pred>
    void scan(const scan_bounds& b, bool, std::size_t want, const Pred& pred, std::vector<entry_type>& out) const {
        if (b.empty) return;
        for (auto&& e : range()) {
            if (!pred(e)) continue;
            out.push_back(e);
            if (out.size() >= want) return;
        }
    }
};

} // namespace detail::query

/// A field of an entry's value: inmem::field(&ToolCall::tool) == "search". Compares with
/// == != < <= > >= and a value, combines with && || !, and has .in({...}), .starts_with(s)
/// and .contains(x). On a std::variant of event types, a predicate on another type's field
/// is false. A member of a type the entries do not hold fails to compile, saying so.
template <class C, class M>
constexpr detail::query::field_t<C, M> field(M C::*member) noexcept {
    static_assert(!std::is_function_v<M>, "inmem::field takes a pointer to a data member (&T::m), not a member function");
    return detail::query::field_t<C, M>(member);
}

/// Entry metadata, for predicates, select and order_by. A conjunct of a where() on these is
/// pushed down: seq and time into the event log's from/to and since/until, thread and agent
/// (==) into its labels, key (==, <, <=, >, >=, in, starts_with) into KV and state listings.
inline constexpr detail::query::seq_t seq{};         ///< an event's seq (e.id.seq)
inline constexpr detail::query::time_t_ time{};      ///< an event's time
inline constexpr detail::query::version_t_ version{}; ///< the commit that wrote the entry
inline constexpr detail::query::key_t_ key{};        ///< a KV entry's key, a state record's name
inline constexpr detail::query::thread_t_ thread{};  ///< an event's thread label
inline constexpr detail::query::agent_t_ agent{};    ///< an event's agent label
inline constexpr detail::query::value_t_ value{};    ///< the entry's whole value (db.kv<int>(): value > 3)

/// Wraps any callable on an entry as a predicate that combines with && || ! and the fields.
template <class F>
auto pred(F f) {
    return detail::query::fn_p<F>{{}, std::move(f)};
}

/// A query: a source (a primitive's scan or any range), a predicate, sort keys, a limit and
/// a projection; each call returns a new query. run() executes it: the predicate's pushed-down
/// range is read in pages and the whole predicate is evaluated on each entry read; without
/// order_by (or with the scan's own order) it stops once it has limit entries, otherwise it
/// reads the pushed-down range, sorts it stably and keeps the first limit. Throws what the
/// primitive's reads throw (unknown_run, corruption, ...).
template <class Source, class Pred = detail::query::always_p, class Keys = std::tuple<>,
          class Proj = detail::query::no_projection>
class basic_query {
public:
    using entry_type = typename Source::entry_type;
    /// What run() yields: the entries, or with select() the projected values.
    using result_type = typename detail::query::result_of<Proj, entry_type>::type;

    basic_query(Source source, Pred pred = {}, Keys keys = {}, Proj proj = {},
                std::size_t limit = detail::query::unlimited)
        : source_(std::move(source)), pred_(std::move(pred)), keys_(std::move(keys)), proj_(std::move(proj)),
          limit_(limit) {}

    /// Keeps the entries p holds for (and-ed with an earlier where()): a predicate built from
    /// fields and metadata, or any callable taking the entry.
    template <class P>
    auto where(P p) const {
        auto np = detail::query::as_predicate(std::move(p));
        if constexpr (std::is_same_v<Pred, detail::query::always_p>)
            return rebuild(std::move(np), keys_, proj_);
        else
            return rebuild(detail::query::and_p<Pred, decltype(np)>{{}, pred_, std::move(np)}, keys_, proj_);
    }

    /// Sorts by k (a field, &T::m, metadata or a callable) in direction dir, replacing earlier
    /// keys; stable. Sorting materializes the pushed-down range, except for the scan's own order.
    template <class K>
    auto order_by(K k, order dir = order::ascending) const {
        auto p = detail::query::as_projection(std::move(k));
        return rebuild(pred_, std::tuple(detail::query::sort_key<decltype(p)>{std::move(p), dir}), proj_);
    }
    /// A further sort key, for entries the keys before it hold equal.
    template <class K>
    auto then_by(K k, order dir = order::ascending) const {
        static_assert(std::tuple_size_v<Keys> > 0, "inmem: then_by() follows order_by()");
        auto p = detail::query::as_projection(std::move(k));
        return rebuild(pred_, std::tuple_cat(keys_, std::tuple(detail::query::sort_key<decltype(p)>{std::move(p), dir})),
                       proj_);
    }

    /// At most n results.
    basic_query limit(std::size_t n) const {
        basic_query out = *this;
        out.limit_ = std::min(limit_, n);
        return out;
    }

    /// Yields p(entry) instead of the entries: a field (&T::m), metadata (inmem::seq), a
    /// callable; several give a std::tuple. Applied last, after where, order_by and limit.
    template <class... P>
    auto select(P... ps) const {
        static_assert(sizeof...(P) > 0, "inmem: select() takes one or more projections");
        static_assert(std::is_same_v<Proj, detail::query::no_projection>, "inmem: select() is given once per query");
        using projector = detail::query::projector<decltype(detail::query::as_projection(std::move(ps)))...>;
        return rebuild(pred_, keys_, projector{std::tuple(detail::query::as_projection(std::move(ps))...)});
    }

    /// The event log's query of one event type T (from(log, run).of<ToolCall>()).
    template <class T>
    auto of() const {
        static_assert(std::is_same_v<Pred, detail::query::always_p> && std::tuple_size_v<Keys> == 0 &&
                          std::is_same_v<Proj, detail::query::no_projection>,
                      "inmem: of<T>() comes first, before where(), order_by() and select()");
        using source = decltype(source_.template of<T>());
        return basic_query<source>(source_.template of<T>(), {}, {}, {}, limit_);
    }

    /// Executes the query: an entry_range (a view, O(1) to copy) of the results.
    [[nodiscard]] entry_range<result_type> run() const { return entry_range<result_type>(to_vector()); }

    /// Executes the query into a vector.
    [[nodiscard]] std::vector<result_type> to_vector() const {
        std::vector<entry_type> rows;
        if (limit_ == 0) return {};
        scan_bounds bounds;
        if constexpr (requires { pred_.narrow(bounds); }) pred_.narrow(bounds);
        const int dir = Source::direction(keys_);
        if (dir >= 0) {
            source_.scan(bounds, dir == 1, limit_, pred_, rows);
        } else {
            source_.scan(bounds, false, detail::query::unlimited, pred_, rows);
            detail::query::sort_entries(keys_, rows);
            if (rows.size() > limit_) rows.resize(limit_);
        }
        if constexpr (std::is_same_v<Proj, detail::query::no_projection>) return rows;
        else {
            std::vector<result_type> out;
            out.reserve(rows.size());
            for (const auto& e : rows) out.push_back(proj_(e));
            return out;
        }
    }

    /// The first result, or nullopt.
    [[nodiscard]] std::optional<result_type> first() const {
        auto v = limit(1).to_vector();
        if (v.empty()) return std::nullopt;
        return std::move(v.front());
    }

    /// The predicate's pushed-down range (what run() reads).
    [[nodiscard]] scan_bounds bounds() const {
        scan_bounds b;
        if constexpr (requires { pred_.narrow(b); }) pred_.narrow(b);
        return b;
    }

private:
    template <class, class, class, class>
    friend class basic_query;

    template <class P, class K, class J>
    basic_query<Source, P, K, J> rebuild(P p, K k, J j) const {
        return basic_query<Source, P, K, J>(source_, std::move(p), std::move(k), std::move(j), limit_);
    }

    Source source_;
    Pred pred_;
    Keys keys_;
    Proj proj_;
    std::size_t limit_;
};

/// A query over run's (or a transaction's) event log, of any event type (entries hold the
/// schema's std::variant); from<T>(log, run) or .of<T>() read one type through its index.
template <class Engine, class Schema, class At>
auto from(const event_log<Engine, Schema>& log, At&& at) {
    using source = detail::query::event_source<event_log<Engine, Schema>, detail::query::context_t<At>, void>;
    return basic_query<source>(source{log, detail::query::context_t<At>(at)});
}
template <class E, class Engine, class Schema, class At>
auto from(const event_log<Engine, Schema>& log, At&& at) {
    return from(log, std::forward<At>(at)).template of<E>();
}

/// A query over run's (or a transaction's) KV of T, in key order.
template <class Engine, class T, class At>
auto from(const kv_handle<Engine, T>& kv, At&& at) {
    using impl = detail::query::kv_impl<kv_handle<Engine, T>, detail::query::context_t<At>, T>;
    using source = detail::query::keyed_source<impl>;
    return basic_query<source>(source{impl{kv, detail::query::context_t<At>(at)}});
}

/// A query over the state records of T, in name order (inmem::key is the name).
template <class Engine, class T>
auto from(const state_handle<Engine, T>& states) {
    using source = detail::query::keyed_source<detail::query::state_impl<state_handle<Engine, T>, T>>;
    return basic_query<source>(source{{states}});
}

/// A query over any range (an entry_range, a std::vector, a range-v3 view): nothing is
/// pushed down. An lvalue container is referred to (it must outlive the query), an rvalue
/// one is moved in, a view is copied.
template <class R>
    requires(ranges::input_range<R> || std::ranges::input_range<R>)
auto from(R&& r) {
    using plain = std::remove_cvref_t<R>;
    using held = std::conditional_t<ranges::view_<plain> || !std::is_lvalue_reference_v<R>, plain,
                                    std::remove_reference_t<R>*>;
    using source = detail::query::range_source<held>;
    if constexpr (std::is_pointer_v<held>) return basic_query<source>(source{&r});
    else return basic_query<source>(source{held(std::forward<R>(r))});
}

// Pipeable adaptors over any range of entries, which are range-v3 views and compose with
// ranges::views both ways (none pushes anything down: a query does).

/// range | inmem::where(p): the entries p holds for (ranges::views::filter).
template <class P>
auto where(P p) {
    return ranges::views::filter(detail::query::as_predicate(std::move(p)));
}

/// range | inmem::select(p...): each entry's projection, by value (ranges::views::transform).
template <class... P>
auto select(P... ps) {
    static_assert(sizeof...(P) > 0, "inmem: select() takes one or more projections");
    using projector = detail::query::projector<decltype(detail::query::as_projection(std::move(ps)))...>;
    return ranges::views::transform(projector{std::tuple(detail::query::as_projection(std::move(ps))...)});
}

/// range | inmem::limit(n): at most n (ranges::views::take).
inline auto limit(std::size_t n) {
    return ranges::views::take(static_cast<std::ptrdiff_t>(std::min<std::size_t>(n, std::numeric_limits<std::ptrdiff_t>::max())));
}

/// range | inmem::order_by(k, dir): the range copied and sorted stably (it materializes: an
/// entry_range of the elements, O(n log n)).
template <class K>
auto order_by(K k, order dir = order::ascending) {
    auto p = detail::query::as_projection(std::move(k));
    using key = detail::query::sort_key<decltype(p)>;
    return ranges::make_view_closure([keys = std::tuple<key>(key{std::move(p), dir})]<class R>(R&& r) {
        using E = ranges::range_value_t<R>;
        std::vector<E> rows;
        for (auto&& e : r) rows.push_back(e);
        detail::query::sort_entries(keys, rows);
        return entry_range<E>(std::move(rows));
    });
}

} // namespace inmem
