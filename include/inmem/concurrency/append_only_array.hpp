// inmem/concurrency/append_only_array.hpp: an array one writer appends to and anyone reads.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace inmem::detail {

/// Elements of type T (small, trivially copyable) in chunks of doubling size that never move:
/// readers load size() and any element below it without a lock; one writer at a time calls
/// push_back and set. Elements are atomics, so reads and writes of one element do not race.
template <class T>
class append_only_array {
    static_assert(std::atomic<T>::is_always_lock_free,
                  "inmem: append_only_array<T> needs a T whose std::atomic is lock-free (small, trivially "
                  "copyable, aligned to its size), or readers would take a lock (and clang would need libatomic)");
    static constexpr std::size_t first_bits = 6; // chunk k holds 2^(k + 6) elements
    static constexpr std::size_t chunk_count = 58;

public:
    append_only_array() = default;
    append_only_array(const append_only_array&) = delete;
    append_only_array& operator=(const append_only_array&) = delete;
    ~append_only_array() {
        for (auto& c : chunks_) delete[] c.load(std::memory_order_relaxed);
    }

    std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

    /// Element i < size().
    T get(std::size_t i) const noexcept { return at(i).load(std::memory_order_acquire); }

    /// Sets element i < size(). The writer only.
    void set(std::size_t i, T value) noexcept { at(i).store(value, std::memory_order_release); }

    /// Makes room for n more elements. The writer only. Throws std::bad_alloc.
    void reserve(std::size_t n = 1) {
        const std::size_t size = size_.load(std::memory_order_relaxed);
        for (std::size_t i = size; i < size + n;) {
            const auto [chunk, offset] = locate(i);
            if (!chunks_[chunk].load(std::memory_order_relaxed))
                chunks_[chunk].store(new std::atomic<T>[std::size_t{1} << (chunk + first_bits)],
                                     std::memory_order_release);
            i += (std::size_t{1} << (chunk + first_bits)) - offset; // the next chunk's first index
        }
    }

    /// Appends value. The writer only. Throws std::bad_alloc (only without reserve()
    /// first), leaving the array unchanged.
    void push_back(T value) {
        reserve(1);
        const std::size_t i = size_.load(std::memory_order_relaxed);
        const auto [chunk, offset] = locate(i);
        chunks_[chunk].load(std::memory_order_relaxed)[offset].store(value, std::memory_order_relaxed);
        size_.store(i + 1, std::memory_order_release);
    }

private:
    static std::pair<std::size_t, std::size_t> locate(std::size_t i) noexcept {
        const std::size_t c = i + (std::size_t{1} << first_bits);
        // (c | 2^first_bits: c is that large anyway; saying so lets the compiler see chunk >= 0.)
        const std::size_t chunk =
            static_cast<std::size_t>(std::bit_width(c | (std::size_t{1} << first_bits))) - first_bits - 1;
        return {chunk, c - (std::size_t{1} << (chunk + first_bits))};
    }
    std::atomic<T>& at(std::size_t i) const noexcept {
        const auto [chunk, offset] = locate(i);
        return chunks_[chunk].load(std::memory_order_acquire)[offset];
    }

    std::array<std::atomic<std::atomic<T>*>, chunk_count> chunks_{};
    std::atomic<std::size_t> size_{0};
};

} // namespace inmem::detail
