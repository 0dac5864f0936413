// Retrieval-augmented memory: an agent keeps facts in KV and their embeddings in a vector
// collection, each pair written in one transaction, so the two never drift apart: when a
// write fails half way, neither is kept. Then a filtered search, and the drift check.
//
// The embeddings come from a deterministic toy embedder (no model to download). A real one
// plugs in the same way: call it outside the transaction (it is slow and may fail), then
// write its vector with the fact: vectors.upsert(tx, key, model.embed(text), meta).
#include <inmem/inmem.hpp>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

struct Fact {
    std::string text;
    std::string topic;
};

constexpr std::size_t dimension = 64;
using fact_vectors = inmem::collection<Fact, dimension, inmem::metric::cosine>;
using memory_schema = inmem::schema<inmem::kv<Fact>, inmem::vectors<fact_vectors>>;

// A toy embedder: a bag of hashed words, so texts sharing words are close.
std::vector<float> embed(const std::string& text) {
    std::vector<float> v(dimension, 0.0f);
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(' ', start);
        if (end == std::string::npos) end = text.size();
        std::size_t h = 1469598103934665603ull;
        for (std::size_t i = start; i < end; ++i) h = (h ^ static_cast<unsigned char>(text[i])) * 1099511628211ull;
        v[h % dimension] += 1.0f;
        v[(h >> 20) % dimension] += 0.5f;
        start = end + 1;
    }
    return v;
}

int main() {
    inmem::database<memory_schema> db;
    const auto run = db.begin_run({.name = "research"});
    auto facts = db.kv<Fact>();
    auto vectors = db.vectors<Fact>();

    const std::vector<std::pair<std::string, Fact>> learned = {
        {"paris", {"paris is the capital of france", "geography"}},
        {"rhine", {"the rhine flows through germany and the netherlands", "geography"}},
        {"tcp", {"tcp retransmits lost packets after a timeout", "networking"}},
        {"dns", {"dns maps names to addresses", "networking"}},
        {"berlin", {"berlin is the capital of germany", "geography"}},
    };
    int failed = 0;
    for (std::size_t i = 0; i < learned.size(); ++i) {
        const std::string& key = learned[i].first; // (not a structured binding: the lambda captures it)
        const Fact& fact = learned[i].second;
        const auto embedding = embed(fact.text); // outside the transaction
        try {
            db.transact(run, [&](auto& tx) {
                facts.put(tx, key, fact);
                if (i == 3) throw std::runtime_error("the vector store timed out"); // a failure half way
                vectors.upsert(tx, key, embedding, fact);
            });
        } catch (const std::runtime_error& e) {
            ++failed;
            std::printf("not stored: %s (%s)\n", key.c_str(), e.what());
        }
    }

    // A filtered search: the closest geography facts to a question.
    const auto hits = vectors.search(embed("what is the capital of germany"), 2,
                                     [](const Fact& f) { return f.topic == "geography"; });
    for (const auto& hit : hits) std::printf("%.3f %s: %s\n", hit.distance, hit.id.c_str(), hit.meta.text.c_str());

    // The drift check: every fact has its embedding, every embedding its fact.
    std::size_t fact_count = 0, drift = 0;
    for (const auto& [key, fact, version] : facts.list(run)) {
        ++fact_count;
        const auto v = vectors.get(run, key);
        if (!v || v->embedding != embed(fact.text)) ++drift;
    }
    if (vectors.size() != fact_count) ++drift;
    std::printf("%zu facts, %zu embeddings, %d write failed half way, drift %zu\n", fact_count, vectors.size(), failed,
                drift);

    const bool ok = drift == 0 && fact_count == 4 && hits.size() == 2 && hits[0].id == "berlin" && failed == 1 &&
                    !facts.get(run, "dns");
    if (!ok) std::printf("vector_memory: unexpected result\n");
    return ok ? 0 : 1;
}
