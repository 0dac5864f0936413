// inmem/vectors/flat_index.hpp: the in-memory index of one vector collection, derived from
// its records and searched exactly (a scan of contiguous rows, with the SIMD kernels of
// distance.hpp).
//
// The records in the store are the truth; the index is rebuilt from them at open and kept
// by the engine's batch observer (storage/record.hpp), identically live and in recovery. Its
// rows never move and are never rewritten once readers can see them: an upsert appends a new
// row and marks the old one dead as of the commit's version, an erase marks it dead. A row
// carries the version that wrote it, so a search at snapshot S takes exactly the rows with
// born <= S < dead: what the collection held at S, whatever was committed since. Readers take
// no lock: the writer fills a row, then publishes the row count with a release store.
//
// Dead rows stay until the database is reopened (the index is then rebuilt from the live
// records only): memory grows with the upserts and erases of a session, not with the live set.
#pragma once

#include <inmem/schema/codec.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vectors/collection.hpp>
#include <inmem/vectors/distance.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

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

/// Rows of Dim floats plus their vector_row, in chunks of doubling size that never move:
/// one writer appends, anyone reads the rows below size() without a lock.
template <class Meta>
class vector_rows {
    static constexpr std::size_t first_bits = 8; // chunk k holds 2^(k + 8) rows
    static constexpr std::size_t chunk_count = 48;

    struct chunk {
        std::unique_ptr<float[]> data;
        std::unique_ptr<vector_row<Meta>[]> rows;
    };

public:
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
    const float* data(std::size_t i) const noexcept {
        const auto [c, offset] = locate(i);
        return chunks_[c].load(std::memory_order_acquire)->data.get() + offset * dim_;
    }

    /// Calls f(first row index, its floats, its rows, count) for each chunk's part of [0, n).
    template <class F>
    void for_each_chunk(std::size_t n, F&& f) const {
        for (std::size_t c = 0, first = 0; first < n; ++c) {
            const std::size_t capacity = std::size_t{1} << (c + first_bits);
            const chunk* ch = chunks_[c].load(std::memory_order_acquire);
            const std::size_t count = std::min(capacity, n - first);
            f(first, ch->data.get(), ch->rows.get(), count);
            first += capacity;
        }
    }

    /// Appends a row (the writer only) and returns its index. Throws std::bad_alloc, leaving
    /// the rows unchanged.
    std::size_t push(const float* v, run_id run, version_t born, std::int64_t written_ns, std::string_view id, Meta meta) {
        const std::size_t i = size_.load(std::memory_order_relaxed);
        const auto [c, offset] = locate(i);
        if (!chunks_[c].load(std::memory_order_relaxed)) {
            const std::size_t capacity = std::size_t{1} << (c + first_bits);
            auto fresh = std::make_unique<chunk>();
            fresh->data = std::make_unique_for_overwrite<float[]>(capacity * dim_);
            fresh->rows = std::make_unique<vector_row<Meta>[]>(capacity);
            chunks_[c].store(fresh.release(), std::memory_order_release);
        }
        chunk* ch = chunks_[c].load(std::memory_order_relaxed);
        std::copy(v, v + dim_, ch->data.get() + offset * dim_);
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

private:
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

/// The generated id n as it is spelled ("#n"), and back (nullopt: not of that form).
inline std::string generated_vector_id(std::uint64_t n) { return "#" + std::to_string(n); }
inline std::optional<std::uint64_t> parse_generated_vector_id(std::string_view id) noexcept {
    if (id.size() < 2 || id.size() > 20 || id[0] != '#' || id[1] == '0') return std::nullopt;
    std::uint64_t n = 0;
    for (const char c : id.substr(1)) {
        if (c < '0' || c > '9') return std::nullopt;
        const std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
        if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) return std::nullopt;
        n = n * 10 + digit;
    }
    return n;
}

/// The key of a collection's id counter: ns space=shared primitive slot, with an empty name.
inline std::string vector_counter_key(std::uint16_t slot) {
    std::string key;
    shared_key_into(key, default_namespace, static_cast<std::uint8_t>(primitive::vector), slot, {});
    return key;
}

/// The index of collection C in schema slot `slot`.
template <class C>
class flat_index final : public batch_observer {
    using traits = collection_traits<C>;
    using meta_type = typename traits::meta_type;
    static constexpr std::size_t dim = traits::dimension;
    static constexpr auto prim = static_cast<std::uint8_t>(primitive::vector);

public:
    explicit flat_index(std::uint16_t slot) : slot_(slot), counter_key_(vector_counter_key(slot)) {}

    std::uint16_t slot() const noexcept { return slot_; }
    /// The key of the collection's id counter record.
    const std::string& counter_key() const noexcept { return counter_key_; }
    const vector_rows<meta_type>& rows() const noexcept { return rows_; }

    /// The number of live vectors (at the latest commit the index has seen).
    std::size_t live() const noexcept { return live_.load(std::memory_order_acquire); }

    /// A fresh generated id number, never handed out before in this database (also across
    /// reopens: the largest one committed is kept in the counter record).
    std::uint64_t next_generated() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }
    /// Makes every generated id below next taken (a user wrote an id of the generated form).
    void reserve_generated(std::uint64_t next) noexcept { bump(next); }
    /// The next generated id number not yet handed out.
    std::uint64_t next_unused() const noexcept { return next_id_.load(std::memory_order_relaxed); }

    void loaded(std::string_view key, std::string_view bytes, version_t version) noexcept override {
        if (mine(key)) put(key, bytes, version);
        else if (key == counter_key_) saw_counter(bytes);
    }

    void applied(version_t version, std::span<const write_op> ops) noexcept override {
        for (const write_op& op : ops) {
            if (mine(op.key)) {
                if (op.op == write_op::kind::put) put(op.key, op.bytes, version);
                else kill(op.key, version);
            } else if (op.key == counter_key_ && op.op == write_op::kind::put) {
                saw_counter(op.bytes);
            }
        }
    }

    /// The k rows closest to query (dim floats, normalised for cosine) among those visible at
    /// version `at` that keep(row) accepts, best first; ties by run, then id.
    template <class Keep>
    std::vector<scored_row> search(const float* query, std::size_t k, version_t at, Keep&& keep) const {
        std::vector<scored_row> heap; // a max-heap on worse(): its front is the worst kept
        if (k == 0) return heap;
        heap.reserve(std::min<std::size_t>(k, 4096));
        const distance_kernel distance = kernel_for<traits::distance>();
        const auto cmp = [&](const scored_row& a, const scored_row& b) { return less(a, b); }; // front: the farthest kept
        rows_.for_each_chunk(rows_.size(), [&](std::size_t first, const float* data, const vector_row<meta_type>* rows,
                                               std::size_t count) {
            for (std::size_t i = 0; i < count; ++i) {
                const vector_row<meta_type>& r = rows[i];
                if (!r.visible_at(at)) continue;
                const float d = distance(query, data + i * dim, dim);
                if (heap.size() == k && d > heap.front().distance) continue; // cheap reject before the filter
                if (!keep(r)) continue;
                const scored_row s{d, first + i};
                if (heap.size() < k) {
                    heap.push_back(s);
                    std::push_heap(heap.begin(), heap.end(), cmp);
                } else if (less(s, heap.front())) {
                    std::pop_heap(heap.begin(), heap.end(), cmp);
                    heap.back() = s;
                    std::push_heap(heap.begin(), heap.end(), cmp);
                }
            }
        });
        std::sort_heap(heap.begin(), heap.end(), cmp);
        return heap;
    }

    /// Whether a is closer than b (closer()).
    bool less(const scored_row& a, const scored_row& b) const noexcept {
        if (a.distance != b.distance) return a.distance < b.distance; // (the rows only for a tie)
        const auto& x = rows_.row(a.row);
        const auto& y = rows_.row(b.row);
        return closer(a.distance, x.run, x.id, b.distance, y.run, y.id);
    }

private:
    bool mine(std::string_view key) const noexcept {
        return key.size() > run_key_prefix_size && static_cast<key_space>(key[4]) == key_space::run &&
               static_cast<std::uint8_t>(key[13]) == prim && load_big_endian<std::uint16_t>(key.data() + 14) == slot_;
    }

    void put(std::string_view key, std::string_view bytes, version_t version) noexcept {
        auto decoded = decode<C>(bytes);
        if (!decoded) return; // (the handle writes only what decodes; recovery's CRC guards the rest)
        C& record = decoded.value();
        if constexpr (traits::distance == metric::cosine) normalise(std::span(record.embedding));
        const run_id run{load_big_endian<std::uint64_t>(key.data() + 5)};
        const std::string_view id = key.substr(run_key_prefix_size);
        const std::size_t row = rows_.push(record.embedding.data(), run, version, record.written_ns, id,
                                           std::move(record.meta));
        auto [it, fresh] = live_rows_.try_emplace(std::string(key), row);
        if (!fresh) {
            rows_.row(it->second).dead.store(version, std::memory_order_relaxed);
            it->second = row;
        } else {
            live_.fetch_add(1, std::memory_order_release);
        }
        if (const auto n = parse_generated_vector_id(id)) bump(*n + 1);
    }

    void kill(std::string_view key, version_t version) noexcept {
        const auto it = live_rows_.find(std::string(key));
        if (it == live_rows_.end()) return;
        rows_.row(it->second).dead.store(version, std::memory_order_relaxed);
        live_rows_.erase(it);
        live_.fetch_sub(1, std::memory_order_release);
    }

    void saw_counter(std::string_view bytes) noexcept {
        if (bytes.size() == 8) bump(load_big_endian<std::uint64_t>(bytes.data()));
    }
    void bump(std::uint64_t next) noexcept {
        std::uint64_t now = next_id_.load(std::memory_order_relaxed);
        while (now < next && !next_id_.compare_exchange_weak(now, next, std::memory_order_relaxed)) {
        }
    }

    std::uint16_t slot_;
    std::string counter_key_;
    vector_rows<meta_type> rows_{dim};
    std::unordered_map<std::string, std::size_t> live_rows_; // full key -> its live row; the writer's
    std::atomic<std::size_t> live_{0};
    std::atomic<std::uint64_t> next_id_{1};
};

} // namespace inmem::detail
