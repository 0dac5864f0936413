// inmem/concurrency/single_thread.hpp: no synchronisation, for a database used by one thread.
#pragma once

#include <inmem/concurrency/snapshots.hpp>
#include <inmem/policy.hpp>

namespace inmem::detail {

/// Satisfies the Lockable requirements and does nothing.
struct null_mutex {
    void lock() noexcept {}
    bool try_lock() noexcept { return true; }
    void unlock() noexcept {}
};

} // namespace inmem::detail

namespace inmem::concurrency {

/// No synchronisation at all: the fastest mode, for a database that only one thread touches.
/// Transactions still see their snapshot and still conflict with writes made after it.
/// Using the database from two threads at once is a data race.
struct single_thread {
    using policy_kind = concurrency_kind;
    using mutex_type = detail::null_mutex;
    using snapshots_type = detail::local_snapshots;
};

} // namespace inmem::concurrency
