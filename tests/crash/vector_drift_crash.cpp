// The drift test under kill -9 (inmem/primitives/vectors.hpp): a child writes facts and
// their embeddings, each pair in one transaction (10% of them thrown away half way), on a
// strict database, until the parent SIGKILLs it at a random moment; the parent reopens the
// directory and checks that every fact has exactly its embedding and every embedding its
// fact (drift 0), and that every pair the child reported committed is there.
//   vector_drift_crash --kills N        (the parent; exits 1 on any violation)
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace {
struct Fact {
    std::string text;
    bool operator==(const Fact&) const = default;
};
constexpr std::size_t dim = 64;
// The writer searches exactly (its opens stay short: the kills come within milliseconds); the
// checker opens the same data with a graph from 64 vectors on (how a collection is indexed is
// not stored), so every check after a kill rebuilds the graph from what recovery found.
using fact_vectors = inmem::collection<Fact, dim, inmem::metric::cosine, inmem::exact>;
using drift_schema = inmem::schema<inmem::kv<Fact>, inmem::vectors<fact_vectors>>;
using durable_db = inmem::basic_database<drift_schema, inmem::durability::strict>;
using graph_fact_vectors = inmem::collection<Fact, dim, inmem::metric::cosine, inmem::hnsw<8, 64, 64>>;
using checked_db =
    inmem::basic_database<inmem::schema<inmem::kv<Fact>, inmem::vectors<graph_fact_vectors>>, inmem::durability::strict>;

std::vector<float> embed(const std::string& text) {
    std::seed_seq seed(text.begin(), text.end());
    std::mt19937 rng(seed);
    std::normal_distribution<float> n(0, 1);
    std::vector<float> v(dim);
    for (float& x : v) x = n(rng);
    return v;
}

// The child: pairs until killed; after each committed one, its number goes to `acked`.
int child(const std::filesystem::path& dir, std::uint64_t attempt) {
    durable_db db(dir);
    const auto run = db.begin_run({.name = "attempt " + std::to_string(attempt)});
    auto facts = db.kv<Fact>();
    auto vectors = db.vectors<Fact>();
    std::mt19937 rng(static_cast<unsigned>(attempt));
    const int acked = ::open((dir / "acked").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    for (std::uint64_t i = 0;; ++i) {
        const std::string key = "fact-" + std::to_string(i % 50);
        const Fact fact{"fact " + std::to_string(attempt) + "." + std::to_string(i)};
        const bool fails = rng() % 10 == 0;
        try {
            db.transact(run, [&](auto& tx) {
                facts.put(tx, key, fact);
                if (fails) throw std::runtime_error("half way");
                vectors.upsert(tx, key, embed(fact.text), fact);
            });
        } catch (const std::runtime_error&) {
            continue;
        }
        const std::string line = std::to_string(run.value) + " " + key + " " + fact.text + "\n";
        if (::write(acked, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
    }
}

pid_t spawn(const std::filesystem::path& dir, std::uint64_t attempt) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        try {
            ::_exit(child(dir, attempt));
        } catch (...) {
            ::_exit(3);
        }
    }
    return pid;
}

// Violations found in dir: drift, and acknowledged pairs that are missing (the last
// acknowledged value of each key of each run must be there: strict durability).
std::uint64_t check(const std::filesystem::path& dir, std::uint64_t& pairs) {
    std::uint64_t violations = 0;
    checked_db db(dir);
    auto facts = db.kv<Fact>();
    auto vectors = db.vectors<Fact>();
    std::uint64_t facts_seen = 0;
    for (const auto& info : db.runs()) {
        for (const auto& [key, fact, version] : facts.list(info.id)) {
            ++facts_seen;
            const auto v = vectors.get(info.id, key);
            if (!v || v->embedding != embed(fact.text) || !(v->meta == fact)) {
                ++violations;
                std::fprintf(stderr, "vector_drift_crash: run %llu fact %s has no matching embedding\n",
                             static_cast<unsigned long long>(info.id.value), key.c_str());
            }
            // and the index finds it where it is (through the graph rebuilt at this open)
            if (facts_seen % 8 != 0) continue;
            const auto hits = vectors.search(embed(fact.text), 1);
            if (hits.empty() || hits.front().distance > 1e-4f || !(hits.front().meta == fact)) {
                ++violations;
                std::fprintf(stderr, "vector_drift_crash: a search for run %llu fact %s does not find it\n",
                             static_cast<unsigned long long>(info.id.value), key.c_str());
            }
        }
    }
    if (vectors.size() >= 64 && !vectors.index_stats().graph) {
        ++violations;
        std::fprintf(stderr, "vector_drift_crash: %zu vectors and no graph after the reopen\n", vectors.size());
    }
    if (vectors.size() != facts_seen) {
        ++violations;
        std::fprintf(stderr, "vector_drift_crash: %zu embeddings for %llu facts\n", vectors.size(),
                     static_cast<unsigned long long>(facts_seen));
    }
    std::map<std::pair<std::uint64_t, std::string>, std::string> last; // acknowledged
    std::ifstream in(dir / "acked");
    for (std::string line; std::getline(in, line);) {
        const auto a = line.find(' '), b = line.find(' ', a + 1);
        if (a == std::string::npos || b == std::string::npos) continue; // a line the kill cut short
        last[{std::stoull(line.substr(0, a)), line.substr(a + 1, b - a - 1)}] = line.substr(b + 1);
    }
    for (const auto& [where, text] : last) {
        const auto fact = facts.get(inmem::run_id{where.first}, where.second);
        // a later, unacknowledged commit may have replaced it; never with nothing
        if (!fact) {
            ++violations;
            std::fprintf(stderr, "vector_drift_crash: acknowledged %s of run %llu is lost\n", where.second.c_str(),
                         static_cast<unsigned long long>(where.first));
        }
    }
    pairs = facts_seen;
    return violations;
}

int parent(std::uint64_t kills) {
    inmem_test::temp_dir root;
    const auto dir = root.path() / "db";
    std::filesystem::create_directories(dir);
    std::mt19937_64 rng(std::random_device{}());
    std::uint64_t violations = 0, pairs = 0;
    for (std::uint64_t k = 1; k <= kills; ++k) {
        const pid_t pid = spawn(dir, k);
        std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 20000));
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        if (WIFEXITED(status)) {
            ++violations;
            std::fprintf(stderr, "vector_drift_crash: the child stopped by itself (%d)\n", WEXITSTATUS(status));
        }
        violations += check(dir, pairs);
    }
    std::printf("vector drift under kill -9: %llu kills, %llu facts with their embeddings at the end, drift %s, "
                "%llu violations\n",
                static_cast<unsigned long long>(kills), static_cast<unsigned long long>(pairs),
                violations == 0 ? "0" : "found", static_cast<unsigned long long>(violations));
    if (pairs == 0) {
        std::fprintf(stderr, "vector_drift_crash: no pair ever committed: the test proved nothing\n");
        return 1;
    }
    return violations == 0 ? 0 : 1;
}
} // namespace

int main(int argc, char** argv) {
    std::uint64_t kills = 50;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string_view(argv[i]) == "--kills") kills = std::stoull(argv[i + 1]);
    return parent(kills);
}
