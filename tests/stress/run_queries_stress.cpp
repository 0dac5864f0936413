// Stress test of run queries (inmem/run_index.hpp): writer threads begin runs, end them, set
// metadata and resume nothing, while readers query with every kind of filter; every page a
// reader gets must be what its snapshot holds: each run matches the query, the order is
// the query's, no run twice, and (for a status a run leaves only once) nothing the reader
// saw earlier is missing later. At the end the queries equal a brute-force filter.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {
struct Note {
    std::string text;
};
using db_type = inmem::database<inmem::schema<inmem::kv<Note>>>; // optimistic, in memory
using status = inmem::run_status;

bool matches(const inmem::run_info& r, const inmem::run_query& q) {
    if (!q.statuses.empty() && std::find(q.statuses.begin(), q.statuses.end(), r.status) == q.statuses.end())
        return false;
    for (const auto& t : q.tags)
        if (std::find(r.tags.begin(), r.tags.end(), t) == r.tags.end()) return false;
    if (!r.name.starts_with(q.name_prefix)) return false;
    if (q.parent && r.parent != q.parent) return false;
    for (const auto& [k, v] : q.metadata)
        if (!r.metadata.count(k) || r.metadata.at(k) != v) return false;
    return true;
}
} // namespace

TEST_CASE("run queries stay consistent while threads begin, end and annotate runs", "[stress]") {
    db_type db;
    const auto root = db.begin_run({.name = "root"});
    constexpr int writers = 3, per_writer = 2000;
    std::atomic<int> done{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            std::mt19937 rng(static_cast<unsigned>(w));
            std::vector<inmem::run_id> mine;
            for (int i = 0; i < per_writer; ++i) {
                inmem::run_options o{.name = w % 2 ? "triage" : "plan",
                                     .tags = {i % 2 ? "odd" : "even"},
                                     .parent = mine.empty() || rng() % 3 == 0 ? root : mine[rng() % mine.size()]};
                o.metadata["w"] = std::to_string(w);
                mine.push_back(db.begin_run(std::move(o)));
                if (rng() % 4 == 0) db.set_metadata(mine.back(), "step", std::to_string(i % 3));
                if (mine.size() > 10 && rng() % 2) {
                    const auto r = mine[mine.size() - 1 - rng() % 10];
                    if (db.run(r).status == status::active) db.end_run(r, rng() % 2 ? status::completed : status::failed);
                }
            }
            ++done;
        });
    std::atomic<std::size_t> pages{0};
    // Catch2's assertions are not thread-safe: readers count what is wrong, the test checks it.
    std::atomic<int> mismatched{0}, unordered{0}, repeated{0}, lost{0};
    for (int r = 0; r < 2; ++r)
        threads.emplace_back([&, r] {
            std::vector<inmem::run_query> qs = {
                {.statuses = {status::active}, .tags = {"odd"}},
                {.statuses = {status::failed, status::completed}, .name_prefix = "tri", .descending = true, .limit = 50},
                {.parent = root, .limit = 100},
                {.descendant_of = root, .metadata = {{"w", "1"}}, .limit = 30},
                {.metadata = {{"step", "2"}}, .order = inmem::run_order::by_start, .descending = true},
            };
            std::set<std::uint64_t> ended_seen; // completed or failed once: stays so
            // Until the writers are done, and a few pages at least (a loaded machine may run the
            // writers to their end before a reader is scheduled).
            for (int n = 0; done.load() < writers || n < 8; ++n) {
                for (auto q : qs) {
                    std::vector<std::uint64_t> walked;
                    for (int page_no = 0; page_no < 5; ++page_no) {
                        const auto page = db.runs(q);
                        for (const auto& info : page.runs) {
                            if (!matches(info, q)) ++mismatched;
                            walked.push_back(info.id.value);
                            if (q.statuses.size() == 2) ended_seen.insert(info.id.value);
                        }
                        ++pages;
                        if (!page.next) break;
                        q.after = page.next;
                    }
                    const bool desc = q.descending;
                    if (!std::is_sorted(walked.begin(), walked.end(),
                                        [desc](auto a, auto b) { return desc ? a > b : a < b; }))
                        ++unordered;
                    if (std::set<std::uint64_t>(walked.begin(), walked.end()).size() != walked.size()) ++repeated;
                }
                // Every run seen ended is still found ended (its status never changes again).
                const auto now = db.runs({.statuses = {status::failed, status::completed}});
                std::set<std::uint64_t> ids;
                for (const auto& info : now.runs) ids.insert(info.id.value);
                for (auto id : ended_seen)
                    if (ids.count(id) != 1) ++lost;
                (void)r;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(pages.load() > 0);
    CHECK(mismatched.load() == 0);
    CHECK(unordered.load() == 0);
    CHECK(repeated.load() == 0);
    CHECK(lost.load() == 0);
    // Quiescent: the indexes agree with a scan.
    const auto all = db.runs();
    for (const inmem::run_query& q : std::vector<inmem::run_query>{
             {.statuses = {status::active}}, {.tags = {"odd"}, .name_prefix = "plan"}, {.parent = root},
             {.metadata = {{"step", "1"}}}, {.statuses = {status::failed}, .metadata = {{"w", "2"}}}}) {
        std::vector<std::uint64_t> expected, got;
        for (const auto& info : all)
            if (matches(info, q)) expected.push_back(info.id.value);
        for (const auto& info : db.runs(q).runs) got.push_back(info.id.value);
        CHECK(got == expected);
    }
    CHECK(db.runs({.descendant_of = root}).runs.size() == all.size() - 1);
}
