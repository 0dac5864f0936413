// inmem/storage/memory.hpp: the in-memory storage backend.
//
// Two indexes over one set of records:
//  - a hash index (node-based, so records never move) for every point operation: find,
//    put and erase cost O(1) whatever the size of the store;
//  - an ordered index per group of records that are listed together (one run's data, the
//    run index; see group_prefix_size): a vector of pointers to the records, sorted lazily
//    the first time it is scanned after an insert. Agents write and read far more than they
//    list, so keeping order is deferred to the scan and paid once per batch of inserts.
// Erased records stay as tombstones until the group is compacted by a later writer, so a
// concurrent scan (under a shared lock) never meets a freed record.
#pragma once

#include <inmem/policy.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_map.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem::detail {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return boost::hash<std::string_view>{}(s); }
};
struct string_equal {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

class memory_backend {
    struct slot {
        stored_record record;
        bool erased = false;
    };
    using record_map = boost::unordered_map<std::string, slot, string_hash, string_equal>;
    using entry = record_map::value_type; // its address is stable until the record is erased

    struct group {
        std::vector<entry*> entries; // [0, sorted) in key order, the rest in insertion order
        std::size_t sorted = 0;
        std::size_t erased = 0; // tombstones among entries
        std::mutex sort_mutex;  // scans sort under a shared lock, so they serialize here
    };

public:
    memory_backend() = default;
    memory_backend(const memory_backend&) = delete;
    memory_backend& operator=(const memory_backend&) = delete;

    const stored_record* find(std::string_view key) const {
        auto it = records_.find(key);
        return it == records_.end() || it->second.erased ? nullptr : &it->second.record;
    }

    void put(std::string&& key, std::string&& bytes, version_t version) {
        auto it = records_.find(std::string_view(key));
        if (it != records_.end()) {
            if (it->second.erased) {
                it->second.erased = false;
                --group_of(it->first).erased;
                --erased_;
            }
            it->second.record = stored_record{version, std::move(bytes)};
            return;
        }
        auto& g = group_of(key);
        auto inserted = records_.emplace(std::move(key), slot{stored_record{version, std::move(bytes)}, false}).first;
        g.entries.push_back(&*inserted);
    }

    bool erase(std::string_view key) {
        auto it = records_.find(key);
        if (it == records_.end() || it->second.erased) return false;
        it->second.erased = true;
        it->second.record.bytes = std::string();
        ++erased_;
        auto& g = group_of(it->first);
        if (++g.erased > 32 && g.erased * 2 > g.entries.size()) compact(g);
        return true;
    }

    /// Calls f(key, record) for every key that starts with prefix, in key order.
    template <class F>
    void scan_prefix(std::string_view prefix, F&& f) const {
        const std::size_t group_size = group_prefix_size(prefix);
        if (prefix.size() >= group_size) { // within one group
            auto it = groups_.find(prefix.substr(0, group_size));
            if (it != groups_.end()) scan_group(it->second, prefix, f);
            return;
        }
        for (auto it = groups_.lower_bound(prefix); it != groups_.end() && it->first.starts_with(prefix); ++it)
            scan_group(it->second, prefix, f);
    }

    /// Calls f(key, record) for every record, in no particular order.
    template <class F>
    void for_each(F&& f) const {
        for (const auto& [key, slot] : records_)
            if (!slot.erased) f(std::string_view(key), slot.record);
    }

    /// Number of records (tombstones excluded).
    std::size_t size() const noexcept { return records_.size() - erased_; }

private:
    group& group_of(std::string_view key) {
        auto prefix = key.substr(0, std::min(key.size(), group_prefix_size(key)));
        auto it = groups_.find(prefix);
        if (it == groups_.end()) it = groups_.try_emplace(std::string(prefix)).first;
        return it->second;
    }

    static bool entry_less(const entry* a, const entry* b) noexcept { return a->first < b->first; }

    template <class F>
    static void scan_group(group& g, std::string_view prefix, F& f) {
        std::lock_guard lock(g.sort_mutex);
        if (g.sorted < g.entries.size()) {
            auto middle = g.entries.begin() + static_cast<std::ptrdiff_t>(g.sorted);
            std::sort(middle, g.entries.end(), entry_less);
            std::inplace_merge(g.entries.begin(), middle, g.entries.end(), entry_less);
            g.sorted = g.entries.size();
        }
        auto it = std::lower_bound(g.entries.begin(), g.entries.end(), prefix,
                                   [](const entry* e, std::string_view p) { return std::string_view(e->first) < p; });
        for (; it != g.entries.end() && std::string_view((*it)->first).starts_with(prefix); ++it)
            if (!(*it)->second.erased) f(std::string_view((*it)->first), std::as_const((*it)->second.record));
    }

    // Drops the group's tombstones; called by writers, who hold the store exclusively.
    void compact(group& g) {
        std::vector<entry*> live;
        live.reserve(g.entries.size() - g.erased);
        std::size_t sorted_live = 0;
        for (std::size_t i = 0; i < g.entries.size(); ++i) {
            entry* e = g.entries[i];
            if (e->second.erased) {
                records_.erase(records_.find(std::string_view(e->first)));
                --erased_;
            } else {
                live.push_back(e);
                if (i < g.sorted) ++sorted_live;
            }
        }
        g.entries = std::move(live);
        g.sorted = sorted_live;
        g.erased = 0;
    }

    record_map records_;
    // Scans sort groups under a shared lock: the groups themselves are mutable there.
    mutable std::map<std::string, group, std::less<>> groups_;
    std::size_t erased_ = 0;
};

} // namespace inmem::detail

namespace inmem::storage {

/// Keeps every record in RAM (the default storage policy): O(1) point reads and writes,
/// ordered scans of a run's records.
struct memory {
    using policy_kind = storage_kind;
    using backend = detail::memory_backend;
};

} // namespace inmem::storage
