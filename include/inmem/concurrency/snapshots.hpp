// inmem/concurrency/snapshots.hpp: who is reading which version, so old versions can go.
//
// Every reader pins the version it reads at (its snapshot) for as long as it reads; the
// writer frees a superseded version only once no pinned snapshot can reach it (see
// memory_backend::collect). Two registries, one per concurrency policy:
//  - shared_snapshots (concurrency::optimistic): pin and unpin are lock-free: a reader claims
//    a free slot of its own cache line (starting at a per-thread hint, so threads do not
//    share lines), marks it pending, reads the visible version and stores it. The writer's
//    oldest() reads the visible version first and then every slot; a pending slot makes it
//    free nothing this time. Why that is enough: a slot the writer saw free was claimed after
//    the writer read the visible version, so its reader's snapshot is at least that version.
//  - local_snapshots (concurrency::single_thread): a plain count per pinned version; point
//    reads do not pin at all (nothing can be freed while they run).
#pragma once

#include <inmem/storage/key.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>

namespace inmem::detail {

class shared_snapshots {
    static constexpr std::uint64_t free_slot = ~std::uint64_t{0};
    static constexpr std::uint64_t pending_slot = free_slot - 1;
    static constexpr std::size_t chunk_slots = 64;

    struct alignas(64) slot {
        std::atomic<std::uint64_t> value{free_slot};
    };
    struct chunk {
        slot slots[chunk_slots];
        std::atomic<chunk*> next{nullptr};
    };

public:
    /// What pin() hands back to unpin().
    using pin_type = std::atomic<std::uint64_t>*;
    /// Point reads pin too: a concurrent writer may free versions at any time.
    static constexpr bool point_reads_pin = true;

    shared_snapshots() = default;
    shared_snapshots(const shared_snapshots&) = delete;
    shared_snapshots& operator=(const shared_snapshots&) = delete;
    ~shared_snapshots() {
        for (chunk* c = first_.next.load(); c;) {
            chunk* next = c->next.load();
            delete c;
            c = next;
        }
    }

    /// Registers a reader at the current value of visible and returns that version.
    version_t pin(const std::atomic<version_t>& visible, pin_type& out) {
        slot& s = claim();
        const version_t at = visible.load();
        s.value.store(at);
        out = &s.value;
        return at;
    }

    /// Registers a reader at version at, which the caller knows cannot have been freed yet
    /// (it holds the writer's lock and at is the latest version).
    void pin_at(version_t at, pin_type& out) {
        slot& s = claim();
        s.value.store(at);
        out = &s.value;
    }

    static void unpin(pin_type pin) noexcept { pin->store(free_slot, std::memory_order_release); }

    /// The oldest version a reader may still read: the smallest pinned snapshot, or
    /// visible when none is older; 0 while a reader is between claiming and pinning.
    version_t oldest(const std::atomic<version_t>& visible) const noexcept {
        version_t oldest = visible.load();
        for (const chunk* c = &first_; c; c = c->next.load()) {
            for (const slot& s : c->slots) {
                const std::uint64_t v = s.value.load();
                if (v == pending_slot) return 0;
                if (v != free_slot) oldest = std::min(oldest, v);
            }
        }
        return oldest;
    }

private:
    // A free slot, marked pending; new chunks are appended when every slot is taken.
    slot& claim() {
        thread_local std::size_t hint = next_hint_.fetch_add(1, std::memory_order_relaxed) % chunk_slots;
        for (chunk* c = &first_;;) {
            for (std::size_t i = 0; i < chunk_slots; ++i) {
                slot& s = c->slots[(hint + i) % chunk_slots];
                std::uint64_t expected = free_slot;
                if (s.value.load(std::memory_order_relaxed) == free_slot &&
                    s.value.compare_exchange_strong(expected, pending_slot))
                    return s;
            }
            chunk* next = c->next.load(std::memory_order_acquire);
            if (!next) {
                auto* fresh = new chunk;
                if (c->next.compare_exchange_strong(next, fresh)) next = fresh;
                else delete fresh; // another thread appended one first: use it
            }
            c = next;
        }
    }

    chunk first_;
    static inline std::atomic<std::size_t> next_hint_{0};
};

class local_snapshots {
public:
    using pin_type = version_t;
    static constexpr bool point_reads_pin = false;

    version_t pin(const std::atomic<version_t>& visible, pin_type& out) {
        const version_t at = visible.load(std::memory_order_relaxed);
        pin_at(at, out);
        return at;
    }
    void pin_at(version_t at, pin_type& out) {
        ++pinned_[at];
        out = at;
    }
    void unpin(pin_type pin) noexcept {
        auto it = pinned_.find(pin);
        if (--it->second == 0) pinned_.erase(it);
    }
    version_t oldest(const std::atomic<version_t>& visible) const noexcept {
        const version_t now = visible.load(std::memory_order_relaxed);
        return pinned_.empty() ? now : std::min(now, pinned_.begin()->first);
    }

private:
    std::map<version_t, std::size_t> pinned_;
};

} // namespace inmem::detail
