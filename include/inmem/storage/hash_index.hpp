// inmem/storage/hash_index.hpp: a hash index that readers search while one writer inserts.
//
// Open addressing with linear probing over an array of atomic words, each a pointer to a node
// with the top 16 bits of the node's hash in the pointer's unused top 16 bits (x86-64 and
// AArch64 user addresses fit in 48 bits), so a probe skips a slot of another key without
// touching its node: one cache miss per lookup, not one per probe. A node has a `hash` and a
// `key` that never change once it is inserted. Readers load the array and probe with acquire
// loads: no lock, no retry. The one writer fills an empty slot with a
// release store. When the array is half full the writer builds one twice as large, publishes
// it, and hands the old array back to the caller to retire (free once no reader can hold it:
// see memory_backend). Nodes are never removed; their owner frees them.
#pragma once

#include <boost/container_hash/hash.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

namespace inmem::detail {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return boost::hash<std::string_view>{}(s); }
};

template <class Node>
class hash_index {
public:
    /// A slot array; what insert() returns when it replaced one.
    struct table {
        explicit table(std::size_t size) : mask(size - 1), slots(new std::atomic<std::uintptr_t>[size]) {
            for (std::size_t i = 0; i < size; ++i) slots[i].store(0, std::memory_order_relaxed);
        }
        ~table() { delete[] slots; }
        table(const table&) = delete;
        table& operator=(const table&) = delete;

        std::size_t mask;
        std::atomic<std::uintptr_t>* slots; // 0, or tag << 48 | node address
    };

    hash_index() : table_(new table(64)) {}
    hash_index(const hash_index&) = delete;
    hash_index& operator=(const hash_index&) = delete;
    ~hash_index() { delete table_.load(std::memory_order_relaxed); }

    /// The node with key (whose hash is hash), or nullptr. Any thread.
    Node* find(std::string_view key, std::size_t hash) const noexcept {
        const table* t = table_.load(std::memory_order_acquire);
        const std::uintptr_t tag = tag_of(hash);
        for (std::size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
            const std::uintptr_t word = t->slots[i].load(std::memory_order_acquire);
            if (!word) return nullptr;
            if ((word & tag_mask) != tag) continue; // another key: no need to look at its node
            Node* n = node_of(word);
            if (n->hash == hash && n->key == key) return n;
        }
    }

    /// Inserts n, whose key is not in the index. The writer only. Returns the replaced
    /// array when the index grew (the caller retires it), else nullptr.
    table* insert(Node* n) {
        if (reinterpret_cast<std::uintptr_t>(n) & tag_mask) // never on Linux unless mmap is asked for more
            throw std::runtime_error("inmem: a node was allocated above 2^48, where hash_index keeps tags");
        table* t = table_.load(std::memory_order_relaxed);
        table* old = nullptr;
        if ((count_ + 1) * 2 > t->mask + 1) {
            auto* bigger = new table((t->mask + 1) * 2);
            for (std::size_t i = 0; i <= t->mask; ++i)
                if (const std::uintptr_t word = t->slots[i].load(std::memory_order_relaxed)) place(*bigger, node_of(word));
            table_.store(bigger, std::memory_order_release);
            old = t;
            t = bigger;
        }
        place(*t, n);
        ++count_;
        return old;
    }

    /// Calls f(Node*) for every node. Any thread: nodes inserted meanwhile may be missed.
    template <class F>
    void for_each(F&& f) const {
        const table* t = table_.load(std::memory_order_acquire);
        for (std::size_t i = 0; i <= t->mask; ++i)
            if (const std::uintptr_t word = t->slots[i].load(std::memory_order_acquire)) f(node_of(word));
    }

    /// Number of nodes. The writer only: a plain count, which readers must not read.
    std::size_t size() const noexcept { return count_; }

private:
    static constexpr std::uintptr_t tag_mask = sizeof(std::uintptr_t) == 8 ? ~((std::uintptr_t{1} << 48) - 1) : 0;

    static std::uintptr_t tag_of(std::size_t hash) noexcept { return static_cast<std::uintptr_t>(hash) & tag_mask; }
    static Node* node_of(std::uintptr_t word) noexcept { return reinterpret_cast<Node*>(word & ~tag_mask); }

    static void place(table& t, Node* n) noexcept {
        std::size_t i = n->hash & t.mask;
        while (t.slots[i].load(std::memory_order_relaxed)) i = (i + 1) & t.mask;
        t.slots[i].store(reinterpret_cast<std::uintptr_t>(n) | tag_of(n->hash), std::memory_order_release);
    }

    std::atomic<table*> table_;          // read by every reader
    alignas(64) std::size_t count_ = 0;  // the writer's, on a line of its own
};

} // namespace inmem::detail
