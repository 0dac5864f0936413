// inmem/concurrency/optimistic.hpp: multi-version concurrency, the default.
#pragma once

#include <inmem/concurrency/snapshots.hpp>
#include <inmem/policy.hpp>

#include <mutex>

namespace inmem::concurrency {

/// Any number of threads (the default). Readers never lock and never wait: each reads the
/// versions that were committed when it started (its snapshot) while writers add newer
/// ones. Writers commit one at a time; a transaction commits only if no key it wrote (and,
/// under isolation::serializable, no key or range it read) changed after its snapshot,
/// otherwise it fails with errc::conflict. Old versions are freed once no reader can see them.
struct optimistic {
    using policy_kind = concurrency_kind;
    using mutex_type = std::mutex;
    using snapshots_type = detail::shared_snapshots;
};

} // namespace inmem::concurrency
