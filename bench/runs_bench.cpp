// runs_bench: run queries (db.runs(query), inmem/run_index.hpp) at a million runs, against
// the baseline a program has without them: db.runs() (every record) filtered in C++. Prints
// one line per query: how many runs match, then nanoseconds per returned run for the first
// page (limit 100) and for a walk of every page (limit 100, resumed with page.next), by
// the index and by the scan. docs/performance.md has results.
//
//   runs_bench [--runs N] [--reps R] [--quick] [--wall]
//
// Times are the thread's CPU time (on a shared machine wall time mostly says how long the
// process waited; --wall tabulates wall time instead).
//
// The population (built once, untimed apart from the line that says what it cost): runs of
// 20 agent kinds (names, "research-web", "triage-eu", ...), with tags (prod or staging, a
// region, 5% canary), a lineage (30% are children of a recent run, 2% of a supervisor
// run), metadata (a user of 10,000, a model of 4; a quarter get a "step" while active),
// and ended as they go (85% completed, 10% failed, 5% cancelled; the last 2% stay
// active), one second apart on a manual clock. Each index query runs R times (median); the
// scan, whose cost does not depend on the limit, runs once per query (it reads every record).
// Results are checked: the index's pages and the scan's must list the same runs.
#include "common.hpp"

#include <inmem/inmem.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {
struct Note {
    std::string text;
};
using db_type = inmem::basic_database<inmem::schema<inmem::kv<Note>>, inmem::clocks::manual, inmem::durability::none>;
using status = inmem::run_status;
using time_point = std::chrono::system_clock::time_point;

struct options {
    std::size_t runs = 1'000'000;
    std::size_t reps = 15;
    bool quick = false;
    bool wall = false;
};

const char* const kinds[] = {"research-web", "research-code", "triage", "triage-eu", "plan", "planner-long",
                             "act", "act-tools", "review", "summarize", "extract", "classify",
                             "route", "answer", "translate", "search", "rank", "verify", "report", "chat"};

struct population {
    inmem::run_id supervisor{};
    time_point first{}, last{};
};

population populate(db_type& db, std::size_t n) {
    std::mt19937_64 rng(20261123);
    population p;
    db.clock().set(time_point{} + std::chrono::hours(24 * 365 * 56));
    p.first = db.clock().now();
    p.supervisor = db.begin_run({.name = "supervisor", .tags = {"prod"}});
    std::vector<inmem::run_id> window; // active runs, oldest first
    std::vector<inmem::run_id> recent;
    const char* const regions[] = {"eu", "us", "ap"};
    const char* const models[] = {"large", "medium", "small", "tiny"};
    for (std::size_t i = 1; i < n; ++i) {
        db.clock().advance(std::chrono::seconds(1));
        inmem::run_options o;
        o.name = kinds[std::min<std::size_t>(rng() % 20, rng() % 20)]; // skewed towards the first kinds
        o.tags = {rng() % 10 < 7 ? "prod" : "staging", regions[rng() % 3]};
        if (rng() % 20 == 0) o.tags.push_back("canary");
        const auto dice = rng() % 100;
        if (dice < 2) o.parent = p.supervisor;
        else if (dice < 32 && !recent.empty()) o.parent = recent[rng() % recent.size()];
        o.metadata = {{"user", "u" + std::to_string(rng() % 10'000)}, {"model", models[rng() % 4]}};
        const auto run = db.begin_run(std::move(o));
        if (rng() % 4 == 0) db.set_metadata(run, "step", std::to_string(rng() % 5));
        window.push_back(run);
        if (recent.size() < 1000) recent.push_back(run);
        else recent[rng() % 1000] = run;
        // Keep about 2% of the runs active: end one of the older active runs.
        while (window.size() > std::max<std::size_t>(2, n / 50)) {
            const std::size_t k = rng() % (window.size() / 2 + 1);
            const auto end = rng() % 100;
            db.end_run(window[k], end < 85 ? status::completed : end < 95 ? status::failed : status::cancelled);
            window[k] = window.back();
            window.pop_back();
        }
    }
    p.last = db.clock().now();
    return p;
}

struct named_query {
    std::string name;
    inmem::run_query query;
    std::function<bool(const inmem::run_info&)> keep; // the same filter, in C++
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    try {
        bench::arguments args(argc, argv);
        if (args.has("--quick")) opt.runs = 20'000, opt.reps = 3, opt.quick = true;
        while (args.next()) {
            if (args.is("--quick")) {
            } else if (args.is("--runs")) opt.runs = args.count();
            else if (args.is("--reps")) opt.reps = args.count();
            else if (args.is("--wall")) opt.wall = true;
            else args.unknown();
        }
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "runs_bench: %s\nusage: runs_bench [--runs N] [--reps R] [--quick] [--wall]\n", e.what());
        return 2;
    }
    const bench::environment env("runs_bench", opt.quick);
    env.print_header();

    db_type db;
    population p;
    const auto built = bench::time_ns([&] { p = populate(db, opt.runs); });
    std::printf("runs:       %zu, built in %.2f s wall, %.2f s CPU (begin_run, end_run, set_metadata: %.0f ns "
                "CPU per run)\ntimes:      %s\n\n",
                opt.runs, built.wall_ns / 1e9, built.cpu_ns / 1e9, built.cpu_ns / static_cast<double>(opt.runs),
                opt.wall ? "wall clock" : "thread CPU time");

    const auto span = p.last - p.first;
    const time_point from = p.first + span / 2, until = from + span / 10;
    auto has = [](const inmem::run_info& r, const char* t) {
        return std::find(r.tags.begin(), r.tags.end(), t) != r.tags.end();
    };
    const std::vector<named_query> queries = {
        {"status failed + tag eu + started in 10% of the time",
         {.statuses = {status::failed}, .tags = {"eu"}, .started = {.from = from, .until = until}},
         [&](const inmem::run_info& r) {
             return r.status == status::failed && has(r, "eu") && r.started >= from && r.started < until;
         }},
        {"children of the supervisor run",
         {.parent = p.supervisor},
         [&](const inmem::run_info& r) { return r.parent == p.supervisor; }},
        {"metadata user = u42",
         {.metadata = {{"user", "u42"}}},
         [](const inmem::run_info& r) { return r.metadata.count("user") && r.metadata.at("user") == "u42"; }},
        {"name prefix 'research-', newest first",
         {.name_prefix = "research-", .descending = true},
         [](const inmem::run_info& r) { return r.name.starts_with("research-"); }},
        {"status active + tag canary",
         {.statuses = {status::active}, .tags = {"canary"}},
         [&](const inmem::run_info& r) { return r.status == status::active && has(r, "canary"); }},
        {"descendants of the supervisor + metadata model = tiny",
         {.descendant_of = p.supervisor, .metadata = {{"model", "tiny"}}},
         [&](const inmem::run_info& r) {
             for (auto q = r.parent; q; q = db.run(*q).parent)
                 if (*q == p.supervisor) return r.metadata.at("model") == "tiny";
             return false;
         }},
    };

    std::printf("%-54s %8s | %12s %12s | %12s %12s | %8s\n", "query (ns per returned run)", "matches",
                "index p1", "index walk", "scan p1", "scan walk", "walk x");
    bool ok = true;
    for (const named_query& nq : queries) {
        // The baseline: every record, filtered in C++ (its order is id order; reversed when asked).
        std::vector<inmem::run_info> scanned;
        const auto scan_t = bench::time_ns([&] {
            auto all = db.runs();
            for (auto& r : all)
                if (nq.keep(r)) scanned.push_back(std::move(r));
            if (nq.query.descending) std::reverse(scanned.begin(), scanned.end());
            bench::do_not_optimize(scanned);
        });
        auto ns = [&](const bench::timing& t) { return opt.wall ? t.wall_ns : t.cpu_ns; };
        const struct {
            double wall_ns;
        } scan{ns(scan_t)};
        std::vector<double> first, walk;
        std::vector<inmem::run_info> walked;
        std::size_t first_size = 0;
        for (std::size_t rep = 0; rep < opt.reps; ++rep) {
            inmem::run_query q = nq.query;
            q.limit = 100;
            first.push_back(ns(bench::time_ns([&] {
                auto page = db.runs(q);
                first_size = page.runs.size();
                bench::do_not_optimize(page);
            })));
            if (rep < std::max<std::size_t>(1, opt.reps / 5)) {
                walked.clear();
                walk.push_back(ns(bench::time_ns([&] {
                    for (;;) {
                        auto page = db.runs(q);
                        walked.insert(walked.end(), std::make_move_iterator(page.runs.begin()),
                                      std::make_move_iterator(page.runs.end()));
                        if (!page.next) break;
                        q.after = page.next;
                    }
                    bench::do_not_optimize(walked);
                })));
                q.after.reset();
            }
        }
        if (walked != scanned) {
            std::fprintf(stderr, "runs_bench: %s: the index gave %zu runs, the scan %zu\n", nq.name.c_str(),
                         walked.size(), scanned.size());
            ok = false;
        }
        const double m = std::max<double>(1, static_cast<double>(scanned.size()));
        const double p1 = std::max<double>(1, static_cast<double>(first_size));
        std::printf("%-54s %8zu | %12.0f %12.0f | %12.0f %12.0f | %7.0fx\n", nq.name.c_str(), scanned.size(),
                    median(first) / p1, median(walk) / m, scan.wall_ns / p1, scan.wall_ns / m,
                    scan.wall_ns / median(walk));
    }
    std::printf("\n(p1: the first page, limit 100; walk: every page of 100; scan: db.runs() filtered in C++,\n"
                " whose p1 costs what its walk does; walk x: scan time over index walk time)\n");
    return ok ? 0 : 1;
}
