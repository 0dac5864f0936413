// Tests of inmem/primitives/kv.hpp: typed, versioned, run-scoped KV.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <range/v3/algorithm/count_if.hpp>
#include <range/v3/range/conversion.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>

#include <map>
#include <random>

using inmem_test::error_of;

namespace {
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    int budget = 0;
    bool operator==(const Plan&) const = default;
};
using kv_schema = inmem::schema<inmem::kv<Plan, std::string, int>>;
using configurations = inmem_test::all_configurations<kv_schema>;

} // namespace

TEMPLATE_LIST_TEST_CASE("put then get returns the value; absent keys are nullopt", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto plans = db.template kv<Plan>();
    Plan p{"ship", {"build", "test"}, 3};
    plans.put(run, "plan", p);
    CHECK(plans.get(run, "plan") == p);
    CHECK_FALSE(plans.get(run, "other"));
}

TEMPLATE_LIST_TEST_CASE("versions grow with every write, across keys and types", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto plans = db.template kv<Plan>();
    auto ints = db.template kv<int>();
    auto v1 = plans.put(run, "a", Plan{});
    auto v2 = ints.put(run, "a", 1);
    auto v3 = plans.put(run, "a", Plan{"x", {}, 1});
    CHECK(v1 < v2);
    CHECK(v2 < v3);
    CHECK(plans.entry(run, "a")->version == v3);
    CHECK(ints.entry(run, "a")->version == v2);
    CHECK(db.last_version() == v3);
    plans.erase(run, "a");
    auto v4 = plans.put(run, "a", Plan{});
    CHECK(v4 > v3 + 1); // the erase took a version too
}

TEMPLATE_LIST_TEST_CASE("each value type has its own keys", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    db.template kv<int>().put(run, "k", 7);
    db.template kv<std::string>().put(run, "k", "seven");
    CHECK(db.template kv<int>().get(run, "k") == 7);
    CHECK(db.template kv<std::string>().get(run, "k") == "seven");
    CHECK_FALSE(db.template kv<Plan>().get(run, "k"));
    CHECK(db.template kv<int>().list(run).size() == 1);
}

TEMPLATE_LIST_TEST_CASE("runs do not see each other's keys", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto a = db.begin_run();
    auto b = db.begin_run();
    auto ints = db.template kv<int>();
    ints.put(a, "x", 1);
    ints.put(b, "x", 2);
    ints.put(b, "y", 3);
    CHECK(ints.get(a, "x") == 1);
    CHECK(ints.get(b, "x") == 2);
    CHECK_FALSE(ints.get(a, "y"));
    CHECK(ints.list(a).size() == 1);
    CHECK(ints.list(b).size() == 2);
}

TEMPLATE_LIST_TEST_CASE("erase removes a key and reports whether it was there", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto ints = db.template kv<int>();
    ints.put(run, "x", 1);
    auto version = db.last_version();
    CHECK(ints.erase(run, "x"));
    CHECK_FALSE(ints.get(run, "x"));
    auto after_erase = db.last_version();
    CHECK(after_erase > version);
    CHECK_FALSE(ints.erase(run, "x"));
    CHECK(db.last_version() == after_erase); // nothing to erase: no commit
}

TEMPLATE_LIST_TEST_CASE("list returns entries under a prefix in byte order, with versions", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto ints = db.template kv<int>();
    std::map<std::string, int> model;
    std::mt19937 rng(11);
    for (int i = 0; i < 500; ++i) {
        std::string key = std::string(1, "abc"[rng() % 3]) + ":" + std::to_string(rng() % 200);
        ints.put(run, key, i);
        model[key] = i;
    }
    for (std::string prefix : {"", "a", "a:", "b:1", "zzz"}) {
        auto listed = ints.list(run, prefix);
        std::vector<std::pair<std::string, int>> got;
        for (const auto& e : listed) {
            got.emplace_back(e.key, e.value);
            CHECK(e.version == ints.entry(run, e.key)->version);
        }
        std::vector<std::pair<std::string, int>> want;
        for (const auto& [k, v] : model)
            if (k.starts_with(prefix)) want.emplace_back(k, v);
        CAPTURE(prefix);
        CHECK(got == want);
    }
}

TEMPLATE_LIST_TEST_CASE("list composes with range-v3 views, also as a temporary", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto plans = db.template kv<Plan>();
    for (int i = 0; i < 10; ++i) plans.put(run, "p" + std::to_string(i), Plan{"g" + std::to_string(i), {}, i});
    auto goals = plans.list(run, "p") | ranges::views::filter([](const auto& e) { return e.value.budget % 2 == 0; }) |
                 ranges::views::transform([](const auto& e) { return e.value.goal; }) | ranges::views::take(3) |
                 ranges::to<std::vector>();
    CHECK(goals == std::vector<std::string>{"g0", "g2", "g4"});
    CHECK(ranges::count_if(plans.list(run), [](const auto& e) { return e.value.budget > 5; }) == 4);
}

TEMPLATE_LIST_TEST_CASE("a listed range is a snapshot: later writes do not change it", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto ints = db.template kv<int>();
    ints.put(run, "a", 1);
    auto snapshot = ints.list(run);
    auto copy = snapshot;
    ints.put(run, "a", 2);
    ints.put(run, "b", 3);
    REQUIRE(snapshot.size() == 1);
    CHECK(snapshot[0].value == 1);
    CHECK(copy.begin() == snapshot.begin()); // copies share the entries
    inmem::kv_range<int> empty;
    CHECK(empty.empty());
    CHECK(empty.begin() == empty.end());
}

TEMPLATE_LIST_TEST_CASE("keys are arbitrary bytes up to max_key_size", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto ints = db.template kv<int>();
    const std::string binary("\0\xff\x01k\0", 5);
    ints.put(run, binary, 1);
    ints.put(run, "", 2);
    ints.put(run, std::string(inmem::max_key_size, 'x'), 3);
    CHECK(ints.get(run, binary) == 1);
    CHECK(ints.get(run, "") == 2);
    CHECK(ints.get(run, std::string(inmem::max_key_size, 'x')) == 3);
    CHECK_FALSE(ints.get(run, std::string("\0\xff\x01k", 4)));
    CHECK(error_of([&] { ints.put(run, std::string(inmem::max_key_size + 1, 'x'), 4); }) ==
          inmem::errc::key_too_large);
    CHECK(error_of([&] { (void)ints.get(run, std::string(inmem::max_key_size + 1, 'x')); }) == inmem::errc::key_too_large);
}

TEMPLATE_LIST_TEST_CASE("unknown and ended runs are refused with distinct errors", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto ints = db.template kv<int>();
    inmem::run_id never{12345};
    CHECK(error_of([&] { ints.put(never, "k", 1); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)ints.get(never, "k"); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)ints.list(never); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { ints.erase(never, "k"); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { ints.put(inmem::run_id{}, "k", 1); }) == inmem::errc::unknown_run);
    auto run = db.begin_run();
    db.end_run(run);
    CHECK(error_of([&] { ints.put(run, "k", 1); }) == inmem::errc::run_not_active);
    CHECK(db.last_version() == 2); // begin_run and end_run; no failed write took a version
}

TEMPLATE_LIST_TEST_CASE("list pages: after a key, at most limit entries, in a run or a transaction", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto ints = db.template kv<int>();
    std::map<std::string, int> model;
    for (int i = 0; i < 1000; ++i) {
        char key[16];
        std::snprintf(key, sizeof key, "k%04d", (i * 7919) % 1000); // written out of order
        ints.put(run, key, i);
        model[key] = i;
    }
    ints.put(run, "other", -1);

    auto first = ints.list(run, "k", {.limit = 10});
    REQUIRE(first.size() == 10);
    CHECK(first[0].key == "k0000");
    CHECK(first.back().key == "k0009");
    // Paging with the last key of each page visits every entry once, in order.
    std::vector<std::string> seen;
    std::string after;
    for (;;) {
        auto page = ints.list(run, "k", {.after = after, .limit = 64});
        if (page.empty()) break;
        for (const auto& e : page) {
            CHECK(e.value == model.at(e.key));
            seen.push_back(e.key);
        }
        after = page.back().key;
    }
    REQUIRE(seen.size() == 1000);
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
    // after need not be a key that exists; a page past the end is empty; limit 0 is empty.
    CHECK(ints.list(run, "k", {.after = "k0499x", .limit = 1})[0].key == "k0500");
    CHECK(ints.list(run, "k", {.after = "k0999"}).empty());
    CHECK(ints.list(run, "k", {.limit = 0}).empty());
    CHECK(ints.list(run, {}, {.after = "k0999"}).size() == 1); // "other"
    CHECK(error_of([&] { (void)ints.list(inmem::run_id{99}, "k", {.limit = 0}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)ints.list(run, "k", {.after = std::string(5000, 'a')}); }) == inmem::errc::key_too_large);

    // In a transaction, its own writes and erasures are paged with the snapshot.
    db.transact(run, [&](auto& tx) {
        ints.put(tx, "k0000x", 7);   // a new key between k0000 and k0001
        ints.erase(tx, "k0001");     // an erasure inside the first page
        auto page = ints.list(tx, "k", {.limit = 3});
        REQUIRE(page.size() == 3);
        CHECK(page[0].key == "k0000");
        CHECK(page[1].key == "k0000x");
        CHECK(page[2].key == "k0002");
        auto next = ints.list(tx, "k", {.after = page.back().key, .limit = 2});
        REQUIRE(next.size() == 2);
        CHECK(next[0].key == "k0003");
    });
}

TEMPLATE_LIST_TEST_CASE("a limited listing in a serializable transaction conflicts only with changes in what it read",
          "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto ints = db.template kv<int>();
    for (int i = 0; i < 10; ++i) ints.put(run, "k" + std::to_string(i), i);
    auto listed_then = [&](const char* changed) {
        auto tx = db.begin(run, {.level = inmem::isolation::serializable});
        CHECK(ints.list(tx, "k", {.after = "k2", .limit = 3}).size() == 3); // k3, k4, k5
        ints.put(tx, "result", 1);
        ints.put(run, changed, 100); // another commit, after the snapshot
        return error_of([&] { tx.commit(); });
    };
    CHECK(listed_then("k4") == inmem::errc::conflict);  // inside the page
    CHECK(listed_then("k45") == inmem::errc::conflict); // a key added inside it
    CHECK(listed_then("k7") == inmem::errc::ok);        // after the page: not read
    CHECK(listed_then("k1") == inmem::errc::ok);        // before it
}

TEMPLATE_LIST_TEST_CASE("a page after the prefix itself leaves the key equal to the prefix out", "[kv]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto run = db.begin_run();
    auto ints = db.template kv<int>();
    for (int i = 0; i < 40; ++i) ints.put(run, "ka" + std::to_string(i), i); // enough for the group to merge
    ints.put(run, "ka", -1);
    for (int i = 0; i < 40; ++i) ints.put(run, "kb" + std::to_string(i), i);
    const auto page = ints.list(run, "ka", {.after = "ka", .limit = 2});
    REQUIRE(page.size() == 2);
    CHECK(page[0].key == "ka0");
    CHECK(page[1].key == "ka1");
    CHECK(ints.list(run, "ka", {.after = "ka"}).size() == 40);
    db.transact(run, [&](auto& tx) { CHECK(ints.list(tx, "ka", {.after = "ka"}).size() == 40); });
}
