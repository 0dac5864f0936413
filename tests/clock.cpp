// Tests of inmem/clock.hpp: the manual clock, and that a database takes its times from its
// clock policy (runs' start and end, leases), in memory and across a reopen.
#include "support.hpp"

#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace std::chrono_literals;
using time_point = std::chrono::system_clock::time_point;

struct Note {
    std::string text;
};
using clock_schema = inmem::schema<inmem::kv<Note>, inmem::states<inmem::lease>>;

// 2026-12-01T00:00:00Z
const time_point december = time_point(std::chrono::sys_days(std::chrono::year(2026) / 12 / 1));

} // namespace

TEST_CASE("a manual clock reads what it was set to and moves only when told", "[clock]") {
    inmem::clocks::manual clock;
    CHECK(clock.now() == time_point{}); // the epoch
    clock.set(december);
    CHECK(clock.now() == december);
    clock.advance(90s);
    CHECK(clock.now() == december + 90s);
    clock.set(december - 1h); // it may go back: the owner decides
    CHECK(clock.now() == december - 1h);

    // advance() from many threads adds up.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) clock.advance(1ms);
        });
    for (auto& th : threads) th.join();
    CHECK(clock.now() == december - 1h + 4000ms);

    static_assert(inmem::clock_policy<inmem::clocks::manual>);
    static_assert(inmem::clock_policy<inmem::clocks::system>);
    static_assert(!inmem::clock_policy<std::chrono::system_clock>, "not a policy: no policy_kind");
}

TEST_CASE("the default clock is the system clock", "[clock]") {
    inmem::basic_database<clock_schema, inmem::durability::none> db;
    static_assert(std::is_same_v<decltype(db)::clock_policy, inmem::clocks::system>);
    const auto before = std::chrono::system_clock::now();
    const auto run = db.begin_run();
    const auto after = std::chrono::system_clock::now();
    CHECK(db.run(run).started >= before);
    CHECK(db.run(run).started <= after);
}

TEST_CASE("runs start and end at the database's clock's time, and keep those times across a reopen", "[clock]") {
    using db_type = inmem::basic_database<clock_schema, inmem::clocks::manual, inmem::durability::strict,
                                          inmem::concurrency::single_thread>;
    inmem_test::temp_dir dir;
    inmem::run_id first{}, second{};
    {
        db_type db(dir.path());
        db.clock().set(december);
        first = db.begin_run({.name = "first"});
        db.clock().advance(5min);
        second = db.begin_run({.name = "second"});
        db.clock().advance(1h);
        db.end_run(first, inmem::run_status::failed);
        CHECK(db.run(first).started == december);
        CHECK(db.run(first).ended == december + 1h + 5min);
        CHECK(db.run(second).started == december + 5min);
        CHECK_FALSE(db.run(second).ended);
    }
    db_type db(dir.path()); // a fresh clock at the epoch: what was stored stays
    CHECK(db.clock().now() == time_point{});
    CHECK(db.run(first).started == december);
    CHECK(db.run(first).ended == december + 1h + 5min);
    CHECK(db.run(second).started == december + 5min);
    // Two databases, two clocks: setting one leaves the other alone.
    inmem::basic_database<clock_schema, inmem::clocks::manual, inmem::durability::none> other;
    other.clock().set(december + 24h);
    CHECK(db.clock().now() == time_point{});
    CHECK(other.run(other.begin_run()).started == december + 24h);
}

TEST_CASE("leases expire by the database's clock", "[clock]") {
    inmem::basic_database<clock_schema, inmem::clocks::manual, inmem::durability::none> db;
    db.clock().set(december);
    const auto a = db.begin_run({.name = "a"});
    const auto b = db.begin_run({.name = "b"});
    auto leases = db.states<inmem::lease>();

    const auto grant = leases.acquire(a, "leader", 10s);
    REQUIRE(grant);
    CHECK(grant->expires == december + 10s);
    db.clock().advance(9s);
    CHECK_FALSE(leases.acquire(b, "leader", 10s)); // still a's: 1 s left
    const auto renewed = leases.renew(a, "leader", *grant, 10s);
    REQUIRE(renewed);
    CHECK(renewed->expires == december + 19s);
    db.clock().advance(10s); // 19 s: expired exactly now, so free
    const auto taken = leases.acquire(b, "leader", 10s);
    REQUIRE(taken);
    CHECK(taken->expires == december + 29s);
    CHECK(leases.read("leader")->value.holder == b.value);
}
