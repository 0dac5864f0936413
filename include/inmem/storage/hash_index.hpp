// inmem/storage/hash_index.hpp: a hash index that readers search while one writer inserts.
//
// Open addressing with linear probing over an array of atomic pointers to nodes; a node has
// a `hash` and a `key` that never change once it is inserted. Readers load the array and
// probe with acquire loads: no lock, no retry. The one writer fills an empty slot with a
// release store. When the array is half full the writer builds one twice as large, publishes
// it, and hands the old array back to the caller to retire (free once no reader can hold it:
// see memory_backend). Nodes are never removed; their owner frees them.
#pragma once

#include <boost/container_hash/hash.hpp>

#include <atomic>
#include <cstddef>
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
        explicit table(std::size_t size) : mask(size - 1), slots(new std::atomic<Node*>[size]) {
            for (std::size_t i = 0; i < size; ++i) slots[i].store(nullptr, std::memory_order_relaxed);
        }
        ~table() { delete[] slots; }
        table(const table&) = delete;
        table& operator=(const table&) = delete;

        std::size_t mask;
        std::atomic<Node*>* slots;
    };

    hash_index() : table_(new table(64)) {}
    hash_index(const hash_index&) = delete;
    hash_index& operator=(const hash_index&) = delete;
    ~hash_index() { delete table_.load(std::memory_order_relaxed); }

    /// The node with key (whose hash is hash), or nullptr. Any thread.
    Node* find(std::string_view key, std::size_t hash) const noexcept {
        const table* t = table_.load(std::memory_order_acquire);
        for (std::size_t i = hash & t->mask;; i = (i + 1) & t->mask) {
            Node* n = t->slots[i].load(std::memory_order_acquire);
            if (!n) return nullptr;
            if (n->hash == hash && n->key == key) return n;
        }
    }

    /// Inserts n, whose key is not in the index. The writer only. Returns the replaced
    /// array when the index grew (the caller retires it), else nullptr.
    table* insert(Node* n) {
        table* t = table_.load(std::memory_order_relaxed);
        table* old = nullptr;
        if ((count_ + 1) * 2 > t->mask + 1) {
            auto* bigger = new table((t->mask + 1) * 2);
            for (std::size_t i = 0; i <= t->mask; ++i)
                if (Node* m = t->slots[i].load(std::memory_order_relaxed)) place(*bigger, m);
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
            if (Node* n = t->slots[i].load(std::memory_order_acquire)) f(n);
    }

    /// Number of nodes (the writer's count).
    std::size_t size() const noexcept { return count_; }

private:
    static void place(table& t, Node* n) noexcept {
        std::size_t i = n->hash & t.mask;
        while (t.slots[i].load(std::memory_order_relaxed)) i = (i + 1) & t.mask;
        t.slots[i].store(n, std::memory_order_release);
    }

    std::atomic<table*> table_;          // read by every reader
    alignas(64) std::size_t count_ = 0;  // the writer's, on a line of its own
};

} // namespace inmem::detail
