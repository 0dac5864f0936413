// Tests of inmem/database.hpp and inmem/engine.hpp: one behavioural suite over every policy
// combination, races under the thread-safe mode, and stored-data corruption.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <tuple>

namespace {
struct Step {
    std::string tool;
    std::map<std::string, std::string> args;
    std::optional<double> score;
    bool operator==(const Step&) const = default;
};
using step_schema = inmem::schema<inmem::kv<Step, std::int64_t>>;

// A storage policy that damages every value it stores: reads must report corruption.
struct truncating_storage {
    using policy_kind = inmem::storage_kind;
    struct backend : inmem::detail::memory_backend {
        void put(std::string&& key, std::string&& bytes, inmem::version_t version) {
            if (key[4] == static_cast<char>(inmem::detail::key_space::run)) bytes.resize(bytes.size() / 2);
            memory_backend::put(std::move(key), std::move(bytes), version);
        }
    };
};

using all_databases =
    std::tuple<inmem::database<step_schema>,
               inmem::basic_database<step_schema, inmem::concurrency::single_thread>,
               inmem::basic_database<step_schema, inmem::durability::none, inmem::concurrency::optimistic,
                                     inmem::storage::memory>>;
} // namespace

TEMPLATE_LIST_TEST_CASE("a random workload matches a model of maps", "[database]", all_databases) {
    TestType db;
    std::mt19937_64 rng(2024);
    std::vector<inmem::run_id> runs;
    std::map<std::pair<std::uint64_t, std::string>, Step> model;
    std::map<std::pair<std::uint64_t, std::string>, inmem::version_t> versions;
    auto steps = db.template kv<Step>();
    for (int i = 0; i < 3; ++i) runs.push_back(db.begin_run({.name = "r" + std::to_string(i)}));
    for (int i = 0; i < 3000; ++i) {
        auto run = runs[rng() % runs.size()];
        std::string key = "k" + std::to_string(rng() % 64);
        auto id = std::make_pair(run.value, key);
        switch (rng() % 4) {
        case 0:
        case 1: {
            Step s{"tool" + std::to_string(rng() % 5), {{"n", std::to_string(i)}},
                   rng() % 2 ? std::optional<double>(i * 0.5) : std::nullopt};
            auto v = steps.put(run, key, s);
            CHECK(v > versions[id]);
            versions[id] = v;
            model[id] = s;
            break;
        }
        case 2: {
            bool existed = model.erase(id) > 0;
            CHECK(steps.erase(run, key) == existed);
            break;
        }
        default: {
            auto got = steps.get(run, key);
            auto it = model.find(id);
            REQUIRE(got.has_value() == (it != model.end()));
            if (got) CHECK(*got == it->second);
        }
        }
    }
    for (auto run : runs) {
        std::size_t expected = 0;
        for (const auto& [id, s] : model) expected += id.first == run.value;
        auto listed = steps.list(run);
        CHECK(listed.size() == expected);
        for (const auto& e : listed) CHECK(model.at({run.value, e.key}) == e.value);
    }
}

TEMPLATE_LIST_TEST_CASE("the run lifecycle behaves the same under every policy", "[database]", all_databases) {
    TestType db;
    auto run = db.begin_run({.name = "only"});
    db.template kv<std::int64_t>().put(run, "n", 42);
    db.end_run(run, inmem::run_status::completed);
    CHECK(db.run(run).status == inmem::run_status::completed);
    CHECK_THROWS_AS(db.template kv<std::int64_t>().put(run, "n", 43), inmem::error);
    CHECK(db.template kv<std::int64_t>().get(run, "n") == 42);
}

TEST_CASE("concurrent writers in their own runs and concurrent readers (optimistic)", "[database]") {
    inmem::database<step_schema> db;
    constexpr int writers = 4;
    constexpr int per_writer = 2000;
    std::vector<inmem::run_id> runs;
    for (int w = 0; w < writers; ++w) runs.push_back(db.begin_run());
    auto counters = db.kv<std::int64_t>();
    std::atomic<bool> done{false};
    std::atomic<std::int64_t> reads{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            while (reads.load() == 0) std::this_thread::yield(); // overlap with the reader for sure
            for (int i = 0; i < per_writer; ++i) {
                counters.put(runs[w], "c" + std::to_string(i % 50), i);
                counters.put(runs[w], "last", i);
            }
        });
    std::thread reader([&] {
        while (!done) {
            for (auto run : runs) {
                auto last = counters.get(run, "last");
                if (last) CHECK(*last < per_writer);
                for (const auto& e : counters.list(run, "c")) CHECK(e.value < per_writer);
                ++reads;
            }
        }
    });
    for (auto& t : threads) t.join();
    done = true;
    reader.join();
    for (auto run : runs) {
        CHECK(counters.get(run, "last") == per_writer - 1);
        CHECK(counters.list(run, "c").size() == 50);
    }
    // 2 writes per iteration, plus each begin_run: every commit got its own version.
    CHECK(db.last_version() == static_cast<inmem::version_t>(writers * per_writer * 2 + writers));
    CHECK(reads > 0);
}

TEST_CASE("concurrent begin_run never hands out an id twice", "[database]") {
    inmem::database<step_schema> db;
    std::vector<std::vector<inmem::run_id>> ids(4);
    std::vector<std::thread> threads;
    for (auto& mine : ids)
        threads.emplace_back([&db, &mine] {
            for (int i = 0; i < 500; ++i) mine.push_back(db.begin_run());
        });
    for (auto& t : threads) t.join();
    std::set<std::uint64_t> all;
    for (const auto& mine : ids)
        for (auto id : mine) CHECK(all.insert(id.value).second);
    CHECK(all.size() == 2000);
    CHECK(db.runs().size() == 2000);
}

TEST_CASE("a stored value that does not decode is reported as corruption, naming key and type", "[database]") {
    inmem::basic_database<step_schema, truncating_storage> db;
    auto run = db.begin_run();
    auto steps = db.kv<Step>();
    steps.put(run, "s", Step{"search", {{"q", "inmem"}}, 1.0});
    try {
        (void)steps.get(run, "s");
        FAIL("no exception");
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::corruption);
        CHECK_THAT(e.what(), Catch::Contains("'s'") && Catch::Contains("Step"));
    }
    CHECK_THROWS_AS(steps.list(run), inmem::error);
    CHECK(db.run(run).status == inmem::run_status::active); // the run index is not affected
}

TEST_CASE("inmem::error carries an errc in inmem's category", "[database]") {
    inmem::error e(inmem::errc::unknown_run, "inmem: run 9 does not exist");
    CHECK(e.code() == inmem::errc::unknown_run);
    CHECK(e.code().category().name() == std::string("inmem"));
    CHECK_THAT(e.what(), Catch::Contains("run 9 does not exist"));
    CHECK(inmem::make_error_code(inmem::errc::decode_truncated).message() == "encoded value is truncated");
    std::error_code ec = inmem::errc::corruption;
    CHECK(ec.value() == 30);
}
