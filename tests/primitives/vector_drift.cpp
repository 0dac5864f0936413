// The drift test (MemState's, made stronger), for inmem/primitives/vectors.hpp: 1000
// transactions, each a KV put of a fact and an upsert of its embedding, 10% of them failing
// at a random point, by an exception inside the transaction or by a conflict with a rival
// commit. Afterwards every fact has exactly its embedding and every embedding its fact, also
// after a reopen. (tests/crash/vector_drift_crash.cpp is the kill -9 variant.)
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>

namespace {
struct Fact {
    std::string text;
    bool operator==(const Fact&) const = default;
};
constexpr std::size_t dim = 32;
using fact_vectors = inmem::collection<Fact, dim, inmem::metric::cosine>;
using drift_schema = inmem::schema<inmem::kv<Fact>, inmem::vectors<fact_vectors>>;
using configurations = inmem_test::all_configurations<drift_schema>;

// A deterministic toy embedder: the same text, the same embedding.
std::vector<float> embed(const std::string& text) {
    std::seed_seq seed(text.begin(), text.end());
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0, 1);
    std::vector<float> v(dim);
    for (float& x : v) x = n(rng);
    return v;
}

struct drift_report {
    std::size_t facts = 0, embeddings = 0, drift = 0;
};

// Facts without their embedding, embeddings without their fact, and pairs that disagree.
template <class Db>
drift_report drift_of(Db& db, inmem::run_id run) {
    drift_report r;
    auto facts = db.template kv<Fact>();
    auto vectors = db.template vectors<Fact>();
    for (const auto& [key, fact, version] : facts.list(run)) {
        ++r.facts;
        const auto v = vectors.get(run, key);
        if (!v || v->embedding != embed(fact.text) || !(v->meta == fact)) ++r.drift;
    }
    r.embeddings = vectors.size();
    for (const auto& hit : vectors.search(embed("anything"), r.embeddings + 1)) {
        const auto fact = facts.get(run, hit.id);
        if (!fact || !(*fact == hit.meta)) ++r.drift;
    }
    if (r.embeddings != r.facts) r.drift += r.embeddings > r.facts ? r.embeddings - r.facts : r.facts - r.embeddings;
    return r;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("drift test: facts and embeddings never drift apart, whatever fails", "[vectors]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    const auto run = db.begin_run();
    auto facts = db.template kv<Fact>();
    auto vectors = db.template vectors<Fact>();
    std::mt19937 rng(2026);
    std::size_t thrown = 0, conflicted = 0;
    std::set<std::string> written; // the facts that some commit wrote
    constexpr std::size_t transactions = 1000;
    for (std::size_t i = 0; i < transactions; ++i) {
        const std::string key = "fact-" + std::to_string(i % 700); // some facts are updated
        const Fact fact{"fact " + std::to_string(i)};
        const bool fails = rng() % 10 == 0;
        const int where = static_cast<int>(rng() % 3); // before, between or after the two writes
        const bool by_conflict = fails && rng() % 2 == 0;
        auto tx = db.begin(run);
        try {
            if (fails && !by_conflict && where == 0) throw std::runtime_error("before");
            facts.put(tx, key, fact);
            if (fails && !by_conflict && where == 1) throw std::runtime_error("between");
            vectors.upsert(tx, key, embed(fact.text), fact);
            if (fails && !by_conflict && where == 2) throw std::runtime_error("after");
            if (by_conflict) { // a rival writes the same fact, consistently, and commits first
                const Fact rival{"rival " + std::to_string(i)};
                db.transact(run, [&](auto& other) { // (in either order)
                    if (where == 1) vectors.upsert(other, key, embed(rival.text), rival);
                    facts.put(other, key, rival);
                    if (where != 1) vectors.upsert(other, key, embed(rival.text), rival);
                });
                written.insert(key);
            }
            tx.commit();
            CHECK_FALSE(by_conflict);
            written.insert(key);
        } catch (const inmem::error& e) { // (first: an inmem::error is a std::runtime_error too)
            REQUIRE(e.code() == inmem::errc::conflict);
            ++conflicted;
        } catch (const std::runtime_error&) {
            ++thrown;
            tx.abort();
        }
    }
    auto report = drift_of(db, run);
    CHECK(thrown + conflicted > 50);
    CHECK(report.facts == written.size());
    CHECK(report.drift == 0);
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        holder.reopen();
        report = drift_of(*holder, run);
        CHECK(report.facts == written.size());
        CHECK(report.drift == 0);
    }
    std::printf("vector drift: %zu transactions, %zu failed (%zu by exception, %zu by conflict), %zu facts, %zu "
                "embeddings, drift %zu\n",
                transactions, thrown + conflicted, thrown, conflicted, report.facts, report.embeddings, report.drift);
}
