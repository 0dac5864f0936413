// Tests of inmem/primitives/traces.hpp (the per-run trace store) and inmem/traces/standard.hpp.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/json.hpp>
#include <inmem/traces/standard.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <range/v3/range/conversion.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

using inmem_test::error_of;
namespace trace = inmem::trace;

namespace {
struct ToolCall {
    std::string tool;
    bool operator==(const ToolCall&) const = default;
};
// A user's own trace type, beside the standard ones.
struct Thought {
    std::string text;
    int step = 0;
    bool operator==(const Thought&) const = default;
};
// Slots: kv int 0, event ToolCall 1, decision 2, citation 3, Thought 4.
using trace_schema =
    inmem::schema<inmem::kv<int>, inmem::events<ToolCall>, inmem::traces<trace::decision, trace::citation, Thought>>;
using configurations = inmem_test::all_configurations<trace_schema>;

// The six configurations with a manual clock, for the suites about times.
template <class Schema>
using manual_configurations = std::tuple<
    inmem::basic_database<Schema, inmem::concurrency::single_thread, inmem::durability::none, inmem::clocks::manual>,
    inmem::basic_database<Schema, inmem::concurrency::optimistic, inmem::durability::none, inmem::clocks::manual>,
    inmem::basic_database<Schema, inmem::concurrency::single_thread, inmem_test::fast_batched, inmem::clocks::manual>,
    inmem::basic_database<Schema, inmem::concurrency::optimistic, inmem_test::fast_batched, inmem::clocks::manual>,
    inmem::basic_database<Schema, inmem::concurrency::single_thread, inmem::durability::strict, inmem::clocks::manual>,
    inmem::basic_database<Schema, inmem::concurrency::optimistic, inmem::durability::strict, inmem::clocks::manual>>;

// One trace type only: the store keeps no type index.
using single_schema = inmem::schema<inmem::traces<Thought>>;

// Every ready-made type.
using standard_schema = inmem::schema<inmem::traces<trace::model_input, trace::model_output, trace::model_call,
                                                    trace::tool_call, trace::decision, trace::citation,
                                                    trace::assumption>>;

template <class Range>
std::vector<std::uint64_t> seqs(const Range& range) {
    std::vector<std::uint64_t> out;
    for (const auto& e : range) out.push_back(e.id.seq);
    return out;
}
using seq_list = std::vector<std::uint64_t>;

template <class Range>
std::vector<std::uint32_t> depths(const Range& range) {
    std::vector<std::uint32_t> out;
    for (const auto& e : range) out.push_back(e.depth);
    return out;
}

Thought thought(int step) { return Thought{"step " + std::to_string(step), step}; }

} // namespace

TEMPLATE_LIST_TEST_CASE("records get seqs 0, 1, 2, ... per run, and read back as they were", "[traces]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto a = db.begin_run();
    auto b = db.begin_run();
    CHECK(traces.count(a) == 0);
    CHECK(traces.read(a).empty());
    CHECK_FALSE(traces.get(inmem::trace_id{a, 0}));
    CHECK(traces.record(a, trace::decision{"search", 0.75, {"ask", "stop"}, "cheapest"}) == inmem::trace_id{a, 0});
    CHECK(traces.record(a, trace::citation{"doc.pdf", "the quote", "p. 4"}) == inmem::trace_id{a, 1});
    CHECK(traces.record(b, thought(1)) == inmem::trace_id{b, 0});
    CHECK(traces.record(a, thought(2)) == inmem::trace_id{a, 2});
    CHECK(traces.record(a, trace::decision{"fetch", 0.5}) == inmem::trace_id{a, 3});
    CHECK(traces.count(a) == 4);
    CHECK(traces.count(b) == 1);
    CHECK(traces.template count<trace::decision>(a) == 2);
    CHECK(traces.template count<trace::citation>(a) == 1);
    CHECK(traces.template count<Thought>(a) == 1);
    CHECK(traces.template count<trace::citation>(b) == 0);

    const auto all = traces.read(a);
    REQUIRE(all.size() == 4);
    CHECK(std::get<trace::decision>(all[0].value) == trace::decision{"search", 0.75, {"ask", "stop"}, "cheapest"});
    CHECK(std::get<trace::citation>(all[1].value) == trace::citation{"doc.pdf", "the quote", "p. 4"});
    CHECK(std::get<Thought>(all[2].value) == thought(2));
    CHECK(all[0].type == "inmem::trace::decision");
    CHECK(all[1].type == "inmem::trace::citation");
    CHECK(all[2].type == inmem::detail::type_name<Thought>());
    for (std::size_t i = 0; i < all.size(); ++i) {
        CHECK(all[i].id == inmem::trace_id{a, i});
        CHECK_FALSE(all[i].event);
        CHECK_FALSE(all[i].parent);
        CHECK(all[i].depth == 0);
        CHECK(all[i].tags.empty());
    }
    CHECK(all[0].version < all[1].version);

    const auto decisions = traces.template read<trace::decision>(a);
    CHECK(seqs(decisions) == seq_list{0, 3});
    CHECK(decisions[1].value.choice == "fetch");

    REQUIRE(traces.get(inmem::trace_id{a, 1}));
    CHECK(std::get<trace::citation>(traces.get(inmem::trace_id{a, 1})->value).source == "doc.pdf");
    CHECK_FALSE(traces.get(inmem::trace_id{a, 4}));
    CHECK(traces.template get<Thought>(inmem::trace_id{a, 2})->value.step == 2);
    CHECK_FALSE(traces.template get<trace::decision>(inmem::trace_id{a, 2})); // another type
    CHECK(std::get<Thought>(traces.read(b)[0].value) == thought(1));
}

TEMPLATE_LIST_TEST_CASE("trace seq ranges read forward, reversed and limited, with or without a type", "[traces]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto run = db.begin_run();
    for (int i = 0; i < 30; ++i) {
        if (i % 3 == 0) traces.record(run, trace::decision{"d" + std::to_string(i), 0.1});
        else traces.record(run, thought(i));
    }
    CHECK(seqs(traces.read(run, {.from = 10, .to = 14})) == seq_list{10, 11, 12, 13});
    CHECK(seqs(traces.read(run, {.from = 28})) == seq_list{28, 29});
    CHECK(seqs(traces.read(run, {.from = 40})).empty());
    CHECK(seqs(traces.read(run, {.reverse = true, .limit = 3})) == seq_list{29, 28, 27});
    CHECK(seqs(traces.read(run, {.to = 5, .reverse = true})) == seq_list{4, 3, 2, 1, 0});
    CHECK(seqs(traces.read(run, {.limit = 2})) == seq_list{0, 1});
    CHECK(seqs(traces.read(run, {.limit = 0})).empty());
    CHECK(seqs(traces.template read<trace::decision>(run, {.from = 4, .to = 13})) == seq_list{6, 9, 12});
    CHECK(seqs(traces.template read<trace::decision>(run, {.reverse = true, .limit = 2})) == seq_list{27, 24});
    CHECK(seqs(traces.template read<Thought>(run, {.from = 26, .limit = 3})) == seq_list{26, 28, 29});
    CHECK(seqs(traces.template read<Thought>(run, {.from = 29, .to = 29})).empty());
    CHECK(seqs(traces.template read<trace::citation>(run)).empty());

    // The result composes with range-v3 views.
    auto steps = traces.read(run) |
                 ranges::views::filter([](const auto& e) { return std::holds_alternative<Thought>(e.value); }) |
                 ranges::views::transform([](const auto& e) { return std::get<Thought>(e.value).step; }) |
                 ranges::to<std::vector>();
    CHECK(steps.size() == 20);
    CHECK(steps.front() == 1);
    CHECK(steps.back() == 29);
}

TEMPLATE_LIST_TEST_CASE("traces link to events of their run, and reads find them by event", "[traces]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto log = db.events();
    auto run = db.begin_run();
    auto other = db.begin_run();
    const inmem::event_id e0 = log.append(run, ToolCall{"search"});
    const inmem::event_id e1 = log.append(run, ToolCall{"fetch"});
    const inmem::event_id elsewhere = log.append(other, ToolCall{"other"});

    traces.record(run, trace::decision{"search", 0.9}, {.event = e0});       // 0
    traces.record(run, thought(1));                                           // 1
    traces.record(run, trace::citation{"a", "q"}, {.event = e1});             // 2
    traces.record(run, thought(3), {.event = e0});                            // 3
    traces.record(run, trace::decision{"again", 0.2}, {.event = e0});        // 4

    CHECK(seqs(traces.linked(e0)) == seq_list{0, 3, 4});
    CHECK(seqs(traces.linked(e1)) == seq_list{2});
    CHECK(seqs(traces.linked(inmem::event_id{run, 7})).empty());
    CHECK(seqs(traces.linked(e0, {.reverse = true, .limit = 2})) == seq_list{4, 3});
    CHECK(seqs(traces.read(run, {.from = 1, .event = e0})) == seq_list{3, 4});
    CHECK(seqs(traces.template read<trace::decision>(run, {.event = e0})) == seq_list{0, 4});
    CHECK(traces.get(inmem::trace_id{run, 2})->event == e1);
    CHECK_FALSE(traces.get(inmem::trace_id{run, 1})->event);

    // An event of another run, one not appended yet, and a read by another run's event.
    CHECK(error_of([&] { traces.record(run, thought(9), {.event = elsewhere}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { traces.record(run, thought(9), {.event = inmem::event_id{run, 2}}); }) ==
          inmem::errc::invalid_argument);
    CHECK(error_of([&] { (void)traces.read(run, {.event = elsewhere}); }) == inmem::errc::invalid_argument);
    CHECK(traces.count(run) == 5);
    const inmem::event_id e2 = log.append(run, ToolCall{"later"});
    CHECK(traces.record(run, thought(9), {.event = e2}) == inmem::trace_id{run, 5});
    CHECK(seqs(traces.linked(e2)) == seq_list{5});
}

TEMPLATE_LIST_TEST_CASE("parents make trees: children, subtree walks in pre-order with depths, and paths",
                        "[traces]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto run = db.begin_run();
    // 0
    // |- 1
    // |  |- 3
    // |  |  `- 6
    // |  `- 4
    // |- 2
    // |  `- 7
    // `- 5            8 (a second root)
    auto rec = [&](int step, std::optional<std::uint64_t> parent) {
        if (parent) return traces.record(run, thought(step), {.parent = inmem::trace_id{run, *parent}});
        return traces.record(run, thought(step));
    };
    rec(0, std::nullopt);
    rec(1, 0);
    rec(2, 0);
    rec(3, 1);
    rec(4, 1);
    traces.record(run, trace::decision{"five", 0.5}, {.parent = inmem::trace_id{run, 0}});
    rec(6, 3);
    rec(7, 2);
    rec(8, std::nullopt);
    const inmem::trace_id root{run, 0};

    CHECK(seqs(traces.children(root)) == seq_list{1, 2, 5});
    CHECK(seqs(traces.children(inmem::trace_id{run, 1})) == seq_list{3, 4});
    CHECK(seqs(traces.children(inmem::trace_id{run, 6})).empty());
    CHECK(seqs(traces.children(root, {.reverse = true, .limit = 2})) == seq_list{5, 2});
    CHECK(seqs(traces.read(run, {.from = 2, .parent = root})) == seq_list{2, 5});
    CHECK(seqs(traces.template read<Thought>(run, {.parent = root})) == seq_list{1, 2});

    const auto tree = traces.subtree(root);
    CHECK(seqs(tree) == seq_list{0, 1, 3, 6, 4, 2, 7, 5});
    CHECK(depths(tree) == std::vector<std::uint32_t>{0, 1, 2, 3, 2, 1, 2, 1});
    REQUIRE(tree[1].parent);
    CHECK(*tree[1].parent == root);
    CHECK(*tree[3].parent == inmem::trace_id{run, 3});
    CHECK(std::get<trace::decision>(tree[7].value).choice == "five");

    const auto branch = traces.subtree(inmem::trace_id{run, 1});
    CHECK(seqs(branch) == seq_list{1, 3, 6, 4});
    CHECK(depths(branch) == std::vector<std::uint32_t>{1, 2, 3, 2}); // depths in the run, not below the root
    CHECK(seqs(traces.subtree(root, {.max_depth = 1})) == seq_list{0, 1, 2, 5});
    CHECK(seqs(traces.subtree(root, {.max_depth = 0})) == seq_list{0});
    CHECK(seqs(traces.subtree(root, {.limit = 4})) == seq_list{0, 1, 3, 6});
    CHECK(seqs(traces.subtree(root, {.limit = 0})).empty());
    CHECK(seqs(traces.subtree(inmem::trace_id{run, 8})) == seq_list{8});
    CHECK(seqs(traces.subtree(inmem::trace_id{run, 99})).empty());
    CHECK(seqs(traces.subtree(run, root, {.max_depth = 2})) == seq_list{0, 1, 3, 4, 2, 7, 5});
    CHECK(seqs(traces.template subtree<trace::decision>(root)) == seq_list{5});
    CHECK(seqs(traces.template subtree<Thought>(root, {.limit = 3})) == seq_list{0, 1, 3});

    CHECK(seqs(traces.path(inmem::trace_id{run, 6})) == seq_list{0, 1, 3, 6});
    CHECK(seqs(traces.path(root)) == seq_list{0});
    CHECK(seqs(traces.path(inmem::trace_id{run, 99})).empty());

    // Parents that do not exist, of another run, or not yet recorded are refused.
    auto other = db.begin_run();
    const auto there = traces.record(other, thought(0));
    CHECK(error_of([&] { traces.record(run, thought(9), {.parent = inmem::trace_id{run, 9}}); }) ==
          inmem::errc::invalid_argument);
    CHECK(error_of([&] { traces.record(run, thought(9), {.parent = inmem::trace_id{run, 1000}}); }) ==
          inmem::errc::invalid_argument);
    CHECK(error_of([&] { traces.record(run, thought(9), {.parent = there}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { (void)traces.read(run, {.parent = there}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { (void)traces.subtree(run, there); }) == inmem::errc::invalid_argument);
    CHECK(traces.count(run) == 9);
    CHECK(traces.record(run, thought(9), {.parent = inmem::trace_id{run, 8}}) == inmem::trace_id{run, 9});
    CHECK(traces.get(inmem::trace_id{run, 9})->depth == 1);
}

TEMPLATE_LIST_TEST_CASE("tags are kept once each, in order, and reads find traces by tag", "[traces]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto run = db.begin_run();
    for (int i = 0; i < 12; ++i) {
        std::vector<std::string_view> tags;
        if (i % 2 == 0) tags.push_back("even");
        if (i % 3 == 0) tags.push_back("three");
        if (i == 4) tags = {"even", "x", "even"}; // a tag given twice is kept once
        if (i % 4 == 0) traces.record(run, trace::decision{"d", 0.5}, {.tags = tags});
        else traces.record(run, thought(i), {.parent = inmem::trace_id{run, 0}, .tags = tags});
    }
    CHECK(seqs(traces.tagged(run, "even")) == seq_list{0, 2, 4, 6, 8, 10});
    CHECK(seqs(traces.tagged(run, "three")) == seq_list{0, 3, 6, 9});
    CHECK(seqs(traces.tagged(run, "x")) == seq_list{4});
    CHECK(seqs(traces.tagged(run, "nobody")).empty());
    CHECK(seqs(traces.tagged(run, "")).empty());
    CHECK(seqs(traces.read(run, {.tag = "even", .reverse = true, .limit = 2})) == seq_list{10, 8});
    CHECK(seqs(traces.tagged(run, "even", {.from = 3, .to = 9})) == seq_list{4, 6, 8});
    CHECK(seqs(traces.template read<trace::decision>(run, {.tag = "three"})) == seq_list{0});
    CHECK(seqs(traces.template read<Thought>(run, {.tag = "even"})) == seq_list{2, 6, 10});
    CHECK(seqs(traces.read(run, {.parent = inmem::trace_id{run, 0}, .tag = "three"})) == seq_list{3, 6, 9});
    CHECK(traces.get(inmem::trace_id{run, 4})->tags == std::vector<std::string>{"even", "x"});
    CHECK(traces.get(inmem::trace_id{run, 6})->tags == std::vector<std::string>{"even", "three"});
    CHECK(traces.get(inmem::trace_id{run, 1})->tags.empty());

    // Bad tags throw and record nothing.
    const std::string long_tag(inmem::detail::max_trace_tag_size + 1, 't');
    CHECK(error_of([&] { traces.record(run, thought(0), {.tags = {long_tag}}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { traces.record(run, thought(0), {.tags = {"ok", ""}}); }) == inmem::errc::invalid_argument);
    std::vector<std::string> many;
    for (std::size_t i = 0; i <= inmem::detail::max_trace_tags; ++i) many.push_back("t" + std::to_string(i));
    CHECK(error_of([&] {
              traces.record(run, thought(0), {.tags = std::vector<std::string_view>(many.begin(), many.end())});
          }) == inmem::errc::invalid_argument);
    CHECK(traces.count(run) == 12);
    const std::string longest(inmem::detail::max_trace_tag_size, 'y');
    traces.record(run, thought(12), {.tags = {longest}});
    CHECK(seqs(traces.tagged(run, longest)) == seq_list{12});
}

TEMPLATE_LIST_TEST_CASE("trace times come from the commit by the database's clock, never going back within a run",
                        "[traces]", manual_configurations<trace_schema>) {
    using namespace std::chrono_literals;
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto run = db.begin_run();
    const auto t0 = std::chrono::system_clock::time_point(1'700'000'000s);
    db.clock().set(t0);
    traces.record(run, thought(0), {.tags = {"a"}});
    db.clock().advance(10s);
    traces.record(run, trace::decision{"b", 0.1}, {.tags = {"a"}});
    db.clock().set(t0 - 1h); // a clock set back
    traces.record(run, thought(2));
    db.clock().set(t0 + 30s);
    traces.record(run, thought(3), {.tags = {"a"}});
    db.clock().set(t0 + 40s);
    db.transact(run, [&](auto& tx) { // one commit: one time for both
        traces.record(tx, thought(4));
        traces.record(tx, trace::decision{"e", 0.3});
    });
    const auto all = traces.read(run);
    REQUIRE(all.size() == 6);
    CHECK(all[0].time == t0);
    CHECK(all[1].time == t0 + 10s);
    CHECK(all[2].time == t0 + 10s); // not before the trace it follows
    CHECK(all[3].time == t0 + 30s);
    CHECK(all[4].time == t0 + 40s);
    CHECK(all[5].time == t0 + 40s);

    CHECK(seqs(traces.read(run, {.since = t0 + 10s})) == seq_list{1, 2, 3, 4, 5});
    CHECK(seqs(traces.read(run, {.until = t0 + 10s})) == seq_list{0});
    CHECK(seqs(traces.read(run, {.since = t0 + 1s, .until = t0 + 30s})) == seq_list{1, 2});
    CHECK(seqs(traces.read(run, {.since = t0 + 41s})).empty());
    CHECK(seqs(traces.read(run, {.until = t0})).empty());
    CHECK(seqs(traces.read(run, {.since = t0 + 5s, .reverse = true, .limit = 2})) == seq_list{5, 4});
    CHECK(seqs(traces.template read<Thought>(run, {.since = t0 + 5s})) == seq_list{2, 3, 4});
    CHECK(seqs(traces.read(run, {.since = t0 + 5s, .tag = "a"})) == seq_list{1, 3});

    // Another run starts from the clock, whatever the first run's last time.
    db.clock().set(t0 - 2h);
    auto other = db.begin_run();
    traces.record(other, thought(0));
    CHECK(traces.read(other)[0].time == t0 - 2h);
}

TEMPLATE_LIST_TEST_CASE("records in a transaction get their seqs at commit, in order, and conflict with nothing",
                        "[traces]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto run = db.begin_run();
    const auto root = traces.record(run, thought(0));

    auto tx1 = db.begin(run);
    auto tx2 = db.begin(run, {.level = inmem::isolation::serializable});
    const auto t1a = traces.record(tx1, trace::decision{"tx1", 0.5}, {.parent = root, .tags = {"one"}});
    const auto t1b = traces.record(tx1, thought(11), {.tags = {"one"}});
    const auto t2 = traces.record(tx2, thought(21), {.parent = root});
    CHECK_FALSE(t1a.committed());
    CHECK(error_of([&] { (void)t1a.id(); }) == inmem::errc::invalid_argument);
    CHECK(traces.read(tx1).size() == 1);  // its own records have no seq yet: not read back
    CHECK(traces.count(tx1) == 1);
    traces.record(run, thought(1));       // 1, between
    tx2.commit(); // records of two open transactions to one run: neither conflicts
    tx1.commit();
    CHECK(t2.id() == inmem::trace_id{run, 2});
    CHECK(t1a.id() == inmem::trace_id{run, 3});
    CHECK(t1b.id() == inmem::trace_id{run, 4});
    CHECK(traces.count(run) == 5);
    CHECK(seqs(traces.children(root)) == seq_list{2, 3});
    CHECK(seqs(traces.tagged(run, "one")) == seq_list{3, 4});
    CHECK(traces.template count<trace::decision>(run) == 1);
    CHECK(std::get<Thought>(traces.get(t1b.id())->value) == thought(11));

    // An aborted transaction records nothing; its tickets stay uncommitted.
    auto tx3 = db.begin(run);
    const auto t3 = traces.record(tx3, thought(30), {.parent = root, .tags = {"never"}});
    tx3.abort();
    CHECK_FALSE(t3.committed());
    CHECK(traces.count(run) == 5);
    CHECK(traces.tagged(run, "never").empty());
    CHECK(seqs(traces.children(root)) == seq_list{2, 3});
    // ...and its ticket cannot be a parent.
    CHECK(error_of([&] { traces.record(run, thought(31), {.parent = t3}); }) == inmem::errc::invalid_argument);

    // transact() with kv writes, and the closure's tickets; a committed ticket is a parent.
    std::vector<inmem::trace_ticket> tickets;
    db.transact(run, [&](auto& tx) {
        tickets.clear();
        for (int i = 0; i < 3; ++i) tickets.push_back(traces.record(tx, thought(40 + i), {.parent = t1a}));
        db.template kv<int>().put(tx, "k", 1);
    });
    for (std::size_t i = 0; i < 3; ++i) CHECK(tickets[i].id().seq == 5u + i);
    CHECK(seqs(traces.children(t1a.id())) == seq_list{5, 6, 7});
    CHECK(traces.get(tickets[0].id())->depth == 2);
}

TEMPLATE_LIST_TEST_CASE("a transaction builds trees of its own traces through their tickets", "[traces]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto log = db.events();
    auto run = db.begin_run();
    const auto old_root = traces.record(run, thought(0)); // 0
    const auto e = log.append(run, ToolCall{"search"});

    auto tx = db.begin(run);
    log.append(tx, ToolCall{"in tx"}); // other appends in between do not disturb the positions
    const auto r = traces.record(tx, trace::decision{"root", 1.0}, {.event = e, .tags = {"tree"}});
    const auto c1 = traces.record(tx, thought(1), {.parent = r, .tags = {"tree"}});
    db.template kv<int>().put(tx, "k", 1);
    const auto c2 = traces.record(tx, thought(2), {.parent = r});
    const auto g1 = traces.record(tx, trace::citation{"src", "q"}, {.parent = c1, .tags = {"leaf"}});
    const auto under_old = traces.record(tx, thought(3), {.parent = old_root});
    const auto g2 = traces.record(tx, thought(4), {.parent = c1});
    traces.record(run, thought(99)); // 1: committed before the transaction
    tx.commit();
    CHECK(r.id().seq == 2);
    CHECK(c1.id().seq == 3);
    CHECK(c2.id().seq == 4);
    CHECK(g1.id().seq == 5);
    CHECK(under_old.id().seq == 6);
    CHECK(g2.id().seq == 7);

    const auto tree = traces.subtree(r.id());
    CHECK(seqs(tree) == seq_list{2, 3, 5, 7, 4});
    CHECK(depths(tree) == std::vector<std::uint32_t>{0, 1, 2, 2, 1});
    CHECK(tree[2].parent == c1.id());
    CHECK(tree[0].event == e);
    CHECK(seqs(traces.children(c1.id())) == seq_list{5, 7});
    CHECK(seqs(traces.children(old_root)) == seq_list{6});
    CHECK(traces.get(under_old.id())->depth == 1);
    CHECK(seqs(traces.path(g2.id())) == seq_list{2, 3, 7});
    CHECK(seqs(traces.tagged(run, "tree")) == seq_list{2, 3});
    CHECK(seqs(traces.linked(e)) == seq_list{2});

    // A pending ticket of another open transaction is refused, at the call.
    auto tx_a = db.begin(run);
    auto tx_b = db.begin(run);
    const auto pending = traces.record(tx_a, thought(5));
    CHECK(error_of([&] { traces.record(tx_b, thought(6), {.parent = pending}); }) == inmem::errc::invalid_argument);
    tx_a.commit();
    traces.record(tx_b, thought(6), {.parent = pending}); // committed now: any transaction may use it
    tx_b.commit();
    CHECK(seqs(traces.children(pending.id())) == seq_list{9});
}

TEMPLATE_LIST_TEST_CASE("records need a known, active run", "[traces]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto run = db.begin_run();
    traces.record(run, thought(0));
    auto tx = db.begin(run);
    traces.record(tx, thought(1));
    db.end_run(run);
    CHECK(error_of([&] { traces.record(run, thought(2)); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { tx.commit(); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { traces.record(inmem::run_id{999}, thought(2)); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)traces.read(inmem::run_id{999}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)traces.read(inmem::run_id{999}, {.limit = 0}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)traces.count(inmem::run_id{999}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)traces.get(inmem::trace_id{inmem::run_id{999}, 0}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { (void)traces.subtree(inmem::trace_id{inmem::run_id{999}, 0}); }) == inmem::errc::unknown_run);
    CHECK(traces.count(run) == 1); // an ended run stays readable; the failed commit left nothing
    CHECK(std::get<Thought>(traces.get(inmem::trace_id{run, 0})->value) == thought(0));
}

TEMPLATE_LIST_TEST_CASE("concurrent records to one run get dense seqs, each thread's in its order", "[traces]",
                        configurations) {
    // Optimistic: threads race; single_thread: the same work, one after another.
    constexpr bool racing = std::is_same_v<typename TestType::concurrency_policy, inmem::concurrency::optimistic>;
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    auto traces = db.traces();
    auto run = db.begin_run();
    const auto root = traces.record(run, thought(-1));
    constexpr int threads = 4, each = 40;
    auto work = [&](int t) {
        const auto tag = "thread " + std::to_string(t);
        for (int i = 0; i < each; ++i) {
            if (i % 2) {
                traces.record(run, Thought{tag, i}, {.parent = root, .tags = {tag}});
            } else {
                db.transact(run, [&](auto& tx) {
                    const auto p = traces.record(tx, Thought{tag, i}, {.parent = root, .tags = {tag}});
                    traces.record(tx, trace::citation{tag, std::to_string(i)}, {.parent = p});
                });
            }
        }
    };
    if constexpr (racing) {
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t) pool.emplace_back(work, t);
        for (auto& th : pool) th.join();
    } else {
        for (int t = 0; t < threads; ++t) work(t);
    }
    const std::uint64_t expected = 1 + threads * each * 3 / 2;
    CHECK(traces.count(run) == expected);
    const auto all = traces.read(run);
    REQUIRE(all.size() == expected);
    for (std::size_t i = 0; i < all.size(); ++i) CHECK(all[i].id.seq == i); // dense
    CHECK(traces.children(root).size() == threads * each);
    CHECK(traces.subtree(root).size() == expected);
    for (int t = 0; t < threads; ++t) {
        const auto mine = traces.template read<Thought>(run, {.tag = "thread " + std::to_string(t)});
        REQUIRE(mine.size() == each);
        for (int i = 0; i < each; ++i) CHECK(mine[static_cast<std::size_t>(i)].value.step == i);
    }
    for (const auto& c : traces.template read<trace::citation>(run)) {
        REQUIRE(c.parent);
        const auto p = traces.template get<Thought>(*c.parent);
        REQUIRE(p);
        CHECK(p->value.text == c.value.source);
        CHECK(std::to_string(p->value.step) == c.value.quote);
        CHECK(c.depth == 2);
    }
}

TEMPLATE_LIST_TEST_CASE("ids, values, links, tags and times are the same after a reopen", "[traces]",
                        configurations) {
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        inmem_test::test_database<TestType> holder;
        auto run = holder->begin_run();
        const auto e = holder->events().append(run, ToolCall{"search"});
        for (int i = 0; i < 30; ++i) {
            inmem::trace_options o;
            if (i > 0) o.parent = inmem::trace_id{run, static_cast<std::uint64_t>((i - 1) / 2)};
            if (i % 5 == 0) o.event = e;
            if (i % 3 == 0) o.tags = {"three"};
            if (i % 2) holder->traces().record(run, thought(i), o);
            else holder->traces().record(run, trace::decision{"d" + std::to_string(i), i / 30.0, {"x"}}, o);
        }
        holder->snapshot(); // half in the snapshot, half in the WAL
        holder->transact(run, [&](auto& tx) {
            const auto p = holder->traces().record(tx, trace::citation{"tx", "0"}, {.parent = inmem::trace_id{run, 3}});
            for (int i = 1; i < 4; ++i)
                holder->traces().record(tx, trace::citation{"tx", std::to_string(i)}, {.parent = p, .tags = {"tx"}});
        });
        const auto before = holder->traces().read(run);
        const auto tree = holder->traces().subtree(inmem::trace_id{run, 0});
        holder.reopen();
        auto traces = holder->traces();
        const auto again = traces.read(run);
        REQUIRE(again.size() == before.size());
        REQUIRE(again.size() == 34);
        for (std::size_t i = 0; i < before.size(); ++i) {
            CHECK(again[i].id == before[i].id);
            CHECK(again[i].version == before[i].version);
            CHECK(again[i].time == before[i].time);
            CHECK(again[i].type == before[i].type);
            CHECK(again[i].event == before[i].event);
            CHECK(again[i].parent == before[i].parent);
            CHECK(again[i].depth == before[i].depth);
            CHECK(again[i].tags == before[i].tags);
            CHECK(again[i].value == before[i].value);
        }
        CHECK(seqs(traces.subtree(inmem::trace_id{run, 0})) == seqs(tree));
        CHECK(depths(traces.subtree(inmem::trace_id{run, 0})) == depths(tree));
        CHECK(seqs(traces.children(inmem::trace_id{run, 30})) == seq_list{31, 32, 33});
        CHECK(seqs(traces.linked(e)) == seq_list{0, 5, 10, 15, 20, 25});
        CHECK(traces.tagged(run, "three").size() == 10);
        CHECK(traces.template count<trace::citation>(run) == 4);
        CHECK(traces.record(run, thought(34), {.parent = inmem::trace_id{run, 33}, .tags = {"three"}}) ==
              inmem::trace_id{run, 34});
        CHECK(traces.tagged(run, "three").size() == 11);
        CHECK(traces.get(inmem::trace_id{run, 34})->depth == traces.get(inmem::trace_id{run, 33})->depth + 1);
    }
}

TEST_CASE("the walker shows traces with their own type, and the store's indexes as derived", "[traces]") {
    inmem::basic_database<trace_schema, inmem::durability::none> db;
    auto traces = db.traces();
    auto run = db.begin_run();
    const auto e = db.events().append(run, ToolCall{"x"});
    const auto a = traces.record(run, trace::decision{"a", 0.5}, {.event = e, .tags = {"p"}});
    traces.record(run, thought(1), {.parent = a});
    std::vector<std::string> values, derived;
    inmem::walk_run(db, run, [&](const inmem::walked_record& r) {
        if (r.family == "event") return;
        CHECK(r.family == "trace");
        const std::string what = inmem::trace_family::describe(r.parts);
        if (r.derived) {
            derived.push_back(what);
            CHECK_FALSE(r.value);
        } else {
            REQUIRE(r.value);
            values.push_back(std::string(r.type) + " " + what);
            // The value carries its own type's slot: JSON reads it without the C++ type.
            const auto json = inmem::slot_value_to_json<trace_schema>(r.parts.slot, *r.value);
            if (r.type == "inmem::trace::decision") {
                CHECK(r.parts.slot == 2);
                CHECK(json["choice"] == "a");
            } else {
                CHECK(r.parts.slot == 4);
                CHECK(json["step"] == 1);
            }
        }
    });
    CHECK(values == std::vector<std::string>{"inmem::trace::decision trace #0 of run 1",
                                             std::string(inmem::detail::type_name<Thought>()) + " trace #1 of run 1"});
    std::sort(derived.begin(), derived.end());
    CHECK(derived == std::vector<std::string>{"trace #0 children head of run 1", "trace #0 children index #0 of run 1",
                                              "trace event #0 link head of run 1",
                                              "trace event #0 link index #0 of run 1", "trace head of run 1",
                                              "trace tag 'p' head of run 1", "trace tag 'p' index #0 of run 1",
                                              "trace type index #0 of run 1", "trace type index #0 of run 1"});
}

TEST_CASE("the family parses every key it writes and refuses what it does not", "[traces]") {
    inmem::basic_database<trace_schema, inmem::durability::none> db;
    auto traces = db.traces();
    auto run = db.begin_run();
    // A 5-byte tag's head key ('G' 0 5 "three") is as long as a trace's: told apart all the same.
    const auto a = traces.record(run, trace::decision{"a", 0.5}, {.tags = {"tag", "three"}});
    traces.record(run, thought(1), {.parent = a});
    std::size_t records = 0, tag_keys = 0;
    std::string prefix = inmem::detail::trace_head_key(run, 2);
    prefix.resize(inmem::detail::run_key_prefix_size - 3);
    db.engine().scan(run, prefix, [&](std::string_view key, const inmem::detail::stored_record& rec) {
        if (static_cast<std::uint8_t>(key[13]) != 4) return true;
        ++records;
        const auto parts = inmem::trace_family::parse(key);
        REQUIRE(parts);
        CHECK(parts->run == run);
        const auto value = inmem::trace_family::value_of(*parts, rec.bytes);
        REQUIRE(value);
        CHECK(value->derived == !(parts->key.empty() && parts->sequence));
        if (!parts->key.empty() && parts->key[0] == 'G') ++tag_keys;
        return true;
    });
    CHECK(records == 11); // 2 traces, head, 2 type index entries, children head and entry, 2 tags' heads and entries
    CHECK(tag_keys == 4);

    // Not trace keys, or trace keys of no shape it writes.
    const std::string head = inmem::detail::trace_head_key(run, 2);
    CHECK_FALSE(inmem::trace_family::parse(inmem::detail::event_head_key(run, 1)));
    CHECK_FALSE(inmem::trace_family::parse(head + "abc"));
    CHECK_FALSE(inmem::trace_family::parse(head + "Cxyz"));
    CHECK_FALSE(inmem::trace_family::parse(head + std::string("G\0\5ab", 5)));
    const auto trace_parts = inmem::trace_family::parse(head + std::string(8, '\0'));
    REQUIRE(trace_parts);
    CHECK_FALSE(inmem::trace_family::value_of(*trace_parts, "junk"));
    const auto head_parts = inmem::trace_family::parse(head);
    REQUIRE(head_parts);
    CHECK_FALSE(inmem::trace_family::value_of(*head_parts, std::string(5, '\1')));
    const auto index_parts = inmem::trace_family::parse(head + "C" + std::string(16, '\0'));
    REQUIRE(index_parts);
    CHECK(index_parts->sequence == 0u);
    CHECK(inmem::trace_family::value_of(*index_parts, std::string(8, '\0'))->derived);
    CHECK_FALSE(inmem::trace_family::value_of(*index_parts, std::string(7, '\0')));
}

TEST_CASE("a schema of one trace type keeps no type index, and reads the same", "[traces]") {
    inmem::basic_database<single_schema, inmem::durability::none> db;
    auto traces = db.traces();
    auto run = db.begin_run();
    for (int i = 0; i < 5; ++i) traces.record(run, thought(i));
    CHECK(traces.template count<Thought>(run) == 5);
    CHECK(seqs(traces.template read<Thought>(run, {.from = 3})) == seq_list{3, 4});
    CHECK(traces.template read<Thought>(run, {.reverse = true, .limit = 1})[0].value.step == 4);
    CHECK(std::get<Thought>(traces.read(run)[2].value) == thought(2));
    // An event link needs event types in the schema.
    CHECK(error_of([&] { traces.record(run, thought(5), {.event = inmem::event_id{run, 0}}); }) ==
          inmem::errc::invalid_argument);
    std::size_t records = 0;
    inmem::walk_run(db, run, [&](const inmem::walked_record&) { ++records; });
    CHECK(records == 6); // five traces and the head
}

TEST_CASE("every ready-made trace type records and reads back", "[traces]") {
    inmem::basic_database<standard_schema, inmem::durability::none> db;
    auto traces = db.traces();
    auto run = db.begin_run();
    const trace::model_input in{"m-1", "[{\"role\":\"user\"}]", 0.2, 120};
    const trace::model_output out{"m-1", "answer", 42, "end_turn"};
    const trace::model_call call{"m-1", "prompt", "completion", 10, 20, 350.5};
    const trace::tool_call tool{"search", "{\"q\":1}", "3 hits", std::nullopt};
    const trace::decision choice{"search", 0.8, {"ask", "stop"}, "cheapest first"};
    const trace::citation cite{"https://example.org/a", "a quote", "section 2"};
    const trace::assumption assume{"the API is idempotent", 0.6, "its docs"};
    const auto root = traces.record(run, in);
    traces.record(run, out, {.parent = root});
    traces.record(run, call, {.parent = root});
    traces.record(run, tool, {.parent = root});
    traces.record(run, choice, {.parent = root});
    traces.record(run, cite, {.parent = inmem::trace_id{run, 4}});
    traces.record(run, assume, {.parent = inmem::trace_id{run, 4}});
    CHECK(traces.template get<trace::model_input>(inmem::trace_id{run, 0})->value == in);
    CHECK(traces.template get<trace::model_output>(inmem::trace_id{run, 1})->value == out);
    CHECK(traces.template get<trace::model_call>(inmem::trace_id{run, 2})->value == call);
    CHECK(traces.template get<trace::tool_call>(inmem::trace_id{run, 3})->value == tool);
    CHECK(traces.template get<trace::decision>(inmem::trace_id{run, 4})->value == choice);
    CHECK(traces.template get<trace::citation>(inmem::trace_id{run, 5})->value == cite);
    CHECK(traces.template get<trace::assumption>(inmem::trace_id{run, 6})->value == assume);
    std::vector<std::string_view> types;
    for (const auto& t : traces.subtree(root)) types.push_back(t.type);
    CHECK(types == std::vector<std::string_view>{"inmem::trace::model_input", "inmem::trace::model_output",
                                                 "inmem::trace::model_call", "inmem::trace::tool_call",
                                                 "inmem::trace::decision", "inmem::trace::citation",
                                                 "inmem::trace::assumption"});
    CHECK(depths(traces.subtree(root)) == std::vector<std::uint32_t>{0, 1, 1, 1, 1, 2, 2});
    STATIC_REQUIRE(decltype(traces)::type_count == 7);
    STATIC_REQUIRE(decltype(traces)::template is_trace<trace::assumption>);
    STATIC_REQUIRE_FALSE(decltype(traces)::template is_trace<Thought>);
}
