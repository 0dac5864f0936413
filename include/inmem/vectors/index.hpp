// inmem/vectors/index.hpp: the in-memory index of one vector collection, derived from its
// records: rows scanned exactly (with the SIMD kernels of distance.hpp) and, past the
// collection's threshold, an HNSW graph over them (vectors/hnsw.hpp).
//
// The records in the store are the truth; the index is rebuilt from them at open and kept
// by the engine's batch observer (storage/record.hpp), by the same code live and in recovery.
// An upsert appends a new row and marks the old one dead as of the commit's version, an
// erase marks it dead (vectors/rows.hpp): a search at snapshot S takes exactly the rows with
// born <= S < dead, what the collection held at S, whatever was committed since.
//
// Rows keep the collection's storage (float32, or float16 / int8 codes: vectors/codes.hpp);
// on codes, a search's distances are estimates and the handle ranks its candidates again by
// the records' float32 embeddings.
//
// The graph holds the rows below its size; a search walks it and scans the rows above it
// exactly, so a graph that lags never hides a vector. Each commit adds its rows to the graph
// before it becomes visible; when the graph has many rows to catch up with (at open, and when
// the collection crosses its threshold) a background thread builds it while searches go on,
// and commits leave their rows to it. Dead rows stay in the graph as waypoints until the
// database is reopened (the index is then rebuilt from the live records only): memory grows
// with the upserts and erases of a session, not with the live set.
#pragma once

#include <inmem/schema/codec.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vectors/codes.hpp>
#include <inmem/vectors/collection.hpp>
#include <inmem/vectors/distance.hpp>
#include <inmem/vectors/hnsw.hpp>
#include <inmem/vectors/rows.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace inmem::detail {

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
class vector_index final : public batch_observer {
    using traits = collection_traits<C>;
    using meta_type = typename traits::meta_type;
    using shape = typename traits::index_type;
    static constexpr std::size_t dim = traits::dimension;
    static constexpr auto prim = static_cast<std::uint8_t>(primitive::vector);
    using code_type = typename traits::code_type;
    using rows_type = vector_rows<meta_type, code_type>;
    using graph_type = hnsw_graph<rows_type>;

public:
    /// Whether the rows hold codes whose distances are estimates (float16, int8).
    static constexpr bool approximate = rows_type::codes::approximate;

    explicit vector_index(std::uint16_t slot) : slot_(slot), counter_key_(vector_counter_key(slot)) {}
    vector_index(const vector_index&) = delete;
    vector_index& operator=(const vector_index&) = delete;
    ~vector_index() {
        stop_.store(true, std::memory_order_relaxed);
        if (builder_.joinable()) builder_.join();
    }

    std::uint16_t slot() const noexcept { return slot_; }
    /// The key of the collection's id counter record.
    const std::string& counter_key() const noexcept { return counter_key_; }
    const rows_type& rows() const noexcept { return *rows_; }

    /// The number of live vectors (at the latest commit the index has seen).
    std::size_t live() const noexcept { return live_.load(std::memory_order_acquire); }
    /// Its rows, live and dead, and its graph.
    vector_index_stats stats() const {
        vector_index_stats out;
        out.vectors = live();
        out.rows = rows_->size();
        out.building = building_.load(std::memory_order_acquire);
        if (const graph_type* g = graph_view_.load(std::memory_order_acquire)) {
            out.graph = true;
            out.graph_nodes = g->size();
        }
        return out;
    }

    /// Blocks until no background build of the graph runs.
    void wait_built() const noexcept {
        while (building_.load(std::memory_order_acquire)) building_.wait(true, std::memory_order_acquire);
    }

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
        const std::size_t before = rows_->size();
        for (const write_op& op : ops) {
            if (mine(op.key)) {
                if (op.op == write_op::kind::put) put(op.key, op.bytes, version);
                else kill(op.key, version);
            } else if (op.key == counter_key_ && op.op == write_op::kind::put) {
                saw_counter(op.bytes);
            }
        }
        if (!open_ || rows_->size() == before) return;
        if (!graph_) {
            if (live() >= shape::threshold) start_graph(); // (and its build, in the background)
            return;
        }
        if (building_.load(std::memory_order_acquire)) return; // the builder takes these rows too
        const std::lock_guard lock(build_mutex_);
        grow_graph(rows_->size());
    }

    /// At the end of recovery (nobody searches yet): drops the rows the WAL's later records
    /// replaced or erased, which no snapshot can see any more, then builds the graph over the
    /// rest if there are enough.
    void recovered() noexcept override {
        open_ = true;
        if (rows_->size() > live()) compact();
        if (live() < shape::threshold) return;
        start_graph();
    }

    /// The k rows closest to query (dim floats, normalised for cosine) among those visible at
    /// version `at` that keep(row) accepts, best first; ties by run, then id. Through the
    /// graph when there is one (approximate), unless options or the filter's estimated
    /// selectivity ask for the exact scan. On codes (approximate), by the codes' distances:
    /// candidates for the caller to rank again.
    template <class Keep>
    std::vector<scored_row> search(const float* query, std::size_t k, version_t at, Keep&& keep,
                                   const search_options& options = {}) const {
        if (k == 0) return {};
        const graph_type* graph =
            options.method == search_method::exact ? nullptr : graph_view_.load(std::memory_order_acquire);
        const auto accept = [&](const vector_row<meta_type>& r) { return r.visible_at(at) && keep(r); };
        const std::size_t ef = std::max(k, options.ef ? options.ef : shape::ef_search);
        if (!graph || (options.method == search_method::automatic && scan_is_cheaper(graph->size(), ef, accept)))
            return scan(query, k, 0, accept);
        std::vector<scored_row> found;
        std::size_t covered = 0;
        for (const auto& f : graph->search(query, ef, [&](std::size_t row) { return accept(rows_->row(row)); }, &covered))
            found.push_back({f.distance, f.row});
        if (rows_->size() > covered) { // rows the graph does not have yet
            std::vector<scored_row> rest = scan(query, k, covered, accept);
            found.insert(found.end(), rest.begin(), rest.end());
        }
        std::sort(found.begin(), found.end(), [&](const scored_row& a, const scored_row& b) { return less(a, b); });
        if (found.size() > k) found.resize(k);
        return found;
    }

    /// Whether a is closer than b (closer()).
    bool less(const scored_row& a, const scored_row& b) const noexcept {
        if (a.distance != b.distance) return a.distance < b.distance; // (the rows only for a tie)
        const auto& x = rows_->row(a.row);
        const auto& y = rows_->row(b.row);
        return closer(a.distance, x.run, x.id, b.distance, y.run, y.id);
    }

private:
    // The k best rows from row `from` on that accept takes, by an exact scan.
    template <class Accept>
    std::vector<scored_row> scan(const float* query, std::size_t k, std::size_t from, const Accept& accept) const {
        std::vector<scored_row> heap; // a max-heap on less(): its front is the worst kept
        heap.reserve(std::min<std::size_t>(k, 4096));
        const row_kernel<code_type> distance = row_kernel_for<traits::distance, code_type>();
        const auto cmp = [&](const scored_row& a, const scored_row& b) { return less(a, b); };
        rows_->for_each_chunk(rows_->size(), [&](std::size_t first, const code_type* data, const float* scales,
                                               const vector_row<meta_type>* rows, std::size_t count) {
            for (std::size_t i = from > first ? from - first : 0; i < count; ++i) {
                if (!accept(rows[i])) continue; // (the filter first: a selective one spares the distances)
                const scored_row s{row_distance<code_type>(distance, query, data + i * dim, scales ? scales[i] : 1.0f, dim),
                                   first + i};
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

    // Whether the exact scan of the first n rows computes fewer distances than a walk of the
    // graph over them would. With p the share of rows that accept takes (estimated from up to
    // 256 rows spread evenly over them: visible at the snapshot, kept by the filter), the scan
    // computes p n distances; the walk about ef 2M / p (it looks at the 2M links of each
    // candidate it takes, and it must take 1/p candidates for each one accepted).
    template <class Accept>
    bool scan_is_cheaper(std::size_t n, std::size_t ef, const Accept& accept) const {
        if (n == 0) return true;
        const std::size_t samples = std::min<std::size_t>(n, 256);
        std::size_t taken = 0;
        for (std::size_t s = 0; s < samples; ++s) taken += accept(rows_->row(s * n / samples)) ? 1 : 0;
        const double p = (static_cast<double>(taken) + 0.5) / static_cast<double>(samples);
        return p * p * static_cast<double>(n) <= static_cast<double>(ef * 2 * shape::m);
    }

    // Copies the live rows, in their order, into fresh rows (no reader may hold the old ones).
    void compact() {
        auto fresh = std::make_unique<rows_type>(dim);
        std::vector<std::size_t> moved(rows_->size(), 0);
        for (std::size_t i = 0; i < rows_->size(); ++i) {
            vector_row<meta_type>& r = rows_->row(i);
            if (r.dead.load(std::memory_order_relaxed) != never) continue;
            moved[i] = fresh->push_codes(rows_->data(i), rows_->scale(i), r.run, r.born, r.written_ns, r.id, std::move(r.meta));
        }
        for (auto& entry : live_rows_) entry.second = moved[entry.second];
        rows_ = std::move(fresh);
    }

    // Creates the graph, empty, and a thread that fills it with the rows there are (and those
    // that commits add meanwhile), a batch at a time under build_mutex_.
    void start_graph() {
        graph_ = std::make_unique<graph_type>(*rows_, dim, row_kernel_for<traits::distance, code_type>(),
                                              hnsw_shape{shape::m, shape::ef_construction});
        graph_view_.store(graph_.get(), std::memory_order_release);
        building_.store(true, std::memory_order_release);
        try {
            builder_ = std::thread([this] { build(); });
        } catch (...) { // no thread to be had: build it here
            build();
        }
    }

    void build() noexcept {
        try {
            while (!stop_.load(std::memory_order_relaxed)) {
                const std::lock_guard lock(build_mutex_);
                const std::size_t n = rows_->size();
                if (graph_->size() >= n) break;
                grow_graph(std::min(n, graph_->size() + 256));
            }
        } catch (...) { // out of memory: the graph stays as it is, searches scan what it lacks
        }
        building_.store(false, std::memory_order_release);
        building_.notify_all();
    }

    // Adds the rows below end to the graph (under build_mutex_).
    void grow_graph(std::size_t end) {
        while (graph_->size() < end) graph_->insert();
    }

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
        const std::size_t row = rows_->push(record.embedding.data(), run, version, record.written_ns, id,
                                           std::move(record.meta));
        auto [it, fresh] = live_rows_.try_emplace(std::string(key), row);
        if (!fresh) {
            rows_->row(it->second).dead.store(version, std::memory_order_relaxed);
            it->second = row;
        } else {
            live_.fetch_add(1, std::memory_order_release);
        }
        if (const auto n = parse_generated_vector_id(id)) bump(*n + 1);
    }

    void kill(std::string_view key, version_t version) noexcept {
        const auto it = live_rows_.find(std::string(key));
        if (it == live_rows_.end()) return;
        rows_->row(it->second).dead.store(version, std::memory_order_relaxed);
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
    std::unique_ptr<rows_type> rows_ = std::make_unique<rows_type>(dim);
    std::unordered_map<std::string, std::size_t> live_rows_; // full key -> its live row; the writer's
    std::atomic<std::size_t> live_{0};
    std::atomic<std::uint64_t> next_id_{1};
    bool open_ = false;                                  // recovery is over; the writer's
    std::unique_ptr<graph_type> graph_;                  // set by the writer; grown under build_mutex_
    std::atomic<const graph_type*> graph_view_{nullptr}; // the same, for readers
    std::mutex build_mutex_;                             // held by whoever adds to the graph
    std::atomic<bool> building_{false};                  // a background build runs
    std::atomic<bool> stop_{false};                      // the index is going: the build stops
    std::thread builder_;
};

} // namespace inmem::detail
