// Tests of run queries (db.runs(query), inmem/run_index.hpp) and run metadata: every filter
// alone and combined against a brute-force filter of db.runs(), both orders and directions,
// paging, metadata, reopen and snapshots (the indexes rebuilt equal), errors.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"
#include "../durability/faulty_fs.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <thread>

using inmem_test::error_of;
using namespace std::chrono_literals;

namespace {
struct Note {
    std::string text;
};
using note_schema = inmem::schema<inmem::kv<Note>>;
using note_db = inmem::database<note_schema>;
using status = inmem::run_status;
using time_point = std::chrono::system_clock::time_point;

// What query gives, by the definition: a filter of every run, sorted, then paged.
std::vector<inmem::run_info> brute(const std::vector<inmem::run_info>& all, const inmem::run_query& q) {
    auto in_tree = [&](const inmem::run_info& r) {
        for (auto p = r.parent; p;) {
            if (*p == *q.descendant_of) return true;
            auto it = std::find_if(all.begin(), all.end(), [&](const inmem::run_info& x) { return x.id == *p; });
            p = it->parent;
        }
        return false;
    };
    std::vector<inmem::run_info> out;
    for (const auto& r : all) {
        if (!q.statuses.empty() && std::find(q.statuses.begin(), q.statuses.end(), r.status) == q.statuses.end())
            continue;
        bool tags = true;
        for (const auto& t : q.tags) tags = tags && std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end();
        if (!tags || !r.name.starts_with(q.name_prefix)) continue;
        if (q.parent && r.parent != q.parent) continue;
        if (q.descendant_of && !in_tree(r)) continue;
        if (!q.started.contains(r.started)) continue;
        if ((q.ended.from || q.ended.until) && (!r.ended || !q.ended.contains(*r.ended))) continue;
        bool meta = true;
        for (const auto& [k, v] : q.metadata) meta = meta && r.metadata.count(k) && r.metadata.at(k) == v;
        if (meta) out.push_back(r);
    }
    auto key = [&](const inmem::run_info& r) {
        return q.order == inmem::run_order::by_start ? std::pair(r.started, r.id) : std::pair(time_point{}, r.id);
    };
    std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
        return q.descending ? key(b) < key(a) : key(a) < key(b);
    });
    return out;
}

// Every page of q, walked with the cursor.
template <class Db>
std::vector<inmem::run_info> walk(const Db& db, inmem::run_query q, std::size_t* pages = nullptr) {
    std::vector<inmem::run_info> out;
    for (std::size_t n = 1;; ++n) {
        auto page = db.runs(q);
        if (q.limit) CHECK(page.runs.size() <= q.limit);
        out.insert(out.end(), page.runs.begin(), page.runs.end());
        if (!page.next) {
            if (pages) *pages = n;
            return out;
        }
        CHECK(page.runs.size() == q.limit);
        CHECK(page.next->last == page.runs.back().id);
        q.after = page.next;
    }
}

std::vector<std::uint64_t> ids(const std::vector<inmem::run_info>& runs) {
    std::vector<std::uint64_t> out;
    for (const auto& r : runs) out.push_back(r.id.value);
    return out;
}

// A population of runs: statuses, tags, names, a lineage forest, metadata; times by the clock.
template <class Db>
std::vector<inmem::run_id> populate(Db& db, int count, std::uint32_t seed) {
    std::mt19937 rng(seed);
    const char* names[] = {"triage", "triage-eu", "plan", "planner", "act", ""};
    const char* tags[] = {"prod", "eu", "us", "canary"};
    std::vector<inmem::run_id> runs;
    for (int i = 0; i < count; ++i) {
        inmem::run_options o;
        o.name = names[rng() % 6];
        for (const char* t : tags)
            if (rng() % 3 == 0) o.tags.push_back(t);
        if (!runs.empty() && rng() % 2) o.parent = runs[rng() % runs.size()];
        if (rng() % 2) o.metadata["user"] = "u" + std::to_string(rng() % 4);
        if (rng() % 4 == 0) o.metadata["model"] = rng() % 2 ? "big" : "small";
        runs.push_back(db.begin_run(std::move(o)));
        if (i % 3 == 0 && runs.size() > 2) { // end an earlier run: statuses out of id order
            auto r = runs[rng() % runs.size()];
            if (db.run(r).status == status::active)
                db.end_run(r, std::array{status::completed, status::failed, status::cancelled}[rng() % 3]);
        }
        if (i % 5 == 0) { // metadata changed on an active run
            auto r = runs[rng() % runs.size()];
            if (db.run(r).status == status::active) {
                if (rng() % 3) db.set_metadata(r, "user", "u" + std::to_string(rng() % 4));
                else db.erase_metadata(r, "user");
            }
        }
    }
    return runs;
}

// A set of queries covering every filter, alone and combined, every order.
std::vector<inmem::run_query> queries(const std::vector<inmem::run_info>& all) {
    const time_point mid = all[all.size() / 2].started;
    const time_point quarter = all[all.size() / 4].started;
    const inmem::run_id some = all[3].id, other = all[0].id;
    std::vector<inmem::run_query> base = {
        {},
        {.statuses = {status::active}},
        {.statuses = {status::failed, status::cancelled}},
        {.tags = {"prod"}},
        {.tags = {"prod", "eu"}},
        {.tags = {"nothing"}},
        {.name_prefix = "triage"},
        {.name_prefix = "plan"},
        {.tags = {"us"}, .name_prefix = "pla"},
        {.parent = some},
        {.statuses = {status::active}, .parent = other},
        {.descendant_of = other},
        {.tags = {"prod"}, .descendant_of = some},
        {.started = {.from = quarter, .until = mid}},
        {.statuses = {status::completed}, .started = {.until = mid}},
        {.ended = {.from = quarter}},
        {.tags = {"eu"}, .ended = {.until = mid}},
        {.metadata = {{"user", "u1"}}},
        {.metadata = {{"user", "u2"}, {"model", "big"}}},
        {.statuses = {status::active}, .tags = {"canary"}, .metadata = {{"user", "u3"}}},
        {.name_prefix = "t", .started = {.from = quarter}, .metadata = {{"user", "u0"}}},
        {.statuses = {status::completed, status::active}, .descendant_of = other, .metadata = {{"user", "u1"}}},
    };
    std::vector<inmem::run_query> out;
    for (auto q : base)
        for (auto order : {inmem::run_order::by_id, inmem::run_order::by_start})
            for (bool desc : {false, true}) {
                q.order = order;
                q.descending = desc;
                out.push_back(q);
            }
    return out;
}

// Every query equals the brute-force answer, whole and walked in pages.
template <class Db>
void check_queries(const Db& db) {
    const auto all = db.runs();
    for (const auto& q : queries(all)) {
        const auto expected = ids(brute(all, q));
        CHECK(ids(db.runs(q).runs) == expected);
        for (std::size_t limit : {1u, 7u}) {
            auto paged = q;
            paged.limit = limit;
            std::size_t pages = 0;
            CHECK(ids(walk(db, paged, &pages)) == expected);
            CHECK(pages == std::max<std::size_t>(1, (expected.size() + limit - 1) / limit));
        }
    }
}

} // namespace

TEMPLATE_LIST_TEST_CASE("every filter, alone and combined, in both orders and directions, equals a brute-force "
                        "filter of runs(), whole and in pages",
                        "[run_queries]", inmem_test::all_configurations<note_schema>) {
    inmem_test::test_database<TestType> db;
    populate(*db, 120, 7);
    check_queries(*db);
}

TEMPLATE_LIST_TEST_CASE("the indexes are rebuilt equal at reopen and from a snapshot", "[run_queries]",
                        inmem_test::all_configurations<note_schema>) {
    inmem_test::test_database<TestType> db;
    populate(*db, 90, 11);
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        std::vector<std::vector<std::uint64_t>> before;
        const auto all = db->runs();
        for (const auto& q : queries(all)) before.push_back(ids(db->runs(q).runs));
        auto same = [&] {
            std::size_t i = 0;
            for (const auto& q : queries(all)) CHECK(ids(db->runs(q).runs) == before[i++]);
            check_queries(*db);
        };
        db.reopen(); // from the WAL
        CHECK(db->runs() == all);
        same();
        db->snapshot();
        db.reopen(); // from the snapshot
        CHECK(db->runs() == all);
        same();
        populate(*db, 30, 12); // and they go on being kept after it
        check_queries(*db);
        db.reopen();
        check_queries(*db);
    } else {
        check_queries(*db);
    }
}

TEMPLATE_LIST_TEST_CASE("metadata is set at begin_run, updated and erased while active, and refused after",
                        "[run_queries]", inmem_test::all_configurations<note_schema>) {
    inmem_test::test_database<TestType> db;
    auto run = db->begin_run({.name = "r", .metadata = {{"user", "ann"}, {"model", "big"}}});
    CHECK(db->run(run).metadata == std::map<std::string, std::string>{{"model", "big"}, {"user", "ann"}});
    const auto v0 = db->last_version();
    db->set_metadata(run, "user", "ann"); // unchanged: no commit
    db->erase_metadata(run, "absent");
    CHECK(db->last_version() == v0);
    db->set_metadata(run, "user", "bob");
    CHECK(db->last_version() == v0 + 1);
    db->set_metadata(run, "step", "3");
    db->erase_metadata(run, "model");
    CHECK(db->run(run).metadata == std::map<std::string, std::string>{{"step", "3"}, {"user", "bob"}});
    CHECK(db->runs({.metadata = {{"user", "ann"}}}).runs.empty());
    CHECK(ids(db->runs({.metadata = {{"user", "bob"}}}).runs) == std::vector{run.value});
    CHECK(db->runs({.metadata = {{"model", "big"}}}).runs.empty());
    db->set_metadata(run, "user", "ann"); // back again: found again, once
    CHECK(ids(db->runs({.metadata = {{"user", "ann"}}}).runs) == std::vector{run.value});
    db->end_run(run);
    CHECK(error_of([&] { db->set_metadata(run, "user", "eve"); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { db->erase_metadata(run, "user"); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { db->set_metadata(inmem::run_id{999}, "k", "v"); }) == inmem::errc::unknown_run);
    CHECK(db->run(run).metadata.at("user") == "ann");
    if constexpr (inmem_test::test_database<TestType>::persistent) {
        db.reopen();
        CHECK(db->run(run).metadata == std::map<std::string, std::string>{{"step", "3"}, {"user", "ann"}});
        CHECK(ids(db->runs({.metadata = {{"user", "ann"}, {"step", "3"}}}).runs) == std::vector{run.value});
    }
}

TEST_CASE("a run record without metadata is encoded as before metadata existed, and such records decode",
          "[run_queries]") {
    const inmem::run_info info{.id = inmem::run_id{7},
                               .name = "n",
                               .tags = {"t"},
                               .parent = inmem::run_id{3},
                               .status = status::failed,
                               .started = time_point{} + 5s,
                               .ended = time_point{} + 9s,
                               .metadata = {}};
    const inmem::detail::run_record_base old{info.id, info.name, info.tags, info.parent, info.status, info.started,
                                             info.ended};
    const std::string before = inmem::encode(old); // the layout every earlier file has
    CHECK(inmem::detail::run_record_codec::encode(info) == before);
    auto back = inmem::detail::run_record_codec::decode(before);
    REQUIRE(back);
    CHECK(back.value() == info);
    auto with = info;
    with.metadata = {{"k", "v"}};
    const std::string bytes = inmem::detail::run_record_codec::encode(with);
    CHECK(bytes.starts_with(before));
    REQUIRE(inmem::detail::run_record_codec::decode(bytes));
    CHECK(inmem::detail::run_record_codec::decode(bytes).value() == with);
    CHECK_FALSE(inmem::detail::run_record_codec::decode(bytes + "x")); // trailing
    // The generic codec's layout of the same value (an empty map at the end) decodes too.
    CHECK(inmem::encode(info) == before + std::string(1, '\0'));
    REQUIRE(inmem::detail::run_record_codec::decode(inmem::encode(info)));
    CHECK(inmem::detail::run_record_codec::decode(inmem::encode(info)).value() == info);
    CHECK(inmem::detail::run_record_codec::decode(inmem::encode(with)).value() == with);
    CHECK_FALSE(inmem::detail::run_record_codec::decode(bytes.substr(0, bytes.size() - 1)));
}

TEST_CASE("queries refuse bad arguments", "[run_queries]") {
    note_db db;
    auto a = db.begin_run();
    CHECK(error_of([&] { db.runs({.parent = inmem::run_id{99}}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { db.runs({.descendant_of = inmem::run_id{99}}); }) == inmem::errc::unknown_run);
    CHECK(error_of([&] { db.runs({.started = {.from = time_point{} + 2s, .until = time_point{} + 1s}}); }) ==
          inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.runs({.ended = {.from = time_point{} + 2s, .until = time_point{} + 1s}}); }) ==
          inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.runs({.metadata = {{"", "v"}}}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.runs({.statuses = {static_cast<status>(9)}}); }) == inmem::errc::invalid_argument);
    const inmem::run_cursor by_id{.last = a};
    CHECK(error_of([&] { db.runs({.order = inmem::run_order::by_start, .after = by_id}); }) ==
          inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.runs({.descending = true, .after = by_id}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.runs({.after = inmem::run_cursor{}}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.begin_run({.metadata = {{"", "v"}}}); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.set_metadata(a, "", "v"); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { db.set_metadata(a, std::string(inmem::max_key_size + 1, 'k'), "v"); }) ==
          inmem::errc::invalid_argument);
    CHECK(db.runs(inmem::run_query{}).runs.size() == 1); // a failed begin_run left nothing
    // A filter no run matches is an empty page, not an error.
    CHECK(db.runs({.tags = {"none"}}).runs.empty());
    CHECK(db.runs({.name_prefix = "zz"}).runs.empty());
    CHECK(db.runs({.metadata = {{"k", "v"}}}).runs.empty());
    CHECK(db.runs({.parent = a}).runs.empty());
}

TEST_CASE("start and end times never go back, so start order is id order", "[run_queries]") {
    inmem::basic_database<note_schema, inmem::clocks::manual, inmem::durability::none> db;
    db.clock().set(time_point{} + 100h);
    auto a = db.begin_run();
    db.clock().set(time_point{} + 50h); // the clock went back
    auto b = db.begin_run();
    CHECK(db.run(b).started == db.run(a).started);
    db.clock().set(time_point{} + 200h);
    auto c = db.begin_run();
    db.end_run(c);
    db.clock().set(time_point{} + 150h);
    db.end_run(a);
    CHECK(db.run(a).ended == time_point{} + 200h);
    CHECK(ids(db.runs({.order = inmem::run_order::by_start}).runs) == std::vector{a.value, b.value, c.value});
    CHECK(ids(db.runs({.order = inmem::run_order::by_start, .descending = true}).runs) ==
          std::vector{c.value, b.value, a.value});
    CHECK(ids(db.runs({.started = {.from = time_point{} + 100h, .until = time_point{} + 101h}}).runs) ==
          std::vector{a.value, b.value});
    CHECK(ids(db.runs({.ended = {.from = time_point{} + 200h}}).runs) == std::vector{a.value, c.value});
}

TEST_CASE("statuses found by query follow end_run, a crash's interrupted runs and resume_run", "[run_queries]") {
    inmem_test::temp_dir dir;
    auto fs = std::make_shared<inmem_test::faulty_file_system>(false);
    using db_type = inmem::basic_database<note_schema, inmem::durability::strict>;
    inmem::run_id a{}, b{}, c{};
    {
        db_type db(dir.path(), inmem::open_options{.fs = fs});
        a = db.begin_run({.tags = {"t"}});
        b = db.begin_run({.tags = {"t"}});
        c = db.begin_run({.tags = {"t"}});
        db.end_run(b, status::failed);
        fs->simulate_process_crash();
    }
    for (int session = 0; session < 2; ++session) { // the second: the interruptions are written
        db_type db(dir.path());
        CHECK(db.runs({.statuses = {status::active}}).runs.empty());
        CHECK(ids(db.runs({.statuses = {status::interrupted}, .tags = {"t"}}).runs) == std::vector{a.value, c.value});
        CHECK(ids(db.runs({.statuses = {status::failed}}).runs) == std::vector{b.value});
        if (session == 0) {
            db.end_run(db.begin_run()); // the session's first commit writes the interrupted records
            continue;
        }
        db.resume_run(a);
        db.end_run(c, status::cancelled);
        CHECK(ids(db.runs({.statuses = {status::active}, .tags = {"t"}}).runs) == std::vector{a.value});
        CHECK(ids(db.runs({.statuses = {status::cancelled, status::failed}}).runs) == std::vector{b.value, c.value});
        CHECK(db.runs({.statuses = {status::interrupted}}).runs.empty());
        check_queries(db);
    }
}

TEST_CASE("a page walk resumes where it stopped while runs are begun and ended between pages", "[run_queries]") {
    note_db db;
    std::vector<inmem::run_id> runs;
    for (int i = 0; i < 50; ++i) runs.push_back(db.begin_run({.tags = {i % 2 ? "odd" : "even"}}));
    for (bool desc : {false, true}) {
        inmem::run_query q{.tags = {"odd"}, .descending = desc, .limit = 4};
        std::vector<std::uint64_t> seen;
        std::vector<std::uint64_t> added;
        for (int page_no = 0;; ++page_no) {
            auto page = db.runs(q);
            for (const auto& r : page.runs) seen.push_back(r.id.value);
            // Between pages: new runs (after everything, so seen only ascending) and ends.
            auto fresh = db.begin_run({.tags = {"odd"}});
            if (page_no < 5) added.push_back(fresh.value);
            else db.end_run(fresh);
            if (!page.next) break;
            q.after = page.next;
            if (page_no > 100) FAIL("the walk does not end");
        }
        CHECK(std::is_sorted(seen.begin(), seen.end(), [&](auto x, auto y) { return desc ? x > y : x < y; }));
        CHECK(std::set<std::uint64_t>(seen.begin(), seen.end()).size() == seen.size()); // no run twice
        for (int i = 1; i < 50; i += 2) CHECK(std::count(seen.begin(), seen.end(), runs[i].value) == 1);
        if (!desc) CHECK(seen.size() > 25); // the runs begun during the walk came too
    }
}

TEST_CASE("readers query while a writer begins and ends runs: every page is consistent", "[run_queries]") {
    note_db db; // concurrency::optimistic
    std::atomic<bool> stop{false};
    std::thread writer([&] {
        std::vector<inmem::run_id> active;
        for (int i = 0; i < 3000; ++i) {
            active.push_back(db.begin_run({.tags = {i % 3 ? "x" : "y"}, .metadata = {{"k", std::to_string(i % 5)}}}));
            if (active.size() > 20) {
                db.end_run(active.front(), i % 2 ? status::completed : status::failed);
                active.erase(active.begin());
            }
        }
        stop = true;
    });
    std::size_t checked = 0;
    while (!stop) {
        auto page = db.runs({.statuses = {status::active}, .tags = {"x"}});
        for (const auto& r : page.runs) {
            CHECK(r.status == status::active);
            CHECK(r.tags == std::vector<std::string>{"x"});
        }
        CHECK(page.runs.size() <= 21);
        auto failed = db.runs({.statuses = {status::failed}, .metadata = {{"k", "2"}}, .descending = true});
        for (const auto& r : failed.runs) CHECK((r.status == status::failed && r.metadata.at("k") == "2"));
        CHECK(std::is_sorted(failed.runs.begin(), failed.runs.end(),
                             [](const auto& x, const auto& y) { return x.id > y.id; }));
        ++checked;
    }
    writer.join();
    CHECK(checked > 0);
    check_queries(db);
}

TEST_CASE("the index answers start-ordered queries over records whose start times went back (files written "
          "before starts were clamped), and paging there too",
          "[run_queries]") {
    // The index fed directly, as recovery feeds it from such a file.
    inmem::detail::run_index index;
    std::map<std::uint64_t, inmem::run_info> records;
    const int starts[] = {50, 10, 30, 30, 5, 70, 20};
    for (std::uint64_t id = 1; id <= 7; ++id) {
        inmem::run_info info{.id = inmem::run_id{id}, .name = id % 2 ? "odd" : "even",
                             .started = time_point{} + std::chrono::seconds(starts[id - 1])};
        records[id] = info;
        index.record(info, nullptr, id);
    }
    CHECK_FALSE(index.starts_sorted());
    auto query = [&](const inmem::run_query& q) {
        return inmem::detail::query_runs(index, q, [&](std::uint64_t id) -> std::optional<inmem::run_info> {
            return records.at(id);
        });
    };
    std::vector<inmem::run_info> all;
    for (const auto& [id, info] : records) all.push_back(info);
    for (bool desc : {false, true})
        for (const std::string prefix : {"", "odd"})
            for (std::size_t limit : {0u, 1u, 2u, 3u}) {
                inmem::run_query q{.name_prefix = prefix,
                                   .started = {.from = time_point{} + 6s},
                                   .order = inmem::run_order::by_start,
                                   .descending = desc,
                                   .limit = limit};
                std::vector<std::uint64_t> got;
                for (;;) {
                    auto page = query(q);
                    for (const auto& r : page.runs) got.push_back(r.id.value);
                    if (!page.next) break;
                    q.after = page.next;
                }
                q.limit = 0;
                q.after.reset();
                CHECK(got == ids(brute(all, q)));
            }
    // By id the order stays the ids'.
    CHECK(ids(query({.started = {.until = time_point{} + 31s}}).runs) == std::vector<std::uint64_t>{2, 3, 4, 5, 7});
}

TEST_CASE("slot bitmaps find the next and previous set slot across words and summary words", "[run_queries]") {
    inmem::detail::slot_bitmap bits;
    const std::size_t n = 300'000;
    bits.grow(n);
    std::set<std::size_t> set;
    std::mt19937 rng(3);
    for (int i = 0; i < 200; ++i) set.insert(rng() % n);
    set.insert(0);
    set.insert(n - 1);
    for (auto s : set) bits.set(s);
    for (int i = 0; i < 50; ++i) { // clear a few
        auto it = set.begin();
        std::advance(it, rng() % set.size());
        bits.clear(*it);
        set.erase(it);
    }
    for (int i = 0; i < 2000; ++i) {
        const std::uint64_t a = rng() % n, b = a + rng() % (n - a + 1);
        auto it = set.lower_bound(a);
        const std::uint64_t next = it != set.end() && *it < b ? *it : inmem::detail::no_slot;
        CHECK(bits.next(a, b) == next);
        auto jt = set.lower_bound(b);
        const std::uint64_t prev =
            jt != set.begin() && *std::prev(jt) >= a ? *std::prev(jt) : inmem::detail::no_slot;
        CHECK(bits.prev(a, b) == prev);
    }
}
