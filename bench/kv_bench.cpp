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
#include "harness.hpp"

#include <inmem/inmem.hpp>

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
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

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <sys/wait.h>
#include <unistd.h>
#define KV_BENCH_FORK 1
#endif

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

// The value type: what an agent keeps in working memory (about 134 bytes encoded).
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    int budget = 0;
};

using bench_schema = inmem::schema<inmem::kv<Plan>>;
using optimistic_db = inmem::basic_database<bench_schema, inmem::concurrency::optimistic>;
using single_thread_db = inmem::basic_database<bench_schema, inmem::concurrency::single_thread>;
static_assert(std::is_same_v<inmem::database<bench_schema>::concurrency_policy, inmem::concurrency::optimistic>,
              "the default database is the optimistic one");

namespace {

bool same_plan(const Plan& a, const Plan& b) { return a.goal == b.goal && a.steps == b.steps && a.budget == b.budget; }

constexpr std::size_t value_pool_size = 1024;
constexpr std::size_t overwrite_shift = 7; // overwrites store values[(i + 7) % pool]: a different value

/// Key number i of the present keys (24 bytes: "agent:plan:0000000000246"), or of the absent
/// ones (same shape, interleaved with the present ones in key order).
std::string make_key(std::uint64_t i, bool present = true);

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
    std::vector<Plan> values; // a pool of distinct values, values[i % pool] goes with key i
    pass put, overwrite, get, miss; // each a different shuffle of 0..n-1

    const Plan& value(std::size_t i) const { return values[i % values.size()]; }
    const Plan& new_value(std::size_t i) const { return values[(i + overwrite_shift) % values.size()]; }
};

std::string make_key(std::uint64_t i, bool present) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "agent:plan:%013llu", static_cast<unsigned long long>(2 * i + (present ? 0 : 1)));
    return buf;
}

workload make_workload(std::size_t n) {
    static constexpr std::array<std::string_view, 8> topics = {"billing", "refunds", "shipping", "login",
                                                               "invoices", "upgrades", "outages", "returns"};
    static constexpr std::array<std::string_view, 8> verbs = {"search docs for", "draft reply on", "check status of",
                                                              "escalate", "summarise", "ask customer about",
                                                              "look up", "verify"};
    workload w;
    w.n = n;
    std::mt19937_64 rng(20261123);
    w.values.reserve(value_pool_size);
    for (std::size_t i = 0; i < value_pool_size; ++i) {
        Plan p;
        char goal[96];
        std::snprintf(goal, sizeof goal, "answer ticket %05zu about %s and %s", i,
                      std::string(topics[rng() % topics.size()]).c_str(),
                      std::string(topics[rng() % topics.size()]).c_str());
        p.goal = goal;
        for (int s = 0; s < 4; ++s)
            p.steps.push_back(std::string(verbs[rng() % verbs.size()]) + " " +
                              std::string(topics[rng() % topics.size()]));
        p.budget = static_cast<int>(rng() % 100);
        w.values.push_back(std::move(p));
    }
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
            if (!v || !same_plan(*v, w.new_value(i))) fail("inmem get returned another value for " + make_key(i));
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
            if (it == map->end() || !same_plan(it->second, w.new_value(i))) fail("baseline find");
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
/// exists it runs in a child process, so that every measurement starts from the same heap
/// (the parent's, with the workload in it) and no contender inherits the free lists another
/// one left behind; the passes before it touch the pages the recorded pass then reuses.
sample measure(mode m, const workload& w, int warmup) {
#ifdef KV_BENCH_FORK
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("kv_bench: pipe failed");
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("kv_bench: fork failed");
    if (pid == 0) {
        close(fds[0]);
        int status = 0;
        try {
            for (int i = 0; i < warmup; ++i) run_mode(m, w);
            const sample s = run_mode(m, w);
            const char* p = reinterpret_cast<const char*>(&s);
            for (std::size_t done = 0; done < sizeof s;) {
                const ssize_t k = write(fds[1], p + done, sizeof s - done);
                if (k <= 0) {
                    status = 1;
                    break;
                }
                done += static_cast<std::size_t>(k);
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "%s\n", e.what());
            status = 1;
        }
        close(fds[1]);
        _exit(status);
    }
    close(fds[1]);
    sample s{};
    std::size_t done = 0;
    while (done < sizeof s) {
        const ssize_t k = read(fds[0], reinterpret_cast<char*>(&s) + done, sizeof s - done);
        if (k <= 0) break;
        done += static_cast<std::size_t>(k);
    }
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (done != sizeof s || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(std::string("kv_bench: the measurement of ") + mode_names[m] + " failed");
    return s;
#else
    for (int i = 0; i < warmup; ++i) run_mode(m, w);
    return run_mode(m, w);
#endif
}

struct options {
    std::size_t n = 200000;
    int reps = 5;
    int warmup = 1;
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
    auto number = [&](int& i, const char* name) -> long long {
        if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + " needs a value");
        char* end = nullptr;
        long long v = std::strtoll(argv[++i], &end, 10);
        if (*end != '\0' || v < 1) throw std::invalid_argument(std::string(name) + " needs a positive integer");
        return v;
    };
    for (int i = 1; i < argc; ++i) { // --quick sets defaults that --n, --reps and --warmup override
        if (std::string_view(argv[i]) == "--quick") {
            o.n = 2000;
            o.reps = 1;
        }
    }
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--quick") {
            // handled above
        } else if (a == "--n") {
            o.n = static_cast<std::size_t>(number(i, "--n"));
        } else if (a == "--reps") {
            o.reps = static_cast<int>(number(i, "--reps"));
        } else if (a == "--warmup") {
            if (i + 1 >= argc) throw std::invalid_argument("--warmup needs a value");
            o.warmup = std::atoi(argv[++i]);
            if (o.warmup < 0) throw std::invalid_argument("--warmup needs a count, 0 or more");
        } else if (a == "--cpu-time") {
            o.cpu_time = true;
        } else if (a == "--json") {
            if (i + 1 >= argc) throw std::invalid_argument("--json needs a file name");
            o.json = argv[++i];
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            std::exit(0);
        } else {
            throw std::invalid_argument("unknown argument '" + std::string(a) + "'");
        }
    }
    if (o.n > 2'000'000'000) throw std::invalid_argument("--n is too large");
    return o;
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return buf;
}

} // namespace

/// Keeps freed memory in the process, so that the recorded pass reuses the pages its warm-up
/// pass touched: a first touch costs a page fault (microseconds in a VM), which would
/// otherwise weigh most on whichever contender allocates large blocks (the flat map's
/// table). Returns a note for the header.
const char* keep_freed_memory() {
#if defined(__GLIBC__)
    const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
    return ok ? "glibc malloc, freed memory kept for reuse (no mmap, no trim)" : "glibc malloc (mallopt failed)";
#else
    return "system malloc";
#endif
}

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    const char* allocator_note = keep_freed_memory();
    const bench::machine m = bench::machine_info();
    const workload w = make_workload(opt.n);

    double value_bytes = 0;
    for (const Plan& p : w.values) value_bytes += static_cast<double>(inmem::encode(p).size());
    value_bytes /= static_cast<double>(w.values.size());

    std::printf("inmem kv_bench  %s\n", utc_now().c_str());
    std::printf("cpu:        %s, %u cores\n", m.cpu.c_str(), m.cores);
    std::printf("compiler:   %s\n", m.compiler.c_str());
    std::printf("build:      %s%s\n", m.build_type.c_str(), m.asserts ? " (assertions on)" : " (NDEBUG)");
    std::printf("allocator:  %s\n", allocator_note);
#ifdef KV_BENCH_FORK
    const char* isolation = " (each in a child process)";
#else
    const char* isolation = "";
#endif
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
        out << "{\n  \"benchmark\": \"kv_bench\",\n  \"date\": " << bench::json_string(utc_now())
            << ",\n  \"cpu\": " << bench::json_string(m.cpu) << ",\n  \"cores\": " << m.cores
            << ",\n  \"compiler\": " << bench::json_string(m.compiler)
            << ",\n  \"build_type\": " << bench::json_string(m.build_type)
            << ",\n  \"ndebug\": " << (m.asserts ? "false" : "true") << ",\n  \"n\": " << w.n
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
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
