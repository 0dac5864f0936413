// inmem/vectors/rows.hpp: the rows of a collection's index, append-only and readable without
// a lock, and the order of search results.
//
// A row's vector is kept as codes (vectors/codes.hpp): its floats as written (normalised for
// cosine), or float16 or int8 codes of them.
//
// A row carries the version that wrote it and, once replaced or erased, the version it is dead
// at: a search at snapshot S takes exactly the rows with born <= S < dead. Rows never move and
// are never rewritten once readers can see them: the writer fills a row, then publishes the
// row count with a release store.
#pragma once

#include <inmem/vectors/codes.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace inmem::detail {

/// The version a live row is dead at.
inline constexpr version_t never = std::numeric_limits<version_t>::max();

/// One vector as the index keeps it: written once by the writer before it is published;
/// only `dead` changes afterwards.
template <class Meta>
struct vector_row {
    run_id run{};
    version_t born = 0;
    std::atomic<version_t> dead{never};
    std::int64_t written_ns = 0;
    std::string id;
    Meta meta{};

    bool visible_at(version_t at) const noexcept {
        return born <= at && at < dead.load(std::memory_order_relaxed); // (ordered by the pin's acquire)
    }
};

/// Rows of Dim codes (Code: float, std::uint16_t for float16, std::int8_t) plus their
/// vector_row, in chunks of doubling size that never move: one writer appends, anyone reads
/// the rows below size() without a lock.
template <class Meta, class Code = float>
class vector_rows {
    static constexpr std::size_t first_bits = 8; // chunk k holds 2^(k + 8) rows
    static constexpr std::size_t chunk_count = 48;
    static constexpr bool scaled = std::is_same_v<Code, std::int8_t>;

    struct chunk {
        std::unique_ptr<Code[]> data;
        std::unique_ptr<float[]> scales; // int8 rows only
        std::unique_ptr<vector_row<Meta>[]> rows;
    };

public:
    using code_type = Code;
    using codes = row_codes<Code>;

    explicit vector_rows(std::size_t dim) noexcept : dim_(dim) {}
    vector_rows(const vector_rows&) = delete;
    vector_rows& operator=(const vector_rows&) = delete;
    ~vector_rows() {
        for (auto& c : chunks_) delete c.load(std::memory_order_relaxed);
    }

    std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }
    std::size_t dimension() const noexcept { return dim_; }

    vector_row<Meta>& row(std::size_t i) const noexcept {
        const auto [c, offset] = locate(i);
        return chunks_[c].load(std::memory_order_acquire)->rows[offset];
    }
    /// Row i's codes (dimension() of them).
    const Code* data(std::size_t i) const noexcept {
        const auto [c, offset] = locate(i);
        return chunks_[c].load(std::memory_order_acquire)->data.get() + offset * dim_;
    }
    /// Row i's scale (int8 codes: the row is scale * codes; 1 for the others).
    float scale(std::size_t i) const noexcept {
        if constexpr (scaled) {
            const auto [c, offset] = locate(i);
            return chunks_[c].load(std::memory_order_acquire)->scales[offset];
        } else {
            (void)i;
            return 1;
        }
    }
    /// Row i's vector as floats: its own for float rows, else decoded into scratch
    /// (dimension() floats).
    const float* floats(std::size_t i, float* scratch) const noexcept {
        if constexpr (std::is_same_v<Code, float>) {
            (void)scratch;
            return data(i);
        } else {
            codes::decode(data(i), scale(i), scratch, dim_);
            return scratch;
        }
    }

    /// Calls f(first row index, its codes, their scales (nullptr but for int8), its rows,
    /// count) for each chunk's part of [0, n).
    template <class F>
    void for_each_chunk(std::size_t n, F&& f) const {
        for (std::size_t c = 0, first = 0; first < n; ++c) {
            const std::size_t capacity = std::size_t{1} << (c + first_bits);
            const chunk* ch = chunks_[c].load(std::memory_order_acquire);
            const std::size_t count = std::min(capacity, n - first);
            f(first, static_cast<const Code*>(ch->data.get()), static_cast<const float*>(ch->scales.get()),
              static_cast<const vector_row<Meta>*>(ch->rows.get()), count);
            first += capacity;
        }
    }

    /// Appends a row of the vector v (dimension() floats, encoded here) and returns its index
    /// (the writer only). Throws std::bad_alloc, leaving the rows unchanged.
    std::size_t push(const float* v, run_id run, version_t born, std::int64_t written_ns, std::string_view id, Meta meta) {
        return push_row(v, nullptr, 1, run, born, written_ns, id, std::move(meta));
    }
    /// Appends a row of codes as another vector_rows<Meta, Code> keeps them (compaction).
    std::size_t push_codes(const Code* codes_in, float row_scale, run_id run, version_t born, std::int64_t written_ns,
                           std::string_view id, Meta meta) {
        return push_row(nullptr, codes_in, row_scale, run, born, written_ns, id, std::move(meta));
    }

private:
    std::size_t push_row(const float* v, const Code* codes_in, float row_scale, run_id run, version_t born,
                         std::int64_t written_ns, std::string_view id, Meta meta) {
        const std::size_t i = size_.load(std::memory_order_relaxed);
        const auto [c, offset] = locate(i);
        if (!chunks_[c].load(std::memory_order_relaxed)) {
            const std::size_t capacity = std::size_t{1} << (c + first_bits);
            auto fresh = std::make_unique<chunk>();
            fresh->data = std::make_unique_for_overwrite<Code[]>(capacity * dim_);
            if constexpr (scaled) fresh->scales = std::make_unique_for_overwrite<float[]>(capacity);
            fresh->rows = std::make_unique<vector_row<Meta>[]>(capacity);
            chunks_[c].store(fresh.release(), std::memory_order_release);
        }
        chunk* ch = chunks_[c].load(std::memory_order_relaxed);
        Code* out = ch->data.get() + offset * dim_;
        if (v) row_scale = codes::encode(v, out, dim_);
        else std::copy(codes_in, codes_in + dim_, out);
        if constexpr (scaled) ch->scales[offset] = row_scale;
        vector_row<Meta>& r = ch->rows[offset];
        r.id.assign(id); // (may throw: nothing is published yet)
        r.run = run;
        r.born = born;
        r.dead.store(never, std::memory_order_relaxed);
        r.written_ns = written_ns;
        r.meta = std::move(meta);
        size_.store(i + 1, std::memory_order_release);
        return i;
    }

    static std::pair<std::size_t, std::size_t> locate(std::size_t i) noexcept {
        const std::size_t c = i + (std::size_t{1} << first_bits);
        const std::size_t k =
            static_cast<std::size_t>(std::bit_width(c | (std::size_t{1} << first_bits))) - first_bits - 1;
        return {k, c - (std::size_t{1} << (k + first_bits))};
    }

    std::size_t dim_;
    std::array<std::atomic<chunk*>, chunk_count> chunks_{};
    std::atomic<std::size_t> size_{0};
};

/// A search result as the index finds it: the row and its distance.
struct scored_row {
    float distance;
    std::size_t row;
};

/// The order of search results: by distance, then run, then id (a total order, so that
/// equal distances come out the same way every time).
inline bool closer(float da, run_id ra, std::string_view ida, float db, run_id rb, std::string_view idb) noexcept {
    if (da != db) return da < db;
    if (ra != rb) return ra < rb;
    return ida < idb;
}

} // namespace inmem::detail
