// inmem/durability/strict.hpp: a commit returns only once it is on disk.
#pragma once

#include <inmem/policy.hpp>

namespace inmem::durability {

/// Every commit returns after its WAL record is durable (written and fdatasync'ed).
/// Concurrent committers share one fsync (group commit), so throughput grows with threads.
/// A reader may see a commit a moment before its committer is told it is durable.
struct strict {
    using policy_kind = durability_kind;
    static constexpr bool persistent = true;
    static constexpr bool sync_each_commit = true;
};

} // namespace inmem::durability
