// inmem/policy.hpp: policy kinds, and how basic_database picks one policy of each kind.
//
// A policy is a type with `using policy_kind = inmem::storage_kind;` (or concurrency_kind,
// durability_kind, clock_kind). basic_database<Schema, Ps...> takes policies in any order; each kind
// that is not given takes its default, a kind given twice or a type that is not a policy
// stops the build with a message saying so.
#pragma once

#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace inmem {

// The kind tags (storage_kind, concurrency_kind, durability_kind) are vocabulary.hpp's, so
// that a policy declares its kind without including this header.

namespace detail {
// A scan callback, to state what scan_prefix must accept.
struct scan_probe {
    bool operator()(std::string_view, const stored_record&) const noexcept { return true; }
};
} // namespace detail

// ---- The contracts the engine needs of each policy (checked when basic_database is
// instantiated: a policy that misses one fails with that concept's name and a message).

/// A store of versioned records: lookups at a version or the latest, writes at a version,
/// ordered prefix scans from a cursor, and reclamation of versions nobody reads.
template <class B>
concept storage_backend =
    std::default_initializable<B> &&
    requires(B& b, const B& cb, std::string s, std::string_view key, version_t v, std::vector<typename B::retired>& out) {
        { cb.find(key) } -> std::same_as<const detail::stored_record*>;    // latest
        { cb.find(key, v) } -> std::same_as<const detail::stored_record*>; // as of v
        { cb.latest(key) } -> std::same_as<version_t>;                     // latest version, 0: none
        b.put(std::move(s), std::move(s), v);
        { b.erase(key, v) } -> std::convertible_to<bool>;
        cb.scan_prefix(key, v, detail::scan_probe{}, key); // in key order, after a cursor; f may stop it
        { cb.garbage() } -> std::convertible_to<std::size_t>;
        b.collect(v);
        b.collect(v, out);
        B::release(out);
    };

/// A storage policy: `using policy_kind = storage_kind;` and a backend.
template <class P>
concept storage_policy = std::same_as<typename P::policy_kind, storage_kind> && storage_backend<typename P::backend>;

/// Who reads at which version: pins (registering a reader at the visible version, or at a
/// given one), unpin, and the oldest version anybody may still read.
template <class S>
concept snapshot_registry = requires(S& s, const S& cs, const std::atomic<version_t>& visible,
                                     typename S::pin_type& pin, version_t v) {
    { s.pin(visible, pin) } -> std::same_as<version_t>;
    s.pin_at(v, pin);
    s.unpin(pin);
    { cs.oldest(visible) } -> std::same_as<version_t>;
    { S::point_reads_pin } -> std::convertible_to<bool>;
};

/// A concurrency policy: `using policy_kind = concurrency_kind;`, the writers' mutex and
/// the snapshot registry.
template <class P>
concept concurrency_policy =
    std::same_as<typename P::policy_kind, concurrency_kind> && snapshot_registry<typename P::snapshots_type> &&
    requires(typename P::mutex_type& m) {
        m.lock();
        m.unlock();
    };

/// A durability policy: `using policy_kind = durability_kind;` and constants: persistent;
/// when persistent, sync_each_commit; when batched, options (interval_ms, max_bytes).
template <class P>
concept durability_policy =
    std::same_as<typename P::policy_kind, durability_kind> && requires {
        { P::persistent } -> std::convertible_to<bool>;
    } && (!P::persistent || requires { { P::sync_each_commit } -> std::convertible_to<bool>; }) &&
    (!P::persistent || P::sync_each_commit || requires {
        { P::options.interval_ms } -> std::convertible_to<std::uint32_t>;
        { P::options.max_bytes } -> std::convertible_to<std::uint64_t>;
    });

/// A clock policy: `using policy_kind = clock_kind;`, default construction, and a const
/// noexcept now() returning a std::chrono::system_clock::time_point.
template <class P>
concept clock_policy = std::same_as<typename P::policy_kind, clock_kind> && std::default_initializable<P> &&
                       requires(const P& clock) {
                           { clock.now() } noexcept -> std::same_as<std::chrono::system_clock::time_point>;
                       };

namespace detail {

template <class P>
concept has_policy_kind = requires { typename P::policy_kind; };

template <class P>
consteval bool is_known_policy() {
    if constexpr (has_policy_kind<P>) {
        using K = typename P::policy_kind;
        return std::is_same_v<K, storage_kind> || std::is_same_v<K, concurrency_kind> ||
               std::is_same_v<K, durability_kind> || std::is_same_v<K, clock_kind>;
    } else {
        return false;
    }
}

template <class P>
consteval bool check_policy() {
    static_assert(is_known_policy<P>(),
                  "inmem: this template argument of basic_database is not a policy: a policy declares "
                  "`using policy_kind = inmem::storage_kind` (or concurrency_kind, durability_kind, clock_kind). "
                  "Use e.g. inmem::storage::memory, inmem::concurrency::optimistic, inmem::durability::none, "
                  "inmem::clocks::manual");
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
    static_assert(count_kind_v<clock_kind, Ps...> <= 1,
                  "inmem: two clock policies were given to basic_database; give at most one");
    return all_known && count_kind_v<storage_kind, Ps...> <= 1 && count_kind_v<concurrency_kind, Ps...> <= 1 &&
           count_kind_v<durability_kind, Ps...> <= 1 && count_kind_v<clock_kind, Ps...> <= 1;
}

} // namespace detail
} // namespace inmem
