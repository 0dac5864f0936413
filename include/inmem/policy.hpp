// inmem/policy.hpp: policy kinds, and how basic_database picks one policy of each kind.
//
// A policy is a type with `using policy_kind = inmem::storage_kind;` (or concurrency_kind,
// durability_kind). basic_database<Schema, Ps...> takes policies in any order; each kind
// that is not given takes its default, a kind given twice or a type that is not a policy
// stops the build with a message saying so.
#pragma once

#include <type_traits>

namespace inmem {

/// Kind tag of storage backends (storage::memory, ...).
struct storage_kind {};
/// Kind tag of concurrency modes (concurrency::optimistic, concurrency::single_thread).
struct concurrency_kind {};
/// Kind tag of durability modes (durability::none, ...).
struct durability_kind {};

namespace detail {

template <class P>
concept has_policy_kind = requires { typename P::policy_kind; };

template <class P>
consteval bool is_known_policy() {
    if constexpr (has_policy_kind<P>) {
        using K = typename P::policy_kind;
        return std::is_same_v<K, storage_kind> || std::is_same_v<K, concurrency_kind> ||
               std::is_same_v<K, durability_kind>;
    } else {
        return false;
    }
}

template <class P>
consteval bool check_policy() {
    static_assert(is_known_policy<P>(),
                  "inmem: this template argument of basic_database is not a policy: a policy declares "
                  "`using policy_kind = inmem::storage_kind` (or concurrency_kind, durability_kind). "
                  "Use e.g. inmem::storage::memory, inmem::concurrency::optimistic, inmem::durability::none");
    return is_known_policy<P>();
}

template <class Kind, class P>
consteval bool is_of_kind() {
    if constexpr (has_policy_kind<P>) return std::is_same_v<typename P::policy_kind, Kind>;
    else return false;
}

template <class Kind, class... Ps>
inline constexpr std::size_t count_kind_v = (std::size_t{0} + ... + is_of_kind<Kind, Ps>());

template <class Kind, class Default, class... Ps>
struct select_policy {
    using type = Default;
};
template <class Kind, class Default, class P, class... Ps>
struct select_policy<Kind, Default, P, Ps...> {
    using type = std::conditional_t<is_of_kind<Kind, P>(), P, typename select_policy<Kind, Default, Ps...>::type>;
};

/// The policy of kind Kind among Ps, or Default when none is.
template <class Kind, class Default, class... Ps>
using select_policy_t = typename select_policy<Kind, Default, Ps...>::type;

template <class... Ps>
consteval bool check_policies() {
    constexpr bool all_known = (check_policy<Ps>() && ...);
    static_assert(count_kind_v<storage_kind, Ps...> <= 1,
                  "inmem: two storage policies were given to basic_database; give at most one");
    static_assert(count_kind_v<concurrency_kind, Ps...> <= 1,
                  "inmem: two concurrency policies were given to basic_database; give at most one");
    static_assert(count_kind_v<durability_kind, Ps...> <= 1,
                  "inmem: two durability policies were given to basic_database; give at most one");
    return all_known && count_kind_v<storage_kind, Ps...> <= 1 && count_kind_v<concurrency_kind, Ps...> <= 1 &&
           count_kind_v<durability_kind, Ps...> <= 1;
}

} // namespace detail
} // namespace inmem
