// inmem/concurrency/single_thread.hpp: no synchronisation, for a database used by one thread.
#pragma once

#include <inmem/policy.hpp>

namespace inmem::detail {

/// Satisfies the SharedMutex requirements and does nothing.
struct null_mutex {
    void lock() noexcept {}
    bool try_lock() noexcept { return true; }
    void unlock() noexcept {}
    void lock_shared() noexcept {}
    bool try_lock_shared() noexcept { return true; }
    void unlock_shared() noexcept {}
};

} // namespace inmem::detail

namespace inmem::concurrency {

/// No locking at all: the fastest mode, for a database that only one thread touches.
/// Using it from two threads at once is a data race.
struct single_thread {
    using policy_kind = concurrency_kind;
    using mutex_type = detail::null_mutex;
};

} // namespace inmem::concurrency
