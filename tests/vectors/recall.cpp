// The HNSW graph's recall at 100,000 vectors (meson test recall_hnsw, suite vectors-recall;
// built optimised whatever the build type): recall@10 of graph searches against the exact
// scan of the same collection, on clustered data (a Gaussian mixture, what embeddings look
// like) and on uniform random data (the hard case for any graph), with and without 10% of the
// vectors erased, and under a filter that keeps 10%; and the same graph over int8 codes
// (inmem::store_int8), its candidates ranked by their float32 embeddings. Prints each recall;
// fails below the floors asserted here. The benchmark (bench/vectors) measures the same at 384 dimensions
// against hnswlib.
#include <inmem/inmem.hpp>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {
struct Tag {
    int group = 0;
};
constexpr std::size_t dim = 32;
using graph_vectors = inmem::collection<Tag, dim, inmem::metric::l2, inmem::hnsw<16, 100, 0>>;
using int8_graph_vectors = inmem::collection<Tag, dim, inmem::metric::l2, inmem::hnsw<16, 100, 0>, inmem::store_int8>;
using reference_vectors = inmem::collection<Tag, dim, inmem::metric::l2, inmem::exact>; // the truth
using recall_schema = inmem::schema<inmem::vectors<graph_vectors, int8_graph_vectors, reference_vectors>>;

int failures = 0;

void expect(bool ok, const char* what, double value, double floor) {
    std::printf("  %-52s %.4f (floor %.2f)%s\n", what, value, floor, ok ? "" : "  FAILED");
    if (!ok) ++failures;
}

template <class Reference, class Handle, class Filter>
double recall(const Reference& reference, const Handle& h, const std::vector<std::vector<float>>& queries, std::size_t ef,
              Filter f) {
    double hit = 0, all = 0;
    for (const auto& q : queries) {
        const auto exact = reference.search(q, 10, f, {.method = inmem::search_method::exact});
        const auto approx = h.search(q, 10, f, {.ef = ef, .method = inmem::search_method::graph});
        std::set<std::string> found;
        for (const auto& a : approx) found.insert(a.id);
        for (const auto& e : exact) hit += static_cast<double>(found.count(e.id));
        all += static_cast<double>(exact.size());
    }
    return hit / all;
}

template <class Graph>
void run(const char* label, bool clustered, double floor64, double floor_erased, double floor_filtered) {
    constexpr std::size_t n = 100000;
    std::mt19937 rng(clustered ? 11 : 12);
    std::normal_distribution<float> g(0, 1);
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> centers(100 * dim);
    for (auto& c : centers) c = g(rng);
    const auto sample = [&](int& group) {
        std::vector<float> v(dim);
        const std::size_t c = rng() % 100;
        group = static_cast<int>(c % 10);
        for (std::size_t j = 0; j < dim; ++j) v[j] = clustered ? centers[c * dim + j] + 0.35f * g(rng) : u(rng);
        return v;
    };
    inmem::basic_database<recall_schema> db;
    auto h = db.vectors<Graph>();
    auto reference = db.vectors<reference_vectors>();
    const auto writer = db.begin_run();
    for (std::size_t i = 0; i < n; i += 1000)
        db.transact(writer, [&](auto& tx) {
            for (std::size_t j = i; j < i + 1000; ++j) {
                int group = 0;
                const auto v = sample(group);
                h.upsert(tx, "v" + std::to_string(j), v, Tag{group});
                reference.upsert(tx, "v" + std::to_string(j), v, Tag{group});
            }
        });
    h.wait_for_graph(); // (built in the background: until then searches scan what it lacks)
    std::vector<std::vector<float>> queries;
    for (int q = 0; q < 200; ++q) {
        int group = 0;
        queries.push_back(sample(group));
    }
    std::printf("%s, %zu x %zu, M=16, efConstruction=100 (graph: %s, %zu nodes):\n", label, n, dim,
                h.index_stats().graph ? "yes" : "no", h.index_stats().graph_nodes);
    if (!h.index_stats().graph || h.index_stats().graph_nodes != n) ++failures;
    const auto all = inmem::keep_all{};
    for (const std::size_t ef : {16, 32, 128}) {
        const std::string what = "recall@10, ef " + std::to_string(ef);
        std::printf("  %-52s %.4f\n", what.c_str(), recall(reference, h, queries, ef, all));
    }
    const double at64 = recall(reference, h, queries, 64, all);
    expect(at64 >= floor64, "recall@10, ef 64", at64, floor64);
    const auto group3 = [](const Tag& t) { return t.group == 3; };
    const double filtered = recall(reference, h, queries, 64, group3);
    expect(filtered >= floor_filtered, "recall@10, ef 64, filter keeping 10% (graph walk)", filtered, floor_filtered);
    for (std::size_t i = 0; i < n; i += 10) {
        h.erase(writer, "v" + std::to_string(i));
        reference.erase(writer, "v" + std::to_string(i));
    }
    const double erased = recall(reference, h, queries, 64, all);
    expect(erased >= floor_erased, "recall@10, ef 64, 10% erased", erased, floor_erased);
}
} // namespace

int main() {
    run<graph_vectors>("clustered", true, 0.95, 0.95, 0.90);
    run<graph_vectors>("uniform random", false, 0.80, 0.80, 0.75);
    run<int8_graph_vectors>("clustered, int8 codes", true, 0.95, 0.95, 0.90);
    std::printf("%s\n", failures ? "recall below a floor" : "recall at every floor");
    return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}
