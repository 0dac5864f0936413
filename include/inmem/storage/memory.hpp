// inmem/storage/memory.hpp: the in-memory storage backend, multi-version.
//
// Every key has a chain of versions, newest first; a reader at snapshot version S sees, per
// key, the newest version at or before S. Writers (one at a time: the engine serialises
// them) add versions at the head of chains; readers walk chains with no lock at all.
//
// Two indexes over the keys, both readable while a writer changes them:
//  - hash_index (storage/hash_index.hpp), for every point operation: O(1) whatever the size;
//  - per group of keys that are listed together (one run's data, the run index, one slot of
//    shared records; see group_prefix_size), a sorted array plus a short append-only tail
//    of newer keys. A scan sorts a copy of the tail and merges; once the tail is full, the
//    writer merges it into a new sorted array and publishes that. Keys that come in order
//    (a run's events, keys written in order) are not sorted by scans, and the writer
//    appends them to the array instead of merging.
// Nothing a reader may hold is freed at once: a superseded version, a replaced hash table or
// a replaced group array is retired with the version of the commit that replaced it, and
// collect(oldest) frees it once no reader's snapshot is older than that version.
//
// Erased keys keep their key and a tombstone version; the values and older versions go.
#pragma once

#include <inmem/storage/hash_index.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace inmem::detail {

/// One version of a key: the record (version and bytes) or, for an erasure, a tombstone.
struct version_node {
    stored_record record;
    bool erased = false;
    std::atomic<version_node*> older{nullptr};
};

/// A key and its versions. The key never changes once the node is published.
struct key_node {
    std::size_t hash = 0;
    std::string key;
    std::atomic<version_node*> head{nullptr};
};

class memory_backend {
    // Keys that a scan lists together, in key order as of the last merge, then the newer ones.
    struct group_view {
        std::vector<key_node*> sorted;
        std::size_t capacity = 0;
        std::unique_ptr<std::atomic<key_node*>[]> tail;
        std::atomic<std::size_t> tail_size{0};
        // Whether the tail came in key order, each key after the one before it and the first
        // after the sorted keys (a run's events, keys written in order): then nothing sorts
        // it, and a merge appends it. Cleared (for good) before an entry out of order is
        // published, so a reader that sees an entry sees the flag as it was for it.
        std::atomic<bool> in_order{true};

        explicit group_view(std::vector<key_node*> s)
            : sorted(std::move(s)), capacity(std::max<std::size_t>(16, sorted.size() / 8)),
              tail(new std::atomic<key_node*>[capacity]) {}
    };
    struct group_node {
        std::size_t hash = 0;
        std::string key;
        std::atomic<group_view*> view{nullptr};
    };
public:
    /// Something a reader may still hold: freed once no snapshot is older than `after`.
    struct retired {
        version_t after;
        void* object;
        void (*destroy)(void*);
        version_node* newer = nullptr; // a superseded version: the version whose `older` it is
    };

    memory_backend() = default;
    memory_backend(const memory_backend&) = delete;
    memory_backend& operator=(const memory_backend&) = delete;
    ~memory_backend() {
        collect(latest_version);
        keys_.for_each([](key_node* k) {
            for (version_node* v = k->head.load(std::memory_order_relaxed); v;) {
                version_node* older = v->older.load(std::memory_order_relaxed);
                delete v;
                v = older;
            }
            delete k;
        });
        groups_.for_each([](group_node* g) {
            delete g->view.load(std::memory_order_relaxed);
            delete g;
        });
        for (version_node* v : pool_) delete v;
    }

    // ---- Readers: any thread, with a snapshot pinned (concurrency/snapshots.hpp).

    /// The record of key visible at snapshot at, or nullptr (absent or erased at at).
    const stored_record* find(std::string_view key, version_t at = latest_version) const noexcept {
        const key_node* k = keys_.find(key, hash_of(key));
        if (!k) return nullptr;
        const version_node* v = visible(*k, at);
        return v ? &v->record : nullptr;
    }

    /// Calls f(key, record) for every key that starts with prefix, comes after `after` (all
    /// of them when after is empty) and is visible at at, in key order. f may return bool:
    /// false stops the scan. Costs O(log n) to find the start, plus the keys visited, plus
    /// the group's tail of keys added since its last merge (at most an eighth of it).
    template <class F>
    void scan_prefix(std::string_view prefix, version_t at, F&& f, std::string_view after = {}) const {
        const std::size_t group_size = group_prefix_size(prefix);
        if (prefix.size() >= group_size) { // within one group
            const std::string_view group_key = prefix.substr(0, group_size);
            if (const group_node* g = groups_.find(group_key, hash_of(group_key))) scan_group(*g, prefix, after, at, f);
            return;
        }
        std::vector<const group_node*> groups; // a prefix of a group prefix spans groups
        groups_.for_each([&](const group_node* g) {
            const std::string_view key = g->key;
            // Every key of a group starts with its key: a group before `after` holds nothing after it.
            if (key.starts_with(prefix) && (after.empty() || key >= after.substr(0, key.size())))
                groups.push_back(g);
        });
        std::sort(groups.begin(), groups.end(), [](const group_node* a, const group_node* b) { return a->key < b->key; });
        for (const group_node* g : groups)
            if (!scan_group(*g, prefix, after, at, f)) return;
    }
    template <class F>
    void scan_prefix(std::string_view prefix, F&& f) const {
        scan_prefix(prefix, latest_version, std::forward<F>(f));
    }

    /// Calls f(key, record) for every key visible at at, in no particular order.
    template <class F>
    void for_each(version_t at, F&& f) const {
        keys_.for_each([&](const key_node* k) {
            if (const version_node* v = visible(*k, at)) f(std::string_view(k->key), std::as_const(v->record));
        });
    }

    // ---- The writer: one thread at a time, and readers may run meanwhile.

    /// The newest version of key, tombstones included (nullptr when key was never written).
    const version_node* head(std::string_view key) const noexcept {
        const key_node* k = keys_.find(key, hash_of(key));
        return k ? k->head.load(std::memory_order_relaxed) : nullptr;
    }

    /// The version of the last commit that wrote or erased key; 0 when none did.
    version_t latest(std::string_view key) const noexcept {
        const version_node* v = head(key);
        return v ? v->record.version : 0;
    }

    /// Adds bytes as key's version `version`, newer than every version before it.
    void put(std::string&& key, std::string&& bytes, version_t version) {
        version_node* v = make_version(version, std::move(bytes), false);
        const std::size_t h = hash_of(key);
        if (key_node* k = keys_.find(key, h)) {
            push(*k, v);
            return;
        }
        auto* k = new key_node{h, std::move(key), {}};
        k->head.store(v, std::memory_order_relaxed);
        live_.fetch_add(1, std::memory_order_relaxed);
        retire_table(keys_.insert(k), version);
        add_to_group(k, version);
    }

    /// Adds a tombstone to key at version; false (and nothing changes) when key is absent.
    bool erase(std::string_view key, version_t version) {
        key_node* k = keys_.find(key, hash_of(key));
        if (!k || k->head.load(std::memory_order_relaxed)->erased) return false;
        push(*k, make_version(version, {}, true));
        return true;
    }

    /// Frees what no snapshot at or after oldest can reach.
    void collect(version_t oldest) {
        std::vector<retired> out;
        collect(oldest, out);
        release(out);
    }

    /// Detaches what no snapshot at or after oldest can reach and appends it to out, for
    /// release() once the writer has let go of its lock (freeing is the slow part).
    void collect(version_t oldest, std::vector<retired>& out) {
        while (!retired_.empty() && retired_.front().after <= oldest) {
            const retired& r = retired_.front();
            if (r.newer) { // a version: unlink it, and keep it for reuse if the pool has room
                r.newer->older.store(nullptr, std::memory_order_relaxed);
                auto* v = static_cast<version_node*>(r.object);
                if (pool_.size() < pool_limit && v->record.bytes.capacity() <= pooled_bytes_limit) {
                    pool_.push_back(v);
                    retired_.pop_front();
                    continue;
                }
            }
            out.push_back(r);
            retired_.pop_front();
        }
    }

    /// Frees what collect() detached. Any thread, no lock needed.
    static void release(std::vector<retired>& items) noexcept {
        for (const retired& r : items) r.destroy(r.object);
        items.clear();
    }

    /// How many retired objects wait for collect().
    std::size_t garbage() const noexcept { return retired_.size(); }

    /// Number of keys with a live (not erased) latest version.
    std::size_t size() const noexcept { return live_.load(std::memory_order_relaxed); }

private:
    static std::size_t hash_of(std::string_view s) noexcept { return string_hash{}(s); }

    // A version node from the pool (its bytes' buffer reused: the caller's buffer is freed by
    // the caller's thread, not by whichever writer collects) or a new one.
    version_node* make_version(version_t version, std::string&& bytes, bool erased) {
        if (pool_.empty()) return new version_node{stored_record{version, std::move(bytes)}, erased, {}};
        version_node* v = pool_.back();
        if (bytes.size() <= v->record.bytes.capacity()) v->record.bytes.assign(bytes);
        else v->record.bytes = std::move(bytes);
        pool_.pop_back();
        v->record.version = version;
        v->erased = erased;
        v->older.store(nullptr, std::memory_order_relaxed);
        return v;
    }

    static const version_node* visible(const key_node& k, version_t at) noexcept {
        const version_node* v = k.head.load(std::memory_order_acquire);
        while (v && v->record.version > at) v = v->older.load(std::memory_order_acquire);
        return v && !v->erased ? v : nullptr;
    }

    // Makes v the newest version of k; the one it supersedes is retired.
    void push(key_node& k, version_node* v) {
        version_node* old = k.head.load(std::memory_order_relaxed);
        v->older.store(old, std::memory_order_relaxed);
        if (old->erased && !v->erased) live_.fetch_add(1, std::memory_order_relaxed);
        else if (!old->erased && v->erased) live_.fetch_sub(1, std::memory_order_relaxed);
        k.head.store(v, std::memory_order_release);
        // Readers at or after v's version stop at v; older ones may still walk into old.
        retired_.push_back({v->record.version, old, [](void* object) { delete static_cast<version_node*>(object); }, v});
    }

    template <class Table>
    void retire_table(Table* old, version_t version) {
        if (old) retired_.push_back({version, old, [](void* t) { delete static_cast<Table*>(t); }});
    }

    void add_to_group(key_node* k, version_t version) {
        const std::string_view group_key = std::string_view(k->key).substr(0, std::min(k->key.size(), group_prefix_size(k->key)));
        const std::size_t h = hash_of(group_key);
        group_node* g = groups_.find(group_key, h);
        if (!g) {
            g = new group_node{h, std::string(group_key), {}};
            g->view.store(new group_view({}), std::memory_order_relaxed);
            retire_table(groups_.insert(g), version);
        }
        group_view* view = g->view.load(std::memory_order_relaxed);
        const std::size_t n = view->tail_size.load(std::memory_order_relaxed);
        const key_node* last = n ? view->tail[n - 1].load(std::memory_order_relaxed)
                                 : (view->sorted.empty() ? nullptr : view->sorted.back());
        const bool in_order = view->in_order.load(std::memory_order_relaxed) && (!last || last->key < k->key);
        if (n < view->capacity) {
            if (!in_order) view->in_order.store(false, std::memory_order_relaxed);
            view->tail[n].store(k, std::memory_order_relaxed);
            view->tail_size.store(n + 1, std::memory_order_release);
            return;
        }
        // Merged into place (no back_inserter: a push_back per key that the inliner may or
        // may not flatten made put (new key) 15% slower in one build and not in another).
        std::vector<key_node*> merged(view->sorted.size() + n + 1);
        if (in_order) { // every new key after the sorted ones, in order: appended as they are
            std::copy(view->sorted.begin(), view->sorted.end(), merged.begin());
            for (std::size_t i = 0; i < n; ++i) merged[view->sorted.size() + i] = view->tail[i].load(std::memory_order_relaxed);
            merged.back() = k;
        } else {
            std::vector<key_node*> tail = sorted_tail(*view, n, {});
            tail.push_back(k);
            std::sort(tail.begin(), tail.end(), key_less);
            std::merge(view->sorted.begin(), view->sorted.end(), tail.begin(), tail.end(), merged.begin(), key_less);
        }
        g->view.store(new group_view(std::move(merged)), std::memory_order_release);
        retired_.push_back({version, view, [](void* v) { delete static_cast<group_view*>(v); }});
    }

    static bool key_less(const key_node* a, const key_node* b) noexcept { return a->key < b->key; }

    // The first n tail entries of view that start with prefix and come after `after`, sorted.
    static std::vector<key_node*> sorted_tail(const group_view& view, std::size_t n, std::string_view prefix,
                                              std::string_view after = {}, bool in_order = false) {
        std::vector<key_node*> tail;
        tail.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            key_node* k = view.tail[i].load(std::memory_order_relaxed);
            if (std::string_view(k->key).starts_with(prefix) && (after.empty() || std::string_view(k->key) > after))
                tail.push_back(k);
        }
        if (!in_order) std::sort(tail.begin(), tail.end(), key_less);
        return tail;
    }

    // f(key, record), returning void or bool (false: stop). Returns whether to go on.
    template <class F>
    static bool call(F& f, const key_node& k, const version_node& v) {
        if constexpr (std::is_void_v<decltype(f(std::string_view(k.key), std::as_const(v.record)))>) {
            f(std::string_view(k.key), std::as_const(v.record));
            return true;
        } else {
            return static_cast<bool>(f(std::string_view(k.key), std::as_const(v.record)));
        }
    }

    template <class F>
    static bool scan_group(const group_node& g, std::string_view prefix, std::string_view after, version_t at, F& f) {
        const group_view* view = g.view.load(std::memory_order_acquire);
        const std::size_t n = view->tail_size.load(std::memory_order_acquire);
        const bool in_order = view->in_order.load(std::memory_order_relaxed); // as it was for the first n
        const std::vector<key_node*> tail = sorted_tail(*view, n, prefix, after, in_order);
        auto it = !after.empty() && after >= prefix // after is exclusive, also when it is the prefix itself
                      ? std::upper_bound(view->sorted.begin(), view->sorted.end(), after,
                                         [](std::string_view a, const key_node* k) { return a < std::string_view(k->key); })
                      : std::lower_bound(view->sorted.begin(), view->sorted.end(), prefix,
                                         [](const key_node* k, std::string_view p) { return std::string_view(k->key) < p; });
        // The keys under prefix are contiguous from `it`: where they end, found once.
        const auto last = std::partition_point(it, view->sorted.end(), [&](const key_node* k) {
            return std::string_view(k->key).starts_with(prefix);
        });
        auto t = tail.begin();
        for (;;) {
            const bool more_sorted = it != last;
            if (!more_sorted && t == tail.end()) return true;
            const key_node* k = !more_sorted || (t != tail.end() && (*t)->key < (*it)->key) ? *t++ : *it++;
            if (const version_node* v = visible(*k, at))
                if (!call(f, *k, *v)) return false;
        }
    }

    hash_index<key_node> keys_;
    hash_index<group_node> groups_;
    std::deque<retired> retired_;
    std::vector<version_node*> pool_; // freed versions kept for reuse (the writer's)
    static constexpr std::size_t pool_limit = 4096;
    static constexpr std::size_t pooled_bytes_limit = 4096;
    std::atomic<std::size_t> live_{0}; // written by the writer, read by anyone
};

} // namespace inmem::detail

namespace inmem::storage {

/// Keeps every record in RAM (the default storage policy): O(1) point reads and writes,
/// ordered scans of a run's records, several versions per key for concurrent readers.
struct memory {
    using policy_kind = storage_kind;
    using backend = detail::memory_backend;
};

} // namespace inmem::storage
