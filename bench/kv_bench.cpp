// kv_bench: inmem's typed KV and begin_run against a boost::unordered_flat_map doing the
// same work, in both concurrency modes. Prints ns/op, the ratio inmem / baseline (the
// figure that matters) and heap allocations per operation. docs/performance.md has results.
//
//   kv_bench [--n N] [--reps R] [--warmup W] [--quick] [--cpu-time] [--json FILE]
//
// Method: every row times a fixed number of operations (n, default 200000) as one loop on
// std::chrono::steady_clock and divides by n. A measurement runs every row for one
// contender (the baseline, or inmem in one mode) in a child process of its own, after one
// unrecorded warm-up pass there; a repetition measures the three, in an order that rotates
// between repetitions; the table shows the median over the repetitions. Keys, values and
// the visiting order (shuffled, another permutation per row) are prepared before any
// timing. Results reach bench::do_not_optimize so the work cannot be dropped, and each
// pass checks (untimed) that what is read back is what was written. The thread's CPU time
// is recorded beside the wall time: their gap says how busy the machine was.
#include "common.hpp"

#include <inmem/inmem.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <new>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

// Every heap allocation is counted (allocs/op): the replaced operator new is malloc plus a
// counter increment, as cheap as the library's own. The benchmark is single-threaded. Not
// inlined, like the library's (and so gcc does not pair new with free in its warnings).
BENCH_NOINLINE void* operator new(std::size_t size) {
    ++bench::allocation_count;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
BENCH_NOINLINE void operator delete(void* p) noexcept { std::free(p); }
BENCH_NOINLINE void operator delete(void* p, std::size_t) noexcept { std::free(p); }

// The value type: what an agent keeps in working memory (bench::Plan, about 150 bytes encoded).
using bench::Plan;

using bench_schema = inmem::schema<inmem::kv<Plan>>;
using optimistic_db = inmem::basic_database<bench_schema, inmem::concurrency::optimistic>;
using single_thread_db = inmem::basic_database<bench_schema, inmem::concurrency::single_thread>;
static_assert(std::is_same_v<inmem::database<bench_schema>::concurrency_policy, inmem::concurrency::optimistic>,
              "the default database is the optimistic one");

namespace {

constexpr std::size_t overwrite_shift = 7; // overwrites store values[(i + 7) % pool]: a different value

/// Key number i of the present keys (bench::plan_key(2i), 24 bytes: "agent:plan:0000000000246"),
/// or of the absent ones (plan_key(2i + 1): interleaved with the present ones in key order).
std::string make_key(std::uint64_t i, bool present = true) { return bench::plan_key(2 * i + (present ? 0 : 1)); }

/// One timed loop's inputs: key i = index[j] is visited j-th, and keys[j] is its text. The
/// strings are made in visiting order, so reading them is sequential and costs every
/// contender the same (little): the timed loop measures the container, not the workload.
struct pass {
    std::vector<std::uint32_t> index;
    std::vector<std::string> keys;
};

/// Everything the timed loops use, made before any timing.
struct workload {
    std::size_t n = 0;
    std::vector<Plan> values; // bench::make_plans(): values[i % pool] goes with key i
    pass put, overwrite, get, miss; // each a different shuffle of 0..n-1

    const Plan& value(std::size_t i) const { return values[i % values.size()]; }
    const Plan& new_value(std::size_t i) const { return values[(i + overwrite_shift) % values.size()]; }
};

workload make_workload(std::size_t n) {
    workload w;
    w.n = n;
    w.values = bench::make_plans();
    std::mt19937_64 rng(bench::plan_seed);
    auto make_pass = [&](bool present) {
        pass p;
        p.index.resize(n);
        std::iota(p.index.begin(), p.index.end(), 0u);
        std::shuffle(p.index.begin(), p.index.end(), rng);
        p.keys.reserve(n);
        for (std::uint32_t i : p.index) p.keys.push_back(make_key(i, present));
        return p;
    };
    w.put = make_pass(true);
    w.overwrite = make_pass(true);
    w.get = make_pass(true);
    w.miss = make_pass(false);
    return w;
}

enum row : std::size_t { put_new, put_overwrite, get_hit, get_miss, begin_run, row_count };
constexpr std::array<const char*, row_count> row_names = {"put (new key)", "put (overwrite)", "get (hit)",
                                                          "get (miss)", "begin_run"};

/// ns/op of every row in one repetition (wall and thread CPU time).
using sample = std::array<bench::timing, row_count>;

bench::timing per_op(bench::timing t, std::size_t n) {
    const auto d = static_cast<double>(n);
    return {t.wall_ns / d, t.cpu_ns / d, t.allocations / d};
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("kv_bench: check failed: " + what); }

// ----- inmem -----

template <class Db>
sample run_inmem(const workload& w) {
    sample s{};
    {
        auto db = std::make_unique<Db>();
        const inmem::run_id run = db->begin_run({.name = "bench"});
        auto plans = db->template kv<Plan>();

        s[put_new] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j)
                bench::do_not_optimize(plans.put(run, w.put.keys[j], w.value(w.put.index[j])));
        }), w.n);

        s[put_overwrite] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j)
                bench::do_not_optimize(plans.put(run, w.overwrite.keys[j], w.new_value(w.overwrite.index[j])));
        }), w.n);

        std::uint64_t acc = 0;
        s[get_hit] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j) {
                std::optional<Plan> v = plans.get(run, w.get.keys[j]);
                bench::do_not_optimize(v);
                acc += static_cast<std::uint64_t>(v->budget);
            }
        }), w.n);

        s[get_miss] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j) {
                std::optional<Plan> v = plans.get(run, w.miss.keys[j]);
                bench::do_not_optimize(v);
                acc += v.has_value();
            }
        }), w.n);
        bench::do_not_optimize(acc);

        // Untimed: what we read is what we wrote, and misses miss.
        for (std::size_t i = 0; i < std::min<std::size_t>(w.n, 1000); ++i) {
            auto v = plans.get(run, make_key(i));
            if (!v || *v != w.new_value(i)) fail("inmem get returned another value for " + make_key(i));
            if (plans.get(run, make_key(i, false))) fail("inmem get found the absent key " + make_key(i, false));
        }
        if (db->last_version() != 1 + 2 * w.n) fail("inmem version count");
    } // the database is destroyed here, untimed

    {
        auto db = std::make_unique<Db>();
        inmem::run_id last{};
        s[begin_run] = per_op(bench::time_ns([&] {
            for (std::size_t i = 0; i < w.n; ++i) {
                last = db->begin_run({.name = "agent run"});
                bench::do_not_optimize(last);
            }
        }), w.n);
        if (last.value != w.n || db->run(last).name != "agent run") fail("inmem begin_run");
    }
    return s;
}

// ----- baseline: a boost::unordered_flat_map doing the same work -----

/// What a hand-written run registry would keep: the fields of inmem::run_info.
struct run_record {
    std::uint64_t id = 0;
    std::string name;
    std::vector<std::string> tags;
    std::optional<std::uint64_t> parent;
    std::uint8_t status = 0;
    std::chrono::system_clock::time_point started;
};

sample run_baseline(const workload& w) {
    sample s{};
    {
        auto map = std::make_unique<boost::unordered_flat_map<std::string, Plan>>();

        s[put_new] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j) {
                auto [it, inserted] = map->insert_or_assign(w.put.keys[j], w.value(w.put.index[j]));
                bench::do_not_optimize(it->second);
            }
        }), w.n);

        s[put_overwrite] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j) {
                auto [it, inserted] = map->insert_or_assign(w.overwrite.keys[j], w.new_value(w.overwrite.index[j]));
                bench::do_not_optimize(it->second);
            }
        }), w.n);

        std::uint64_t acc = 0;
        s[get_hit] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j) {
                std::optional<Plan> v;
                if (auto it = map->find(w.get.keys[j]); it != map->end()) v = it->second;
                bench::do_not_optimize(v);
                acc += static_cast<std::uint64_t>(v->budget);
            }
        }), w.n);

        s[get_miss] = per_op(bench::time_ns([&] {
            for (std::size_t j = 0; j < w.n; ++j) {
                std::optional<Plan> v;
                if (auto it = map->find(w.miss.keys[j]); it != map->end()) v = it->second;
                bench::do_not_optimize(v);
                acc += v.has_value();
            }
        }), w.n);
        bench::do_not_optimize(acc);

        for (std::size_t i = 0; i < std::min<std::size_t>(w.n, 1000); ++i) {
            auto it = map->find(make_key(i));
            if (it == map->end() || it->second != w.new_value(i)) fail("baseline find");
            if (map->contains(make_key(i, false))) fail("baseline miss");
        }
    }
    {
        auto runs = std::make_unique<boost::unordered_flat_map<std::uint64_t, run_record>>();
        std::uint64_t next = 1;
        s[begin_run] = per_op(bench::time_ns([&] {
            for (std::size_t i = 0; i < w.n; ++i) {
                inmem::run_options options{.name = "agent run"};
                const std::uint64_t id = next++;
                runs->emplace(id, run_record{.id = id,
                                             .name = std::move(options.name),
                                             .tags = std::move(options.tags),
                                             .parent = options.parent ? std::optional(options.parent->value)
                                                                      : std::nullopt,
                                             .status = 0,
                                             .started = std::chrono::system_clock::now()});
                bench::do_not_optimize(id);
            }
        }), w.n);
        if (runs->size() != w.n) fail("baseline begin_run");
    }
    return s;
}

// ----- driver -----

enum mode : std::size_t { baseline, optimistic, single_thread, mode_count };
constexpr std::array<const char*, mode_count> mode_names = {"baseline", "optimistic", "single_thread"};

sample run_mode(mode m, const workload& w) {
    switch (m) {
    case baseline: return run_baseline(w);
    case optimistic: return run_inmem<optimistic_db>(w);
    case single_thread: return run_inmem<single_thread_db>(w);
    default: break;
    }
    return {};
}

/// One measurement of mode m: `warmup` unrecorded passes, then the recorded one. Where fork()
/// exists it runs in a child process (bench::in_child), so that every measurement starts from
/// the same heap (the parent's, with the workload in it) and no contender inherits the free
/// lists another one left behind; the passes before it touch the pages the recorded pass then
/// reuses.
sample measure(mode m, const workload& w, int warmup) {
    return bench::timings_from_doubles<row_count>(bench::in_child([&] {
        for (int i = 0; i < warmup; ++i) run_mode(m, w);
        return bench::timings_to_doubles(run_mode(m, w));
    }));
}

struct options {
    std::size_t n = 200000;
    int reps = 5;
    int warmup = 1;
    bool quick = false;
    bool cpu_time = false;
    std::string json;
};

void usage(std::FILE* to) {
    std::fputs("usage: kv_bench [--n N] [--reps R] [--warmup W] [--quick] [--cpu-time] [--json FILE]\n"
               "  --n N        operations per row (default 200000)\n"
               "  --reps R     repetitions; the median is reported (default 5)\n"
               "  --warmup W   unrecorded passes before each measurement (default 1)\n"
               "  --quick      a smoke test: n 2000, 1 repetition\n"
               "  --cpu-time   tabulate thread CPU time instead of wall time (for a busy machine)\n"
               "  --json FILE  also write the results as JSON to FILE (both clocks)\n",
               to);
}

options parse(int argc, char** argv) {
    options o;
    bench::arguments args(argc, argv);
    if (args.has("--quick")) { // defaults that --n, --reps and --warmup override
        o.quick = true;
        o.n = 2000;
        o.reps = 1;
    }
    while (args.next()) {
        if (args.is("--quick")) {
            // handled above
        } else if (args.is("--n")) {
            o.n = args.count();
        } else if (args.is("--reps")) {
            o.reps = static_cast<int>(args.count());
        } else if (args.is("--warmup")) {
            o.warmup = static_cast<int>(args.count_or_zero());
        } else if (args.is("--cpu-time")) {
            o.cpu_time = true;
        } else if (args.is("--json")) {
            o.json = args.value("a file name");
        } else if (args.is("--help") || args.is("-h")) {
            usage(stdout);
            std::exit(0);
        } else {
            args.unknown();
        }
    }
    if (o.n > 2'000'000'000) throw std::invalid_argument("--n is too large");
    return o;
}

} // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    // Freed memory kept for reuse, so that the recorded pass reuses the pages its warm-up pass
    // touched: a first touch would weigh most on the flat map's large table.
    const bench::environment env("kv_bench", opt.quick, bench::keep_freed_memory());
    const workload w = make_workload(opt.n);

    double value_bytes = 0;
    for (const Plan& p : w.values) value_bytes += static_cast<double>(inmem::encode(p).size());
    value_bytes /= static_cast<double>(w.values.size());

    env.print_header();
    const char* isolation = bench::runs_in_child ? " (each in a child process)" : "";
    std::printf("workload:   n %zu ops per row, median of %d repetition%s, each after %d warm-up pass%s%s; "
                "key %zu bytes; value Plan, %.0f bytes encoded\n\n",
                w.n, opt.reps, opt.reps == 1 ? "" : "s", opt.warmup, opt.warmup == 1 ? "" : "es", isolation,
                make_key(0).size(), value_bytes);
    std::fflush(stdout);

    // wall[mode][row] and cpu[mode][row] hold one ns/op per recorded repetition.
    using table = std::array<std::array<std::vector<double>, row_count>, mode_count>;
    table wall, cpu;
    std::array<std::array<double, row_count>, mode_count> allocs{}; // per op, the same every repetition
    for (int rep = 0; rep < opt.reps; ++rep) {
        for (std::size_t k = 0; k < mode_count; ++k) {
            const auto md = static_cast<mode>((static_cast<std::size_t>(rep) + k) % mode_count);
            const sample s = measure(md, w, opt.warmup);
            for (std::size_t r = 0; r < row_count; ++r) {
                wall[md][r].push_back(s[r].wall_ns);
                cpu[md][r].push_back(s[r].cpu_ns);
                allocs[md][r] = s[r].allocations;
            }
        }
    }

    auto medians = [](const table& t) {
        std::array<std::array<double, row_count>, mode_count> med{};
        for (std::size_t md = 0; md < mode_count; ++md)
            for (std::size_t r = 0; r < row_count; ++r) med[md][r] = bench::median(t[md][r]);
        return med;
    };
    const auto wall_med = medians(wall);
    const auto cpu_med = medians(cpu);
    const auto& med = opt.cpu_time ? cpu_med : wall_med;

    std::printf("%-16s %10s %10s %7s %14s %7s %14s\n", "operation", "baseline", "optimistic", "ratio", "single_thread",
                "ratio", "allocs/op");
    std::printf("%-16s %10s %10s %7s %14s %7s %14s\n", "", "ns/op", "ns/op", "", "ns/op", "", "base / inmem");
    for (std::size_t r = 0; r < row_count; ++r) {
        const double b = med[baseline][r];
        std::printf("%-16s %10.1f %10.1f %6.2fx %14.1f %6.2fx %6.1f / %5.1f\n", row_names[r], b, med[optimistic][r],
                    med[optimistic][r] / b, med[single_thread][r], med[single_thread][r] / b, allocs[baseline][r],
                    allocs[optimistic][r]);
    }
    double wall_sum = 0, cpu_sum = 0;
    for (std::size_t md = 0; md < mode_count; ++md)
        for (std::size_t r = 0; r < row_count; ++r)
            for (std::size_t i = 0; i < wall[md][r].size(); ++i) {
                wall_sum += wall[md][r][i];
                cpu_sum += cpu[md][r][i];
            }
    const double descheduled = wall_sum > 0 && cpu_sum > 0 ? std::max(0.0, 1 - cpu_sum / wall_sum) : 0;
    std::printf("\nns/op: median of %d, %s; ratio = inmem / baseline.\n"
                "baseline: boost::unordered_flat_map<std::string, Plan> (begin_run: "
                "unordered_flat_map<uint64_t, run_record>).\n"
                "descheduled: %.0f%% of the timed wall time went to other processes%s\n",
                opt.reps, opt.cpu_time ? "thread CPU time" : "wall time (steady_clock)", 100 * descheduled,
                descheduled > 0.05 ? " (a busy machine: trust the ratios, or rerun; --cpu-time helps)" : "");

    if (!opt.json.empty()) {
        std::ofstream out(opt.json);
        if (!out) throw std::runtime_error("cannot write " + opt.json);
        auto list = [](const std::vector<double>& xs) {
            std::string s = "[";
            for (std::size_t i = 0; i < xs.size(); ++i) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%s%.2f", i ? ", " : "", xs[i]);
                s += buf;
            }
            return s + "]";
        };
        out << "{\n" << env.json_members() << ",\n  \"n\": " << w.n
            << ",\n  \"repetitions\": " << opt.reps << ",\n  \"key_bytes\": " << make_key(0).size()
            << ",\n  \"value_bytes\": " << value_bytes << ",\n  \"descheduled\": " << descheduled
            << ",\n  \"unit\": \"ns/op; median is wall time (steady_clock), cpu_median thread CPU time\""
            << ",\n  \"rows\": [\n";
        for (std::size_t r = 0; r < row_count; ++r) {
            out << "    {\"op\": " << bench::json_string(row_names[r]);
            for (std::size_t md = 0; md < mode_count; ++md) {
                out << ", " << bench::json_string(mode_names[md]) << ": {\"median\": " << wall_med[md][r];
                if (md != baseline) out << ", \"ratio\": " << wall_med[md][r] / wall_med[baseline][r];
                out << ", \"cpu_median\": " << cpu_med[md][r];
                if (md != baseline) out << ", \"cpu_ratio\": " << cpu_med[md][r] / cpu_med[baseline][r];
                out << ", \"allocs_per_op\": " << allocs[md][r];
                out << ", \"samples\": " << list(wall[md][r]) << ", \"cpu_samples\": " << list(cpu[md][r])
                    << "}";
            }
            out << "}" << (r + 1 < row_count ? "," : "") << "\n";
        }
        out << "  ]\n}\n";
        if (!out) throw std::runtime_error("cannot write " + opt.json);
        std::printf("results written to %s\n", opt.json.c_str());
    }
    return 0;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "kv_bench: %s\n", e.what());
    usage(stderr);
    return 2;
} catch (const bench::child_failed& e) {
    std::fprintf(stderr, "kv_bench: a measurement failed: %s\n", e.what());
    return 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
