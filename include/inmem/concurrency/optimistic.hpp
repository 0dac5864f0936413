// inmem/concurrency/optimistic.hpp: multi-version concurrency, the default.
#pragma once

#include <inmem/concurrency/snapshots.hpp>
#include <inmem/policy.hpp>

#include <atomic>
#include <cstdint>

namespace inmem::detail {

/// The writers' lock: commits hold it for about a microsecond, so a waiter spins briefly
/// (a sleep and a wake-up cost several microseconds each) and sleeps on the atomic (a
/// futex) only when the holder takes longer. States: 0 free, 1 held, 2 held with sleepers.
class spin_then_sleep_mutex {
public:
    void lock() noexcept {
        for (int spin = 0; spin < 2048; ++spin) {
            std::uint32_t expected = 0;
            if (state_.load(std::memory_order_relaxed) == 0 &&
                state_.compare_exchange_weak(expected, 1, std::memory_order_acquire, std::memory_order_relaxed))
                return;
            pause();
        }
        while (state_.exchange(2, std::memory_order_acquire) != 0) state_.wait(2, std::memory_order_relaxed);
    }
    bool try_lock() noexcept {
        std::uint32_t expected = 0;
        return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire, std::memory_order_relaxed);
    }
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2) state_.notify_one();
    }

private:
    static void pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    std::atomic<std::uint32_t> state_{0};
};

} // namespace inmem::detail

namespace inmem::concurrency {

/// Any number of threads (the default). Readers never lock and never wait: each reads the
/// versions that were committed when it started (its snapshot) while writers add newer
/// ones. Writers commit one at a time; a transaction commits only if no key it wrote (and,
/// under isolation::serializable, no key or range it read) changed after its snapshot,
/// otherwise it fails with errc::conflict. Old versions are freed once no reader can see them.
struct optimistic {
    using policy_kind = concurrency_kind;
    using mutex_type = detail::spin_then_sleep_mutex;
    using snapshots_type = detail::shared_snapshots;
};

} // namespace inmem::concurrency
