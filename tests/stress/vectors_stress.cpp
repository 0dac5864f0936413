// Vector collections under racing threads (the stress suite, under ThreadSanitizer in CI):
// writers upsert and erase while readers search, alone and in transactions. Every hit is a
// whole vector (its metadata says which embedding it was written with, and its distance is
// that embedding's), results come best first, and a transaction's searches agree with each
// other (one snapshot). At the end the collection holds exactly what the writers left. Run
// three times: searched exactly; through an HNSW graph that the writers grow while readers
// walk it (there a transaction's graph searches may differ, since the graph grows between
// them, but every hit must be in the transaction's exact answer: its snapshot, nothing
// later); and the same over int8 codes, whose candidates each search ranks again by reading
// their records at its snapshot while writers replace them.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

namespace {
struct Stamp {
    std::uint32_t writer = 0;
    std::uint32_t value = 0; // the embedding is embed(value)
};
constexpr std::size_t dim = 24;
using exact_stamps = inmem::collection<Stamp, dim, inmem::metric::l2, inmem::exact>;
using graph_stamps = inmem::collection<Stamp, dim, inmem::metric::l2, inmem::hnsw<6, 24, 32, 16>>; // a graph from 32 on
// the same over int8 codes: each search's candidates ranked again by reading their records
using int8_graph_stamps = inmem::collection<Stamp, dim, inmem::metric::l2, inmem::hnsw<6, 24, 32, 16>, inmem::store_int8>;

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::uint32_t writes_per_thread = 400;
#else
constexpr std::uint32_t writes_per_thread = 4000;
#endif
constexpr std::uint32_t writers = 3, readers = 3;

std::vector<float> embed(std::uint32_t value) {
    std::vector<float> v(dim);
    for (std::size_t i = 0; i < dim; ++i) v[i] = static_cast<float>((value * 2654435761u >> (i % 16)) % 1000) / 100.0f;
    return v;
}

double l2(const std::vector<float>& a, const std::vector<float>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    return s;
}
} // namespace

TEMPLATE_TEST_CASE("vectors: upserts, erases and searches race without torn reads", "[stress]", exact_stamps,
                   graph_stamps, int8_graph_stamps) {
    constexpr bool graph = !std::is_same_v<TestType, exact_stamps>;
    inmem::basic_database<inmem::schema<inmem::vectors<TestType>>, inmem::durability::none> db; // optimistic
    auto vectors = db.template vectors<Stamp>();
    std::vector<inmem::run_id> runs;
    for (std::uint32_t w = 0; w < writers; ++w) runs.push_back(db.begin_run());
    std::atomic<std::uint32_t> done{0};
    std::atomic<std::uint64_t> bad{0}, searches{0};
    std::vector<std::map<std::string, std::uint32_t>> left(writers); // what each writer leaves

    std::vector<std::thread> threads;
    for (std::uint32_t w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            std::mt19937 rng(w);
            for (std::uint32_t i = 0; i < writes_per_thread; ++i) {
                const std::string id = "v" + std::to_string(rng() % 64);
                const std::uint32_t value = rng();
                if (rng() % 5 == 0) {
                    vectors.erase(runs[w], id);
                    left[w].erase(id);
                } else if (rng() % 3 == 0) {
                    db.transact(runs[w], [&](auto& tx) { vectors.upsert(tx, id, embed(value), Stamp{w, value}); });
                    left[w][id] = value;
                } else {
                    vectors.upsert(runs[w], id, embed(value), Stamp{w, value});
                    left[w][id] = value;
                }
            }
            done.fetch_add(1);
        });
    for (std::uint32_t r = 0; r < readers; ++r)
        threads.emplace_back([&, r] {
            std::mt19937 rng(100 + r);
            // Until the writers are done, and a few searches at least: on a loaded machine the
            // writers can finish before a reader is scheduled at all.
            for (std::uint64_t n = 0; done.load() < writers || n < 8; ++n) {
                const auto q = embed(rng());
                const auto check = [&](const auto& hits) {
                    for (std::size_t i = 0; i < hits.size(); ++i) {
                        const auto& h = hits[i];
                        const double expected = l2(q, embed(h.meta.value));
                        if (std::abs(h.distance - expected) > 1e-3 * (1 + expected)) bad.fetch_add(1);
                        if (h.run != runs[h.meta.writer]) bad.fetch_add(1);
                        if (i > 0 && hits[i - 1].distance > h.distance) bad.fetch_add(1);
                    }
                };
                if (rng() % 2 == 0) {
                    const auto hits = vectors.search(q, 10);
                    if (hits.size() > 10) bad.fetch_add(1);
                    check(hits);
                } else {
                    auto tx = db.begin(runs[0]);
                    const auto first = vectors.search(tx, q, 5);
                    std::this_thread::yield();
                    const auto second = vectors.search(tx, q, 5);
                    check(first);
                    check(second);
                    if constexpr (graph) { // each hit is one of the snapshot's vectors, as it was then
                        std::set<std::tuple<std::uint64_t, std::string, std::uint32_t>> snapshot;
                        for (const auto& h : vectors.search(tx, q, 1000, inmem::keep_all{}, {.method = inmem::search_method::exact}))
                            snapshot.emplace(h.run.value, h.id, h.meta.value);
                        for (const auto* hits : {&first, &second})
                            for (const auto& h : *hits)
                                if (!snapshot.count({h.run.value, h.id, h.meta.value})) bad.fetch_add(1);
                    } else {
                        if (first.size() != second.size()) bad.fetch_add(1);
                        for (std::size_t i = 0; i < first.size() && i < second.size(); ++i)
                            if (first[i].id != second[i].id || first[i].run != second[i].run) bad.fetch_add(1);
                    }
                }
                searches.fetch_add(1);
            }
        });
    for (auto& t : threads) t.join();
    CHECK(bad.load() == 0);
    CHECK(searches.load() > 0);
    std::size_t expected = 0;
    for (std::uint32_t w = 0; w < writers; ++w) {
        expected += left[w].size();
        for (const auto& [id, value] : left[w]) {
            const auto v = vectors.get(runs[w], id);
            REQUIRE(v);
            CHECK(v->meta.value == value);
        }
    }
    CHECK(vectors.size() == expected);
    CHECK(vectors.search(embed(1), 1000, inmem::keep_all{}, {.method = inmem::search_method::exact}).size() == expected);
    if constexpr (graph) {
        vectors.wait_for_graph();
        const auto stats = vectors.index_stats();
        CHECK(stats.graph);
        CHECK(stats.graph_nodes == stats.rows); // caught up with every commit
        CHECK(vectors.search(embed(1), 10).size() == 10);
    }
}
