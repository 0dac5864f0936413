// Tests of the HNSW graph of inmem/vectors/index.hpp and hnsw.hpp, through collections small
// enough for the unit suite (the recall at 100k vectors is tests/vectors/recall.cpp's and the
// benchmark's): a collection past its threshold searches through the graph, and what it
// returns is only what the search's snapshot holds, never an erased or replaced vector, only
// what the filter keeps, the same after a reopen; a selective filter scans exactly.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {
struct Point {
    int group = 0; // which of 10 groups (a filter's field)
    int value = 0; // the embedding is point_embedding(value)
    bool operator==(const Point&) const = default;
};

constexpr std::size_t dim = 8;
// A graph from 40 vectors on, small links so that it has several levels.
using points = inmem::collection<Point, dim, inmem::metric::l2, inmem::hnsw<6, 40, 40, 16>>;
using graph_schema = inmem::schema<inmem::vectors<points>>;
using configurations = inmem_test::all_configurations<graph_schema>;

std::vector<float> point_embedding(int value) {
    std::mt19937 rng(static_cast<std::uint32_t>(value) * 7919u + 1);
    std::normal_distribution<float> n(0, 1);
    std::vector<float> v(dim);
    for (float& x : v) x = n(rng);
    return v;
}

std::string id_of(int i) { return "p" + std::to_string(i); }

template <class Hits>
std::set<std::string> ids(const Hits& hits) {
    std::set<std::string> out;
    for (const auto& h : hits) out.insert(h.id);
    return out;
}

// Share of the exact answer's ids the approximate one found.
template <class Hits>
double recall_of(const Hits& approx, const Hits& exact) {
    if (exact.empty()) return 1.0;
    const auto found = ids(approx);
    std::size_t hit = 0;
    for (const auto& e : exact) hit += found.count(e.id);
    return static_cast<double>(hit) / static_cast<double>(exact.size());
}

template <class Db>
void write_points(Db& db, inmem::run_id run, int from, int to) {
    auto v = db.template vectors<Point>();
    db.transact(run, [&](auto& tx) {
        for (int i = from; i < to; ++i) v.upsert(tx, id_of(i), point_embedding(i), Point{i % 10, i});
    });
}
} // namespace

TEMPLATE_LIST_TEST_CASE("past its threshold a collection searches through its graph, close to exactly", "[vectors]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto v = db.template vectors<Point>();
    const auto run = db.begin_run();
    write_points(db, run, 0, 39);
    CHECK_FALSE(v.index_stats().graph); // under the threshold: exact, no graph
    write_points(db, run, 39, 400); // crosses the threshold: the graph is built in the background
    CHECK(v.index_stats().graph);
    v.wait_for_graph();
    auto stats = v.index_stats();
    CHECK_FALSE(stats.building);
    CHECK(stats.vectors == 400);
    CHECK(stats.graph_nodes == stats.rows);
    write_points(db, run, 400, 410); // from now on each commit adds its rows before it is visible
    stats = v.index_stats();
    CHECK_FALSE(stats.building);
    CHECK(stats.graph_nodes == 410);

    double total = 0;
    for (int q = 0; q < 40; ++q) {
        const auto query = point_embedding(10000 + q);
        const auto exact = v.search(query, 10, inmem::keep_all{}, {.method = inmem::search_method::exact});
        const auto approx = v.search(query, 10);
        REQUIRE(approx.size() == 10);
        for (std::size_t i = 1; i < approx.size(); ++i) CHECK(approx[i - 1].distance <= approx[i].distance);
        total += recall_of(approx, exact);
        // a walk that keeps every candidate finds the exact answer
        const auto wide = v.search(query, 10, inmem::keep_all{}, {.ef = 400});
        CHECK(ids(wide) == ids(exact));
    }
    CHECK(total / 40 >= 0.9);
}

TEMPLATE_LIST_TEST_CASE("a graph search returns only what its snapshot holds: not later, erased or replaced vectors",
                        "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto v = db.template vectors<Point>();
    const auto run = db.begin_run();
    write_points(db, run, 0, 300);
    v.wait_for_graph();
    const auto query = point_embedding(5);

    auto before = db.begin(run); // its snapshot: 300 points, p5 at distance 0
    // later: a point right on the query, p5 erased, p6 moved onto the query
    v.upsert(run, "on-query", query, Point{0, -1});
    REQUIRE(v.erase(run, "p5"));
    v.upsert(run, "p6", query, Point{6, -2});

    const auto now = v.search(query, 5, inmem::keep_all{}, {.ef = 300});
    const auto now_ids = ids(now);
    CHECK(now_ids.count("on-query"));
    CHECK_FALSE(now_ids.count("p5"));
    for (const auto& h : now)
        if (h.id == "p6") CHECK(h.meta.value == -2); // its new embedding, never the replaced one
    for (int q = 0; q < 20; ++q)
        for (const auto& h : v.search(point_embedding(q), 10)) {
            CHECK(h.id != "p5");
            if (h.id == "p6") CHECK(h.meta.value == -2);
        }

    const auto then = v.search(before, query, 5, inmem::keep_all{}, {.ef = 300});
    REQUIRE_FALSE(then.empty());
    CHECK(then.front().id == "p5");
    CHECK(then.front().distance == 0);
    for (const auto& h : then) {
        CHECK(h.id != "on-query");
        if (h.id == "p6") CHECK(h.meta.value == 6);
    }
}

TEMPLATE_LIST_TEST_CASE("a filtered graph search keeps only what the filter keeps; a selective one scans exactly",
                        "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto v = db.template vectors<Point>();
    const auto run = db.begin_run();
    write_points(db, run, 0, 1000);
    v.wait_for_graph();
    const auto group3 = [](const Point& p) { return p.group == 3; };       // 10%
    const auto rare = [](const Point& p) { return p.value % 200 == 7; };   // 0.5%
    double total = 0;
    for (int q = 0; q < 20; ++q) {
        const auto query = point_embedding(20000 + q);
        // forced through the graph (no exact fallback): only group 3, close to the exact answer
        const auto walked = v.search(query, 10, group3, {.method = inmem::search_method::graph});
        const auto exact = v.search(query, 10, group3, {.method = inmem::search_method::exact});
        REQUIRE(walked.size() == 10);
        for (const auto& h : walked) CHECK(h.meta.group == 3);
        total += recall_of(walked, exact);
        // a filter that keeps 5 of 1000: the estimate sends it to the exact scan
        const auto few = v.search(query, 10, rare);
        const auto few_exact = v.search(query, 10, rare, {.method = inmem::search_method::exact});
        REQUIRE(few.size() == 5);
        CHECK(ids(few) == ids(few_exact));
        for (std::size_t i = 0; i < few.size(); ++i) CHECK(few[i].distance == few_exact[i].distance);
    }
    CHECK(total / 20 >= 0.85);
}

TEMPLATE_LIST_TEST_CASE("the graph is rebuilt at reopen from the live vectors, and searches agree", "[vectors]",
                        configurations) {
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        std::vector<std::vector<std::string>> before;
        inmem_test::test_database<TestType> holder;
        {
            auto& db = *holder;
            auto v = db.template vectors<Point>();
            const auto run = db.begin_run();
            write_points(db, run, 0, 500);
            for (int i = 0; i < 500; i += 3) v.erase(run, id_of(i));
            for (int q = 0; q < 10; ++q) {
                std::vector<std::string> got;
                for (const auto& h : v.search(point_embedding(30000 + q), 10, inmem::keep_all{}, {.method = inmem::search_method::exact}))
                    got.push_back(h.id);
                before.push_back(got);
            }
            db.sync();
        }
        holder.reopen(); // from the WAL: the erased rows come back with the replay, then go
        auto& db = *holder;
        auto v = db.template vectors<Point>();
        v.wait_for_graph(); // (the reopen builds it in the background)
        const auto stats = v.index_stats();
        CHECK(stats.graph);
        CHECK(stats.vectors == 333);
        CHECK(stats.rows == 333); // the erased ones are gone from memory
        CHECK(stats.graph_nodes == 333);
        double total = 0;
        for (int q = 0; q < 10; ++q) {
            const auto query = point_embedding(30000 + q);
            std::vector<std::string> exact;
            for (const auto& h : v.search(query, 10, inmem::keep_all{}, {.method = inmem::search_method::exact})) exact.push_back(h.id);
            CHECK(exact == before[static_cast<std::size_t>(q)]);
            const auto approx = v.search(query, 10);
            std::size_t hit = 0;
            for (const auto& h : approx) hit += std::count(exact.begin(), exact.end(), h.id);
            total += static_cast<double>(hit) / 10.0;
        }
        CHECK(total / 10 >= 0.9);
        db.snapshot(); // and from a snapshot
        holder.reopen();
        holder->template vectors<Point>().wait_for_graph();
        CHECK(holder->template vectors<Point>().index_stats().graph_nodes == 333);
    } else {
        SUCCEED("a database in memory has nothing to reopen");
    }
}

TEMPLATE_LIST_TEST_CASE("a graph being built in the background catches up, and searches never miss the rows it lacks",
                        "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto v = db.template vectors<Point>();
    const auto run = db.begin_run();
    // one commit at a time: the graph starts at the 40th, built in the background meanwhile
    for (int i = 0; i < 39; ++i) v.upsert(run, id_of(i), point_embedding(i), Point{i % 10, i});
    CHECK_FALSE(v.index_stats().graph);
    for (int i = 39; i < 200; ++i) {
        v.upsert(run, id_of(i), point_embedding(i), Point{i % 10, i});
        // whatever the graph holds, the newest point is found where it is
        const auto hits = v.search(point_embedding(i), 1);
        REQUIRE(hits.size() == 1);
        CHECK(hits.front().id == id_of(i));
    }
    v.wait_for_graph();
    const auto stats = v.index_stats();
    CHECK(stats.graph);
    CHECK(stats.graph_nodes == 200);
}

TEST_CASE("inmem::exact collections never build a graph", "[vectors]") {
    using exact_points = inmem::collection<Point, dim, inmem::metric::l2, inmem::exact>;
    inmem::basic_database<inmem::schema<inmem::vectors<exact_points>>> db;
    auto v = db.vectors<Point>();
    const auto run = db.begin_run();
    db.transact(run, [&](auto& tx) {
        for (int i = 0; i < 2000; ++i) v.upsert(tx, id_of(i), point_embedding(i), Point{i % 10, i});
    });
    CHECK_FALSE(v.index_stats().graph);
    const auto hits = v.search(point_embedding(77), 3);
    REQUIRE(hits.size() == 3);
    CHECK(hits.front().id == "p77");
}
