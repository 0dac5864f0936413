// inmem/concurrency/locked.hpp: one reader-writer lock around the whole store.
#pragma once

#include <inmem/policy.hpp>

#include <shared_mutex>

namespace inmem::concurrency {

/// Safe to share across threads: reads run in parallel under a shared lock, writes take it
/// exclusively (encoding happens before the lock is taken). Coarse, and the default for now;
/// an optimistic (MVCC) mode will replace it as the default.
struct locked {
    using policy_kind = concurrency_kind;
    using mutex_type = std::shared_mutex;
};

} // namespace inmem::concurrency
