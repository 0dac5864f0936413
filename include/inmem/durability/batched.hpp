// inmem/durability/batched.hpp: commits return at memory speed; a background thread makes
// them durable every interval.
#pragma once

#include <inmem/fwd.hpp>
#include <inmem/policy.hpp>

namespace inmem::durability {

/// Commits return once logged in memory; a background thread writes and fdatasyncs the WAL
/// every Options.interval_ms (or once Options.max_bytes wait), on db.sync() and on close.
/// A crash loses at most the commits of about the last interval plus one flush (a slow
/// fdatasync delays the next batch), and always a suffix: what survives is a prefix of the
/// commit sequence. `durability::batched` is the default policy, with the default options;
/// other options are given as a struct value: basic_batched<batch_options{.interval_ms = 20}>
/// (gcc also takes basic_batched<{.interval_ms = 20}>; clang 14 does not).
template <batch_options Options>
struct basic_batched {
    using policy_kind = durability_kind;
    static constexpr bool persistent = true;
    static constexpr bool sync_each_commit = false;
    static constexpr batch_options options = Options;
    static_assert(Options.interval_ms > 0, "inmem: basic_batched<batch_options{.interval_ms = N}> needs N > 0");
};

} // namespace inmem::durability
