// inmem/fwd.hpp: declarations of inmem's main templates and policies, with their defaults.
// Include it to name the types in headers of your own without paying for their definitions.
#pragma once

#include <cstdint>

namespace inmem {

template <class... Entries>
struct schema;
template <class... T>
struct kv;
template <class... T>
struct events;
template <class... T>
struct states;
template <class... T>
struct traces;
template <class... T>
struct vectors;

struct run_id;
struct run_options;
struct run_info;

namespace storage {
struct memory;
}
namespace concurrency {
struct optimistic;
struct single_thread;
} // namespace concurrency
namespace durability {
struct none;
struct strict;

/// When batched durability flushes: every interval_ms, or sooner once max_bytes of WAL wait.
/// A plain struct so it can be a template argument: basic_batched<batch_options{.interval_ms = 20}>.
struct batch_options {
    std::uint32_t interval_ms = 100;
    std::uint64_t max_bytes = std::uint64_t{4} << 20;
};
template <batch_options Options = batch_options{}>
struct basic_batched;
/// Batched durability with the default options (every 100 ms): the default policy.
using batched = basic_batched<>;
} // namespace durability

namespace clocks {
struct system;
class manual;
} // namespace clocks

/// A database of Schema, configured by Policies: at most one storage, one concurrency, one
/// durability and one clock policy, in any order. Omitted kinds default to storage::memory,
/// concurrency::optimistic, durability::batched and clocks::system.
template <class Schema, class... Policies>
class basic_database;

/// A database of Schema with every policy at its default.
template <class Schema>
using database = basic_database<Schema>;

} // namespace inmem
