// inmem/concurrency/run_statuses.hpp: the status of every run, readable without a lock.
//
// Run ids are dense from 1, except for gaps: ids a crashed session may have handed out,
// which never become runs. The registry keeps one status per run (an append-only array) and
// the gaps as a short sorted list, published whole (a new copy per gap: gaps come one per
// crash), so a run's slot is its id minus the gap ids before it. A run erased (db.erase_run)
// keeps its slot, marked erased: it is no run any more, and its id is never used again. One
// writer at a time adds runs and gaps and changes statuses; readers look up any id
// concurrently.
#pragma once

#include <inmem/concurrency/append_only_array.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace inmem::detail {

class run_statuses {
    struct gap_list {
        std::vector<std::uint64_t> first, last; // gap i: ids first[i]..last[i]
        std::vector<std::uint64_t> skipped;     // ids in gaps 0..i
    };

public:
    run_statuses() = default;
    run_statuses(const run_statuses&) = delete;
    run_statuses& operator=(const run_statuses&) = delete;

    /// The id the next run or gap starts at.
    std::uint64_t next_id() const noexcept { return next_id_.load(std::memory_order_acquire); }

    /// Number of slots: runs and erased runs (gaps not counted).
    std::size_t size() const noexcept { return statuses_.size(); }
    /// Number of erased runs (the writer's).
    std::size_t erased_count() const noexcept { return erased_; }

    /// The status of run, or nullopt when it is no run (0, past the last, in a gap, erased).
    std::optional<run_status> get(run_id run) const noexcept {
        const std::size_t n = statuses_.size(); // before the gaps: a run seen comes with its gaps
        const auto slot = slot_of(run);
        if (!slot || *slot >= n) return std::nullopt;
        const run_status s = statuses_.get(*slot);
        if (s == erased_mark) return std::nullopt;
        return s;
    }

    /// Whether run was a run, erased since.
    bool erased(run_id run) const noexcept {
        const std::size_t n = statuses_.size();
        const auto slot = slot_of(run);
        return slot && *slot < n && statuses_.get(*slot) == erased_mark;
    }

    /// Whether run's id lies in a gap (it was reserved by a crashed session, never a run).
    bool in_gap(run_id run) const noexcept {
        const gap_list* g = gaps_.load(std::memory_order_acquire);
        if (!g) return false;
        const auto k = static_cast<std::size_t>(std::upper_bound(g->first.begin(), g->first.end(), run.value) -
                                                g->first.begin());
        return k > 0 && run.value <= g->last[k - 1];
    }

    /// The writer: sets the status of an existing run.
    void set(run_id run, run_status status) noexcept { statuses_.set(*slot_of(run), status); }
    /// The writer: run is erased.
    void erase(run_id run) noexcept {
        statuses_.set(*slot_of(run), erased_mark);
        ++erased_;
    }

    /// The writer: makes room so that the next push_back cannot fail. Throws std::bad_alloc.
    void reserve() { statuses_.reserve(1); }

    /// The writer: adds the run next_id(), with status (after reserve(): does not throw).
    void push_back(run_status status) noexcept {
        statuses_.push_back(status);
        next_id_.store(next_id_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
    }
    /// The writer, at open: adds the run next_id() as erased (after reserve()).
    void push_back_erased() noexcept {
        push_back(erased_mark);
        ++erased_;
    }

    /// The writer: ids next_id()..last are a gap. Throws std::bad_alloc, changing nothing.
    void add_gap(std::uint64_t last) {
        const std::uint64_t first = next_id_.load(std::memory_order_relaxed);
        if (last < first) return;
        const gap_list* old = gaps_.load(std::memory_order_relaxed);
        auto next = old ? std::make_unique<gap_list>(*old) : std::make_unique<gap_list>();
        next->first.push_back(first);
        next->last.push_back(last);
        next->skipped.push_back((next->skipped.empty() ? 0 : next->skipped.back()) + (last - first + 1));
        versions_.reserve(versions_.size() + 1);
        gaps_.store(next.get(), std::memory_order_release);
        versions_.push_back(std::move(next)); // old lists stay: a reader may hold one
        next_id_.store(last + 1, std::memory_order_release);
    }

    /// Calls f(run_id, run_status) for every run (not erased), in id order.
    template <class F>
    void for_each(F&& f) const {
        const gap_list* g = gaps_.load(std::memory_order_acquire);
        std::uint64_t id = 1;
        std::size_t k = 0;
        for (std::size_t slot = 0; slot < statuses_.size(); ++slot, ++id) {
            while (g && k < g->first.size() && g->first[k] == id) id = g->last[k++] + 1;
            if (const run_status s = statuses_.get(slot); s != erased_mark) f(run_id{id}, s);
        }
    }

private:
    static constexpr auto erased_mark = static_cast<run_status>(0xff); // no status of a run
    std::optional<std::size_t> slot_of(run_id run) const noexcept {
        if (run.value == 0) return std::nullopt;
        const gap_list* g = gaps_.load(std::memory_order_acquire);
        if (!g) return static_cast<std::size_t>(run.value - 1);
        const auto k = static_cast<std::size_t>(std::upper_bound(g->first.begin(), g->first.end(), run.value) -
                                                g->first.begin());
        if (k == 0) return static_cast<std::size_t>(run.value - 1);
        if (run.value <= g->last[k - 1]) return std::nullopt;
        return static_cast<std::size_t>(run.value - 1 - g->skipped[k - 1]);
    }

    append_only_array<run_status> statuses_;          // of the runs, in id order
    std::atomic<const gap_list*> gaps_{nullptr};      // the latest list
    std::vector<std::unique_ptr<gap_list>> versions_; // every list published (the writer's)
    std::atomic<std::uint64_t> next_id_{1};
    std::size_t erased_ = 0; // the writer's
};

} // namespace inmem::detail
