// Tests of inmem/primitives/events.hpp: the per-run, hash-chained event log.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <range/v3/algorithm/count_if.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>
#include <range/v3/range/conversion.hpp>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using inmem_test::error_of;

namespace {
struct ToolCall {
    std::string tool;
    std::string args;
    bool operator==(const ToolCall&) const = default;
};
struct ToolResult {
    std::string output;
    int code = 0;
    bool operator==(const ToolResult&) const = default;
};
using event_schema = inmem::schema<inmem::kv<int>, inmem::events<ToolCall, ToolResult>>;
using configurations = inmem_test::all_configurations<event_schema>;

// One event type only: the log needs no type index.
using single_schema = inmem::schema<inmem::events<ToolCall>>;

using manual_db = inmem::basic_database<event_schema, inmem::durability::none, inmem::clocks::manual>;

// The seqs of a read's entries, in the order read.
template <class Range>
std::vector<std::uint64_t> seqs(const Range& range) {
    std::vector<std::uint64_t> out;
    for (const auto& e : range) out.push_back(e.id.seq);
    return out;
}

} // namespace

TEMPLATE_LIST_TEST_CASE("appends get seqs 0, 1, 2, ... per run, and read back as they were", "[events]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto log = db.events();
    auto a = db.begin_run();
    auto b = db.begin_run();
    CHECK(log.count(a) == 0);
    CHECK(log.read(a).empty());
    CHECK(log.append(a, ToolCall{"search", "q=1"}) == inmem::event_id{a, 0});
    CHECK(log.append(a, ToolResult{"found", 0}) == inmem::event_id{a, 1});
    CHECK(log.append(b, ToolResult{"other run", 1}) == inmem::event_id{b, 0});
    CHECK(log.append(a, ToolCall{"fetch", "url"}) == inmem::event_id{a, 2});
    CHECK(log.count(a) == 3);
    CHECK(log.count(b) == 1);
    CHECK(log.template count<ToolCall>(a) == 2);
    CHECK(log.template count<ToolResult>(a) == 1);

    const auto all = log.read(a);
    REQUIRE(all.size() == 3);
    CHECK(std::get<ToolCall>(all[0].value) == ToolCall{"search", "q=1"});
    CHECK(std::get<ToolResult>(all[1].value) == ToolResult{"found", 0});
    CHECK(std::get<ToolCall>(all[2].value) == ToolCall{"fetch", "url"});
    CHECK(all[0].type == inmem::detail::type_name<ToolCall>());
    CHECK(all[1].type == inmem::detail::type_name<ToolResult>());
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].id == inmem::event_id{a, i});
    CHECK(all[0].version < all[1].version);

    const auto calls = log.template read<ToolCall>(a);
    REQUIRE(calls.size() == 2);
    CHECK(calls[0].id.seq == 0);
    CHECK(calls[1].id.seq == 2);
    CHECK(calls[1].value.tool == "fetch");

    REQUIRE(log.get(inmem::event_id{a, 1}));
    CHECK(std::get<ToolResult>(log.get(inmem::event_id{a, 1})->value).output == "found");
    CHECK_FALSE(log.get(inmem::event_id{a, 3}));
    CHECK(log.template get<ToolResult>(inmem::event_id{a, 1})->value.code == 0);
    CHECK_FALSE(log.template get<ToolCall>(inmem::event_id{a, 1})); // another type
}

TEMPLATE_LIST_TEST_CASE("event seq ranges read forward, reversed and limited, with or without a type", "[events]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto log = db.events();
    auto run = db.begin_run();
    for (int i = 0; i < 30; ++i) {
        if (i % 3 == 0) log.append(run, ToolResult{"r", i});
        else log.append(run, ToolCall{"t", std::to_string(i)});
    }
    CHECK(seqs(log.read(run, {.from = 10, .to = 14})) == std::vector<std::uint64_t>{10, 11, 12, 13});
    CHECK(seqs(log.read(run, {.from = 28})) == std::vector<std::uint64_t>{28, 29});
    CHECK(seqs(log.read(run, {.from = 40})).empty());
    CHECK(seqs(log.read(run, {.reverse = true, .limit = 3})) == std::vector<std::uint64_t>{29, 28, 27});
    CHECK(seqs(log.read(run, {.to = 5, .reverse = true})) == std::vector<std::uint64_t>{4, 3, 2, 1, 0});
    CHECK(seqs(log.read(run, {.limit = 2})) == std::vector<std::uint64_t>{0, 1});
    CHECK(seqs(log.read(run, {.limit = 0})).empty());
    CHECK(seqs(log.template read<ToolResult>(run, {.from = 4, .to = 13})) == std::vector<std::uint64_t>{6, 9, 12});
    CHECK(seqs(log.template read<ToolResult>(run, {.reverse = true, .limit = 2})) == std::vector<std::uint64_t>{27, 24});
    CHECK(seqs(log.template read<ToolCall>(run, {.from = 26, .limit = 3})) == std::vector<std::uint64_t>{26, 28, 29});
    CHECK(seqs(log.template read<ToolCall>(run, {.from = 29, .to = 29})).empty());

    // The result composes with range-v3 views.
    auto results = log.read(run) |
                   ranges::views::filter([](const auto& e) { return std::holds_alternative<ToolResult>(e.value); }) |
                   ranges::views::transform([](const auto& e) { return std::get<ToolResult>(e.value).code; }) |
                   ranges::to<std::vector>();
    CHECK(results == std::vector<int>{0, 3, 6, 9, 12, 15, 18, 21, 24, 27});
}

TEMPLATE_LIST_TEST_CASE("thread and agent labels are kept and filter reads", "[events]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto log = db.events();
    auto run = db.begin_run();
    for (int i = 0; i < 20; ++i) {
        const std::string agent = i % 2 ? "critic" : "planner";
        const std::string thread = i % 5 == 0 ? "t-main" : "";
        if (i % 4 == 0) log.append(run, ToolResult{"r", i}, {.thread = thread, .agent = agent});
        else log.append(run, ToolCall{"t", std::to_string(i)}, {.thread = thread, .agent = agent});
    }
    CHECK(seqs(log.read(run, {.agent = "critic", .limit = 4})) == std::vector<std::uint64_t>{1, 3, 5, 7});
    CHECK(seqs(log.read(run, {.thread = "t-main"})) == std::vector<std::uint64_t>{0, 5, 10, 15});
    CHECK(seqs(log.read(run, {.thread = "t-main", .agent = "critic"})) == std::vector<std::uint64_t>{5, 15});
    CHECK(seqs(log.read(run, {.from = 6, .to = 16, .thread = "t-main"})) == std::vector<std::uint64_t>{10, 15});
    CHECK(seqs(log.read(run, {.agent = "planner", .reverse = true, .limit = 2})) == std::vector<std::uint64_t>{18, 16});
    CHECK(seqs(log.template read<ToolResult>(run, {.agent = "planner"})) ==
          std::vector<std::uint64_t>{0, 4, 8, 12, 16});
    CHECK(seqs(log.template read<ToolCall>(run, {.thread = "t-main"})) == std::vector<std::uint64_t>{5, 10, 15});
    CHECK(seqs(log.read(run, {.agent = "nobody"})).empty());
    const auto e = log.get(inmem::event_id{run, 5});
    REQUIRE(e);
    CHECK(e->thread == "t-main");
    CHECK(e->agent == "critic");
    CHECK(log.get(inmem::event_id{run, 6})->thread.empty());

    CHECK(error_of([&] { (void)log.read(run, {.agent = ""}); }) == inmem::errc::invalid_argument);
    const std::string long_label(inmem::detail::max_event_label_size + 1, 'x');
    CHECK(error_of([&] { log.append(run, ToolCall{}, {.agent = long_label}); }) == inmem::errc::invalid_argument);
    CHECK(log.count(run) == 20);
}

TEST_CASE("event times come from the database's clock and never go back within a run", "[events]") {
    using namespace std::chrono_literals;
    manual_db db;
    auto log = db.events();
    auto run = db.begin_run();
    const auto t0 = std::chrono::system_clock::time_point(1'700'000'000s);
    db.clock().set(t0);
    log.append(run, ToolCall{"a", ""});
    db.clock().advance(10s);
    log.append(run, ToolCall{"b", ""});
    db.clock().set(t0 - 1h); // a clock set back
    log.append(run, ToolCall{"c", ""});
    db.clock().set(t0 + 30s);
    log.append(run, ToolResult{"d", 0});
    const auto all = log.read(run);
    REQUIRE(all.size() == 4);
    CHECK(all[0].time == t0);
    CHECK(all[1].time == t0 + 10s);
    CHECK(all[2].time == t0 + 10s); // not before the event it follows
    CHECK(all[3].time == t0 + 30s);
    CHECK(log.head(run).time == t0 + 30s);

    CHECK(seqs(log.read(run, {.since = t0 + 10s})) == std::vector<std::uint64_t>{1, 2, 3});
    CHECK(seqs(log.read(run, {.until = t0 + 10s})) == std::vector<std::uint64_t>{0});
    CHECK(seqs(log.read(run, {.since = t0 + 1s, .until = t0 + 30s})) == std::vector<std::uint64_t>{1, 2});
    CHECK(seqs(log.read(run, {.since = t0 + 31s})).empty());
    CHECK(seqs(log.template read<ToolCall>(run, {.since = t0 + 5s})) == std::vector<std::uint64_t>{1, 2});
}

TEST_CASE("each hash is SHA-256 of the documented fields, chained from zeros", "[events]") {
    manual_db db;
    auto log = db.events();
    db.begin_run();
    auto run = db.begin_run(); // run 2: the run id is in the hash
    db.clock().set(std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000)));
    log.append(run, ToolCall{"search", "x"}, {.thread = "th", .agent = "ag"});
    log.append(run, ToolResult{"ok", 7});
    const auto all = log.read(run);
    REQUIRE(all.size() == 2);
    CHECK(all[0].prev_hash == inmem::sha256_digest{});
    CHECK(all[1].prev_hash == all[0].hash);
    CHECK(log.head(run).hash == all[1].hash);
    CHECK(log.head(run).count == 2);

    // Recomputed here from the formula the header documents, with the codec's payload bytes.
    auto expected = [&](const inmem::sha256_digest& prev, std::uint64_t seq, std::uint64_t fingerprint,
                        std::string_view thread, std::string_view agent, const std::string& payload) {
        std::string m(reinterpret_cast<const char*>(prev.data()), 32);
        inmem::detail::append_big_endian(m, run.value);
        inmem::detail::append_big_endian(m, seq);
        inmem::detail::append_big_endian(m, std::uint64_t{1'700'000'000'000'000'000});
        inmem::detail::append_big_endian(m, fingerprint);
        inmem::detail::append_big_endian(m, static_cast<std::uint16_t>(thread.size()));
        m += thread;
        inmem::detail::append_big_endian(m, static_cast<std::uint16_t>(agent.size()));
        m += agent;
        m += payload;
        return inmem::detail::sha256::of(m);
    };
    CHECK(all[0].hash == expected({}, 0, inmem::fingerprint_v<ToolCall>, "th", "ag", inmem::encode(ToolCall{"search", "x"})));
    CHECK(all[1].hash == expected(all[0].hash, 1, inmem::fingerprint_v<ToolResult>, "", "", inmem::encode(ToolResult{"ok", 7})));
}

TEMPLATE_LIST_TEST_CASE("verify accepts an untouched chain and the head names its end", "[events]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto log = db.events();
    auto run = db.begin_run();
    const auto empty = log.head(run);
    CHECK(empty.count == 0);
    CHECK(empty.hash == inmem::sha256_digest{});
    CHECK_FALSE(empty.time);
    CHECK(log.verify(run).valid());
    for (int i = 0; i < 50; ++i) log.append(run, ToolCall{"t", std::string(static_cast<std::size_t>(i), 'x')});
    const auto report = log.verify(run);
    CHECK(report.valid());
    CHECK(static_cast<bool>(report));
    CHECK(report.checked == 50);
    CHECK(report.bytes > 50 * 64);
    CHECK(report.message.empty());
    CHECK(log.head(run).hash == log.read(run, {.reverse = true, .limit = 1})[0].hash);
}

namespace {
// Rewrites the stored bytes of key through the engine, as someone with access to the store
// could: a change the event log's API never makes.
template <class Db>
void overwrite(Db& db, inmem::run_id run, std::string key, std::string bytes) {
    inmem::detail::write_op op{inmem::detail::write_op::kind::put, std::move(key), std::move(bytes)};
    db.engine().commit(run, std::span(&op, 1));
}
template <class Db>
void remove(Db& db, inmem::run_id run, std::string key) {
    inmem::detail::write_op op{inmem::detail::write_op::kind::erase, std::move(key), {}};
    db.engine().commit(run, std::span(&op, 1));
}
template <class Db>
std::string stored(Db& db, inmem::run_id run, const std::string& key) {
    return db.engine().read(run, key, [](const inmem::detail::stored_record* r) { return r ? r->bytes : std::string(); });
}
std::string event_key(inmem::run_id run, std::uint64_t seq) {
    std::string key;
    inmem::detail::event_key_into(key, run, 1, seq); // slot 1: the schema's first event type
    return key;
}
} // namespace

TEST_CASE("verify names the first changed, missing or unlinked event, and a cut-off end", "[events]") {
    inmem::basic_database<event_schema, inmem::durability::none> db;
    auto log = db.events();
    auto run = db.begin_run();
    for (int i = 0; i < 10; ++i) log.append(run, ToolCall{"t", "payload " + std::to_string(i)});

    SECTION("a payload byte changed") {
        std::string bytes = stored(db, run, event_key(run, 6));
        bytes.back() ^= 1;
        overwrite(db, run, event_key(run, 6), bytes);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::hash_mismatch);
        CHECK(report.first_invalid == 6u);
        CHECK(report.checked == 6);
        CHECK_THAT(report.message, Catch::Contains("event 6"));
    }
    SECTION("an event removed from the middle") {
        remove(db, run, event_key(run, 3));
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::gap);
        CHECK(report.first_invalid == 3u);
    }
    SECTION("the last event removed: the head still counts it") {
        remove(db, run, event_key(run, 9));
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::gap);
        CHECK(report.first_invalid == 9u);
    }
    SECTION("an event's prev_hash rewritten") {
        std::string bytes = stored(db, run, event_key(run, 4));
        bytes[inmem::detail::event_prev_at] ^= 0x10;
        overwrite(db, run, event_key(run, 4), bytes);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::broken_link);
        CHECK(report.first_invalid == 4u);
    }
    SECTION("two events swapped") {
        const std::string two = stored(db, run, event_key(run, 2)), five = stored(db, run, event_key(run, 5));
        overwrite(db, run, event_key(run, 2), five);
        overwrite(db, run, event_key(run, 5), two);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::broken_link);
        CHECK(report.first_invalid == 2u);
    }
    SECTION("an event's framing damaged") {
        std::string bytes = stored(db, run, event_key(run, 7));
        bytes[0] = 9;
        overwrite(db, run, event_key(run, 7), bytes);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::malformed);
        CHECK(report.first_invalid == 7u);
    }
    SECTION("an event added past the head") {
        overwrite(db, run, event_key(run, 10), stored(db, run, event_key(run, 9)));
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::head_mismatch);
        CHECK(report.first_invalid == 10u);
    }
    SECTION("an index entry rewritten: verify and the reads that use it see it") {
        for (int i = 0; i < 4; ++i) log.append(run, ToolResult{"r", i}, {.agent = "x"});
        std::string entry = inmem::detail::label_head_key(run, 1, inmem::detail::agent_label, "x");
        inmem::detail::append_big_endian(entry, std::uint64_t{1});
        std::string bytes(8, '\0');
        inmem::detail::store_big_endian(bytes.data(), std::uint64_t{13}); // #1 should name seq 11
        overwrite(db, run, entry, bytes);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::index_mismatch);
        CHECK(report.first_invalid == 11u);
        CHECK(error_of([&] { (void)log.read(run, {.agent = "x"}); }) == inmem::errc::corruption);
    }
    SECTION("a type index entry rewritten") {
        std::string entry = inmem::detail::type_index_prefix(run, 1);
        inmem::detail::append_big_endian(entry, std::uint64_t{0});
        std::string bytes(8, '\0');
        inmem::detail::store_big_endian(bytes.data(), std::uint64_t{5});
        overwrite(db, run, entry, bytes);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::index_mismatch);
        CHECK(report.first_invalid == 0u);
        CHECK(error_of([&] { (void)log.template read<ToolCall>(run); }) == inmem::errc::corruption);
    }
    SECTION("a label's count rewritten") {
        log.append(run, ToolResult{"r", 0}, {.thread = "t"});
        const std::string head = inmem::detail::label_head_key(run, 1, inmem::detail::thread_label, "t");
        std::string bytes(8, '\0');
        inmem::detail::store_big_endian(bytes.data(), std::uint64_t{2});
        overwrite(db, run, head, bytes);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::index_mismatch);
        CHECK(report.first_invalid == 11u);
    }
    SECTION("the head rewritten to another hash") {
        const std::string head_key = inmem::detail::event_head_key(run, 1);
        std::string head = stored(db, run, head_key);
        head[inmem::detail::head_hash_at] ^= 1;
        overwrite(db, run, head_key, head);
        const auto report = log.verify(run);
        CHECK(report.problem == inmem::chain_problem::head_mismatch);
        CHECK(report.first_invalid == 9u);
    }
}

TEMPLATE_LIST_TEST_CASE("appends in a transaction get their seqs at commit, in order, and conflict with nothing",
                        "[events]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto log = db.events();
    auto run = db.begin_run();
    log.append(run, ToolCall{"before", ""});

    auto tx1 = db.begin(run);
    auto tx2 = db.begin(run, {.level = inmem::isolation::serializable});
    const auto t1a = log.append(tx1, ToolCall{"tx1", "a"}, {.agent = "one"});
    const auto t1b = log.append(tx1, ToolResult{"tx1 b", 1}, {.agent = "one"});
    const auto t2 = log.append(tx2, ToolCall{"tx2", ""});
    CHECK_FALSE(t1a.committed());
    CHECK(error_of([&] { (void)t1a.id(); }) == inmem::errc::invalid_argument);
    CHECK(log.read(tx1).size() == 1); // its own appends have no seq yet: not read back
    log.append(run, ToolCall{"between", ""});
    tx2.commit(); // appends of two open transactions to one run: neither conflicts
    tx1.commit();
    CHECK(t2.id() == inmem::event_id{run, 2});
    CHECK(t1a.id() == inmem::event_id{run, 3});
    CHECK(t1b.id() == inmem::event_id{run, 4});
    CHECK(log.count(run) == 5);
    CHECK(std::get<ToolResult>(log.get(t1b.id())->value).output == "tx1 b");
    CHECK(log.read(run, {.agent = "one"}).size() == 2);
    CHECK(log.template count<ToolResult>(run) == 1);
    CHECK(log.verify(run).valid());

    // An aborted transaction appends nothing; its tickets stay uncommitted.
    auto tx3 = db.begin(run);
    const auto t3 = log.append(tx3, ToolCall{"never", ""});
    tx3.abort();
    CHECK_FALSE(t3.committed());
    CHECK(log.count(run) == 5);

    // transact() and its closure's tickets.
    std::vector<inmem::event_ticket> tickets;
    db.transact(run, [&](auto& tx) {
        tickets.clear();
        for (int i = 0; i < 3; ++i) tickets.push_back(log.append(tx, ToolCall{"loop", std::to_string(i)}));
        db.template kv<int>().put(tx, "k", 1);
    });
    for (int i = 0; i < 3; ++i) CHECK(tickets[static_cast<std::size_t>(i)].id().seq == 5u + static_cast<unsigned>(i));
    CHECK(log.verify(run).valid());
}

TEMPLATE_LIST_TEST_CASE("appends need an active run of this database", "[events]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto log = db.events();
    auto run = db.begin_run();
    log.append(run, ToolCall{});
    db.end_run(run);
    CHECK(error_of([&] { log.append(run, ToolCall{}); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { log.append(inmem::run_id{999}, ToolCall{}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)log.read(inmem::run_id{999}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)log.count(inmem::run_id{999}); }) == inmem::errc::unknown_run);
    CHECK(log.count(run) == 1); // an ended run stays readable
    CHECK(log.verify(run).valid());
}

TEMPLATE_LIST_TEST_CASE("seqs, times, labels and hashes are the same after a reopen", "[events]", configurations) {
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        inmem_test::test_database<TestType> holder;
        auto run = holder->begin_run();
        for (int i = 0; i < 40; ++i) {
            if (i % 2) holder->events().append(run, ToolCall{"t", std::to_string(i)}, {.thread = i % 3 ? "x" : "y"});
            else holder->events().append(run, ToolResult{"r", i});
        }
        const auto before = holder->events().read(run);
        const auto head = holder->events().head(run);
        holder->snapshot(); // half in the snapshot, half in the WAL
        holder->transact(run, [&](auto& tx) {
            for (int i = 0; i < 5; ++i) holder->events().append(tx, ToolCall{"tx", std::to_string(i)});
        });
        const auto after_tx = holder->events().head(run);
        holder.reopen();
        auto log = holder->events();
        const auto again = log.read(run, {.to = 40});
        REQUIRE(again.size() == before.size());
        for (std::size_t i = 0; i < before.size(); ++i) {
            CHECK(again[i].id == before[i].id);
            CHECK(again[i].hash == before[i].hash);
            CHECK(again[i].time == before[i].time);
            CHECK(again[i].thread == before[i].thread);
            CHECK(again[i].value == before[i].value);
            CHECK(again[i].version == before[i].version);
        }
        CHECK(log.head(run) == after_tx);
        CHECK(head.count == 40);
        CHECK(log.verify(run).valid());
        CHECK(log.read(run, {.thread = "y"}).size() == 7);
        CHECK(log.append(run, ToolCall{"after reopen", ""}).seq == 45);
        CHECK(log.verify(run).valid());
    }
}

TEST_CASE("a schema of one event type keeps no type index, and reads the same", "[events]") {
    inmem::basic_database<single_schema, inmem::durability::none> db;
    auto log = db.events();
    auto run = db.begin_run();
    for (int i = 0; i < 5; ++i) log.append(run, ToolCall{"t", std::to_string(i)});
    CHECK(log.template count<ToolCall>(run) == 5);
    CHECK(log.template read<ToolCall>(run, {.from = 3}).size() == 2);
    CHECK(log.template read<ToolCall>(run, {.reverse = true, .limit = 1})[0].value.args == "4");
    std::size_t records = 0;
    inmem::walk_run(db, run, [&](const inmem::walked_record&) { ++records; });
    CHECK(records == 6); // five events and the chain head
    CHECK(log.verify(run).valid());
}

TEST_CASE("the walker shows events with their own type, and the log's bookkeeping as derived", "[events]") {
    inmem::basic_database<event_schema, inmem::durability::none> db;
    auto log = db.events();
    auto run = db.begin_run();
    log.append(run, ToolCall{"a", ""}, {.agent = "p"});
    log.append(run, ToolResult{"b", 1});
    log.append(run, ToolResult{"c", 2}, {.thread = "main"}); // a 4-byte label: its head key is 8 bytes, like a seq
    std::vector<std::string> events, derived;
    inmem::walk_run(db, run, [&](const inmem::walked_record& r) {
        CHECK(r.family == "event");
        if (r.derived) derived.push_back(inmem::event_family::describe(r.parts));
        else events.push_back(std::string(r.type) + "#" + std::to_string(r.parts.sequence.value_or(99)));
        if (!r.derived) {
            REQUIRE(r.value);
            CHECK(r.parts.slot == (r.type == inmem::detail::type_name<ToolCall>() ? 1 : 2));
        }
    });
    CHECK(events == std::vector<std::string>{std::string(inmem::detail::type_name<ToolCall>()) + "#0",
                                             std::string(inmem::detail::type_name<ToolResult>()) + "#1",
                                             std::string(inmem::detail::type_name<ToolResult>()) + "#2"});
    std::sort(derived.begin(), derived.end());
    CHECK(derived == std::vector<std::string>{"event agent 'p' head of run 1", "event agent 'p' index #0 of run 1",
                                              "event chain head of run 1", "event thread 'main' head of run 1",
                                              "event thread 'main' index #0 of run 1", "event type index #0 of run 1",
                                              "event type index #0 of run 1", "event type index #1 of run 1"});
    CHECK(log.verify(run).valid());
}
