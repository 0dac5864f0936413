// inmem/clock.hpp: the clock policies, where a database's wall times come from (a run's
// start and end, a lease's expiry; the event log's times later).
//
// A clock policy is `using policy_kind = inmem::clock_kind;` and a const, noexcept now()
// returning a std::chrono::system_clock::time_point (concept inmem::clock_policy). Each
// database holds its own clock object, db.clock(), so a test or a replay can set the time
// of one database without touching another.
#pragma once

#include <inmem/vocabulary.hpp>

#include <atomic>
#include <chrono>

namespace inmem::clocks {

/// The wall clock, std::chrono::system_clock: the default.
struct system {
    using policy_kind = clock_kind;
    std::chrono::system_clock::time_point now() const noexcept { return std::chrono::system_clock::now(); }
};

/// A clock that moves only when told: set() and advance(), from any thread. It starts at
/// the system_clock epoch (1970-01-01T00:00:00Z).
class manual {
public:
    using policy_kind = clock_kind;
    using time_point = std::chrono::system_clock::time_point;

    time_point now() const noexcept { return time_point(time_point::duration(ticks_.load(std::memory_order_acquire))); }
    /// Sets the time to t (it may go backwards: a manual clock is what its owner says).
    void set(time_point t) noexcept { ticks_.store(t.time_since_epoch().count(), std::memory_order_release); }
    /// Moves the time on by d.
    void advance(time_point::duration d) noexcept { ticks_.fetch_add(d.count(), std::memory_order_acq_rel); }

private:
    std::atomic<time_point::rep> ticks_{0};
};

} // namespace inmem::clocks
