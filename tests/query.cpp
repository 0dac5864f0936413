// Tests of inmem/query.hpp: predicates, projection, order_by and limit over the primitives'
// ranges, with what is pushed down into the scans proven by counting decodes.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/query.hpp>

#include <range/v3/range/conversion.hpp>
#include <range/v3/view/filter.hpp>
#include <range/v3/view/iota.hpp>
#include <range/v3/view/take.hpp>
#include <range/v3/view/transform.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

using inmem::field;
using namespace std::chrono_literals;

namespace {

struct ToolCall {
    std::string tool;
    std::string args;
    std::vector<std::string> tags;
    int n = 0;
};
struct ToolResult {
    std::string output;
    int code = 0;
};
struct Plan {
    std::string goal;
    int budget = 0;
};

// A value whose decoding the tests count: not an aggregate, stored through inmem::adapt,
// whose from_stored bumps decoded.
int decoded = 0;
struct Counted {
    Counted() = default;
    Counted(int n_, std::string tool_) : n(n_), tool(std::move(tool_)) {}
    int n = 0;
    std::string tool;
};
struct CountedStored {
    int n = 0;
    std::string tool;
};

} // namespace

template <>
struct inmem::adapt<Counted> {
    using stored_type = CountedStored;
    static CountedStored to_stored(const Counted& c) { return {c.n, c.tool}; }
    static Counted from_stored(CountedStored&& s) {
        ++decoded;
        return Counted(s.n, std::move(s.tool));
    }
};

namespace {

using query_schema = inmem::schema<inmem::kv<Plan, Counted>, inmem::states<Plan>,
                                   inmem::events<ToolCall, ToolResult, Counted>>;
using manual_db = inmem::basic_database<query_schema, inmem::durability::none, inmem::clocks::manual>;

const auto t0 = std::chrono::system_clock::time_point(1'800'000'000s);

template <class Range>
std::vector<std::uint64_t> seqs(const Range& range) {
    std::vector<std::uint64_t> out;
    for (const auto& e : range) out.push_back(e.id.seq);
    return out;
}
template <class Range>
std::vector<std::string> keys(const Range& range) {
    std::vector<std::string> out;
    for (const auto& e : range) out.push_back(e.key);
    return out;
}

// A comparison with a runtime operator (0 ==, 1 !=, 2 <, 3 <=, 4 >, 5 >=): the query's
// (all six build the same predicate type) and the reference's.
template <class A, class V>
auto cmp(int o, A a, V v) {
    switch (o) {
    case 0: return a == v;
    case 1: return a != v;
    case 2: return a < v;
    case 3: return a <= v;
    case 4: return a > v;
    default: return a >= v;
    }
}
template <class X, class Y>
bool ref_cmp(int o, const X& x, const Y& y) {
    switch (o) {
    case 0: return x == y;
    case 1: return x != y;
    case 2: return x < y;
    case 3: return x <= y;
    case 4: return x > y;
    default: return x >= y;
    }
}

} // namespace

TEST_CASE("event queries equal a brute-force filter for random data, predicates, orders and limits", "[query]") {
    manual_db db;
    db.clock().set(t0);
    auto log = db.events();
    auto run = db.begin_run();
    std::mt19937 rng(20240611);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    const std::vector<std::string> tools{"search", "fetch", "book", "searchall"};
    const std::vector<std::string> agents{"", "p", "q"};
    const std::vector<std::string> tag_names{"a", "b", "c"};
    const int n_events = 300;
    for (int i = 0; i < n_events; ++i) {
        if (pick(2)) db.clock().advance(1s); // equal times too
        const inmem::event_labels labels{.thread = pick(3) ? "" : "t1", .agent = agents[static_cast<std::size_t>(pick(3))]};
        if (pick(4) == 0) {
            log.append(run, ToolResult{"r", pick(10)}, labels);
            continue;
        }
        ToolCall call{tools[static_cast<std::size_t>(pick(4))], std::to_string(i), {}, pick(20)};
        for (const auto& t : tag_names)
            if (pick(2)) call.tags.push_back(t);
        log.append(run, call, labels);
    }
    const auto calls = log.read<ToolCall>(run);
    const auto all = log.read(run);
    const auto t_end = db.clock().now();
    using call_entry = inmem::event_entry<ToolCall>;
    using any_entry = typename decltype(all)::entries_type::value_type;

    // The reference: filter, stable sort, truncate, by hand.
    auto reference = [](const auto& source, auto keep, auto less, std::size_t limit) {
        using E = std::remove_cvref_t<decltype(*source.begin())>;
        std::vector<E> out;
        for (const auto& e : source)
            if (keep(e)) out.push_back(e);
        if (less) std::stable_sort(out.begin(), out.end(), less);
        if (out.size() > limit) out.resize(limit);
        return seqs(out);
    };

    for (int round = 0; round < 400; ++round) {
        const int a = pick(n_events + 20) - 10, b = pick(n_events + 20) - 10, c = pick(22) - 1;
        const int oa = pick(6), ob = pick(6), oc = pick(6);
        const auto t = t0 + std::chrono::seconds(pick(static_cast<int>((t_end - t0) / 1s) + 4) - 2);
        const std::string s = tools[static_cast<std::size_t>(pick(4))], s2 = tools[static_cast<std::size_t>(pick(4))];
        const std::string x = agents[static_cast<std::size_t>(pick(3))];
        const std::string tag = tag_names[static_cast<std::size_t>(pick(3))];
        const std::size_t limit = pick(3) ? static_cast<std::size_t>(pick(12)) : std::numeric_limits<std::size_t>::max();
        const int ordering = pick(4); // none, seq descending, n ascending, n descending then seq descending
        const auto i64 = [](std::uint64_t v) { return static_cast<long long>(v); };
        CAPTURE(round, a, b, c, oa, ob, oc, s, s2, x, tag, limit, ordering);

        auto run_query = [&](auto q) {
            switch (ordering) {
            case 0: return seqs(q.limit(limit).run());
            case 1: return seqs(q.order_by(inmem::seq, inmem::descending).limit(limit).run());
            case 2: return seqs(q.order_by(&ToolCall::n).limit(limit).run());
            default:
                return seqs(q.order_by(field(&ToolCall::n), inmem::descending).then_by(inmem::seq, inmem::descending)
                                .limit(limit).run());
            }
        };
        std::function<bool(const call_entry&, const call_entry&)> less;
        if (ordering == 1) less = [](const call_entry& l, const call_entry& r) { return l.id.seq > r.id.seq; };
        if (ordering == 2) less = [](const call_entry& l, const call_entry& r) { return l.value.n < r.value.n; };
        if (ordering == 3)
            less = [](const call_entry& l, const call_entry& r) {
                return l.value.n != r.value.n ? l.value.n > r.value.n : l.id.seq > r.id.seq;
            };
        auto typed = inmem::from<ToolCall>(log, run);

        // Seq ranges and a value field.
        CHECK(run_query(typed.where(cmp(oa, inmem::seq, a) && cmp(ob, inmem::seq, b) && cmp(oc, field(&ToolCall::n), c))) ==
              reference(calls, [&](const call_entry& e) {
                  return ref_cmp(oa, i64(e.id.seq), a) && ref_cmp(ob, i64(e.id.seq), b) && ref_cmp(oc, e.value.n, c);
              }, less, limit));
        // Or and not, a label.
        CHECK(run_query(typed.where((field(&ToolCall::tool) == s || inmem::agent == x) && !cmp(oa, inmem::seq, a))) ==
              reference(calls, [&](const call_entry& e) {
                  return (e.value.tool == s || e.agent == x) && !ref_cmp(oa, i64(e.id.seq), a);
              }, less, limit));
        // Times, in, a thread.
        CHECK(run_query(typed.where(cmp(oa, inmem::time, t) && field(&ToolCall::tool).in({s, s2}) && inmem::thread == "t1")) ==
              reference(calls, [&](const call_entry& e) {
                  return ref_cmp(oa, e.time, t) && (e.value.tool == s || e.value.tool == s2) && e.thread == "t1";
              }, less, limit));
        // An agent, contains, starts_with, two time bounds.
        CHECK(run_query(typed.where(inmem::agent == x && field(&ToolCall::tags).contains(tag) && cmp(ob, inmem::time, t) &&
                                    cmp(oc, inmem::time, t + 20s) && field(&ToolCall::tool).starts_with(s.substr(0, 3)))) ==
              reference(calls, [&](const call_entry& e) {
                  return e.agent == x && std::find(e.value.tags.begin(), e.value.tags.end(), tag) != e.value.tags.end() &&
                         ref_cmp(ob, e.time, t) && ref_cmp(oc, e.time, t + 20s) && e.value.tool.starts_with(s.substr(0, 3));
              }, less, limit));
        // Any event type: a field of one type is false on the other's events.
        if (ordering < 2) {
            auto any_q = inmem::from(log, run).where(
                (cmp(oa, field(&ToolResult::code), c % 10) || cmp(ob, field(&ToolCall::n), c)) && cmp(oc, inmem::seq, a));
            std::function<bool(const any_entry&, const any_entry&)> any_less;
            if (ordering == 1) any_less = [](const any_entry& l, const any_entry& r) { return l.id.seq > r.id.seq; };
            CHECK(seqs((ordering == 1 ? any_q.order_by(inmem::seq, inmem::descending) : any_q.order_by(inmem::seq))
                           .limit(limit).run()) ==
                  reference(all, [&](const any_entry& e) {
                      const auto* r = std::get_if<ToolResult>(&e.value);
                      const auto* k = std::get_if<ToolCall>(&e.value);
                      return ((r && ref_cmp(oa, r->code, c % 10)) || (k && ref_cmp(ob, k->n, c))) &&
                             ref_cmp(oc, i64(e.id.seq), a);
                  }, any_less, limit));
        }
    }
}

TEST_CASE("KV and state queries equal a brute-force filter for random keys and predicates", "[query]") {
    inmem::basic_database<query_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    auto kv = db.kv<Plan>();
    std::mt19937 rng(7);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
    auto random_key = [&] {
        std::string k = "k";
        const int len = pick(4);
        for (int i = 0; i < len; ++i) k += static_cast<char>('a' + pick(3));
        return k;
    };
    for (int i = 0; i < 200; ++i) kv.put(run, random_key(), Plan{"g" + std::to_string(i), pick(10)});
    kv.put(run, "", Plan{"the empty key", 1}); // a key, and the first
    const auto all = kv.list(run);
    using entry = inmem::kv_entry<Plan>;

    auto reference = [&](auto keep, auto less, std::size_t limit) {
        std::vector<entry> out;
        for (const auto& e : all)
            if (keep(e)) out.push_back(e);
        if (less) std::stable_sort(out.begin(), out.end(), less);
        if (out.size() > limit) out.resize(limit);
        return keys(out);
    };
    for (int round = 0; round < 400; ++round) {
        const std::string a = pick(4) ? random_key() : random_key() + "z", b = random_key(), p = random_key().substr(0, 1 + static_cast<std::size_t>(pick(3)));
        const int c = pick(11), oa = pick(6), ob = pick(6), oc = pick(6);
        const std::size_t limit = pick(3) ? static_cast<std::size_t>(pick(12)) : std::numeric_limits<std::size_t>::max();
        const int ordering = pick(3); // none, key descending, budget then key descending
        CAPTURE(round, a, b, p, c, oa, ob, oc, limit, ordering);
        auto run_query = [&](auto q) {
            switch (ordering) {
            case 0: return keys(q.limit(limit).run());
            case 1: return keys(q.order_by(inmem::key, inmem::descending).limit(limit).run());
            default: return keys(q.order_by(&Plan::budget).then_by(inmem::key, inmem::descending).limit(limit).run());
            }
        };
        std::function<bool(const entry&, const entry&)> less;
        if (ordering == 1) less = [](const entry& l, const entry& r) { return l.key > r.key; };
        if (ordering == 2)
            less = [](const entry& l, const entry& r) {
                return l.value.budget != r.value.budget ? l.value.budget < r.value.budget : l.key > r.key;
            };
        auto q = inmem::from(kv, run);
        CHECK(run_query(q.where(cmp(oa, inmem::key, a) && cmp(ob, inmem::key, b) && cmp(oc, field(&Plan::budget), c))) ==
              reference([&](const entry& e) {
                  return ref_cmp(oa, e.key, a) && ref_cmp(ob, e.key, b) && ref_cmp(oc, e.value.budget, c);
              }, less, limit));
        CHECK(run_query(q.where(inmem::key.starts_with(p) && cmp(oa, inmem::key, a))) ==
              reference([&](const entry& e) { return e.key.starts_with(p) && ref_cmp(oa, e.key, a); }, less, limit));
        CHECK(run_query(q.where(inmem::key.in({a, b, p}) || field(&Plan::budget) == c)) ==
              reference([&](const entry& e) { return e.key == a || e.key == b || e.key == p || e.value.budget == c; },
                        less, limit));
        CHECK(run_query(q.where(inmem::key.in({a, b, p}) && inmem::key.starts_with(p.substr(0, 1)))) ==
              reference([&](const entry& e) { return (e.key == a || e.key == b || e.key == p) && e.key.starts_with(p.substr(0, 1)); },
                        less, limit));
    }

    // State records: the same keyed scan, over names.
    auto states = db.states<Plan>();
    for (int i = 0; i < 50; ++i) states.set(run, "s" + std::to_string(i), Plan{"st", i % 5});
    const auto names = inmem::from(states).where(inmem::key >= "s2" && inmem::key < "s4" && field(&Plan::budget) != 0)
                           .select(inmem::key).to_vector();
    std::vector<std::string> expected;
    for (const auto& e : states.list())
        if (e.name >= "s2" && e.name < "s4" && e.value.budget != 0) expected.push_back(e.name);
    CHECK(names == expected);
    CHECK(inmem::from(states).where(inmem::key == "s7").select(&Plan::budget).first() == std::optional<int>(2));
    CHECK_FALSE(inmem::from(states).where(inmem::key == "nope").first());
}

TEST_CASE("a limited query on a 10,000-event log decodes about what it returns", "[query]") {
    manual_db db;
    db.clock().set(t0);
    auto log = db.events();
    auto run = db.begin_run();
    for (int i = 0; i < 10'000; ++i) {
        db.clock().advance(1s);
        log.append(run, Counted(i, i % 10 == 0 ? "search" : "fetch"), {.agent = i % 100 == 0 ? "rare" : "common"});
    }
    auto q = inmem::from<Counted>(log, run);
    auto decodes = [&](auto query) {
        decoded = 0;
        auto r = query.run();
        return std::pair(seqs(r), decoded);
    };

    // A seq range and a limit: the range is read from its start, page by page.
    auto [a, da] = decodes(q.where(inmem::seq >= 5000 && inmem::seq < 9000).limit(5));
    CHECK(a == std::vector<std::uint64_t>{5000, 5001, 5002, 5003, 5004});
    CHECK(da == 5);
    CHECK(q.where(inmem::seq >= 10 && inmem::seq < 100).bounds().from == 10);
    CHECK(q.where(inmem::seq >= 10 && inmem::seq < 100).bounds().to == 100);

    // A field that 1 in 10 events match: pages double, so about twice what is needed at most.
    auto [b, db_] = decodes(q.where(inmem::seq >= 10 && inmem::seq < 9000 && field(&Counted::tool) == "search").limit(5));
    CHECK(b == std::vector<std::uint64_t>{10, 20, 30, 40, 50});
    CHECK(db_ >= 41);
    CHECK(db_ <= 2 * 41 + 5);

    // Newest first is the log read in reverse, not a sort.
    auto [c, dc] = decodes(q.order_by(inmem::seq, inmem::descending).limit(3));
    CHECK(c == std::vector<std::uint64_t>{9999, 9998, 9997});
    CHECK(dc == 3);

    // A time range becomes since/until.
    auto [d, dd] = decodes(q.where(inmem::time >= t0 + 7001s && inmem::time < t0 + 7011s));
    CHECK(d.size() == 10);
    CHECK(d.front() == 7000);
    CHECK(dd == 10);

    // An agent label goes to the label's index: 1 event in 100.
    auto [e, de] = decodes(q.where(inmem::agent == "rare").order_by(inmem::seq, inmem::descending).limit(3));
    CHECK(e == std::vector<std::uint64_t>{9900, 9800, 9700});
    CHECK(de == 3);

    // Contradictory bounds read nothing.
    auto [f, df] = decodes(q.where(inmem::seq > 50 && inmem::seq <= 50));
    CHECK(f.empty());
    CHECK(df == 0);

    // Or pushes nothing down, and order_by on a field sorts: both read the whole log.
    auto [g, dg] = decodes(q.where(inmem::seq < 3 || inmem::seq > 9996));
    CHECK(g == std::vector<std::uint64_t>{0, 1, 2, 9997, 9998, 9999});
    CHECK(dg == 10'000);
    auto [h, dh] = decodes(q.order_by(&Counted::n, inmem::descending).limit(2));
    CHECK(h == std::vector<std::uint64_t>{9999, 9998});
    CHECK(dh == 10'000);
}

TEST_CASE("key ranges and prefixes go into KV listings: a 10,000-key query decodes about what it returns", "[query]") {
    inmem::basic_database<query_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    auto kv = db.kv<Counted>();
    char name[16];
    for (int i = 0; i < 10'000; ++i) {
        std::snprintf(name, sizeof name, "k%05d", i);
        kv.put(run, name, Counted(i, i % 2 ? "odd" : "even"));
    }
    auto q = inmem::from(kv, run);
    auto decodes = [&](auto query) {
        decoded = 0;
        auto r = query.run();
        return std::pair(keys(r), decoded);
    };
    auto [a, da] = decodes(q.where(inmem::key >= "k05000" && inmem::key < "k05010"));
    CHECK(a.size() == 10);
    CHECK(a.front() == "k05000");
    CHECK(da <= 1 + 16); // a lookup of the lower bound, then pages from 16 (the listing has no upper bound)
    auto [b, db_] = decodes(q.where(inmem::key >= "k05000" && inmem::key < "k05010").limit(4));
    CHECK(b == std::vector<std::string>{"k05000", "k05001", "k05002", "k05003"});
    CHECK(db_ == 4);
    auto [c, dc] = decodes(q.where(inmem::key == "k07777"));
    CHECK(c == std::vector<std::string>{"k07777"});
    CHECK(dc == 1); // a point lookup
    auto [d, dd] = decodes(q.where(inmem::key.starts_with("k099") && field(&Counted::tool) == "odd").limit(3));
    CHECK(d == std::vector<std::string>{"k09901", "k09903", "k09905"});
    CHECK(dd <= 10);
    auto [e, de] = decodes(q.where(inmem::key > "k09990"));
    CHECK(e.size() == 9);
    CHECK(de == 9);
    auto [f, df] = decodes(q.where(inmem::key.starts_with("k01") && inmem::key.starts_with("k02")));
    CHECK(f.empty());
    CHECK(df == 0);
    auto [g, dg] = decodes(q.where(inmem::key.in({"k00003", "k00005"})).limit(5));
    CHECK(g == std::vector<std::string>{"k00003", "k00005"});
    CHECK(dg <= 6); // a lookup of the smallest, then a page to the largest
}

TEST_CASE("queries and the adaptors compose with range-v3 views both ways", "[query]") {
    inmem::basic_database<query_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    auto kv = db.kv<Plan>();
    for (int i = 0; i < 20; ++i) kv.put(run, "p" + std::to_string(100 + i), Plan{"g" + std::to_string(i), i % 4});

    // A query's result is a view.
    const auto goals = inmem::from(kv, run).where(field(&Plan::budget) == 3).run() |
                       ranges::views::transform([](const auto& e) { return e.value.goal; }) | ranges::views::take(2) |
                       ranges::to<std::vector>();
    CHECK(goals == std::vector<std::string>{"g3", "g7"});

    // The adaptors after and before range-v3's.
    const auto a = kv.list(run) | inmem::where(field(&Plan::budget) >= 2) | ranges::views::take(3) |
                   inmem::select(&Plan::goal) | ranges::to<std::vector>();
    CHECK(a == std::vector<std::string>{"g2", "g3", "g6"});
    const auto b = kv.list(run) | ranges::views::filter([](const auto& e) { return e.value.budget == 1; }) |
                   inmem::order_by(inmem::key, inmem::descending) | inmem::limit(2) | inmem::select(inmem::key) |
                   ranges::to<std::vector>();
    CHECK(b == std::vector<std::string>{"p117", "p113"});

    // On plain values (no entries) and on a transformed range.
    const auto c = kv.list(run) | ranges::views::transform([](const auto& e) { return e.value; }) |
                   inmem::where(field(&Plan::budget).in({0, 3}) && inmem::pred([](const Plan& p) { return p.goal.size() == 2; })) |
                   inmem::select(&Plan::goal) | ranges::to<std::vector>();
    CHECK(c == std::vector<std::string>{"g0", "g3", "g4", "g7", "g8"});
    std::vector<Plan> plans{{"x", 2}, {"y", 1}, {"z", 2}, {"w", 0}};
    CHECK((plans | inmem::where(field(&Plan::budget) > 0) | inmem::select(&Plan::goal) | ranges::to<std::vector>()) ==
          std::vector<std::string>{"x", "y", "z"});

    // A query over any range: a container (referred to or moved in) or a view.
    CHECK(inmem::from(plans).order_by(&Plan::budget, inmem::descending).select(&Plan::goal).to_vector() ==
          std::vector<std::string>{"x", "z", "y", "w"});
    CHECK(inmem::from(std::vector<int>{5, 1, 4}).order_by(std::identity{}).to_vector() == std::vector<int>{1, 4, 5});
    CHECK(inmem::from(ranges::views::iota(0, 100) | ranges::views::filter([](int i) { return i % 7 == 0; }))
              .where(inmem::pred([](int i) { return i > 20; }))
              .limit(3)
              .to_vector() == std::vector<int>{21, 28, 35});
}

TEST_CASE("order_by is stable in both directions; then_by breaks ties; limit keeps the first", "[query]") {
    inmem::basic_database<query_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    auto log = db.events();
    const std::vector<std::pair<std::string, int>> data{{"b", 1}, {"a", 2}, {"b", 3}, {"a", 4}, {"c", 5}, {"a", 6}};
    for (const auto& [tool, n] : data) log.append(run, ToolCall{tool, "", {}, n});
    auto q = inmem::from<ToolCall>(log, run);
    auto ns = [](const auto& r) {
        std::vector<int> out;
        for (const auto& e : r) out.push_back(e.value.n);
        return out;
    };
    CHECK(ns(q.order_by(&ToolCall::tool).run()) == std::vector<int>{2, 4, 6, 1, 3, 5});
    CHECK(ns(q.order_by(&ToolCall::tool, inmem::descending).run()) == std::vector<int>{5, 1, 3, 2, 4, 6}); // ties keep seq order
    CHECK(ns(q.order_by(&ToolCall::tool).then_by(inmem::seq, inmem::descending).run()) == std::vector<int>{6, 4, 2, 3, 1, 5});
    CHECK(ns(q.order_by(&ToolCall::tool).limit(2).run()) == std::vector<int>{2, 4});
    CHECK(ns(q.order_by([](const auto& e) { return -e.value.n; }).limit(2).run()) == std::vector<int>{6, 5});
    CHECK(ns(q.order_by(inmem::seq, inmem::descending).run()) == std::vector<int>{6, 5, 4, 3, 2, 1});
    CHECK(ns(q.limit(10).limit(3).limit(7).run()) == std::vector<int>{1, 2, 3});
    CHECK(q.limit(0).run().empty());
    // In whatever order the calls come: where, then order_by, then limit, then select.
    CHECK(q.limit(2).select(&ToolCall::n).order_by(&ToolCall::n, inmem::descending).where(field(&ToolCall::tool) != "c")
              .to_vector() == std::vector<int>{6, 4});
}

TEST_CASE("select yields the projected types: a field, metadata, a callable, several as a tuple", "[query]") {
    inmem::basic_database<query_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    auto log = db.events();
    log.append(run, ToolCall{"search", "q=1", {"x"}, 7}, {.agent = "planner"});
    log.append(run, ToolCall{"fetch", "url", {}, 8});
    auto q = inmem::from<ToolCall>(log, run);

    auto args = q.select(&ToolCall::args).to_vector();
    STATIC_REQUIRE(std::is_same_v<decltype(args), std::vector<std::string>>);
    CHECK(args == std::vector<std::string>{"q=1", "url"});
    auto seq_list = q.select(inmem::seq).run();
    STATIC_REQUIRE(std::is_same_v<decltype(seq_list), inmem::entry_range<std::uint64_t>>);
    CHECK(seq_list.size() == 2);
    CHECK(seq_list[1] == 1);
    auto sizes = q.select([](const auto& e) { return e.value.tags.size(); }).to_vector();
    STATIC_REQUIRE(std::is_same_v<decltype(sizes), std::vector<std::size_t>>);
    CHECK(sizes == std::vector<std::size_t>{1, 0});
    auto pairs = q.select(inmem::agent, field(&ToolCall::n), inmem::time).to_vector();
    STATIC_REQUIRE(std::is_same_v<decltype(pairs)::value_type,
                                  std::tuple<std::string, int, std::chrono::system_clock::time_point>>);
    CHECK(std::get<0>(pairs[0]) == "planner");
    CHECK(std::get<1>(pairs[1]) == 8);
    STATIC_REQUIRE(std::is_same_v<decltype(q.run()), inmem::entry_range<inmem::event_entry<ToolCall>>>);
    auto kv_versions = inmem::from(db.kv<Plan>(), run).select(inmem::version, inmem::value).to_vector();
    STATIC_REQUIRE(std::is_same_v<decltype(kv_versions)::value_type, std::tuple<inmem::version_t, Plan>>);
}

TEST_CASE("a field predicate on any event type is false on the events of other types", "[query]") {
    inmem::basic_database<query_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    auto log = db.events();
    log.append(run, ToolCall{"search", "", {}, 1});
    log.append(run, ToolResult{"ok", 200});
    log.append(run, ToolCall{"fetch", "", {}, 2});
    CHECK(seqs(inmem::from(log, run).where(field(&ToolCall::tool) == "search").run()) == std::vector<std::uint64_t>{0});
    CHECK(seqs(inmem::from(log, run).where(field(&ToolCall::tool) != "search").run()) == std::vector<std::uint64_t>{2});
    CHECK(seqs(inmem::from(log, run).where(!(field(&ToolCall::tool) == "search")).run()) == std::vector<std::uint64_t>{1, 2});
    CHECK(seqs(inmem::from(log, run).where(field(&ToolResult::code) >= 200 || field(&ToolCall::n) == 2).run()) ==
          std::vector<std::uint64_t>{1, 2});
    CHECK(seqs(inmem::from(log, run).of<ToolResult>().run()) == std::vector<std::uint64_t>{1});
    // Reversed operands read the same.
    CHECK(seqs(inmem::from<ToolCall>(log, run).where(1 < field(&ToolCall::n) && 0 <= inmem::seq).run()) ==
          std::vector<std::uint64_t>{2});
}

TEST_CASE("queries read in a transaction see its snapshot and its own KV writes", "[query]") {
    inmem::basic_database<query_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    auto kv = db.kv<Plan>();
    kv.put(run, "a", Plan{"committed", 1});
    db.transact(run, [&](auto& tx) {
        kv.put(tx, "b", Plan{"in tx", 2});
        CHECK(keys(inmem::from(kv, tx).where(inmem::key >= "a").run()) == std::vector<std::string>{"a", "b"});
        CHECK(inmem::from(kv, tx).where(inmem::key == "b").select(&Plan::goal).first() == std::optional<std::string>("in tx"));
        CHECK(inmem::from(db.events(), tx).run().empty());
    });
    CHECK(inmem::from(kv, run).where(field(&Plan::budget) == 2).select(inmem::key).to_vector() == std::vector<std::string>{"b"});
}
