// The vector benchmark (issue 14): inmem's collections side by side with faiss (IndexFlatL2,
// exact search) and hnswlib (HierarchicalNSW), single thread, in one run, on the same data.
//
//   meson test -C BUILD --benchmark vectors -v     (release build, -Dvectors_bench=true)
//   BUILD/bench/vectors/vectors_bench --storage    (the float16 / int8 rows alone)
//
// Data: 100k x 384 float32 (--quick: 10k x 64), clustered (a Gaussian mixture of 100
// components: what embeddings look like; uniform random data makes every ANN index look bad)
// and, for the exact rows, also uniform random. Metric: squared L2 everywhere.
//   exact   time per top-10 query, inmem's exact scan / faiss IndexFlatL2's (one query at a
//           time), with the memory-bandwidth limit (bytes scanned / measured memcpy speed);
//   hnsw    M=16, efConstruction=200 for both; for each ef, recall@10 against the exact
//           answer and queries per second; compared at the smallest ef where each reaches
//           recall 0.95 (throughput inmem / hnswlib); build time per vector; the same with 10%
//           of the vectors erased (hnswlib: markDelete), and with filters keeping 10% and 1%
//           (hnswlib 0.6.2 has no filtered search: inmem alone);
//   upsert  vectors upserted per second, each in a transaction with a KV put of its fact, on
//           disk with batched durability, into an exact collection and into one with its
//           graph built (each commit then adds its vector to the graph: the line's figure);
//   storage the index's vectors as float16 and int8 codes (inmem::store_float16, store_int8),
//           each search's candidates ranked again by their float32 embeddings: exact top-10
//           time and recall against faiss IndexFlatL2's answer, beside faiss's own
//           IndexRefineFlat over IndexScalarQuantizer (8-bit and fp16, the same 4k / 2k
//           candidates); and the graph over int8 codes against hnswlib at recall 0.95
//           (re-ranking the ef candidates its walk keeps);
//   reopen  the time to reopen the database of 100k vectors (the graph is rebuilt).
// The last line: `vectors: exact <R>x faiss, hnsw <R>x hnswlib at recall <r>, upsert <N>/s`.
#include "../harness.hpp"

#include <inmem/inmem.hpp>

#include <faiss/IndexFlat.h>
#include <faiss/IndexRefine.h>
#include <faiss/IndexScalarQuantizer.h>
#include <hnswlib/hnswlib.h>
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace {

struct Doc {
    int cluster = 0;
};
struct Fact {
    std::string text;
};

constexpr std::size_t full_dim = 384;
constexpr std::size_t quick_dim = 64;

template <std::size_t D>
using graph_docs = inmem::collection<Doc, D, inmem::metric::l2, inmem::hnsw<16, 200, 0>>;
template <std::size_t D>
using exact_docs = inmem::collection<Doc, D, inmem::metric::l2, inmem::exact>;
template <std::size_t D>
using graph_fact_docs = inmem::collection<Fact, D, inmem::metric::l2, inmem::hnsw<16, 200, 0>>;
template <std::size_t D>
using exact_fact_docs = inmem::collection<Fact, D, inmem::metric::cosine, inmem::exact>;
template <std::size_t D>
using exact_half_docs = inmem::collection<Doc, D, inmem::metric::l2, inmem::exact, inmem::store_float16>;
template <std::size_t D>
using exact_int8_docs = inmem::collection<Doc, D, inmem::metric::l2, inmem::exact, inmem::store_int8>;
template <std::size_t D>
using graph_int8_docs = inmem::collection<Doc, D, inmem::metric::l2, inmem::hnsw<16, 200, 0>, inmem::store_int8>;
template <std::size_t D>
using bench_schema =
    inmem::schema<inmem::kv<Fact>, inmem::vectors<graph_docs<D>, exact_docs<D>, graph_fact_docs<D>, exact_fact_docs<D>,
                                                  exact_half_docs<D>, exact_int8_docs<D>, graph_int8_docs<D>>>;

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct data_set {
    std::size_t n, dim;
    std::vector<float> rows;    // n x dim
    std::vector<int> cluster;   // per row
    std::vector<float> queries; // q x dim
    std::size_t q;
};

data_set make_data(std::size_t n, std::size_t dim, std::size_t q, bool clustered, std::uint32_t seed) {
    data_set d{n, dim, std::vector<float>(n * dim), std::vector<int>(n), std::vector<float>(q * dim), q};
    std::mt19937 rng(seed);
    std::normal_distribution<float> g(0, 1);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> centers(100 * dim);
    for (auto& c : centers) c = g(rng);
    const auto fill = [&](float* out, int& c) {
        c = static_cast<int>(rng() % 100);
        for (std::size_t j = 0; j < dim; ++j)
            out[j] = clustered ? centers[static_cast<std::size_t>(c) * dim + j] + 0.35f * g(rng) : u(rng);
    };
    for (std::size_t i = 0; i < n; ++i) fill(&d.rows[i * dim], d.cluster[i]);
    int ignored = 0;
    for (std::size_t i = 0; i < q; ++i) fill(&d.queries[i * dim], ignored);
    return d;
}

double memcpy_bytes_per_s(std::size_t bytes) {
    std::vector<char> a(bytes, 1), b(bytes, 2);
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        std::memcpy(b.data(), a.data(), bytes);
        bench::do_not_optimize(b[bytes / 2]);
        best = std::min(best, seconds_since(t0));
    }
    return static_cast<double>(bytes) / best;
}

// recall@10 of got against truth (ids)
double recall(const std::vector<std::vector<std::size_t>>& got, const std::vector<std::vector<std::size_t>>& truth) {
    double hit = 0, all = 0;
    for (std::size_t i = 0; i < truth.size(); ++i) {
        const std::unordered_set<std::size_t> t(truth[i].begin(), truth[i].end());
        for (const auto x : got[i]) hit += t.count(x);
        all += static_cast<double>(truth[i].size());
    }
    return all ? hit / all : 1.0;
}

std::size_t id_number(const std::string& id) { return std::stoul(id.substr(1)); } // "v123" -> 123

// prefix followed by n ("v123"). (Not `id_of('v', n)`: GCC 12 at -O3 warns about
// it with a false -Wrestrict, which -Dwerror=true would make an error.)
std::string id_of(char prefix, std::size_t n) {
    std::string id(1, prefix);
    id += std::to_string(n);
    return id;
}

template <std::size_t D>
struct runner {
    bool quick;
    std::size_t n;
    std::filesystem::path dir;

    // faiss's exact top-10 of every query (ids), and its time per query (s)
    std::pair<std::vector<std::vector<std::size_t>>, double> faiss_exact(const data_set& d,
                                                                         const std::vector<bool>* alive = nullptr) {
        faiss::IndexFlatL2 index(static_cast<faiss::Index::idx_t>(D));
        std::vector<std::size_t> ids;
        if (!alive) {
            index.add(static_cast<faiss::Index::idx_t>(d.n), d.rows.data());
        } else {
            std::vector<float> kept;
            for (std::size_t i = 0; i < d.n; ++i)
                if ((*alive)[i]) {
                    kept.insert(kept.end(), d.rows.begin() + static_cast<long>(i * D), d.rows.begin() + static_cast<long>((i + 1) * D));
                    ids.push_back(i);
                }
            index.add(static_cast<faiss::Index::idx_t>(ids.size()), kept.data());
        }
        auto [out, per_query] = faiss_search(index, d);
        if (alive)
            for (auto& row : out)
                for (auto& id : row) id = ids[id];
        return {out, per_query};
    }

    // A faiss index's top-10 of every query, one at a time (the row numbers it was given), and
    // its time per query (s).
    static std::pair<std::vector<std::vector<std::size_t>>, double> faiss_search(const faiss::Index& index,
                                                                                const data_set& d) {
        std::vector<std::vector<std::size_t>> out(d.q);
        std::vector<float> dist(10);
        std::vector<faiss::Index::idx_t> lab(10);
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < d.q; ++i) {
            index.search(1, &d.queries[i * D], 10, dist.data(), lab.data());
            for (const auto l : lab)
                if (l >= 0) out[i].push_back(static_cast<std::size_t>(l));
        }
        return {out, seconds_since(t0) / static_cast<double>(d.q)};
    }

    template <class Db, class Handle>
    static inmem::run_id load(Db& db, Handle& h, const data_set& d) {
        const auto run = db.begin_run({});
        for (std::size_t i = 0; i < d.n; i += 100)
            db.transact(run, [&](auto& tx) {
                for (std::size_t j = i; j < std::min(d.n, i + 100); ++j)
                    h.upsert(tx, id_of('v', j), std::span<const float>(&d.rows[j * D], D), Doc{d.cluster[j]});
            });
        return run;
    }

    template <class Handle, class Filter>
    static std::pair<std::vector<std::vector<std::size_t>>, double> search_all(const Handle& h, const data_set& d, Filter f,
                                                                               inmem::search_options o) {
        std::vector<std::vector<std::size_t>> out(d.q);
        const auto t0 = std::chrono::steady_clock::now();
        for (std::size_t i = 0; i < d.q; ++i)
            for (const auto& hit : h.search(std::span<const float>(&d.queries[i * D], D), 10, f, o))
                out[i].push_back(id_number(hit.id));
        return {out, seconds_since(t0) / static_cast<double>(d.q)};
    }

    double exact_rows(const char* label, bool clustered) {
        const data_set d = make_data(n, D, quick ? 20 : 50, clustered, clustered ? 1 : 2);
        inmem::basic_database<bench_schema<D>> db;
        auto h = db.template vectors<exact_docs<D>>();
        load(db, h, d);
        auto [truth, faiss_s] = faiss_exact(d);
        auto [mine, inmem_s] = search_all(h, d, inmem::keep_all{}, {});
        const double bytes = static_cast<double>(n * D * sizeof(float));
        const double limit = bytes / memcpy_bytes_per_s(static_cast<std::size_t>(bytes));
        std::printf("exact top-10, %s %zu x %zu: inmem %.2f ms, faiss IndexFlatL2 %.2f ms per query (%.2fx); "
                    "bandwidth limit %.2f ms (%.0f MB scanned); results equal faiss's: %.4f\n",
                    label, n, D, inmem_s * 1e3, faiss_s * 1e3, inmem_s / faiss_s, limit * 1e3, bytes / 1e6,
                    recall(mine, truth));
        return inmem_s / faiss_s;
    }

    struct hnsw_result {
        double ratio, recall;
    };

    hnsw_result hnsw_rows() {
        const data_set d = make_data(n, D, quick ? 200 : 1000, true, 3);
        auto [truth, faiss_s] = faiss_exact(d);
        (void)faiss_s;

        hnswlib::L2Space space(D);
        auto t0 = std::chrono::steady_clock::now();
        hnswlib::HierarchicalNSW<float> peer(&space, n, 16, 200, 100);
        for (std::size_t i = 0; i < n; ++i) peer.addPoint(&d.rows[i * D], i);
        const double peer_build = seconds_since(t0);

        inmem::basic_database<bench_schema<D>> db;
        auto h = db.template vectors<graph_docs<D>>();
        t0 = std::chrono::steady_clock::now();
        const inmem::run_id writer = load(db, h, d);
        const double inmem_upserts = seconds_since(t0);
        h.wait_for_graph();
        const double inmem_build = seconds_since(t0);
        std::printf("hnsw build (M=16, efConstruction=200), clustered %zu x %zu: inmem %.1f us, hnswlib %.1f us per vector "
                    "(%.2fx; inmem's: upserts, 100 per transaction, %.1f s, while its builder thread makes the graph)\n",
                    n, D, inmem_build / static_cast<double>(n) * 1e6, peer_build / static_cast<double>(n) * 1e6,
                    inmem_build / peer_build, inmem_upserts);

        const auto peer_search = [&](std::size_t ef) {
            peer.setEf(ef);
            std::vector<std::vector<std::size_t>> out(d.q);
            const auto s0 = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < d.q; ++i) {
                auto r = peer.searchKnn(&d.queries[i * D], 10);
                for (; !r.empty(); r.pop()) out[i].push_back(r.top().second);
            }
            return std::pair{out, seconds_since(s0) / static_cast<double>(d.q)};
        };
        double mine_qps = 0, peer_qps = 0, mine_recall = 0, peer_recall = 0;
        std::size_t mine_ef = 0, peer_ef = 0;
        for (const std::size_t ef : {10, 16, 24, 32, 48, 64, 96, 128, 200}) {
            auto [p, ps] = peer_search(ef);
            auto [m, ms] = search_all(h, d, inmem::keep_all{}, {.ef = ef});
            const double pr = recall(p, truth), mr = recall(m, truth);
            std::printf("  ef %3zu: inmem recall %.4f, %7.0f q/s; hnswlib recall %.4f, %7.0f q/s\n", ef, mr, 1 / ms, pr,
                        1 / ps);
            if (!mine_ef && mr >= 0.95) mine_ef = ef, mine_qps = 1 / ms, mine_recall = mr;
            if (!peer_ef && pr >= 0.95) peer_ef = ef, peer_qps = 1 / ps, peer_recall = pr;
        }
        std::printf("hnsw at recall >= 0.95: inmem %.0f q/s (ef %zu, recall %.4f), hnswlib %.0f q/s (ef %zu, recall %.4f): %.2fx\n",
                    mine_qps, mine_ef, mine_recall, peer_qps, peer_ef, peer_recall, peer_qps ? mine_qps / peer_qps : 0.0);

        // 10% erased
        std::vector<bool> alive(n, true);
        std::mt19937 rng(9);
        for (std::size_t i = 0; i < n; ++i)
            if (rng() % 10 == 0) alive[i] = false;
        for (std::size_t i = 0; i < n; ++i)
            if (!alive[i]) {
                h.erase(writer, id_of('v', i));
                peer.markDelete(i);
            }
        auto [truth_alive, fs] = faiss_exact(d, &alive);
        (void)fs;
        {
            const std::size_t ef = std::max(mine_ef, peer_ef);
            auto [p, ps] = peer_search(ef);
            auto [m, ms] = search_all(h, d, inmem::keep_all{}, {.ef = ef});
            std::printf("hnsw with 10%% erased, ef %zu: inmem recall %.4f, %.0f q/s; hnswlib recall %.4f, %.0f q/s (%.2fx)\n",
                        ef, recall(m, truth_alive), 1 / ms, recall(p, truth_alive), 1 / ps, ps / ms);
        }
        // filters keeping 10% and 1% (clusters 0..9, and 0), against the exact filtered answer
        for (const int keep : {10, 1}) {
            const auto f = [keep](const Doc& doc) { return doc.cluster < keep; };
            auto [t, ts] = search_all(h, d, f, {.method = inmem::search_method::exact});
            auto [m, ms] = search_all(h, d, f, {.ef = mine_ef});
            auto [g, gs] = search_all(h, d, f, {.ef = mine_ef, .method = inmem::search_method::graph});
            std::printf("filter keeping %d%%, ef %zu: automatic recall %.4f, %.0f q/s; graph walk recall %.4f, %.0f q/s; "
                        "exact scan %.0f q/s\n",
                        keep, mine_ef, recall(m, t), 1 / ms, recall(g, t), 1 / gs, 1 / ts);
        }
        return {peer_qps ? mine_qps / peer_qps : 0.0, mine_recall};
    }

    // Exact search over float16 and int8 codes, re-ranked by the float32 embeddings, against
    // faiss's exact answer and its own quantised scan with refinement; then the graph over
    // int8 codes against hnswlib.
    void storage_rows() {
        const data_set d = make_data(n, D, quick ? 20 : 50, true, 1);
        auto [truth, flat_s] = faiss_exact(d);
        const auto faiss_refined = [&](faiss::ScalarQuantizer::QuantizerType type, float k_factor) {
            faiss::IndexScalarQuantizer base(static_cast<faiss::Index::idx_t>(D), type);
            faiss::IndexRefineFlat index(&base);
            index.k_factor = k_factor;
            index.train(static_cast<faiss::Index::idx_t>(d.n), d.rows.data());
            index.add(static_cast<faiss::Index::idx_t>(d.n), d.rows.data());
            const auto [out, per_query] = faiss_search(index, d);
            return std::pair{recall(out, truth), per_query};
        };
        const auto coded = [&](auto collection_tag, const char* label, faiss::ScalarQuantizer::QuantizerType type,
                               float k_factor, double bytes_per_vector) {
            using coll = typename decltype(collection_tag)::type;
            inmem::basic_database<bench_schema<D>> db;
            auto h = db.template vectors<coll>();
            load(db, h, d);
            auto [mine, inmem_s] = search_all(h, d, inmem::keep_all{}, {});
            const auto [peer_recall, peer_s] = faiss_refined(type, k_factor);
            std::printf("exact top-10 over %s codes (%.0f bytes a vector in the index, float32 %zu), clustered %zu x %zu, "
                        "%.0f candidates re-ranked: inmem %.2f ms (%.2fx IndexFlatL2's %.2f ms), recall %.4f; faiss "
                        "IndexRefineFlat(IndexScalarQuantizer) %.2f ms, recall %.4f (%.2fx)\n",
                        label, bytes_per_vector, D * sizeof(float), n, D, k_factor * 10, inmem_s * 1e3, inmem_s / flat_s,
                        flat_s * 1e3, recall(mine, truth), peer_s * 1e3, peer_recall, inmem_s / peer_s);
        };
        coded(std::type_identity<exact_half_docs<D>>{}, "float16", faiss::ScalarQuantizer::QT_fp16, 2, D * 2.0);
        coded(std::type_identity<exact_int8_docs<D>>{}, "int8", faiss::ScalarQuantizer::QT_8bit, 4, D + 4.0);

        // the graph over int8 codes
        const data_set g = make_data(n, D, quick ? 200 : 1000, true, 3);
        auto [graph_truth, gs] = faiss_exact(g);
        (void)gs;
        hnswlib::L2Space space(D);
        hnswlib::HierarchicalNSW<float> peer(&space, n, 16, 200, 100);
        for (std::size_t i = 0; i < n; ++i) peer.addPoint(&g.rows[i * D], i);
        inmem::basic_database<bench_schema<D>> db;
        auto h = db.template vectors<graph_int8_docs<D>>();
        const auto t0 = std::chrono::steady_clock::now();
        load(db, h, g);
        h.wait_for_graph();
        const double build = seconds_since(t0);
        double mine_qps = 0, peer_qps = 0, mine_recall = 0, peer_recall = 0;
        std::size_t mine_ef = 0, peer_ef = 0;
        for (const std::size_t ef : {10, 16, 24, 32, 48, 64, 96, 128, 200}) {
            peer.setEf(ef);
            std::vector<std::vector<std::size_t>> p(g.q);
            const auto s0 = std::chrono::steady_clock::now();
            for (std::size_t i = 0; i < g.q; ++i)
                for (auto r = peer.searchKnn(&g.queries[i * D], 10); !r.empty(); r.pop()) p[i].push_back(r.top().second);
            const double ps = seconds_since(s0) / static_cast<double>(g.q);
            auto [m, ms] = search_all(h, g, inmem::keep_all{}, {.ef = ef, .rerank = ef}); // (all the walk keeps)
            const double pr = recall(p, graph_truth), mr = recall(m, graph_truth);
            if (!mine_ef && mr >= 0.95) mine_ef = ef, mine_qps = 1 / ms, mine_recall = mr;
            if (!peer_ef && pr >= 0.95) peer_ef = ef, peer_qps = 1 / ps, peer_recall = pr;
        }
        std::printf("hnsw over int8 codes (M=16, efConstruction=200), clustered %zu x %zu: build %.1f us per vector; at "
                    "recall >= 0.95: inmem %.0f q/s (ef %zu, recall %.4f), hnswlib float32 %.0f q/s (ef %zu, recall %.4f): "
                    "%.2fx\n",
                    n, D, build / static_cast<double>(n) * 1e6, mine_qps, mine_ef, mine_recall, peer_qps, peer_ef,
                    peer_recall, peer_qps ? mine_qps / peer_qps : 0.0);
    }

    // Upserts per second, each in its own transaction with a KV put of its fact, on disk with
    // batched durability: into an exact collection, and into one whose graph is built (each
    // commit adds its vector to the graph before it is visible: the figure the line reports).
    double upsert_rows() {
        const std::size_t preload = quick ? 1000 : 10000, count = quick ? 500 : 5000;
        const data_set d = make_data(preload + count, D, 1, true, 4);
        const auto rate = [&](auto collection_tag, bool with_graph) {
            using coll = typename decltype(collection_tag)::type;
            std::filesystem::remove_all(dir);
            inmem::basic_database<bench_schema<D>, inmem::durability::batched> db(dir);
            auto h = db.template vectors<coll>();
            auto kv = db.template kv<Fact>();
            const auto run = db.begin_run({});
            for (std::size_t i = 0; i < preload; i += 100)
                db.transact(run, [&](auto& tx) {
                    for (std::size_t j = i; j < i + 100; ++j)
                        h.upsert(tx, id_of('p', j), std::span<const float>(&d.rows[j * D], D), Fact{"preloaded"});
                });
            h.wait_for_graph();
            if (with_graph != h.index_stats().graph) std::printf("  (unexpected: graph %d)\n", int(h.index_stats().graph));
            const auto t0 = std::chrono::steady_clock::now();
            for (std::size_t i = preload; i < preload + count; ++i) {
                const std::string id = id_of('f', i);
                const Fact fact{"fact " + std::to_string(i)};
                db.transact(run, [&](auto& tx) {
                    kv.put(tx, id, fact);
                    h.upsert(tx, id, std::span<const float>(&d.rows[i * D], D), fact);
                });
            }
            const double per_s = static_cast<double>(count) / seconds_since(t0);
            std::filesystem::remove_all(dir);
            return per_s;
        };
        const double exact = rate(std::type_identity<exact_fact_docs<D>>{}, false);
        const double graph = rate(std::type_identity<graph_fact_docs<D>>{}, true);
        std::printf("upsert in a transaction with a KV put, batched durability, %zu after %zu vectors of %zu: "
                    "%.0f/s into an exact collection, %.0f/s into one with its graph (M=16, efConstruction=200)\n",
                    count, preload, D, exact, graph);
        return graph;
    }

    void reopen_rows() {
        std::filesystem::remove_all(dir);
        const data_set d = make_data(n, D, 1, true, 5);
        {
            inmem::basic_database<bench_schema<D>, inmem::durability::batched> db(dir);
            auto h = db.template vectors<exact_docs<D>>();
            load(db, h, d);
        }
        {
            const auto t0 = std::chrono::steady_clock::now();
            inmem::basic_database<bench_schema<D>, inmem::durability::batched> db(dir);
            std::printf("reopen with %zu vectors of %zu in an exact collection: %.2f s\n", n, D, seconds_since(t0));
        }
        // the same vectors in a collection with a graph: the reopen rebuilds it
        std::filesystem::remove_all(dir);
        {
            inmem::basic_database<bench_schema<D>, inmem::durability::batched> db(dir);
            auto h = db.template vectors<graph_docs<D>>();
            load(db, h, d);
        }
        {
            const auto t0 = std::chrono::steady_clock::now();
            inmem::basic_database<bench_schema<D>, inmem::durability::batched> db(dir);
            const double open = seconds_since(t0);
            db.template vectors<graph_docs<D>>().wait_for_graph();
            std::printf("reopen with %zu vectors of %zu in a collection with a graph: open %.2f s (searches scan until "
                        "the graph is back), graph rebuilt in the background %.2f s after the open began\n",
                        n, D, open, seconds_since(t0));
        }
        std::filesystem::remove_all(dir);
    }
};

template <std::size_t D>
int run_all(bool quick, std::size_t n) {
    runner<D> r{quick, n, std::filesystem::temp_directory_path() / ("inmem_vectors_bench_" + std::to_string(::getpid()))};
    const double exact_ratio = r.exact_rows("clustered", true);
    r.exact_rows("random", false);
    const auto h = r.hnsw_rows();
    r.storage_rows();
    const double upserts = r.upsert_rows();
    r.reopen_rows();
    std::printf("vectors: exact %.2fx faiss, hnsw %.2fx hnswlib at recall %.3f, upsert %.0f/s\n", exact_ratio, h.ratio,
                h.recall, upserts);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
    const bool storage_only = argc > 1 && std::string_view(argv[1]) == "--storage"; // the codes' rows alone
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // each line as it is measured
    omp_set_num_threads(1); // faiss single-threaded, as inmem and hnswlib are here
    const bench::machine m = bench::machine_info();
    std::printf("machine: %s, %u cores, %s, %s build\n", m.cpu.c_str(), m.cores, m.compiler.c_str(), m.build_type.c_str());
    std::printf("kernels: %s\n", std::string(inmem::detail::vector_kernel_name()).c_str());
    if (storage_only) {
        runner<full_dim>{false, 100000, std::filesystem::temp_directory_path() / "inmem_vectors_bench_storage"}.storage_rows();
        return 0;
    }
    return quick ? run_all<quick_dim>(true, 10000) : run_all<full_dim>(false, 100000);
}
