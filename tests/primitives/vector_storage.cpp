// Tests of collections stored as float16 or int8 codes (inmem::store_float16, store_int8):
// searches find candidates by the codes and rank them by the records' float32 embeddings, so
// every distance they return is the exact one; with every vector a candidate the answer is the
// float32 collection's, exactly; at an older snapshot the candidates are ranked by the
// embeddings of that snapshot; the graph works over codes; and the storage may change
// between opens (it is not stored).
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {
struct Note {
    int value = 0;
    bool operator==(const Note&) const = default;
};

constexpr std::size_t dim = 24;
constexpr int count = 300;

template <inmem::metric M, class Storage>
using notes = inmem::collection<Note, dim, M, Storage, inmem::hnsw<8, 64, 100, 32>>;

// Each metric three times: float32 (the reference), float16 and int8.
template <inmem::metric M>
using by_storage = inmem::vectors<notes<M, inmem::store_float32>, notes<M, inmem::store_float16>, notes<M, inmem::store_int8>>;
using storage_schema = inmem::schema<by_storage<inmem::metric::l2>, by_storage<inmem::metric::inner_product>,
                                     by_storage<inmem::metric::cosine>>;
using configurations = inmem_test::all_configurations<storage_schema>;

std::vector<float> embedding(int value) {
    std::mt19937 rng(static_cast<std::uint32_t>(value) * 2654435761u + 7);
    std::normal_distribution<float> n(0, 1);
    std::vector<float> v(dim);
    for (float& x : v) x = n(rng);
    return v;
}

std::string id_of(int i) { return "n" + std::to_string(i); }

template <class Db, inmem::metric M>
void write_all(Db& db, inmem::run_id run, int from, int to) {
    db.transact(run, [&](auto& tx) {
        for (int i = from; i < to; ++i) {
            db.template vectors<notes<M, inmem::store_float32>>().upsert(tx, id_of(i), embedding(i), Note{i});
            db.template vectors<notes<M, inmem::store_float16>>().upsert(tx, id_of(i), embedding(i), Note{i});
            db.template vectors<notes<M, inmem::store_int8>>().upsert(tx, id_of(i), embedding(i), Note{i});
        }
    });
}

template <class Hits>
std::vector<std::string> ids(const Hits& hits) {
    std::vector<std::string> out;
    for (const auto& h : hits) out.push_back(h.id);
    return out;
}

constexpr inmem::search_options exact_scan{.method = inmem::search_method::exact};

// The float32 collection's exact distance of every vector to query.
template <class Db, inmem::metric M>
std::map<std::string, float> exact_distances(Db& db, const std::vector<float>& query) {
    std::map<std::string, float> out;
    for (const auto& h : db.template vectors<notes<M, inmem::store_float32>>().search(query, count * 2, inmem::keep_all{}, exact_scan))
        out[h.id] = h.distance;
    return out;
}

template <class Db, inmem::metric M, class Storage>
void check_storage(Db& db) {
    auto reference = db.template vectors<notes<M, inmem::store_float32>>();
    auto coded = db.template vectors<notes<M, Storage>>();
    double recall = 0;
    for (int q = 0; q < 20; ++q) {
        const auto query = embedding(100000 + q);
        const auto want = reference.search(query, 10, inmem::keep_all{}, exact_scan);
        REQUIRE(want.size() == 10);
        // every vector a candidate: the float32 answer, distances and order exactly
        const auto all = coded.search(query, 10, inmem::keep_all{}, {.method = inmem::search_method::exact, .rerank = count});
        REQUIRE(ids(all) == ids(want));
        for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].distance == want[i].distance);
        // the default candidates: nearly the same ids, and each distance the exact one
        const auto distances = exact_distances<Db, M>(db, query);
        for (const auto& options : {exact_scan, inmem::search_options{}}) {
            const auto got = coded.search(query, 10, inmem::keep_all{}, options);
            REQUIRE(got.size() == 10);
            const auto want_ids = ids(want);
            const std::set<std::string> wanted(want_ids.begin(), want_ids.end());
            for (std::size_t i = 0; i < got.size(); ++i) {
                CHECK(got[i].distance == distances.at(got[i].id));
                if (i > 0) CHECK(got[i - 1].distance <= got[i].distance);
                recall += wanted.count(got[i].id) ? 1.0 / (10.0 * 20 * 2) : 0;
            }
        }
    }
    INFO("recall@10 of " << inmem::to_string(M) << " codes: " << recall);
    CHECK(recall >= 0.9);
}
} // namespace

TEMPLATE_LIST_TEST_CASE("float16 and int8 collections return exact distances, and the float32 answer when all are ranked",
                        "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    write_all<TestType, inmem::metric::l2>(db, run, 0, count);
    write_all<TestType, inmem::metric::inner_product>(db, run, 0, count);
    write_all<TestType, inmem::metric::cosine>(db, run, 0, count);
    db.template vectors<notes<inmem::metric::l2, inmem::store_int8>>().wait_for_graph();
    db.template vectors<notes<inmem::metric::l2, inmem::store_float16>>().wait_for_graph();
    CHECK(db.template vectors<notes<inmem::metric::l2, inmem::store_int8>>().index_stats().graph_nodes == count);
    check_storage<TestType, inmem::metric::l2, inmem::store_float16>(db);
    check_storage<TestType, inmem::metric::l2, inmem::store_int8>(db);
    check_storage<TestType, inmem::metric::inner_product, inmem::store_float16>(db);
    check_storage<TestType, inmem::metric::inner_product, inmem::store_int8>(db);
    check_storage<TestType, inmem::metric::cosine, inmem::store_float16>(db);
    check_storage<TestType, inmem::metric::cosine, inmem::store_int8>(db);

    // k past the collection: all of it, ranked exactly; an empty filter: nothing
    auto coded = db.template vectors<notes<inmem::metric::cosine, inmem::store_int8>>();
    const auto everything = coded.search(embedding(7), count + 50, inmem::keep_all{}, exact_scan);
    CHECK(everything.size() == count);
    CHECK(ids(everything) == ids(db.template vectors<notes<inmem::metric::cosine, inmem::store_float32>>().search(
                                 embedding(7), count + 50, inmem::keep_all{}, exact_scan)));
    CHECK(coded.search(embedding(7), 10, [](const Note&) { return false; }).empty());
}

TEMPLATE_LIST_TEST_CASE("at an older snapshot, codes' candidates are ranked by that snapshot's embeddings", "[vectors]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    write_all<TestType, inmem::metric::l2>(db, run, 0, count);
    auto coded = db.template vectors<notes<inmem::metric::l2, inmem::store_int8>>();
    coded.wait_for_graph();
    const auto query = embedding(5);

    auto before = db.begin(run); // n5 at distance 0 from the query
    std::vector<float> far = query;
    for (float& x : far) x += 10;
    coded.upsert(run, "n5", far, Note{-5}); // later: n5 moved far away
    coded.upsert(run, "n6", query, Note{-6}); // and n6 onto the query

    for (const auto& options : {exact_scan, inmem::search_options{}}) {
        const auto then = coded.search(before, query, 3, inmem::keep_all{}, options);
        REQUIRE(then.size() == 3);
        CHECK(then.front().id == "n5");
        CHECK(then.front().distance == 0);
        CHECK(then.front().meta.value == 5);
        for (const auto& h : then)
            if (h.id == "n6") CHECK(h.meta.value == 6);
        const auto now = coded.search(query, 3, inmem::keep_all{}, options);
        REQUIRE(now.size() == 3);
        CHECK(now.front().id == "n6");
        CHECK(now.front().distance == 0);
        for (const auto& h : now) CHECK(h.id != "n5");
    }
    // the transaction's own write is scored exactly too, among the index's candidates
    coded.upsert(before, "mine", query, Note{1});
    const auto with_own = coded.search(before, query, 2);
    REQUIRE(with_own.size() == 2);
    CHECK(ids(with_own) == std::vector<std::string>{"mine", "n5"});
}

TEST_CASE("a collection's storage may change between opens: float32, then int8, then float16", "[vectors]") {
    struct Doc {
        int value = 0;
    };
    using as_float32 = inmem::schema<inmem::vectors<inmem::collection<Doc, dim, inmem::metric::cosine>>>;
    using as_int8 = inmem::schema<inmem::vectors<inmem::collection<Doc, dim, inmem::metric::cosine, inmem::store_int8>>>;
    using as_float16 =
        inmem::schema<inmem::vectors<inmem::collection<Doc, dim, inmem::metric::cosine, inmem::exact, inmem::store_float16>>>;
    inmem_test::temp_dir dir;
    std::vector<std::vector<std::string>> want;
    inmem::run_id run;
    {
        inmem::basic_database<as_float32, inmem::durability::strict> db(dir.path());
        auto v = db.vectors<Doc>();
        run = db.begin_run();
        for (int i = 0; i < count; ++i) v.upsert(run, id_of(i), embedding(i), Doc{i});
        for (int q = 0; q < 10; ++q) want.push_back(ids(v.search(embedding(5000 + q), 5, inmem::keep_all{}, exact_scan)));
    }
    const auto check = [&](auto& db) {
        auto v = db.template vectors<Doc>();
        CHECK(v.size() == count);
        for (int q = 0; q < 10; ++q)
            CHECK(ids(v.search(embedding(5000 + q), 5, inmem::keep_all{}, {.method = inmem::search_method::exact,
                                                                              .rerank = count})) ==
                  want[static_cast<std::size_t>(q)]);
        const auto entry = v.get(run, id_of(3));
        REQUIRE(entry);
        CHECK(entry->embedding == embedding(3)); // the record keeps the float32 embedding as written
    };
    {
        inmem::basic_database<as_int8, inmem::durability::strict> db(dir.path());
        check(db);
    }
    {
        inmem::basic_database<as_float16, inmem::durability::strict> db(dir.path());
        check(db);
    }
}
