// kv_bench: inmem's typed KV and begin_run against a boost::unordered_flat_map doing the
// same work, in both concurrency modes. Prints ns/op and the ratio inmem / baseline.
//
//   kv_bench [--n N] [--reps R] [--quick] [--json FILE]
//
// Method: every row times a fixed number of operations (n, default 200000) as one loop on
// std::chrono::steady_clock and divides by n; each repetition runs every row for the
// baseline and both modes (in a rotating order), and the table shows the median over the
// repetitions (one unrecorded warm-up repetition runs first). Keys, values and the order
// in which they are visited (shuffled, a different permutation per row) are prepared
// before any timing. Results reach bench::do_not_optimize so the work cannot be dropped,
// and every repetition checks (untimed) that what was read back is what was written.
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
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// The value type: what an agent keeps in working memory (about 140 bytes encoded).
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    int budget = 0;
};

using bench_schema = inmem::schema<inmem::kv<Plan>>;
using locked_db = inmem::basic_database<bench_schema, inmem::concurrency::locked>;
using single_thread_db = inmem::basic_database<bench_schema, inmem::concurrency::single_thread>;
static_assert(std::is_same_v<inmem::database<bench_schema>::concurrency_policy, inmem::concurrency::locked>,
              "the default database is the locked one");

namespace {

bool same_plan(const Plan& a, const Plan& b) { return a.goal == b.goal && a.steps == b.steps && a.budget == b.budget; }

constexpr std::size_t value_pool_size = 1024;
constexpr std::size_t overwrite_shift = 7; // overwrites store values[(i + 7) % pool]: a different value

/// Everything the timed loops use, made before any timing.
struct workload {
    std::size_t n = 0;
    std::vector<std::string> keys;      // present keys, 24 bytes: "agent:plan:0000000000246"
    std::vector<std::string> miss_keys; // absent keys of the same shape, interleaved in key order
    std::vector<Plan> values;           // a pool of distinct values, values[i % pool] goes with key i
    std::vector<std::uint32_t> put_order, overwrite_order, get_order, miss_order;

    const Plan& value(std::size_t i) const { return values[i % values.size()]; }
    const Plan& new_value(std::size_t i) const { return values[(i + overwrite_shift) % values.size()]; }
};

std::string make_key(std::uint64_t number) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "agent:plan:%013llu", static_cast<unsigned long long>(number));
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
    w.keys.reserve(n);
    w.miss_keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        w.keys.push_back(make_key(2 * i));
        w.miss_keys.push_back(make_key(2 * i + 1));
    }
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
    auto permutation = [&] {
        std::vector<std::uint32_t> order(n);
        std::iota(order.begin(), order.end(), 0u);
        std::shuffle(order.begin(), order.end(), rng);
        return order;
    };
    w.put_order = permutation();
    w.overwrite_order = permutation();
    w.get_order = permutation();
    w.miss_order = permutation();
    return w;
}

enum row : std::size_t { put_new, put_overwrite, get_hit, get_miss, begin_run, row_count };
constexpr std::array<const char*, row_count> row_names = {"put (new key)", "put (overwrite)", "get (hit)",
                                                          "get (miss)", "begin_run"};

/// ns/op of every row in one repetition.
using sample = std::array<double, row_count>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("kv_bench: check failed: " + what); }

// ----- inmem -----

template <class Db>
sample run_inmem(const workload& w) {
    sample s{};
    const auto n = static_cast<double>(w.n);
    {
        auto db = std::make_unique<Db>();
        const inmem::run_id run = db->begin_run({.name = "bench"});
        auto plans = db->template kv<Plan>();

        s[put_new] = bench::time_ns([&] {
            for (std::uint32_t i : w.put_order) bench::do_not_optimize(plans.put(run, w.keys[i], w.value(i)));
        }) / n;

        s[put_overwrite] = bench::time_ns([&] {
            for (std::uint32_t i : w.overwrite_order)
                bench::do_not_optimize(plans.put(run, w.keys[i], w.new_value(i)));
        }) / n;

        std::uint64_t acc = 0;
        s[get_hit] = bench::time_ns([&] {
            for (std::uint32_t i : w.get_order) {
                std::optional<Plan> v = plans.get(run, w.keys[i]);
                bench::do_not_optimize(v);
                acc += static_cast<std::uint64_t>(v->budget);
            }
        }) / n;

        s[get_miss] = bench::time_ns([&] {
            for (std::uint32_t i : w.miss_order) {
                std::optional<Plan> v = plans.get(run, w.miss_keys[i]);
                bench::do_not_optimize(v);
                acc += v.has_value();
            }
        }) / n;
        bench::do_not_optimize(acc);

        // Untimed: what we read is what we wrote, and misses miss.
        for (std::size_t i = 0; i < std::min<std::size_t>(w.n, 1000); ++i) {
            auto v = plans.get(run, w.keys[i]);
            if (!v || !same_plan(*v, w.new_value(i))) fail("inmem get returned another value for " + w.keys[i]);
            if (plans.get(run, w.miss_keys[i])) fail("inmem get found the absent key " + w.miss_keys[i]);
        }
        if (db->last_version() != 1 + 2 * w.n) fail("inmem version count");
    } // the database is destroyed here, untimed

    {
        auto db = std::make_unique<Db>();
        inmem::run_id last{};
        s[begin_run] = bench::time_ns([&] {
            for (std::size_t i = 0; i < w.n; ++i) {
                last = db->begin_run({.name = "agent run"});
                bench::do_not_optimize(last);
            }
        }) / n;
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
    const auto n = static_cast<double>(w.n);
    {
        auto map = std::make_unique<boost::unordered_flat_map<std::string, Plan>>();

        s[put_new] = bench::time_ns([&] {
            for (std::uint32_t i : w.put_order) {
                auto [it, inserted] = map->insert_or_assign(w.keys[i], w.value(i));
                bench::do_not_optimize(it->second);
            }
        }) / n;

        s[put_overwrite] = bench::time_ns([&] {
            for (std::uint32_t i : w.overwrite_order) {
                auto [it, inserted] = map->insert_or_assign(w.keys[i], w.new_value(i));
                bench::do_not_optimize(it->second);
            }
        }) / n;

        std::uint64_t acc = 0;
        s[get_hit] = bench::time_ns([&] {
            for (std::uint32_t i : w.get_order) {
                std::optional<Plan> v;
                if (auto it = map->find(w.keys[i]); it != map->end()) v = it->second;
                bench::do_not_optimize(v);
                acc += static_cast<std::uint64_t>(v->budget);
            }
        }) / n;

        s[get_miss] = bench::time_ns([&] {
            for (std::uint32_t i : w.miss_order) {
                std::optional<Plan> v;
                if (auto it = map->find(w.miss_keys[i]); it != map->end()) v = it->second;
                bench::do_not_optimize(v);
                acc += v.has_value();
            }
        }) / n;
        bench::do_not_optimize(acc);

        for (std::size_t i = 0; i < std::min<std::size_t>(w.n, 1000); ++i) {
            auto it = map->find(w.keys[i]);
            if (it == map->end() || !same_plan(it->second, w.new_value(i))) fail("baseline find");
            if (map->contains(w.miss_keys[i])) fail("baseline miss");
        }
    }
    {
        auto runs = std::make_unique<boost::unordered_flat_map<std::uint64_t, run_record>>();
        std::uint64_t next = 1;
        s[begin_run] = bench::time_ns([&] {
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
        }) / n;
        if (runs->size() != w.n) fail("baseline begin_run");
    }
    return s;
}

// ----- driver -----

enum mode : std::size_t { baseline, locked, single_thread, mode_count };
constexpr std::array<const char*, mode_count> mode_names = {"baseline", "locked", "single_thread"};

sample run_mode(mode m, const workload& w) {
    switch (m) {
    case baseline: return run_baseline(w);
    case locked: return run_inmem<locked_db>(w);
    case single_thread: return run_inmem<single_thread_db>(w);
    default: break;
    }
    return {};
}

struct options {
    std::size_t n = 200000;
    int reps = 5;
    int warmup = 1;
    std::string json;
};

void usage(std::FILE* to) {
    std::fputs("usage: kv_bench [--n N] [--reps R] [--quick] [--json FILE]\n"
               "  --n N        operations per row (default 200000)\n"
               "  --reps R     repetitions; the median is reported (default 5)\n"
               "  --quick      a smoke test: n 2000, 1 repetition, no warm-up\n"
               "  --json FILE  also write the results as JSON to FILE\n",
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
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--quick") {
            o.n = 2000;
            o.reps = 1;
            o.warmup = 0;
        } else if (a == "--n") {
            o.n = static_cast<std::size_t>(number(i, "--n"));
        } else if (a == "--reps") {
            o.reps = static_cast<int>(number(i, "--reps"));
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

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    const bench::machine m = bench::machine_info();
    const workload w = make_workload(opt.n);

    double value_bytes = 0;
    for (const Plan& p : w.values) value_bytes += static_cast<double>(inmem::encode(p).size());
    value_bytes /= static_cast<double>(w.values.size());

    std::printf("inmem kv_bench  %s\n", utc_now().c_str());
    std::printf("cpu:        %s, %u cores\n", m.cpu.c_str(), m.cores);
    std::printf("compiler:   %s\n", m.compiler.c_str());
    std::printf("build:      %s%s\n", m.build_type.c_str(), m.asserts ? " (assertions on)" : " (NDEBUG)");
    std::printf("workload:   n %zu ops per row, %d repetitions (median) + %d warm-up; key %zu bytes; "
                "value Plan, %.0f bytes encoded\n\n",
                w.n, opt.reps, opt.warmup, w.keys.front().size(), value_bytes);
    std::fflush(stdout);

    // samples[mode][row] holds one ns/op per recorded repetition.
    std::array<std::array<std::vector<double>, row_count>, mode_count> samples;
    for (int rep = -opt.warmup; rep < opt.reps; ++rep) {
        for (std::size_t k = 0; k < mode_count; ++k) {
            const auto md = static_cast<mode>((static_cast<std::size_t>(rep + opt.warmup) + k) % mode_count);
            const sample s = run_mode(md, w);
            if (rep < 0) continue;
            for (std::size_t r = 0; r < row_count; ++r) samples[md][r].push_back(s[r]);
        }
    }

    std::array<std::array<double, row_count>, mode_count> med{};
    for (std::size_t md = 0; md < mode_count; ++md)
        for (std::size_t r = 0; r < row_count; ++r) med[md][r] = bench::median(samples[md][r]);

    std::printf("%-16s %12s %12s %8s %14s %8s\n", "operation", "baseline", "locked", "ratio", "single_thread",
                "ratio");
    std::printf("%-16s %12s %12s %8s %14s %8s\n", "", "ns/op", "ns/op", "", "ns/op", "");
    for (std::size_t r = 0; r < row_count; ++r) {
        const double b = med[baseline][r];
        std::printf("%-16s %12.1f %12.1f %7.1fx %14.1f %7.1fx\n", row_names[r], b, med[locked][r],
                    med[locked][r] / b, med[single_thread][r], med[single_thread][r] / b);
    }
    std::printf("\nbaseline: boost::unordered_flat_map<std::string, Plan> (begin_run: "
                "unordered_flat_map<uint64_t, run_record>); ratio = inmem / baseline\n");

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
            << ",\n  \"repetitions\": " << opt.reps << ",\n  \"key_bytes\": " << w.keys.front().size()
            << ",\n  \"value_bytes\": " << value_bytes << ",\n  \"unit\": \"ns/op\",\n  \"rows\": [\n";
        for (std::size_t r = 0; r < row_count; ++r) {
            out << "    {\"op\": " << bench::json_string(row_names[r]);
            for (std::size_t md = 0; md < mode_count; ++md) {
                out << ", " << bench::json_string(mode_names[md]) << ": {\"median\": " << med[md][r];
                if (md != baseline) out << ", \"ratio\": " << med[md][r] / med[baseline][r];
                out << ", \"samples\": " << list(samples[md][r]) << "}";
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
