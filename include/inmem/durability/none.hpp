// inmem/durability/none.hpp: no durability; everything lives and dies with the process.
#pragma once

#include <inmem/policy.hpp>

namespace inmem::durability {

/// Nothing is written to disk: the fastest mode, for scratch state and tests. A database
/// with this policy cannot be opened on a directory.
struct none {
    using policy_kind = durability_kind;
    static constexpr bool persistent = false;
};

} // namespace inmem::durability
