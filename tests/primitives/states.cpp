// Tests of inmem/primitives/states.hpp: state records, cas, transitions, attribution, and the
// lease and counter helpers.
#include "../support.hpp"
#include "../support/configurations.hpp"

#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <thread>
#include <tuple>

namespace {

struct Task {
    std::string owner;
    int step = 0;
    bool operator==(const Task&) const = default;
};
using state_schema = inmem::schema<inmem::kv<Task>, inmem::states<Task, inmem::lease, inmem::counter>>;
using modes = inmem_test::all_configurations<state_schema>;
using inmem_test::error_of;

} // namespace

TEMPLATE_LIST_TEST_CASE("init creates once, read gives value, version and writer, cas checks the version",
                        "[states]", modes) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto a = db.begin_run({.name = "a"});
    auto b = db.begin_run({.name = "b"});
    auto tasks = db.template states<Task>();
    CHECK_FALSE(tasks.read("t"));

    const auto created = tasks.init(a, "t", Task{"a", 0});
    REQUIRE(created);
    CHECK(created.version == db.last_version());
    const auto again = tasks.init(b, "t", Task{"b", 9}); // exists: no reset
    CHECK_FALSE(again);
    CHECK(again.version == created.version);
    auto t = tasks.read("t");
    REQUIRE(t);
    CHECK(t->value == Task{"a", 0});
    CHECK(t->version == created.version);
    CHECK(t->writer == a);

    // cas with the current version wins; with a stale one it reports the actual version.
    const auto won = tasks.cas(b, "t", created.version, Task{"b", 1});
    REQUIRE(won);
    CHECK(won.version > created.version);
    const auto lost = tasks.cas(a, "t", created.version, Task{"a", 2});
    CHECK_FALSE(lost);
    CHECK(lost.version == won.version);
    CHECK(tasks.read("t")->value == Task{"b", 1});
    CHECK(tasks.read("t")->writer == b);
    // cas on a record that does not exist: mismatch with version 0; expected 0 creates it.
    const auto missing = tasks.cas(a, "u", 5, Task{});
    CHECK_FALSE(missing);
    CHECK(missing.version == 0);
    CHECK(tasks.cas(a, "u", 0, Task{"a", 1}));

    // set writes whatever is there.
    const auto v = tasks.set(a, "t", Task{"a", 3});
    CHECK(tasks.read("t")->version == v);
    CHECK(tasks.read("t")->writer == a);

    // State records are shared: the KV of a run and the records do not mix.
    CHECK_FALSE(db.template kv<Task>().get(a, "t"));
}

TEMPLATE_LIST_TEST_CASE("transition re-runs its function when another write gets in first", "[states]", modes) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto tasks = db.template states<Task>();
    CHECK(error_of([&] { tasks.transition(run, "t", [](const Task& t) { return t; }); }) == inmem::errc::not_found);
    REQUIRE(tasks.init(run, "t", Task{"", 0}));
    int calls = 0;
    const auto done = tasks.transition(run, "t", [&](const Task& t) {
        if (++calls == 1) tasks.set(run, "t", Task{"other", 10}); // a concurrent write
        return Task{"me", t.step + 1};
    });
    CHECK(calls == 2);
    CHECK(done.value == Task{"me", 11}); // computed from the other write
    CHECK(done.version == tasks.read("t")->version);
    CHECK(done.writer == run);
}

TEMPLATE_LIST_TEST_CASE("every write is attributed to its run, and writes(run) lists a run's own", "[states]",
                        modes) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto a = db.begin_run();
    auto b = db.begin_run();
    auto tasks = db.template states<Task>();
    const auto v1 = tasks.init(a, "x", Task{"a", 1}).version;
    const auto v2 = tasks.set(b, "x", Task{"b", 2});
    const auto v3 = tasks.set(a, "y", Task{"a", 3});
    db.transact(b, [&](auto& tx) { tasks.set(tx, "y", Task{"b", 4}); });
    const auto wa = tasks.writes(a);
    REQUIRE(wa.size() == 2);
    CHECK(wa[0].name == "x");
    CHECK(wa[0].version == v1);
    CHECK(wa[0].value == Task{"a", 1});
    CHECK(wa[1].name == "y");
    CHECK(wa[1].version == v3);
    const auto wb = tasks.writes(b);
    REQUIRE(wb.size() == 2);
    CHECK(wb[0].version == v2);
    CHECK(wb[1].name == "y");
    CHECK(wb[1].value == Task{"b", 4});
    CHECK(wb[1].version == tasks.read("y")->version);
    CHECK(tasks.read("y")->writer == b);
    // A write by an ended run is refused.
    db.end_run(a);
    CHECK(error_of([&] { tasks.set(a, "x", Task{}); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { (void)tasks.cas(inmem::run_id{42}, "x", 0, Task{}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)tasks.writes(inmem::run_id{42}); }) == inmem::errc::unknown_run);
}

TEMPLATE_LIST_TEST_CASE("a lease is held by one run until released or expired", "[states]", modes) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto a = db.begin_run();
    auto b = db.begin_run();
    auto leases = db.template states<inmem::lease>();
    using namespace std::chrono_literals;

    const auto ga = leases.acquire(a, "leader", 10s);
    REQUIRE(ga);
    CHECK(leases.read("leader")->value.holder == a.value);
    CHECK_FALSE(leases.acquire(b, "leader", 10s)); // held
    const auto again = leases.acquire(a, "leader", 10s); // re-entrant for its holder
    REQUIRE(again);
    CHECK(again->token > ga->token);
    CHECK_FALSE(leases.renew(a, "leader", *ga, 10s)); // stale grant
    const auto renewed = leases.renew(a, "leader", *again, 10s);
    REQUIRE(renewed);
    CHECK(renewed->token > again->token);
    CHECK(leases.release(a, "leader", *renewed));
    CHECK_FALSE(leases.release(a, "leader", *renewed)); // already released
    const auto gb = leases.acquire(b, "leader", 300ms); // long enough for a loaded CI machine
    REQUIRE(gb);
    CHECK(gb->token > renewed->token); // fencing tokens only grow
    CHECK_FALSE(leases.acquire(a, "leader", 10s));
    std::this_thread::sleep_for(350ms); // b's lease expires
    const auto ga2 = leases.acquire(a, "leader", 10s);
    REQUIRE(ga2);
    CHECK(ga2->token > gb->token);
    CHECK_FALSE(leases.renew(b, "leader", *gb, 10s)); // b lost it
}

TEMPLATE_LIST_TEST_CASE("a counter adds atomically from zero", "[states]", modes) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto counters = db.template states<inmem::counter>();
    CHECK(counters.value("c") == 0);
    CHECK(counters.add(run, "c", 5) == 5);
    CHECK(counters.add(run, "c", -2) == 3);
    CHECK(counters.value("c") == 3);
    CHECK(counters.writes(run).size() == 2);
}

TEST_CASE("state records, their versions and their journal survive a reopen", "[states]") {
    inmem_test::temp_dir dir;
    using db_type = inmem::basic_database<state_schema, inmem::durability::strict>;
    inmem::version_t v = 0;
    {
        db_type db(dir.path());
        auto run = db.begin_run();
        auto tasks = db.states<Task>();
        (void)tasks.init(run, "t", Task{"x", 1});
        v = tasks.set(run, "t", Task{"y", 2});
        db.states<inmem::counter>().add(run, "n", 7);
    }
    db_type db(dir.path());
    auto tasks = db.states<Task>();
    CHECK(tasks.read("t")->value == Task{"y", 2});
    CHECK(tasks.read("t")->version == v);
    CHECK(tasks.writes(inmem::run_id{1}).size() == 2);
    CHECK(db.states<inmem::counter>().value("n") == 7);
    auto run = db.begin_run();
    CHECK_FALSE(tasks.cas(run, "t", v - 1, Task{}));
    CHECK(tasks.cas(run, "t", v, Task{"z", 3}));
}

TEMPLATE_LIST_TEST_CASE("erase removes a record, attributed to its run; init creates it anew", "[states]", modes) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto tasks = db.template states<Task>();
    auto a = db.begin_run();
    auto b = db.begin_run();
    (void)tasks.init(a, "t1", Task{"a", 1});
    const auto old_version = tasks.read("t1")->version;
    CHECK(tasks.erase(b, "t1"));
    CHECK_FALSE(tasks.read("t1"));
    CHECK_FALSE(tasks.erase(b, "t1")); // absent: nothing written
    CHECK(tasks.cas(a, "t1", old_version, Task{"stale", 0}).version == 0); // a stale cas sees it gone
    const auto again = tasks.init(a, "t1", Task{"a", 2});
    CHECK(again);
    CHECK(again.version > old_version); // versions (fencing tokens) only grow
    const auto writes = tasks.writes(b);
    REQUIRE(writes.size() == 1);
    CHECK(writes[0].erased);
    CHECK(writes[0].name == "t1");
    CHECK_FALSE(tasks.writes(a).back().erased);
    // In a transaction: erased with everything else, or not at all.
    db.transact(b, [&](auto& tx) {
        CHECK(tasks.erase(tx, "t1"));
        CHECK_FALSE(tasks.read(tx, "t1"));
        db.template kv<Task>().put(tx, "note", Task{"erased t1", 0});
    });
    CHECK_FALSE(tasks.read("t1"));
    CHECK(tasks.writes(b).size() == 2);
    auto tx = db.begin(b);
    (void)tasks.init(tx, "t2", Task{"b", 1});
    CHECK(tasks.erase(tx, "t2"));
    tx.commit();
    CHECK_FALSE(tasks.read("t2"));
}

TEMPLATE_LIST_TEST_CASE("list gives the records under a prefix in name order, a page at a time", "[states]",
                        modes) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto tasks = db.template states<Task>();
    auto run = db.begin_run();
    for (int i = 0; i < 50; ++i) (void)tasks.init(run, "task/" + std::to_string(100 + i), Task{"w", i});
    (void)tasks.init(run, "lease/x", Task{"l", 0});
    tasks.erase(run, "task/105");
    auto all = tasks.list("task/");
    REQUIRE(all.size() == 49);
    CHECK(all[0].name == "task/100");
    CHECK(all[5].name == "task/106");
    CHECK(all[0].writer == run);
    CHECK(all[0].version == tasks.read("task/100")->version);
    CHECK(all[49 - 1].value.step == 49);
    auto page = tasks.list("task/", {.after = "task/120", .limit = 5});
    REQUIRE(page.size() == 5);
    CHECK(page[0].name == "task/121");
    CHECK(page.back().name == "task/125");
    CHECK(tasks.list().size() == 50);
    CHECK(db.template states<inmem::counter>().list().empty()); // another type, other records
    db.transact(run, [&](auto& tx) {
        tasks.set(tx, "task/099", Task{"new", 0});
        auto first = tasks.list(tx, "task/", {.limit = 2});
        REQUIRE(first.size() == 2);
        CHECK(first[0].name == "task/099");
        CHECK(first[0].version == 0); // written in tx: its version is the commit's
        CHECK(first[1].name == "task/100");
    });
}
