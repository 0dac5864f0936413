// The event log under racing threads (the stress suite, under ThreadSanitizer in CI): seqs
// stay gapless and unique, the chain verifies, every thread's own appends keep their order,
// and readers racing the appends see whole prefixes of the log.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Step {
    std::uint32_t thread = 0; // the appending thread
    std::uint32_t index = 0;  // its n-th append to this run
};
struct Mark {
    std::uint32_t thread = 0;
    std::uint32_t index = 0;
    std::string note;
};
using events_schema = inmem::schema<inmem::events<Step, Mark>>;
using db_type = inmem::basic_database<events_schema, inmem::durability::none>; // optimistic

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr std::uint32_t appends_per_thread = 300;
#else
constexpr std::uint32_t appends_per_thread = 3000;
#endif
constexpr std::uint32_t threads = 8;

// Thread t's appends: alone, or in transactions of 1-4 appends, mixing both types, to the
// runs pick() chooses; counts[run][t] numbers them per run.
void append_all(db_type& db, std::uint32_t t, const std::vector<inmem::run_id>& runs,
                std::vector<std::vector<std::uint32_t>>& counts) {
    auto log = db.events();
    std::mt19937 rng(t * 7919 + 1);
    std::uint32_t done = 0;
    while (done < appends_per_thread) {
        const std::size_t r = rng() % runs.size();
        const inmem::run_id run = runs[r];
        auto event = [&](std::uint32_t index) {
            return index % 3 == 0 ? Mark{t, index, "m"} : Mark{t, index, ""};
        };
        if (rng() % 2) {
            const std::uint32_t index = counts[r][t]++;
            if (index % 2) log.append(run, Step{t, index}, {.agent = t % 2 ? "odd" : "even"});
            else log.append(run, event(index));
            ++done;
        } else {
            const std::uint32_t k = std::min<std::uint32_t>(1 + rng() % 4, appends_per_thread - done);
            const std::uint32_t first = counts[r][t];
            db.transact(run, [&](auto& tx) {
                for (std::uint32_t i = 0; i < k; ++i) {
                    const std::uint32_t index = first + i;
                    if (index % 2) log.append(tx, Step{t, index}, {.agent = t % 2 ? "odd" : "even"});
                    else log.append(tx, event(index));
                }
            });
            counts[r][t] += k;
            done += k;
        }
    }
}

// What a run's log must be: seqs 0..n-1 (read() would throw on a gap), each thread's
// indices 0, 1, 2, ... in seq order, the agent index matching the labels, a valid chain.
void check_run(db_type& db, inmem::run_id run, const std::vector<std::uint32_t>& expected_counts) {
    auto log = db.events();
    const auto all = log.read(run);
    std::uint64_t total = 0;
    for (std::uint32_t c : expected_counts) total += c;
    REQUIRE(all.size() == total);
    REQUIRE(log.count(run) == total);
    std::vector<std::uint32_t> next(threads, 0);
    std::uint64_t odd = 0;
    for (std::size_t i = 0; i < all.size(); ++i) {
        REQUIRE(all[i].id.seq == i);
        std::uint32_t t = 0, index = 0;
        if (const auto* s = std::get_if<Step>(&all[i].value)) t = s->thread, index = s->index;
        else t = std::get<Mark>(all[i].value).thread, index = std::get<Mark>(all[i].value).index;
        REQUIRE(index == next[t]); // the thread's own appends, in its order
        ++next[t];
        if (all[i].agent == "odd") ++odd;
    }
    CHECK(next == expected_counts);
    CHECK(log.read(run, {.agent = "odd"}).size() == odd);
    const auto report = log.verify(run);
    INFO(report.message);
    CHECK(report.valid());
    CHECK(report.checked == total);
}

} // namespace

TEST_CASE("8 threads appending to one run, alone and in transactions: gapless seqs, order per thread, a valid chain",
          "[stress]") {
    db_type db;
    const std::vector<inmem::run_id> runs{db.begin_run()};
    std::vector<std::vector<std::uint32_t>> counts(1, std::vector<std::uint32_t>(threads, 0));
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> reads{0};
    // A reader racing the appends: each read is a gapless prefix, read at one snapshot.
    std::thread reader([&] {
        auto log = db.events();
        while (!done.load()) {
            const auto last = log.read(runs[0], {.reverse = true, .limit = 20});
            for (std::size_t i = 1; i < last.size(); ++i) REQUIRE(last[i].id.seq + 1 == last[i - 1].id.seq);
            if (!last.empty()) REQUIRE(last[0].hash == log.get(last[0].id)->hash);
            ++reads;
        }
    });
    std::vector<std::thread> writers;
    std::vector<std::vector<std::vector<std::uint32_t>>> per_thread(threads, counts);
    std::barrier start(threads);
    for (std::uint32_t t = 0; t < threads; ++t)
        writers.emplace_back([&, t] {
            start.arrive_and_wait();
            append_all(db, t, runs, per_thread[t]);
        });
    for (auto& w : writers) w.join();
    done = true;
    reader.join();
    for (std::uint32_t t = 0; t < threads; ++t) counts[0][t] = per_thread[t][0][t];
    check_run(db, runs[0], counts[0]);
    CHECK(reads.load() > 0);
}

TEST_CASE("8 threads appending to 8 runs at random: every run's log is gapless, ordered and valid", "[stress]") {
    db_type db;
    std::vector<inmem::run_id> runs;
    for (int i = 0; i < 8; ++i) runs.push_back(db.begin_run());
    std::vector<std::vector<std::vector<std::uint32_t>>> per_thread(
        threads, std::vector<std::vector<std::uint32_t>>(runs.size(), std::vector<std::uint32_t>(threads, 0)));
    std::atomic<bool> done{false};
    std::thread verifier([&] { // verify() racing the appends checks one snapshot's whole chain
        auto log = db.events();
        std::size_t r = 0;
        while (!done.load()) {
            const auto report = log.verify(runs[r++ % runs.size()]);
            INFO(report.message);
            REQUIRE(report.valid());
        }
    });
    std::vector<std::thread> writers;
    std::barrier start(threads);
    for (std::uint32_t t = 0; t < threads; ++t)
        writers.emplace_back([&, t] {
            start.arrive_and_wait();
            append_all(db, t, runs, per_thread[t]);
        });
    for (auto& w : writers) w.join();
    done = true;
    verifier.join();
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < runs.size(); ++r) {
        std::vector<std::uint32_t> counts(threads, 0);
        for (std::uint32_t t = 0; t < threads; ++t) counts[t] = per_thread[t][r][t];
        for (std::uint32_t c : counts) total += c;
        check_run(db, runs[r], counts);
    }
    CHECK(total == std::uint64_t{threads} * appends_per_thread);
}
