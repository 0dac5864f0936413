// Tests of inmem/primitives/vectors.hpp: vector collections, written with the rest of a run's
// data and searched exactly, in every policy combination.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

using inmem_test::error_of;

namespace {
struct Doc {
    std::string topic;
    int page = 0;
    bool operator==(const Doc&) const = default;
};
struct Fact {
    std::string text;
    bool operator==(const Fact&) const = default;
};

constexpr std::size_t dim = 16;
using l2_docs = inmem::collection<Doc, dim, inmem::metric::l2>;
using ip_docs = inmem::collection<Fact, dim, inmem::metric::inner_product>;
using cos_docs = inmem::collection<std::string, dim, inmem::metric::cosine>;
using vector_schema =
    inmem::schema<inmem::kv<Fact>, inmem::vectors<l2_docs, ip_docs, cos_docs>, inmem::events<inmem::rolled_back>>;
using configurations = inmem_test::all_configurations<vector_schema>;

std::vector<float> random_vector(std::mt19937& rng) {
    std::normal_distribution<float> n(0, 1);
    std::vector<float> v(dim);
    for (float& x : v) x = n(rng);
    return v;
}

// The distance by the metric's definition, in double precision, from the vectors as written.
double reference_distance(inmem::metric m, const std::vector<float>& q, const std::vector<float>& x) {
    double dot = 0, qq = 0, xx = 0, l2 = 0;
    for (std::size_t i = 0; i < q.size(); ++i) {
        dot += double(q[i]) * x[i];
        qq += double(q[i]) * q[i];
        xx += double(x[i]) * x[i];
        l2 += (double(q[i]) - x[i]) * (double(q[i]) - x[i]);
    }
    switch (m) {
    case inmem::metric::l2: return l2;
    case inmem::metric::inner_product: return -dot;
    case inmem::metric::cosine: return 1 - dot / std::sqrt(qq * xx);
    }
    throw std::logic_error("metric");
}

struct reference_hit {
    double distance;
    std::string id;
};

// Brute force: every vector of the map, sorted by reference distance (ties by id).
std::vector<reference_hit> brute_force(inmem::metric m, const std::map<std::string, std::vector<float>>& all,
                                       const std::vector<float>& q, std::size_t k) {
    std::vector<reference_hit> out;
    for (const auto& [id, v] : all) out.push_back({reference_distance(m, q, v), id});
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
    });
    if (out.size() > k) out.resize(k);
    return out;
}

bool near(double a, double b) { return std::abs(a - b) <= 1e-4 * (1 + std::abs(b)); }

// Search results against brute force: the same count, each distance the reference's at
// its rank, and each hit's distance its own vector's true distance (so no wrong vector slips
// in at a tie of distances).
template <class Hits>
void check_against_reference(inmem::metric m, const Hits& hits, const std::map<std::string, std::vector<float>>& all,
                             const std::vector<float>& q, std::size_t k) {
    const auto expected = brute_force(m, all, q, k);
    REQUIRE(hits.size() == expected.size());
    std::set<std::string> seen;
    for (std::size_t i = 0; i < hits.size(); ++i) {
        INFO("rank " << i << ": " << hits[i].id << " at " << hits[i].distance << ", expected " << expected[i].id << " at "
                     << expected[i].distance);
        CHECK(near(hits[i].distance, expected[i].distance));
        CHECK(near(hits[i].distance, reference_distance(m, q, all.at(hits[i].id))));
        CHECK(seen.insert(hits[i].id).second);
        if (i > 0) CHECK(hits[i - 1].distance <= hits[i].distance);
    }
}
} // namespace

TEMPLATE_LIST_TEST_CASE("upsert, get, erase and insert keep a run's vectors", "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    auto docs = db.template vectors<Doc>();
    STATIC_REQUIRE(decltype(docs)::dimension == dim);
    STATIC_REQUIRE(decltype(docs)::metric == inmem::metric::l2);
    std::mt19937 rng(1);
    const auto a = random_vector(rng), b = random_vector(rng);
    const auto v1 = docs.upsert(run, "a", a, Doc{"x", 1});
    CHECK(v1 == db.last_version());
    const auto got = docs.get(run, "a");
    REQUIRE(got);
    CHECK(got->embedding == a);
    CHECK(got->meta == Doc{"x", 1});
    CHECK(got->version == v1);
    CHECK(docs.size() == 1);

    const auto v2 = docs.upsert(run, "a", b, Doc{"y", 2}); // replaces
    CHECK(v2 > v1);
    CHECK(docs.get(run, "a")->embedding == b);
    CHECK(docs.size() == 1);
    const auto other = db.begin_run();
    CHECK_FALSE(docs.get(other, "a")); // ids are per run

    const std::string id = docs.insert(run, a, Doc{"z", 3});
    CHECK(id == "#1");
    CHECK(docs.insert(other, a, Doc{"z", 4}) == "#2"); // unique across runs
    CHECK(docs.size() == 3);
    CHECK(docs.erase(run, "a"));
    CHECK_FALSE(docs.erase(run, "a"));
    CHECK_FALSE(docs.get(run, "a"));
    CHECK(docs.size() == 2);
    // The other collections of the schema are untouched.
    CHECK(db.template vectors<Fact>().size() == 0);
    CHECK(db.template vectors<cos_docs>().size() == 0);
}

TEMPLATE_LIST_TEST_CASE("exact search matches brute force in every metric, filtered or not", "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    const auto run2 = db.begin_run();
    std::mt19937 rng(42);
    std::map<std::string, std::vector<float>> all, even;
    auto l2 = db.template vectors<Doc>();
    auto ip = db.template vectors<Fact>();
    auto cos = db.template vectors<std::string>();
    for (int i = 0; i < 300; ++i) {
        const std::string id = "v" + std::to_string(i);
        const auto v = random_vector(rng);
        all[id] = v;
        if (i % 2 == 0) even[id] = v;
        l2.upsert(run, id, v, Doc{i % 2 == 0 ? "even" : "odd", i});
        ip.upsert(run, id, v, Fact{id});
        cos.upsert(run, id, v, id);
    }
    for (int trial = 0; trial < 5; ++trial) {
        const auto q = random_vector(rng);
        for (const std::size_t k : {std::size_t{1}, std::size_t{10}, std::size_t{300}, std::size_t{1000}}) {
            check_against_reference(inmem::metric::l2, l2.search(q, k), all, q, k);
            check_against_reference(inmem::metric::inner_product, ip.search(q, k), all, q, k);
            check_against_reference(inmem::metric::cosine, cos.search(q, k), all, q, k);
            check_against_reference(inmem::metric::l2, l2.search(q, k, [](const Doc& d) { return d.topic == "even"; }),
                                    even, q, k);
        }
    }
    CHECK(l2.search(random_vector(rng), 0).empty());
    // A filter on the writer run: run2 has none.
    CHECK(l2.search(random_vector(rng), 5, [&](const inmem::vector_info<Doc>& v) { return v.run == run2; }).empty());
    const auto q = random_vector(rng);
    for (const auto& hit : l2.search(q, 5, [&](const inmem::vector_info<Doc>& v) { return v.run == run; })) {
        CHECK(hit.run == run);
        CHECK(hit.meta.page == std::stoi(hit.id.substr(1)));
        CHECK(hit.version > 0);
    }
}

TEMPLATE_LIST_TEST_CASE("an empty collection, ties, and what a search refuses", "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    auto l2 = db.template vectors<Doc>();
    auto cos = db.template vectors<std::string>();
    std::vector<float> q(dim, 0.5f);
    CHECK(l2.search(q, 10).empty());

    // Ties: equal vectors come out by run, then id.
    const auto run2 = db.begin_run();
    for (const char* id : {"c", "a", "b"}) {
        l2.upsert(run2, id, q, Doc{id, 0});
        l2.upsert(run, id, q, Doc{id, 1});
    }
    const auto hits = l2.search(q, 6);
    REQUIRE(hits.size() == 6);
    std::vector<std::pair<std::uint64_t, std::string>> order;
    for (const auto& h : hits) order.emplace_back(h.run.value, h.id);
    CHECK(order == std::vector<std::pair<std::uint64_t, std::string>>{
                       {run.value, "a"}, {run.value, "b"}, {run.value, "c"}, {run2.value, "a"}, {run2.value, "b"}, {run2.value, "c"}});
    CHECK(hits[0].distance == 0);

    using inmem::errc;
    const std::vector<float> short_one(dim - 1, 1.0f), long_one(dim + 1, 1.0f);
    CHECK(error_of([&] { l2.upsert(run, "x", short_one, Doc{}); }) == errc::invalid_argument);
    CHECK(error_of([&] { (void)l2.search(long_one, 1); }) == errc::invalid_argument);
    CHECK(inmem_test::what_of([&] { l2.upsert(run, "x", short_one, Doc{}); }).find("16 floats; this one has 15") !=
          std::string::npos);
    auto bad = q;
    bad[3] = std::numeric_limits<float>::quiet_NaN();
    CHECK(error_of([&] { l2.upsert(run, "x", bad, Doc{}); }) == errc::invalid_argument);
    CHECK(inmem_test::what_of([&] { l2.upsert(run, "x", bad, Doc{}); }).find("value 3 of the embedding is NaN") !=
          std::string::npos);
    bad[3] = std::numeric_limits<float>::infinity();
    CHECK(error_of([&] { l2.upsert(run, "x", bad, Doc{}); }) == errc::invalid_argument);
    CHECK(error_of([&] { (void)l2.search(bad, 1); }) == errc::invalid_argument);
    const std::vector<float> zero(dim, 0.0f);
    CHECK(error_of([&] { l2.upsert(run, "zero", zero, Doc{}); }) == errc::ok); // fine under l2
    CHECK(error_of([&] { cos.upsert(run, "zero", zero, "z"); }) == errc::invalid_argument);
    CHECK(error_of([&] { (void)cos.search(zero, 1); }) == errc::invalid_argument);
    CHECK(error_of([&] { l2.upsert(run, "", q, Doc{}); }) == errc::invalid_argument);
    CHECK(error_of([&] { l2.upsert(run, std::string(inmem::max_key_size + 1, 'k'), q, Doc{}); }) == errc::key_too_large);
    db.end_run(run2);
    CHECK(error_of([&] { l2.upsert(run2, "late", q, Doc{}); }) == errc::run_not_active);
    CHECK(l2.size() == 7); // nothing refused was written
}

TEMPLATE_LIST_TEST_CASE("a transaction writes vectors with KV atomically and searches its own view", "[vectors]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    auto facts = db.template kv<Fact>();
    auto vectors = db.template vectors<Fact>();
    std::vector<float> near_q(dim, 0.0f), far_q(dim, 0.0f);
    near_q[0] = 1;
    far_q[1] = 1;
    vectors.upsert(run, "old", far_q, Fact{"old"});

    // A throw leaves neither the fact nor its vector.
    CHECK_THROWS_AS(db.transact(run,
                                [&](auto& tx) {
                                    facts.put(tx, "f", Fact{"f"});
                                    vectors.upsert(tx, "f", near_q, Fact{"f"});
                                    throw std::runtime_error("fails half way");
                                }),
                    std::runtime_error);
    CHECK_FALSE(facts.get(run, "f"));
    CHECK_FALSE(vectors.get(run, "f"));
    CHECK(vectors.size() == 1);

    auto tx = db.begin(run);
    facts.put(tx, "f", Fact{"f"});
    vectors.upsert(tx, "f", near_q, Fact{"f"});
    CHECK(vectors.erase(tx, "old"));
    const std::string generated = vectors.insert(tx, far_q, Fact{"gen"});
    // Inside: its own writes, in place of what they replace.
    auto inside = vectors.search(tx, near_q, 10);
    REQUIRE(inside.size() == 2);
    CHECK(inside[0].id == "f");
    CHECK(inside[0].version == 0);
    CHECK(inside[1].id == generated);
    CHECK(vectors.get(tx, "f")->meta == Fact{"f"});
    CHECK_FALSE(vectors.get(tx, "old"));
    // Outside, before the commit: nothing of it.
    auto outside = vectors.search(near_q, 10);
    REQUIRE(outside.size() == 1);
    CHECK(outside[0].id == "old");
    // A commit made meanwhile by another transaction is not in tx's snapshot.
    vectors.upsert(run, "meanwhile", near_q, Fact{"m"});
    for (const auto& hit : vectors.search(tx, near_q, 10)) CHECK(hit.id != "meanwhile");
    const auto version = tx.commit();
    const auto after = vectors.search(near_q, 10);
    REQUIRE(after.size() == 3);
    CHECK(after[0].id == "f"); // distance 0, before "meanwhile" (also 0) by id
    CHECK(after[0].version == version);
    CHECK(after[1].id == "meanwhile");
    CHECK(after[2].id == generated);
    CHECK(facts.get(run, "f") == Fact{"f"});
}

TEMPLATE_LIST_TEST_CASE("a search at a snapshot sees the collection as it was", "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    auto vectors = db.template vectors<Doc>();
    std::vector<float> q(dim, 0.0f);
    q[0] = 1;
    std::vector<float> x = q;
    vectors.upsert(run, "a", q, Doc{"first", 1});
    auto tx = db.begin(run); // snapshot: "a" as first written
    x[0] = 2;
    vectors.upsert(run, "a", x, Doc{"second", 2}); // replaced after the snapshot
    vectors.upsert(run, "b", q, Doc{"new", 3});   // written after it
    const auto then = vectors.search(tx, q, 10);
    REQUIRE(then.size() == 1);
    CHECK(then[0].meta.topic == "first");
    CHECK(then[0].distance == 0);
    vectors.erase(run, "a");
    CHECK(vectors.search(tx, q, 10).size() == 1); // erased after the snapshot: still there
    const auto now = vectors.search(q, 10);
    REQUIRE(now.size() == 1);
    CHECK(now[0].id == "b");
}

TEMPLATE_LIST_TEST_CASE("vectors and generated ids survive a reopen", "[vectors]", configurations) {
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        inmem_test::test_database<TestType> holder;
        std::mt19937 rng(7);
        std::map<std::string, std::vector<float>> all;
        inmem::run_id run;
        {
            auto& db = *holder;
            run = db.begin_run();
            auto vectors = db.template vectors<std::string>();
            for (int i = 0; i < 50; ++i) {
                const auto v = random_vector(rng);
                const auto id = vectors.insert(run, v, "meta" + std::to_string(i));
                all[id] = v;
            }
            for (int i = 0; i < 10; ++i) vectors.erase(run, "#" + std::to_string(50 - i)); // the newest ids
            for (int i = 0; i < 10; ++i) all.erase("#" + std::to_string(50 - i));
            vectors.upsert(run, "#70", random_vector(rng), "user-chosen"); // of the generated form
            vectors.erase(run, "#70");
            db.sync();
        }
        holder.reopen();
        auto& db = *holder;
        auto vectors = db.template vectors<std::string>();
        CHECK(vectors.size() == 40);
        const auto q = random_vector(rng);
        check_against_reference(inmem::metric::cosine, vectors.search(q, 100), all, q, 100);
        CHECK(vectors.get(run, "#3")->meta == "meta2");
        // Never reused: not the erased #41..#50, not #70 that a user wrote and erased.
        CHECK(vectors.insert(run, q, "after reopen") == "#71");
        db.snapshot(); // and from a snapshot instead of the WAL
        holder.reopen();
        CHECK(holder->template vectors<std::string>().insert(run, q, "again") == "#72");
        CHECK(holder->template vectors<std::string>().size() == 42);
    }
}

TEMPLATE_LIST_TEST_CASE("an erased run's vectors leave the collection; a fork copies them", "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    const auto keep = db.begin_run();
    auto vectors = db.template vectors<Doc>();
    std::vector<float> q(dim, 1.0f);
    vectors.upsert(run, "gone", q, Doc{"gone", 1});
    vectors.upsert(keep, "kept", q, Doc{"kept", 2});
    const auto forked = inmem::fork(db, run);
    CHECK(vectors.get(forked, "gone")->meta == Doc{"gone", 1});
    CHECK(vectors.size() == 3);
    db.end_run(run);
    db.end_run(forked);
    db.erase_run(run, {.cascade = true});
    const auto hits = vectors.search(q, 10);
    REQUIRE(hits.size() == 1); // the fork was the erased run's child: it went too
    CHECK(hits[0].run == keep);
    CHECK(vectors.size() == 1);
}

TEMPLATE_LIST_TEST_CASE("rollback puts a run's vectors back with its KV", "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    auto vectors = db.template vectors<Doc>();
    std::vector<float> q(dim, 1.0f), x(dim, 2.0f);
    vectors.upsert(run, "a", q, Doc{"a", 1});
    db.template kv<Fact>().put(run, "f", Fact{"f"});
    vectors.upsert(run, "a", x, Doc{"a", 2}); // two commits to undo
    vectors.upsert(run, "b", x, Doc{"b", 3});
    const auto event = inmem::rollback(db, run, 2);
    CHECK(event.puts == 1);
    CHECK(event.erases == 1);
    CHECK(vectors.get(run, "a")->meta == Doc{"a", 1});
    CHECK_FALSE(vectors.get(run, "b"));
    const auto hits = vectors.search(q, 10);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].distance == 0);
    // The replay of the run before the rollback still shows what was undone.
    const auto then = inmem::replay(db, run, inmem::at_version{event.from});
    CHECK(vectors.get(then, "b")->meta == Doc{"b", 3});
}

TEST_CASE("a collection's dimension and metric are part of the schema: reopening under others is refused", "[vectors]") {
    inmem_test::temp_dir dir;
    using a = inmem::schema<inmem::vectors<inmem::collection<Doc, 8, inmem::metric::cosine>>>;
    using other_metric = inmem::schema<inmem::vectors<inmem::collection<Doc, 8, inmem::metric::l2>>>;
    using other_dim = inmem::schema<inmem::vectors<inmem::collection<Doc, 9, inmem::metric::cosine>>>;
    STATIC_REQUIRE(a::fingerprint != other_metric::fingerprint);
    STATIC_REQUIRE(a::fingerprint != other_dim::fingerprint);
    {
        inmem::database<a> db(dir.path());
        db.vectors<Doc>().upsert(db.begin_run(), "x", std::vector<float>(8, 1.0f), Doc{});
    }
    CHECK(error_of([&] { inmem::database<other_metric> db(dir.path()); }) == inmem::errc::schema_mismatch);
    CHECK(error_of([&] { inmem::database<other_dim> db(dir.path()); }) == inmem::errc::schema_mismatch);
    inmem::database<a> db(dir.path());
    CHECK(db.vectors<Doc>().size() == 1);
}

TEST_CASE("the AVX2 kernels agree with the portable ones", "[vectors]") {
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-2, 2);
    for (std::size_t n = 1; n <= 100; ++n) {
        std::vector<float> a(n), b(n);
        for (std::size_t i = 0; i < n; ++i) a[i] = u(rng), b[i] = u(rng);
        INFO("n = " << n);
        const float dot = inmem::detail::dot_portable(a.data(), b.data(), n);
        const float l2 = inmem::detail::l2_portable(a.data(), b.data(), n);
        CHECK(std::abs(inmem::detail::dot_avx2(a.data(), b.data(), n) - dot) <= 1e-4f * (1 + std::abs(dot)));
        CHECK(std::abs(inmem::detail::l2_avx2(a.data(), b.data(), n) - l2) <= 1e-4f * (1 + l2));
        double exact = 0;
        for (std::size_t i = 0; i < n; ++i) exact += double(a[i]) * b[i];
        CHECK(std::abs(dot - exact) <= 1e-4 * (1 + std::abs(exact)));
    }
}
