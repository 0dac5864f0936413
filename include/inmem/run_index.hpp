// inmem/run_index.hpp: the run index's secondary indexes, which answer db.runs(query).
//
// Derived state, in memory only: the engine feeds it every run record it applies, live and
// in recovery alike (its batch observer), and the records of the snapshot recovery starts
// from, so it is rebuilt on open as it was kept. Runs get a slot, their position in id
// order (ids are handed out in increasing order under the writers' lock); every index
// lists slots:
//   - per slot (append-only arrays): the id, the start time, the parent, and the children
//     as a linked list in id order (first/last child, next/previous sibling);
//   - per status: a two-level bitmap of slots;
//   - per tag, per name, per metadata key=value: a posting list of slots, appended in commit
//     order (sorted by slot for tags and names, which never change; a metadata list is
//     sorted unless a run got k=v after a later run did, and is then sorted when read);
//   - the runs that ended, in end order, with their end times (sorted: end times are clamped
//     never to go back).
// Readers take no lock, except a shared one for the moment of looking a tag, name or
// metadata value up in its dictionary (the writer holds it exclusively only to add a value
// never seen before). Consistency: an entry is added before the commit that makes it true
// becomes visible (the observer runs before the store is updated and the version
// published), and one that stops being true (a status bit) is only removed once no reader's
// snapshot can still see the old state; so the candidates a reader gets are a superset of
// the runs matching at its snapshot, and each candidate is checked against its record at
// that snapshot. Entries that went stale (a metadata value changed, a run resumed after it
// ended) are skipped by that check. An erased run (db.erase_run) keeps its slot until the
// next open, with no status bit once no reader can see it: its record is gone, so the
// check skips it wherever else it is still listed.
#pragma once

#include <inmem/concurrency/append_only_array.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem::detail {

inline constexpr std::uint64_t no_slot = ~std::uint64_t{0};

/// A set of slots, readable without a lock: one bit per slot, and a summary bit per word of
/// 64 that says the word may be non-zero. One writer sets and clears bits; a reader finds
/// the next set bit after any slot in O(1 + slots / 2^18) word reads.
class slot_bitmap {
public:
    /// The writer: makes room for slots below n. Throws std::bad_alloc.
    void grow(std::size_t n) {
        while (words_.size() * 64 < n) words_.push_back(0);
        while (summary_.size() * 64 < words_.size()) summary_.push_back(0);
    }
    void set(std::size_t slot) noexcept {
        const std::size_t w = slot >> 6;
        words_.set(w, words_.get(w) | (std::uint64_t{1} << (slot & 63)));
        summary_.set(w >> 6, summary_.get(w >> 6) | (std::uint64_t{1} << (w & 63)));
    }
    void clear(std::size_t slot) noexcept {
        const std::size_t w = slot >> 6;
        const std::uint64_t word = words_.get(w) & ~(std::uint64_t{1} << (slot & 63));
        words_.set(w, word);
        if (word == 0) summary_.set(w >> 6, summary_.get(w >> 6) & ~(std::uint64_t{1} << (w & 63)));
    }
    bool test(std::size_t slot) const noexcept {
        const std::size_t w = slot >> 6;
        return w < words_.size() && (words_.get(w) >> (slot & 63) & 1) != 0;
    }

    /// The first set slot in [from, end), or no_slot.
    std::uint64_t next(std::uint64_t from, std::uint64_t end) const noexcept {
        const std::size_t nw = words_.size();
        std::size_t w = static_cast<std::size_t>(from >> 6);
        if (from >= end || w >= nw) return no_slot;
        std::uint64_t bits = words_.get(w) & (~std::uint64_t{0} << (from & 63));
        for (;;) {
            if (bits) {
                const std::uint64_t slot = w * 64 + static_cast<std::uint64_t>(std::countr_zero(bits));
                return slot < end ? slot : no_slot;
            }
            if (++w >= nw || w * 64 >= end) return no_slot;
            // Skip words whose summary bit is clear.
            std::uint64_t sb = summary_.get(w >> 6) & (~std::uint64_t{0} << (w & 63));
            while (!sb) {
                w = ((w >> 6) + 1) << 6;
                if (w >= nw || w * 64 >= end) return no_slot;
                sb = summary_.get(w >> 6);
            }
            w = (w & ~std::size_t{63}) + static_cast<std::size_t>(std::countr_zero(sb));
            if (w >= nw) return no_slot;
            bits = words_.get(w);
        }
    }

    /// The last set slot in [begin, before), or no_slot.
    std::uint64_t prev(std::uint64_t begin, std::uint64_t before) const noexcept {
        const std::size_t nw = words_.size();
        if (before <= begin || nw == 0) return no_slot;
        std::uint64_t last = before - 1;
        if (last >= nw * 64) last = nw * 64 - 1;
        std::size_t w = static_cast<std::size_t>(last >> 6);
        std::uint64_t bits = words_.get(w) & (~std::uint64_t{0} >> (63 - (last & 63)));
        for (;;) {
            if (bits) {
                const std::uint64_t slot = w * 64 + 63 - static_cast<std::uint64_t>(std::countl_zero(bits));
                return slot >= begin ? slot : no_slot;
            }
            if (w == 0 || (w - 1) * 64 + 63 < begin) return no_slot;
            --w;
            std::uint64_t sb = summary_.get(w >> 6) & (~std::uint64_t{0} >> (63 - (w & 63)));
            while (!sb) {
                if ((w >> 6) == 0) return no_slot;
                w = ((w >> 6) << 6) - 1;
                if (w * 64 + 63 < begin) return no_slot;
                sb = summary_.get(w >> 6);
            }
            w = (w & ~std::size_t{63}) + 63 - static_cast<std::size_t>(std::countl_zero(sb));
            bits = words_.get(w);
        }
    }

private:
    append_only_array<std::uint64_t> words_;
    append_only_array<std::uint64_t> summary_;
};

/// Slots appended by one writer, read by anyone; sorted while every slot appended is at
/// least the last (equal ones are not appended twice).
struct run_slot_list {
    append_only_array<std::uint64_t> slots;
    std::atomic<bool> sorted{true};
    std::uint64_t last = 0; // the writer's

    void add(std::uint64_t slot) {
        const std::size_t n = slots.size();
        if (n != 0 && slot == last) return;
        slots.reserve(1);
        if (n != 0 && slot < last) sorted.store(false, std::memory_order_release); // before the size
        slots.push_back(slot);
        last = slot;
    }
};

/// The secondary indexes of the run index (see the top of this file).
class run_index {
    using clock = std::chrono::system_clock;
    using rep = clock::rep;
    static constexpr std::size_t status_count = 5;

public:
    run_index() = default;
    run_index(const run_index&) = delete;
    run_index& operator=(const run_index&) = delete;

    // ---- The writer (under the writers' lock, or at open)

    /// A start time for a new run begun at now: never before the last run's.
    clock::time_point start_time(clock::time_point now) const noexcept {
        return std::max(now, clock::time_point(clock::duration(last_started_)));
    }
    /// An end time for a run started at started, ended at now: never before the last end.
    clock::time_point end_time(clock::time_point now, clock::time_point started) const noexcept {
        return std::max({now, started, clock::time_point(clock::duration(last_ended_))});
    }

    /// Whether id is indexed (the writer's view).
    bool indexed(std::uint64_t id) const noexcept { return find_slot(id, ids_.size()) != no_slot; }

    /// A run record was applied at version (or loaded at open): info is its new content,
    /// old_metadata what the record held before (nullptr: nothing, or nothing to compare).
    /// Ignores what does not fit (recovery then refuses the run index as corrupt).
    void record(const run_info& info, const std::map<std::string, std::string>* old_metadata, version_t version) {
        const std::uint64_t id = info.id.value;
        if (id == 0) return;
        const std::size_t n = ids_.size();
        const auto status = static_cast<std::uint8_t>(info.status);
        if (status >= status_count) return;
        std::uint64_t slot = find_slot(id, n);
        if (slot == no_slot) {
            if (n != 0 && id <= ids_.get(n - 1)) return; // out of order: corrupt
            slot = add_run(info, version);
        } else {
            if (status_of_[slot] == forgotten_mark) return; // (never: an erased run has no more records)
            change_status(slot, status, version);
        }
        if (info.ended) {
            const rep t = info.ended->time_since_epoch().count();
            if (t != ended_of_[slot]) {
                ended_of_[slot] = t;
                ended_slots_.reserve(1);
                ended_times_.reserve(1);
                if (ended_times_.size() != 0 && t < last_ended_) ends_sorted_.store(false, std::memory_order_release);
                ended_times_.push_back(t);
                ended_slots_.push_back(slot);
                last_ended_ = std::max(last_ended_, t);
            }
        } else {
            ended_of_[slot] = no_end;
        }
        for (const auto& [key, value] : info.metadata) {
            if (old_metadata) {
                const auto it = old_metadata->find(key);
                if (it != old_metadata->end() && it->second == value) continue;
            }
            list_for(metadata_, metadata_key(key, value)).add(slot);
        }
    }

    /// At open: run, recorded active, is interrupted (in memory before its record says so).
    void interrupt(std::uint64_t id, version_t version) {
        const std::uint64_t slot = find_slot(id, ids_.size());
        if (slot != no_slot) change_status(slot, static_cast<std::uint8_t>(run_status::interrupted), version);
    }

    /// The run index record of id was erased at version (db.erase_run).
    void forget(std::uint64_t id, version_t version) {
        const std::uint64_t slot = find_slot(id, ids_.size());
        if (slot == no_slot || status_of_[slot] == forgotten_mark) return;
        const std::uint8_t before = status_of_[slot];
        pending_.reserve(pending_.size() + 1);
        status_counts_[before].fetch_sub(1, std::memory_order_relaxed);
        status_of_[slot] = forgotten_mark;
        changed_[slot] = version;
        pending_.push_back({slot, before, version});
        ++forgotten_;
    }
    /// How many runs were forgotten (their slots stay until the next open).
    std::size_t forgotten() const noexcept { return forgotten_; }

    /// Whether bits are waiting to be cleared.
    bool collect_due() const noexcept { return !pending_.empty(); }

    /// Clears the status bits of states no reader can see any more (oldest: the oldest
    /// version a reader may read; latest_version at open).
    void collect(version_t oldest) noexcept {
        std::erase_if(pending_, [&](const pending_clear& p) {
            if (p.version > oldest) return false;
            if (status_of_[p.slot] != p.status && changed_[p.slot] <= oldest) status_bits_[p.status].clear(p.slot);
            return true;
        });
    }

    // ---- Readers (any thread, no lock but the dictionaries' shared one for a look-up)

    /// The number of runs indexed.
    std::size_t size() const noexcept { return ids_.size(); }
    std::uint64_t id_of(std::uint64_t slot) const noexcept { return ids_.get(slot); }
    /// The slot of id among the first n slots, or no_slot.
    std::uint64_t find_slot(std::uint64_t id, std::size_t n) const noexcept {
        const std::uint64_t s = lower_slot(id, n);
        return s < n && ids_.get(s) == id ? s : no_slot;
    }
    /// The first slot among the first n whose id is at least id (n when none).
    std::uint64_t lower_slot(std::uint64_t id, std::size_t n) const noexcept {
        std::size_t lo = 0, hi = n;
        // Dense ids: slot id-1 is the likely place (gaps only shift it down).
        if (id != 0 && id - 1 < n && ids_.get(id - 1) == id) return id - 1;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (ids_.get(mid) < id) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
    /// The first slot among the first n started at t or later (start times ascend with slots).
    std::uint64_t lower_started(rep t, std::size_t n) const noexcept {
        std::size_t lo = 0, hi = n;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (started_.get(mid) < t) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
    bool starts_sorted() const noexcept { return starts_sorted_.load(std::memory_order_acquire); }
    bool ends_sorted() const noexcept { return ends_sorted_.load(std::memory_order_acquire); }

    std::uint64_t parent_of(std::uint64_t slot) const noexcept { return parent_.get(slot) - 1; }
    std::uint64_t first_child(std::uint64_t slot) const noexcept { return first_child_.get(slot) - 1; }
    std::uint64_t last_child(std::uint64_t slot) const noexcept { return last_child_.get(slot) - 1; }
    std::uint64_t next_sibling(std::uint64_t slot) const noexcept { return next_sibling_.get(slot) - 1; }
    std::uint64_t prev_sibling(std::uint64_t slot) const noexcept { return prev_sibling_.get(slot) - 1; }
    std::size_t child_count(std::uint64_t slot) const noexcept { return static_cast<std::size_t>(children_.get(slot)); }

    const slot_bitmap& status_bits(run_status s) const noexcept { return status_bits_[static_cast<std::size_t>(s)]; }
    std::size_t status_count_of(run_status s) const noexcept {
        return status_counts_[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
    }

    /// The list of the runs with tag (nullptr: none). Stays valid as long as the index.
    const run_slot_list* tag(std::string_view tag) const { return find_list(tags_, tag); }
    /// The list of the runs that had key = value (nullptr: none).
    const run_slot_list* metadata(std::string_view key, std::string_view value) const {
        return find_list(metadata_, metadata_key(key, value));
    }
    /// The lists of the names that start with prefix.
    std::vector<const run_slot_list*> names(std::string_view prefix) const {
        std::vector<const run_slot_list*> out;
        std::shared_lock lock(dictionary_mutex_);
        for (auto it = names_.lower_bound(prefix); it != names_.end() && it->first.starts_with(prefix); ++it)
            out.push_back(it->second.get());
        return out;
    }
    /// The ended runs' slots and end times, in end order.
    const append_only_array<std::uint64_t>& ended_slots() const noexcept { return ended_slots_; }
    const append_only_array<rep>& ended_times() const noexcept { return ended_times_; }

private:
    static constexpr rep no_end = std::numeric_limits<rep>::min();
    static constexpr std::uint8_t forgotten_mark = 0xff; // the status of a slot forgotten
    struct pending_clear {
        std::uint64_t slot;
        std::uint8_t status;
        version_t version;
    };
    using dictionary = std::map<std::string, std::unique_ptr<run_slot_list>, std::less<>>;

    static std::string metadata_key(std::string_view key, std::string_view value) {
        std::string out = std::to_string(key.size());
        out += ':';
        out += key;
        out += value;
        return out;
    }

    const run_slot_list* find_list(const dictionary& d, std::string_view key) const {
        std::shared_lock lock(dictionary_mutex_);
        const auto it = d.find(key);
        return it == d.end() ? nullptr : it->second.get();
    }
    // The writer: the list of key, made when new (the only time readers are locked out).
    run_slot_list& list_for(dictionary& d, std::string_view key) {
        if (const auto it = d.find(key); it != d.end()) return *it->second;
        auto fresh = std::make_unique<run_slot_list>();
        run_slot_list& out = *fresh;
        std::unique_lock lock(dictionary_mutex_);
        d.emplace(std::string(key), std::move(fresh));
        return out;
    }

    std::uint64_t add_run(const run_info& info, version_t version) {
        const std::uint64_t slot = ids_.size();
        const auto status = static_cast<std::uint8_t>(info.status);
        for (auto& b : status_bits_) b.grow(slot + 1);
        status_of_.push_back(status);
        changed_.push_back(version);
        ended_of_.push_back(no_end);
        std::uint64_t parent = no_slot;
        if (info.parent) parent = find_slot(info.parent->value, slot);
        const rep started = info.started.time_since_epoch().count();
        // Every array first gets room, then the slot's fields, then the links that show it.
        for (auto* a : {&parent_, &first_child_, &last_child_, &next_sibling_, &prev_sibling_,
                        &children_, &ids_})
            a->reserve(1);
        started_.reserve(1);
        started_.push_back(started);
        parent_.push_back(parent + 1);
        first_child_.push_back(0);
        last_child_.push_back(0);
        next_sibling_.push_back(0);
        children_.push_back(0);
        if (parent != no_slot) {
            const std::uint64_t last = last_child(parent);
            prev_sibling_.push_back(last + 1);
            if (last == no_slot) first_child_.set(parent, slot + 1);
            else next_sibling_.set(last, slot + 1);
            last_child_.set(parent, slot + 1);
            children_.set(parent, children_.get(parent) + 1);
        } else {
            prev_sibling_.push_back(0);
        }
        if (slot != 0 && started < last_started_) starts_sorted_.store(false, std::memory_order_release);
        last_started_ = std::max(last_started_, started);
        status_bits_[status].set(slot);
        status_counts_[status].fetch_add(1, std::memory_order_relaxed);
        list_for(names_, info.name).add(slot);
        for (const std::string& t : info.tags) list_for(tags_, t).add(slot);
        ids_.push_back(info.id.value); // last: the slot exists for readers from here on
        return slot;
    }

    void change_status(std::uint64_t slot, std::uint8_t status, version_t version) {
        const std::uint8_t before = status_of_[slot];
        if (before == status) return;
        pending_.reserve(pending_.size() + 1);
        status_bits_[status].set(slot);
        status_counts_[status].fetch_add(1, std::memory_order_relaxed);
        status_counts_[before].fetch_sub(1, std::memory_order_relaxed);
        status_of_[slot] = status;
        changed_[slot] = version;
        pending_.push_back({slot, before, version}); // cleared once nobody sees it any more
    }

    // Per slot, readable.
    append_only_array<std::uint64_t> ids_;
    append_only_array<rep> started_;
    append_only_array<std::uint64_t> parent_, first_child_, last_child_, next_sibling_, prev_sibling_; // slot + 1
    append_only_array<std::uint64_t> children_;
    slot_bitmap status_bits_[status_count];
    std::atomic<std::size_t> status_counts_[status_count]{};
    append_only_array<std::uint64_t> ended_slots_;
    append_only_array<rep> ended_times_;
    std::atomic<bool> starts_sorted_{true}, ends_sorted_{true};
    mutable std::shared_mutex dictionary_mutex_; // for readers' look-ups against the writer's inserts
    dictionary tags_, names_, metadata_;
    // The writer's.
    std::vector<std::uint8_t> status_of_;
    std::vector<version_t> changed_; // the version of each slot's last status change
    std::vector<rep> ended_of_;      // the end time of each slot's last entry in the end list
    std::vector<pending_clear> pending_;
    std::size_t forgotten_ = 0;
    rep last_started_ = std::numeric_limits<rep>::min();
    rep last_ended_ = std::numeric_limits<rep>::min();
};

/// Candidate slots of a query, in slot order (ascending or descending), within [lo, hi).
class slot_source {
public:
    virtual ~slot_source() = default;
    /// The next candidate, or no_slot at the end.
    virtual std::uint64_t next() = 0;
};

/// Every slot in [lo, hi).
class range_source final : public slot_source {
public:
    range_source(std::uint64_t lo, std::uint64_t hi, bool desc) : lo_(lo), hi_(hi), desc_(desc) {}
    std::uint64_t next() override {
        if (lo_ >= hi_) return no_slot;
        return desc_ ? --hi_ : lo_++;
    }

private:
    std::uint64_t lo_, hi_;
    bool desc_;
};

/// The slots of a sorted array (a run_slot_list's or a vector) within [lo, hi).
template <class Array>
class array_source final : public slot_source {
public:
    array_source(const Array& a, std::size_t n, std::uint64_t lo, std::uint64_t hi, bool desc)
        : a_(a), desc_(desc), lo_(lo), hi_(hi) {
        begin_ = bound(n, lo);
        end_ = bound(n, hi);
    }
    std::uint64_t next() override {
        if (begin_ >= end_) return no_slot;
        return desc_ ? get(--end_) : get(begin_++);
    }

private:
    std::uint64_t get(std::size_t i) const noexcept {
        if constexpr (requires { a_.get(i); }) return a_.get(i);
        else return a_[i];
    }
    std::size_t bound(std::size_t n, std::uint64_t slot) const noexcept { // first index with a slot >= slot
        std::size_t lo = 0, hi = n;
        while (lo < hi) {
            const std::size_t mid = lo + (hi - lo) / 2;
            if (get(mid) < slot) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
    const Array& a_;
    bool desc_;
    std::uint64_t lo_, hi_;
    std::size_t begin_ = 0, end_ = 0;
};

/// The union of status bitmaps within [lo, hi).
class bitmap_source final : public slot_source {
public:
    bitmap_source(std::vector<const slot_bitmap*> maps, std::uint64_t lo, std::uint64_t hi, bool desc)
        : maps_(std::move(maps)), lo_(lo), hi_(hi), desc_(desc) {}
    std::uint64_t next() override {
        std::uint64_t best = no_slot;
        for (const slot_bitmap* m : maps_) {
            const std::uint64_t s = desc_ ? m->prev(lo_, hi_) : m->next(lo_, hi_);
            if (s != no_slot && (best == no_slot || (desc_ ? s > best : s < best))) best = s;
        }
        if (best == no_slot) lo_ = hi_;
        else if (desc_) hi_ = best;
        else lo_ = best + 1;
        return best;
    }

private:
    std::vector<const slot_bitmap*> maps_;
    std::uint64_t lo_, hi_;
    bool desc_;
};

/// The merge of sorted sources (the lists of the names with a prefix), without repeats.
class merge_source final : public slot_source {
public:
    merge_source(std::vector<std::unique_ptr<slot_source>> parts, bool desc) : parts_(std::move(parts)), desc_(desc) {
        for (std::size_t i = 0; i < parts_.size(); ++i) push(i);
    }
    std::uint64_t next() override {
        for (;;) {
            if (heap_.empty()) return no_slot;
            std::pop_heap(heap_.begin(), heap_.end(), order());
            const auto [slot, i] = heap_.back();
            heap_.pop_back();
            push(i);
            if (slot != last_) return last_ = slot;
        }
    }

private:
    struct heap_order {
        bool desc;
        bool operator()(const std::pair<std::uint64_t, std::size_t>& a,
                        const std::pair<std::uint64_t, std::size_t>& b) const noexcept {
            return desc ? a.first < b.first : a.first > b.first;
        }
    };
    heap_order order() const noexcept { return {desc_}; }
    void push(std::size_t i) {
        const std::uint64_t s = parts_[i]->next();
        if (s == no_slot) return;
        heap_.emplace_back(s, i);
        std::push_heap(heap_.begin(), heap_.end(), order());
    }
    std::vector<std::unique_ptr<slot_source>> parts_;
    std::vector<std::pair<std::uint64_t, std::size_t>> heap_;
    std::uint64_t last_ = no_slot;
    bool desc_;
};

/// The children of a run within [lo, hi), from its linked list (resumed at `after`, a child
/// of it, when given).
class children_source final : public slot_source {
public:
    children_source(const run_index& index, std::uint64_t parent, std::uint64_t after, std::uint64_t lo,
                    std::uint64_t hi, bool desc)
        : index_(index), lo_(lo), hi_(hi), desc_(desc) {
        if (after != no_slot && index.parent_of(after) == parent)
            at_ = desc ? index.prev_sibling(after) : index.next_sibling(after);
        else at_ = desc ? index.last_child(parent) : index.first_child(parent);
    }
    std::uint64_t next() override {
        while (at_ != no_slot) {
            const std::uint64_t s = at_;
            at_ = desc_ ? index_.prev_sibling(s) : index_.next_sibling(s);
            if (desc_ ? s < lo_ : s >= hi_) return at_ = no_slot;
            if (desc_ ? s < hi_ : s >= lo_) return s;
        }
        return no_slot;
    }

private:
    const run_index& index_;
    std::uint64_t lo_, hi_, at_ = no_slot;
    bool desc_;
};

/// Runs the query over the index: load(id) gives the run's record at the reader's snapshot
/// (nullopt when it has none there). Arguments are checked by the caller (the run registry).
/// Cost: O(log n) to bound the candidates, plus, per candidate of the most selective
/// indexed filter, one record read and check (a metadata list out of order, the runs ended
/// in a range and a lineage tree are sorted first: O(c log c)). Sorting by start time in a
/// file whose start times went back (written before they were clamped) reads every match.
template <class Load>
run_page query_runs(const run_index& index, const run_query& q, Load&& load) {
    using clock = std::chrono::system_clock;
    run_page page;
    const std::size_t n = index.size();
    const bool desc = q.descending;
    const bool slow = q.order == run_order::by_start && !index.starts_sorted();
    std::uint64_t lo = 0, hi = n;
    std::uint64_t cursor_slot = no_slot;
    if (q.after && !slow) {
        cursor_slot = index.find_slot(q.after->last.value, n);
        if (desc) hi = index.lower_slot(q.after->last.value, n);
        else lo = index.lower_slot(q.after->last.value + 1, n);
    }
    if (!slow && index.starts_sorted()) {
        if (q.started.from) lo = std::max<std::uint64_t>(lo, index.lower_started(q.started.from->time_since_epoch().count(), n));
        if (q.started.until) hi = std::min<std::uint64_t>(hi, index.lower_started(q.started.until->time_since_epoch().count(), n));
    }
    if (slow) lo = 0, hi = n;
    std::uint64_t parent_slot = no_slot, root_slot = no_slot;
    if (q.parent && (parent_slot = index.find_slot(q.parent->value, n)) == no_slot) return page;
    if (q.descendant_of && (root_slot = index.find_slot(q.descendant_of->value, n)) == no_slot) return page;
    if (root_slot != no_slot) lo = std::max(lo, root_slot + 1); // descendants come after their root

    // The candidates: the indexed filter with the fewest.
    std::size_t best = hi > lo ? hi - lo : 0;
    std::unique_ptr<slot_source> source; // null: the range [lo, hi)
    std::vector<std::uint64_t> owned;    // a materialised candidate list
    bool use_owned = false;
    bool descendants_are_source = false;
    auto consider = [&](std::size_t estimate) { return estimate < best ? (best = estimate, true) : false; };
    if (!q.statuses.empty()) {
        std::size_t count = 0;
        std::vector<const slot_bitmap*> maps;
        for (run_status s : q.statuses)
            if (std::find(maps.begin(), maps.end(), &index.status_bits(s)) == maps.end())
                maps.push_back(&index.status_bits(s)), count += index.status_count_of(s);
        if (consider(count)) {
            source = std::make_unique<bitmap_source>(std::move(maps), lo, hi, desc);
            use_owned = false;
        }
    }
    for (const std::string& t : q.tags) {
        const run_slot_list* list = index.tag(t);
        if (!list) return page;
        const std::size_t size = list->slots.size();
        if (consider(size)) {
            source = std::make_unique<array_source<append_only_array<std::uint64_t>>>(list->slots, size, lo, hi, desc);
            use_owned = false;
        }
    }
    for (const auto& [key, value] : q.metadata) {
        const run_slot_list* list = index.metadata(key, value);
        if (!list) return page;
        const std::size_t size = list->slots.size(); // before `sorted`: see run_slot_list::add
        if (!consider(size)) continue;
        if (list->sorted.load(std::memory_order_acquire)) {
            source = std::make_unique<array_source<append_only_array<std::uint64_t>>>(list->slots, size, lo, hi, desc);
            use_owned = false;
        } else {
            owned.clear();
            for (std::size_t i = 0; i < size; ++i) owned.push_back(list->slots.get(i));
            std::sort(owned.begin(), owned.end());
            owned.erase(std::unique(owned.begin(), owned.end()), owned.end());
            source.reset();
            use_owned = true;
        }
    }
    if (!q.name_prefix.empty()) {
        const std::vector<const run_slot_list*> lists = index.names(q.name_prefix);
        if (lists.empty()) return page;
        std::size_t size = 0;
        for (const run_slot_list* l : lists) size += l->slots.size();
        if (consider(size)) {
            std::vector<std::unique_ptr<slot_source>> parts;
            for (const run_slot_list* l : lists)
                parts.push_back(std::make_unique<array_source<append_only_array<std::uint64_t>>>(
                    l->slots, l->slots.size(), lo, hi, desc));
            source = parts.size() == 1 ? std::move(parts.front()) : std::make_unique<merge_source>(std::move(parts), desc);
            use_owned = false;
        }
    }
    if (parent_slot != no_slot && consider(index.child_count(parent_slot))) {
        source = std::make_unique<children_source>(index, parent_slot, cursor_slot, lo, hi, desc);
        use_owned = false;
    }
    if (q.ended.from || q.ended.until) {
        const auto& times = index.ended_times();
        const auto& slots = index.ended_slots();
        std::size_t m = std::min(times.size(), slots.size()), a = 0, b = m;
        if (index.ends_sorted()) {
            auto bound = [&](clock::time_point t) {
                std::size_t l = 0, h = m;
                while (l < h) {
                    const std::size_t mid = l + (h - l) / 2;
                    if (times.get(mid) < t.time_since_epoch().count()) l = mid + 1;
                    else h = mid;
                }
                return l;
            };
            if (q.ended.from) a = bound(*q.ended.from);
            if (q.ended.until) b = std::max(a, bound(*q.ended.until));
        }
        if (consider(b - a)) {
            owned.clear();
            for (std::size_t i = a; i < b; ++i)
                if (const std::uint64_t s = slots.get(i); s >= lo && s < hi) owned.push_back(s);
            std::sort(owned.begin(), owned.end());
            owned.erase(std::unique(owned.begin(), owned.end()), owned.end());
            source.reset();
            use_owned = true;
        }
    }
    if (root_slot != no_slot) {
        // The lineage tree, walked while it stays smaller than the best candidates so far.
        std::vector<std::uint64_t> tree, stack{root_slot};
        bool complete = true;
        while (!stack.empty()) {
            const std::uint64_t s = stack.back();
            stack.pop_back();
            for (std::uint64_t c = index.first_child(s); c != no_slot && c < n; c = index.next_sibling(c)) {
                if (tree.size() >= best) {
                    complete = false;
                    break;
                }
                if (c >= lo && c < hi) tree.push_back(c);
                stack.push_back(c);
            }
            if (!complete) break;
        }
        if (complete) {
            std::sort(tree.begin(), tree.end());
            best = tree.size();
            owned = std::move(tree);
            source.reset();
            use_owned = true;
            descendants_are_source = true;
        }
    }
    if (use_owned) source = std::make_unique<array_source<std::vector<std::uint64_t>>>(owned, owned.size(), lo, hi, desc);
    if (!source) source = std::make_unique<range_source>(lo, hi, desc);

    auto in_tree = [&](std::uint64_t slot) {
        for (std::uint64_t p = index.parent_of(slot); p != no_slot && p >= root_slot; p = index.parent_of(p))
            if (p == root_slot) return true;
        return false;
    };
    auto matches = [&](const run_info& info) {
        if (!q.statuses.empty() && std::find(q.statuses.begin(), q.statuses.end(), info.status) == q.statuses.end())
            return false;
        for (const std::string& t : q.tags)
            if (std::find(info.tags.begin(), info.tags.end(), t) == info.tags.end()) return false;
        if (!info.name.starts_with(q.name_prefix)) return false;
        if (q.parent && info.parent != q.parent) return false;
        if (!q.started.contains(info.started)) return false;
        if ((q.ended.from || q.ended.until) && (!info.ended || !q.ended.contains(*info.ended))) return false;
        for (const auto& [key, value] : q.metadata) {
            const auto it = info.metadata.find(key);
            if (it == info.metadata.end() || it->second != value) return false;
        }
        return true;
    };
    auto cursor_of = [&](const run_info& info) {
        return run_cursor{.last = info.id, .started = info.started, .order = q.order, .descending = desc};
    };
    std::vector<const slot_bitmap*> status_maps;
    for (run_status st : q.statuses) status_maps.push_back(&index.status_bits(st));
    // The sorted lists of the tags and metadata values asked for: a candidate missing from
    // one is dropped by a binary search, before its record is read.
    std::vector<std::pair<const run_slot_list*, std::size_t>> lists;
    auto add_list = [&](const run_slot_list* l) {
        const std::size_t size = l->slots.size();
        if (l->sorted.load(std::memory_order_acquire)) lists.emplace_back(l, size);
    };
    for (const std::string& t : q.tags) add_list(index.tag(t));
    for (const auto& [key, value] : q.metadata) add_list(index.metadata(key, value));
    auto listed = [](const run_slot_list& l, std::size_t size, std::uint64_t slot) {
        std::size_t a = 0, b = size;
        while (a < b) {
            const std::size_t mid = a + (b - a) / 2;
            if (l.slots.get(mid) < slot) a = mid + 1;
            else b = mid;
        }
        return a < size && l.slots.get(a) == slot;
    };
    const std::size_t limit = slow || q.limit == 0 ? std::numeric_limits<std::size_t>::max() : q.limit;
    for (std::uint64_t slot = source->next(); slot != no_slot; slot = source->next()) {
        if (slot < lo || slot >= hi) continue;
        // What the index can tell without the record (a superset of the truth, as above).
        if (!status_maps.empty() &&
            std::none_of(status_maps.begin(), status_maps.end(), [&](const slot_bitmap* m) { return m->test(slot); }))
            continue;
        if (parent_slot != no_slot && index.parent_of(slot) != parent_slot) continue;
        if (!std::all_of(lists.begin(), lists.end(), [&](const auto& l) { return listed(*l.first, l.second, slot); }))
            continue;
        if (root_slot != no_slot && !descendants_are_source && !in_tree(slot)) continue;
        std::optional<run_info> info = load(index.id_of(slot));
        if (!info || !matches(*info)) continue;
        if (page.runs.size() == limit) { // one more matches: there is a next page
            page.next = cursor_of(page.runs.back());
            break;
        }
        page.runs.push_back(std::move(*info));
    }
    if (slow) { // start times out of id order: sort every match, then page
        auto before = [desc](const run_info& a, const run_info& b) {
            const auto ka = std::pair(a.started, a.id), kb = std::pair(b.started, b.id);
            return desc ? kb < ka : ka < kb;
        };
        std::sort(page.runs.begin(), page.runs.end(), before);
        if (q.after) {
            const run_info mark{.id = q.after->last, .started = q.after->started};
            page.runs.erase(page.runs.begin(), std::upper_bound(page.runs.begin(), page.runs.end(), mark, before));
        }
        if (q.limit != 0 && page.runs.size() > q.limit) {
            page.runs.resize(q.limit);
            page.next = cursor_of(page.runs.back());
        }
    }
    return page;
}

} // namespace inmem::detail
