// inmem/durability/none.hpp: no durability; everything lives and dies with the process.
#pragma once

#include <inmem/policy.hpp>
#include <inmem/storage/record.hpp>

#include <span>

namespace inmem::detail {

/// The journal of durability::none: records nothing.
struct null_journal {
    void append(std::span<const write_op>, version_t) noexcept {}
};

} // namespace inmem::detail

namespace inmem::durability {

/// Nothing is written to disk: the fastest mode, for scratch state and tests.
struct none {
    using policy_kind = durability_kind;
    using journal = detail::null_journal;
};

} // namespace inmem::durability
