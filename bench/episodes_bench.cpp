// episodes_bench: the episodic layer (inmem/episodic/episodes.hpp) on the shapes of the
// self-learning memory seed's published baselines (P95 there: episode creation 2.56 us, step
// logging 1.13 us, episode completion 3.82 us, pattern extraction 10.43 us, memory retrieval
// 721 us). One line of figures, the first after the header:
//
//   episodes: create <T> us, step log <T> us, complete <T> us, retrieval <T> us, mining <T> us (seed: 2.56, 1.13, 3.82, 721, 10.43)
//
//   episodes_bench [--quick]
//
// - create: start(task, a 384-float embedding, tags): a run and its task's embedding, two
//   commits; per episode, over E = 1,000 episodes;
// - step log: log(run, step) of a tool call (tool, action, latency, tokens, observation), one
//   commit; per step, 10 per episode;
// - complete: complete(run, outcome): score and result in the run's metadata, the run ended;
// - retrieval: similar(query, 5, successful()): the 5 completed episodes closest to a new
//   task among the E (an exact scan here: under the collection's graph threshold), per query,
//   over 200 queries; also unfiltered;
// - mining: frequent_sequences(2, 5) over the successful episodes' steps, per episode mined.
// Each figure is the median and the 95th percentile of the per-operation wall times
// (steady_clock). Durability: batched (on disk, the WAL synced in the background), and the
// same in memory (durability::none). --quick (a smoke test): E = 100.
#include "harness.hpp"

#include <inmem/inmem.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <unistd.h>
#include <vector>

namespace {

constexpr std::size_t dim = 384;
using episode_schema = inmem::schema<inmem::events<inmem::episode_step>, inmem::vectors<inmem::episode_tasks<dim>>>;

struct figures {
    double median_us = 0, p95_us = 0;
};

figures summarize(std::vector<double> ns) {
    std::sort(ns.begin(), ns.end());
    if (ns.empty()) return {};
    return {ns[ns.size() / 2] / 1e3, ns[std::min(ns.size() - 1, ns.size() * 95 / 100)] / 1e3};
}

// Wall time of one operation, in ns. (Not bench::time_ns: it also reads the thread's CPU
// clock, which costs about as much as the operations timed here, a step log of ~1 us.)
template <class F>
double wall_ns(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
}

struct results {
    figures create, step, complete, retrieval, retrieval_all, mining;
};

template <class Db>
results measure(Db& db, std::size_t episodes) {
    inmem::episodes memory(db);
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0, 1);
    std::vector<std::vector<float>> topics(20, std::vector<float>(dim));
    for (auto& t : topics)
        for (auto& x : t) x = g(rng);
    const auto embedding = [&](std::size_t topic) {
        std::vector<float> v = topics[topic % topics.size()];
        for (auto& x : v) x += 0.3f * g(rng);
        return v;
    };
    const char* tools[] = {"search", "read", "edit", "test", "compile", "deploy"};
    std::vector<double> create, step, complete, retrieval, retrieval_all;
    for (std::size_t e = 0; e < episodes; ++e) {
        const auto task_embedding = embedding(e);
        const std::string task = "task " + std::to_string(e) + " about topic " + std::to_string(e % topics.size());
        inmem::run_id run;
        create.push_back(wall_ns([&] { run = memory.start(task, task_embedding, {.tags = {"bench"}}); }));
        for (int s = 0; s < 10; ++s) {
            inmem::episode_step st;
            st.tool = tools[rng() % 6];
            st.action = "act";
            st.latency_ms = 1250;
            st.tokens = 2500;
            st.observation = "ok";
            step.push_back(wall_ns([&] { memory.log(run, st); }));
        }
        const bool success = rng() % 4 != 0;
        complete.push_back(wall_ns([&] { memory.complete(run, {.success = success, .score = success ? 0.9 : 0.1}); }));
    }
    std::size_t found = 0;
    for (int q = 0; q < 200; ++q) {
        const auto query = embedding(static_cast<std::size_t>(q));
        retrieval.push_back(wall_ns([&] { found += memory.similar(query, 5, decltype(memory)::successful()).size(); }));
        retrieval_all.push_back(wall_ns([&] { found += memory.similar(query, 5).size(); }));
    }
    bench::do_not_optimize(found);
    std::vector<double> mining;
    std::size_t mined = 0;
    for (int r = 0; r < 5; ++r) {
        const double ns = wall_ns([&] { mined += memory.frequent_sequences(2, 5).size(); });
        mining.push_back(ns / static_cast<double>(episodes * 3 / 4)); // per successful episode, about
    }
    bench::do_not_optimize(mined);
    return {summarize(create), summarize(step), summarize(complete), summarize(retrieval), summarize(retrieval_all),
            summarize(mining)};
}

void print(const char* label, const results& r, std::size_t episodes) {
    std::printf("%s, %zu episodes of 10 steps, embeddings of %zu floats (median / p95, us):\n", label, episodes, dim);
    std::printf("  create %.2f / %.2f, step log %.2f / %.2f, complete %.2f / %.2f\n", r.create.median_us, r.create.p95_us,
                r.step.median_us, r.step.p95_us, r.complete.median_us, r.complete.p95_us);
    std::printf("  retrieval of 5 among the completed %.1f / %.1f, among all %.1f / %.1f; mining pairs %.2f / %.2f per episode\n",
                r.retrieval.median_us, r.retrieval.p95_us, r.retrieval_all.median_us, r.retrieval_all.p95_us,
                r.mining.median_us, r.mining.p95_us);
}

} // namespace

int main(int argc, char** argv) {
    const bool quick = argc > 1 && std::string_view(argv[1]) == "--quick";
    const std::size_t episodes = quick ? 100 : 1000;
    const bench::machine m = bench::machine_info();
    std::printf("machine: %s, %u cores, %s, %s build\n", m.cpu.c_str(), m.cores, m.compiler.c_str(), m.build_type.c_str());
    const auto dir = std::filesystem::temp_directory_path() / ("inmem_episodes_bench_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    results on_disk;
    {
        inmem::basic_database<episode_schema, inmem::durability::batched> db(dir);
        on_disk = measure(db, episodes);
    }
    std::filesystem::remove_all(dir);
    inmem::basic_database<episode_schema, inmem::durability::none> memory_db;
    const results in_memory = measure(memory_db, episodes);
    std::printf("episodes: create %.2f us, step log %.2f us, complete %.2f us, retrieval %.1f us, mining %.2f us "
                "(seed: 2.56, 1.13, 3.82, 721, 10.43)\n",
                on_disk.create.p95_us, on_disk.step.p95_us, on_disk.complete.p95_us, on_disk.retrieval.p95_us,
                on_disk.mining.p95_us);
    std::printf("(p95, on disk with batched durability; the seed's figures are its P95s)\n");
    print("on disk, batched durability", on_disk, episodes);
    print("in memory", in_memory, episodes);
    return 0;
}
