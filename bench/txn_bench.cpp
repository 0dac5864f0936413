// txn_bench: what concurrency control and transactions cost, in memory (durability::none).
// In one run, so that every ratio compares figures taken side by side:
//
//   1. single-thread put (new keys, then overwrites) through concurrency::single_thread and
//      concurrency::optimistic: ns/put and the ratio optimistic / single_thread;
//   2. a read-mostly mix, 10 gets to 1 put, on a preloaded key set, with 1 and 2 threads (4
//      and 8 too where the machine has that many cores), optimistic: ops/s and the scaling
//      over one thread;
//   3. state records: cas that succeeds (the current version) and cas that fails (a stale
//      one), and a plain read, in both modes;
//   4. transactions: transact() doing 1 get + 1 put against the same two plain operations,
//      the same through begin()/commit(), and 10 puts in one transaction against 10 plain
//      puts, in both modes (the targets look at optimistic).
//
//   txn_bench [--n N] [--keys K] [--seconds S] [--threads LIST] [--reps R] [--warmup W]
//             [--quick] [--cpu-time] [--json FILE]
//
// Method. Single-thread rows (1, 3, 4) as kv_bench: each row times a fixed number of operations
// (n, default 200000; the 10-put rows n / 10 groups of 10) as one loop on steady_clock and
// divides. A measurement runs every row for one mode in a child process of its own (fork),
// after `warmup` unrecorded passes there; a repetition measures both modes, in an order that
// alternates between repetitions; the table shows the median over the repetitions. Keys,
// values, visiting orders (a shuffle per row) and state-record names are made before any
// timing; the rows that read or overwrite run on the keys the first row put, and the cas rows
// on records init()ed untimed just before them. Every result reaches bench::do_not_optimize
// or a checked accumulator, and each pass checks (untimed) what it read and wrote.
// Read-mostly mix: per repetition a child process preloads K keys (default 100000) into ONE
// run, as the workers of one agent share its working memory (every thread reads and writes
// that run: the engine has no per-run lock, so a run of its own per thread would measure the
// same thing on a bigger key set); then, for each thread count (order rotating between
// repetitions), the threads are released together by a latch and each loops { 10 gets, 1 put
// } over its own random sequence of the keys (every get hits; a put overwrites; the key texts
// laid out in visiting order, as kv_bench does) until a stop flag is raised after S seconds
// (default 1). Throughput = all operations / (the last thread's end - the first thread's
// start). Each thread's CPU time and context switches are recorded, and just before each mix
// the same number of threads spins on registers for S/4: on a shared machine these say how
// many cores the threads actually got and whether they waited (a lock) or were preempted, and
// ops per CPU second says whether an operation got dearer with more threads. A short
// unrecorded one-thread mix runs first.
#include "common.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <inmem/inmem.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <latch>
#include <limits>
#include <memory>
#include <new>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include <sys/resource.h>

// Heap allocations are counted on the thread that asks for it (the single-thread rows): the
// mix's threads leave the shared counter alone, so counting adds no shared cache line to them.
namespace {
thread_local bool count_allocations = false;
}
BENCH_NOINLINE void* operator new(std::size_t size) {
    if (count_allocations) ++bench::allocation_count;
    if (void* p = std::malloc(size ? size : 1)) return p;
    throw std::bad_alloc();
}
BENCH_NOINLINE void operator delete(void* p) noexcept { std::free(p); }
BENCH_NOINLINE void operator delete(void* p, std::size_t) noexcept { std::free(p); }

// The value type: what an agent keeps in working memory (bench::Plan, as kv_bench's: about
// 150 bytes encoded).
using bench::Plan;

// A state record: who claimed a task and how far it got.
struct Claim {
    std::string owner;
    int step = 0;
    std::string status;
};

using bench_schema = inmem::schema<inmem::kv<Plan>, inmem::states<Claim>>;
using optimistic_db =
    inmem::basic_database<bench_schema, inmem::concurrency::optimistic, inmem::durability::none>;
using single_thread_db =
    inmem::basic_database<bench_schema, inmem::concurrency::single_thread, inmem::durability::none>;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("txn_bench: check failed: " + what); }

// ----- workload -----

constexpr std::size_t key_bytes = bench::plan_key_bytes; // "agent:plan:0000000000246"

/// Key number i (24 bytes, as kv_bench's present keys).
std::string make_key(std::uint64_t i) { return bench::plan_key(2 * i); }

std::vector<Claim> make_claims() {
    static constexpr std::array<const char*, 4> statuses = {"claimed", "running", "blocked", "done"};
    std::vector<Claim> claims;
    for (int i = 0; i < 64; ++i) {
        char owner[32];
        std::snprintf(owner, sizeof owner, "worker-%02d", i % 16);
        claims.push_back(Claim{owner, i, statuses[static_cast<std::size_t>(i) % statuses.size()]});
    }
    return claims;
}

/// One timed loop's inputs: key number index[j] is visited j-th, and keys[j] is its text, made
/// in visiting order so that reading it is sequential (as in kv_bench).
struct pass {
    std::vector<std::uint32_t> index;
    std::vector<std::string> keys;
};

enum row : std::size_t {
    put_new,
    put_overwrite,
    get_put_plain,
    get_put_transact,
    get_put_begin,
    puts10_plain,
    puts10_transact,
    cas_success,
    cas_failure,
    state_read,
    row_count
};
constexpr std::array<const char*, row_count> row_names = {
    "put (new key)",         "put (overwrite)",       "get + put, plain",        "get + put, transact()",
    "get + put, begin/commit", "10 puts, plain",      "10 puts, transact()",     "state cas (success)",
    "state cas (fail, stale)", "state read"};
constexpr std::array<const char*, row_count> row_units = {"ns/put", "ns/put", "ns/pair", "ns/tx",   "ns/tx",
                                                          "ns/10",  "ns/tx",  "ns/cas",  "ns/cas", "ns/read"};
// Row r writes value (key number + shift[r]): each row writes other values than the one before.
constexpr std::array<std::size_t, row_count> value_shift = {0, 7, 13, 17, 19, 23, 29, 0, 0, 0};

/// Everything the single-thread rows use, made before any timing.
struct workload {
    std::size_t n = 0; // a multiple of 10
    std::vector<Plan> values;
    std::vector<Claim> claims;
    std::array<pass, 7> passes; // rows put_new .. puts10_transact, each another shuffle of 0..n-1
    std::vector<std::string> names;      // state records
    std::vector<std::uint32_t> name_order; // n record numbers, random

    const Plan& value(std::size_t key, row r) const { return values[(key + value_shift[r]) % values.size()]; }
};

workload make_workload(std::size_t n) {
    workload w;
    w.n = n;
    w.values = bench::make_plans();
    std::mt19937_64 rng(bench::plan_seed);
    w.claims = make_claims();
    for (pass& p : w.passes) {
        p.index.resize(n);
        std::iota(p.index.begin(), p.index.end(), 0u);
        std::shuffle(p.index.begin(), p.index.end(), rng);
        p.keys.reserve(n);
        for (std::uint32_t i : p.index) p.keys.push_back(make_key(i));
    }
    const std::size_t records = std::clamp<std::size_t>(n / 8, 1, 1024);
    for (std::size_t i = 0; i < records; ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "task:%06zu", i);
        w.names.emplace_back(buf);
    }
    w.name_order.resize(n);
    for (auto& x : w.name_order) x = static_cast<std::uint32_t>(rng() % records);
    return w;
}

// ----- 1, 3, 4: single-thread rows -----

/// Per row: wall ns, thread CPU ns and allocations, per unit (put, pair, transaction, ...).
using sample = std::array<bench::timing, row_count>;

bench::timing per_unit(bench::timing t, std::size_t units) {
    const auto d = static_cast<double>(units);
    return {t.wall_ns / d, t.cpu_ns / d, t.allocations / d};
}

template <class Db>
sample run_single(const workload& w) {
    sample s{};
    auto db = std::make_unique<Db>();
    const inmem::run_id run = db->begin_run({.name = "bench"});
    auto plans = db->template kv<Plan>();
    auto claims = db->template states<Claim>();
    const std::size_t n = w.n;
    std::uint64_t acc = 0;

    {
        const pass& p = w.passes[put_new];
        s[put_new] = per_unit(bench::time_ns([&] {
            for (std::size_t j = 0; j < n; ++j) bench::do_not_optimize(plans.put(run, p.keys[j], w.value(p.index[j], put_new)));
        }), n);
    }
    {
        const pass& p = w.passes[put_overwrite];
        s[put_overwrite] = per_unit(bench::time_ns([&] {
            for (std::size_t j = 0; j < n; ++j)
                bench::do_not_optimize(plans.put(run, p.keys[j], w.value(p.index[j], put_overwrite)));
        }), n);
    }
    {
        const pass& p = w.passes[get_put_plain];
        s[get_put_plain] = per_unit(bench::time_ns([&] {
            for (std::size_t j = 0; j < n; ++j) {
                std::optional<Plan> v = plans.get(run, p.keys[j]);
                bench::do_not_optimize(v);
                acc += static_cast<std::uint64_t>(v->budget);
                acc += plans.put(run, p.keys[j], w.value(p.index[j], get_put_plain));
            }
        }), n);
    }
    {
        const pass& p = w.passes[get_put_transact];
        s[get_put_transact] = per_unit(bench::time_ns([&] {
            for (std::size_t j = 0; j < n; ++j) {
                acc += db->transact(run, [&](auto& tx) {
                    std::optional<Plan> v = plans.get(tx, p.keys[j]);
                    bench::do_not_optimize(v);
                    acc += static_cast<std::uint64_t>(v->budget);
                    plans.put(tx, p.keys[j], w.value(p.index[j], get_put_transact));
                });
            }
        }), n);
    }
    {
        const pass& p = w.passes[get_put_begin];
        s[get_put_begin] = per_unit(bench::time_ns([&] {
            for (std::size_t j = 0; j < n; ++j) {
                auto tx = db->begin(run);
                std::optional<Plan> v = plans.get(tx, p.keys[j]);
                bench::do_not_optimize(v);
                acc += static_cast<std::uint64_t>(v->budget);
                plans.put(tx, p.keys[j], w.value(p.index[j], get_put_begin));
                acc += tx.commit();
            }
        }), n);
    }
    const std::size_t groups = n / 10;
    {
        const pass& p = w.passes[puts10_plain];
        s[puts10_plain] = per_unit(bench::time_ns([&] {
            for (std::size_t g = 0; g < groups; ++g)
                for (std::size_t j = g * 10; j < g * 10 + 10; ++j)
                    acc += plans.put(run, p.keys[j], w.value(p.index[j], puts10_plain));
        }), groups);
    }
    {
        const pass& p = w.passes[puts10_transact];
        s[puts10_transact] = per_unit(bench::time_ns([&] {
            for (std::size_t g = 0; g < groups; ++g)
                acc += db->transact(run, [&](auto& tx) {
                    for (std::size_t j = g * 10; j < g * 10 + 10; ++j)
                        plans.put(tx, p.keys[j], w.value(p.index[j], puts10_transact));
                });
        }), groups);
    }

    // State records, created untimed; cas always with the version the last cas returned.
    const std::size_t records = w.names.size();
    std::vector<inmem::version_t> current(records), stale(records);
    for (std::size_t i = 0; i < records; ++i) {
        const inmem::cas_result r = claims.init(run, w.names[i], w.claims[i % w.claims.size()]);
        if (!r) fail("init of " + w.names[i]);
        current[i] = r.version;
    }
    const inmem::version_t before_cas = db->last_version();
    std::uint64_t succeeded = 0;
    s[cas_success] = per_unit(bench::time_ns([&] {
        for (std::size_t j = 0; j < n; ++j) {
            const std::uint32_t i = w.name_order[j];
            const inmem::cas_result r = claims.cas(run, w.names[i], current[i], w.claims[j % w.claims.size()]);
            succeeded += r.succeeded;
            stale[i] = current[i];
            current[i] = r.version;
        }
    }), n);
    if (succeeded != n) fail("a cas with the current version failed");
    if (db->last_version() != before_cas + n) fail("cas version count");
    for (std::size_t i = 0; i < records; ++i)
        if (stale[i] == 0) stale[i] = current[i] - 1; // a record the loop did not visit (tiny n)
    std::uint64_t mismatched = 0, reported = 0;
    s[cas_failure] = per_unit(bench::time_ns([&] {
        for (std::size_t j = 0; j < n; ++j) {
            const std::uint32_t i = w.name_order[j];
            const inmem::cas_result r = claims.cas(run, w.names[i], stale[i], w.claims[j % w.claims.size()]);
            mismatched += !r.succeeded;
            reported += r.version == current[i];
        }
    }), n);
    if (mismatched != n || reported != n) fail("a cas with a stale version did not fail with the current version");
    if (db->last_version() != before_cas + n) fail("a failed cas wrote");
    std::uint64_t found = 0;
    s[state_read] = per_unit(bench::time_ns([&] {
        for (std::size_t j = 0; j < n; ++j) {
            const std::uint32_t i = w.name_order[j];
            std::optional<inmem::state_entry<Claim>> e = claims.read(w.names[i]);
            bench::do_not_optimize(e);
            found += e->version == current[i];
            acc += static_cast<std::uint64_t>(e->value.step);
        }
    }), n);
    if (found != n) fail("state read returned another version");
    bench::do_not_optimize(acc);

    // Untimed: every key holds what the last row wrote; every commit counted.
    for (std::size_t i = 0; i < std::min<std::size_t>(n, 1000); ++i) {
        auto v = plans.get(run, make_key(i));
        if (!v || *v != w.value(i, puts10_transact)) fail("kv get returned another value for " + make_key(i));
    }
    const inmem::version_t expect = 1 + 6 * n + groups + records + n;
    if (db->last_version() != expect)
        fail("version count " + std::to_string(db->last_version()) + ", expected " + std::to_string(expect));
    return s;
}

// ----- 2: the read-mostly mix -----

constexpr std::size_t mix_gets = 10; // gets per put

/// The mix's inputs. Each thread visits the keys in a random sequence of its own, whose key
/// texts are laid out in visiting order (key_bytes each, back to back): reading them is
/// sequential, so the loop measures the database rather than fetching its own keys (as in
/// kv_bench). The sequence is longer than the key set and the threads wrap around it.
struct mix_workload {
    std::size_t keys = 0;
    std::string all; // every key, key i at i * key_bytes (for the preload)
    std::vector<Plan> values;
    std::size_t length = 0;          // of each sequence, a power of 2
    std::vector<std::string> sequence; // per thread

    std::string_view key(std::uint32_t i) const { return {all.data() + std::size_t{i} * key_bytes, key_bytes}; }
    std::string_view visit(unsigned thread, std::size_t p) const {
        return {sequence[thread].data() + p * key_bytes, key_bytes};
    }
};

mix_workload make_mix_workload(std::size_t keys, unsigned max_threads, std::size_t length) {
    mix_workload w;
    w.keys = keys;
    w.length = length;
    w.values = bench::make_plans();
    w.all.reserve(keys * key_bytes);
    for (std::size_t i = 0; i < keys; ++i) w.all += make_key(i);
    for (unsigned t = 0; t < max_threads; ++t) {
        std::mt19937_64 own(1000 + t);
        std::string s;
        s.reserve(length * key_bytes);
        for (std::size_t p = 0; p < length; ++p) s += w.key(static_cast<std::uint32_t>(own() % keys));
        w.sequence.push_back(std::move(s));
    }
    return w;
}

struct mix_sample {
    double ops_per_s = 0;
    double seconds = 0;   // first start to last end
    double cpu_cores = 0; // the threads' CPU time / seconds
    double slowest = 0;   // ops/s of the slowest thread
    double fastest = 0;
    double overlap = 0;   // fraction of `seconds` during which every thread ran
    double puts = 0;
    double ops_per_cpu_s = 0; // operations / the threads' CPU seconds: the work a core does
    double waits_per_s = 0;   // voluntary context switches of the threads (blocking: a lock, a futex)
    double preempted_per_s = 0; // involuntary ones (the scheduler gave the core to someone else)
    double spin_per_s = 0;      // the machine's share: iterations/s of the same threads spinning on registers
    double map_per_s = 0;       // the baseline: lookups/s of the same threads in a read-only flat map

    static constexpr std::size_t fields = 12;
    void to(std::vector<double>& v) const {
        v.insert(v.end(), {ops_per_s, seconds, cpu_cores, slowest, fastest, overlap, puts, ops_per_cpu_s, waits_per_s,
                           preempted_per_s, spin_per_s, map_per_s});
    }
    static mix_sample from(const std::vector<double>& v, std::size_t at) {
        return {v[at],     v[at + 1], v[at + 2], v[at + 3], v[at + 4],  v[at + 5],
                v[at + 6], v[at + 7], v[at + 8], v[at + 9], v[at + 10], v[at + 11]};
    }
};

/// This thread's voluntary and involuntary context switches so far.
std::array<double, 2> context_switches() {
    rusage u{};
    getrusage(RUSAGE_THREAD, &u);
    return {static_cast<double>(u.ru_nvcsw), static_cast<double>(u.ru_nivcsw)};
}

using clock_type = std::chrono::steady_clock;

/// `threads` threads run the mix on db for `seconds`, released together.
mix_sample mix_once(optimistic_db& db, inmem::run_id run, const mix_workload& w, unsigned threads, double seconds) {
    auto plans = db.kv<Plan>();
    struct alignas(64) result {
        std::uint64_t ops = 0, puts = 0, misses = 0, acc = 0;
        clock_type::time_point start, stop;
        double cpu_ns = 0;
        std::array<double, 2> switches{};
        std::exception_ptr error;
    };
    std::vector<result> out(threads);
    std::atomic<bool> stop{false};
    std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
    const inmem::version_t version_before = db.last_version();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            const std::size_t mask = w.length - 1;
            std::size_t p = 0, v = t;
            result r;
            ready.arrive_and_wait();
            r.start = clock_type::now();
            const double cpu_start = bench::thread_cpu_ns();
            const std::array<double, 2> switches_start = context_switches();
            try {
                while (!stop.load(std::memory_order_relaxed)) {
                    for (std::size_t g = 0; g < mix_gets; ++g) {
                        std::optional<Plan> got = plans.get(run, w.visit(t, p));
                        p = (p + 1) & mask;
                        bench::do_not_optimize(got);
                        if (got) r.acc += static_cast<std::uint64_t>(got->budget);
                        else ++r.misses;
                    }
                    r.acc += plans.put(run, w.visit(t, p), w.values[v % w.values.size()]);
                    p = (p + 1) & mask;
                    ++v;
                    ++r.puts;
                    r.ops += mix_gets + 1;
                }
            } catch (...) {
                r.error = std::current_exception();
            }
            r.cpu_ns = bench::thread_cpu_ns() - cpu_start;
            const std::array<double, 2> switches_stop = context_switches();
            r.switches = {switches_stop[0] - switches_start[0], switches_stop[1] - switches_start[1]};
            r.stop = clock_type::now();
            out[t] = r;
        });
    ready.arrive_and_wait();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : workers) th.join();

    mix_sample s;
    auto first_start = out[0].start, last_start = out[0].start, first_stop = out[0].stop, last_stop = out[0].stop;
    double ops = 0, cpu = 0, puts = 0, waits = 0, preempted = 0;
    s.slowest = std::numeric_limits<double>::max();
    for (const result& r : out) {
        if (r.error) std::rethrow_exception(r.error);
        if (r.misses) fail("a get in the mix missed a preloaded key");
        bench::do_not_optimize(r.acc);
        first_start = std::min(first_start, r.start);
        last_start = std::max(last_start, r.start);
        first_stop = std::min(first_stop, r.stop);
        last_stop = std::max(last_stop, r.stop);
        ops += static_cast<double>(r.ops);
        puts += static_cast<double>(r.puts);
        cpu += r.cpu_ns;
        waits += r.switches[0];
        preempted += r.switches[1];
        const double rate = static_cast<double>(r.ops) / std::chrono::duration<double>(r.stop - r.start).count();
        s.slowest = std::min(s.slowest, rate);
        s.fastest = std::max(s.fastest, rate);
    }
    s.seconds = std::chrono::duration<double>(last_stop - first_start).count();
    s.ops_per_s = ops / s.seconds;
    s.cpu_cores = cpu / 1e9 / s.seconds;
    s.overlap = std::max(0.0, std::chrono::duration<double>(first_stop - last_start).count()) / s.seconds;
    s.puts = puts;
    s.ops_per_cpu_s = cpu > 0 ? ops / (cpu / 1e9) : 0;
    s.waits_per_s = waits / s.seconds;
    s.preempted_per_s = preempted / s.seconds;
    if (db.last_version() != version_before + static_cast<inmem::version_t>(puts)) fail("mix put count");
    return s;
}

/// What the machine gives `threads` threads right now: iterations/s of a loop that touches no
/// memory (an xorshift in registers), released together and stopped as the mix is. On free
/// cores it scales with the thread count; on a busy machine it says how far any code could.
double spin_once(unsigned threads, double seconds) {
    struct alignas(64) result {
        std::uint64_t iterations = 0;
        clock_type::time_point start, stop;
    };
    std::vector<result> out(threads);
    std::atomic<bool> stop{false};
    std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            std::uint64_t x = 88172645463325252ull + t, n = 0;
            ready.arrive_and_wait();
            const auto start = clock_type::now();
            while (!stop.load(std::memory_order_relaxed)) {
                for (int i = 0; i < 256; ++i) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                }
                bench::do_not_optimize(x);
                n += 256;
            }
            out[t] = {n, start, clock_type::now()};
        });
    ready.arrive_and_wait();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : workers) th.join();
    auto first = out[0].start, last = out[0].stop;
    double total = 0;
    for (const result& r : out) {
        first = std::min(first, r.start);
        last = std::max(last, r.stop);
        total += static_cast<double>(r.iterations);
    }
    return total / std::chrono::duration<double>(last - first).count();
}

/// The baseline for scaling: `threads` threads look up their key sequences (as the mix does)
/// in a read-only boost::unordered_flat_map<std::string, Plan> and copy each value out, as a
/// get decodes one. Cache misses like the mix's, no synchronisation at all: how far this
/// machine lets memory-bound reads scale. Returns lookups/s.
double map_once(const boost::unordered_flat_map<std::string, Plan>& map, const mix_workload& w, unsigned threads,
                double seconds) {
    struct alignas(64) result {
        std::uint64_t lookups = 0, acc = 0;
        clock_type::time_point start, stop;
    };
    std::vector<result> out(threads);
    std::atomic<bool> stop{false};
    std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            const std::size_t mask = w.length - 1;
            std::size_t p = 0;
            result r;
            ready.arrive_and_wait();
            r.start = clock_type::now();
            while (!stop.load(std::memory_order_relaxed)) {
                for (int i = 0; i < 64; ++i) {
                    const auto visit = w.visit(t, p);
                    p = (p + 1) & mask;
                    auto it = map.find(std::string(visit));
                    Plan copy = it->second;
                    bench::do_not_optimize(copy);
                    r.acc += static_cast<std::uint64_t>(copy.budget);
                }
                r.lookups += 64;
            }
            r.stop = clock_type::now();
            out[t] = r;
        });
    ready.arrive_and_wait();
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    stop = true;
    for (auto& th : workers) th.join();
    auto first = out[0].start, last = out[0].stop;
    double total = 0;
    for (const result& r : out) {
        bench::do_not_optimize(r.acc);
        first = std::min(first, r.start);
        last = std::max(last, r.stop);
        total += static_cast<double>(r.lookups);
    }
    return total / std::chrono::duration<double>(last - first).count();
}

/// One repetition of the mix: a fresh database with w.keys keys in one run, a warm-up, then
/// every thread count in `order`. Returns mix_sample::fields values per thread count, in order.
std::vector<double> run_mix(const mix_workload& w, const std::vector<unsigned>& order, double seconds,
                            double warmup_seconds) {
    auto db = std::make_unique<optimistic_db>();
    const inmem::run_id run = db->begin_run({.name = "agent"});
    auto plans = db->kv<Plan>();
    for (std::uint32_t i = 0; i < w.keys; ++i) plans.put(run, w.key(i), w.values[i % w.values.size()]);
    boost::unordered_flat_map<std::string, Plan> map;
    for (std::uint32_t i = 0; i < w.keys; ++i) map.emplace(std::string(w.key(i)), w.values[i % w.values.size()]);
    if (warmup_seconds > 0) mix_once(*db, run, w, 1, warmup_seconds);
    std::vector<double> out;
    for (unsigned threads : order) {
        const double spin = spin_once(threads, std::max(0.02, seconds / 4));
        const double baseline = map_once(map, w, threads, std::max(0.02, seconds / 2));
        mix_sample s = mix_once(*db, run, w, threads, seconds);
        s.spin_per_s = spin;
        s.map_per_s = baseline;
        s.to(out);
    }
    return out;
}

// ----- measurements in a child process -----

enum mode : std::size_t { single_thread, optimistic, mode_count };
constexpr std::array<const char*, mode_count> mode_names = {"single_thread", "optimistic"};

/// One measurement of mode m in a child process (bench::in_child), so that every measurement
/// starts from the parent's heap: `warmup` unrecorded passes, then the recorded one.
sample measure_single(mode m, const workload& w, int warmup) {
    return bench::timings_from_doubles<row_count>(bench::in_child([&] {
        count_allocations = true;
        sample s{};
        for (int i = 0; i <= warmup; ++i) s = m == optimistic ? run_single<optimistic_db>(w) : run_single<single_thread_db>(w);
        return bench::timings_to_doubles(s);
    }));
}

// ----- options -----

struct options {
    std::size_t n = 200000;
    std::size_t keys = 100000;
    double seconds = 1.0;
    std::vector<unsigned> threads; // empty: 1, 2, and 4 and 8 where the cores are there
    int reps = 5;
    int warmup = 1;
    bool quick = false;
    bool cpu_time = false;
    std::string json;
};

void usage(std::FILE* to) {
    std::fputs("usage: txn_bench [--n N] [--keys K] [--seconds S] [--threads LIST] [--reps R] [--warmup W]\n"
               "                 [--quick] [--cpu-time] [--json FILE]\n"
               "  --n N           operations per single-thread row (default 200000; rounded up to a multiple of 10)\n"
               "  --keys K        keys preloaded for the read-mostly mix (default 100000)\n"
               "  --seconds S     duration of each mix measurement (default 1)\n"
               "  --threads LIST  mix thread counts, e.g. 1,2,4,8 (default 1,2, plus 4 and 8 where\n"
               "                  std::thread::hardware_concurrency() reaches them; 1 and 2 are always run)\n"
               "  --reps R        repetitions; the median is reported (default 5)\n"
               "  --warmup W      unrecorded single-thread passes before each measurement (default 1)\n"
               "  --quick         a smoke test: n 2000, 2000 keys, 0.05 s, 1 repetition\n"
               "  --cpu-time      tabulate thread CPU time instead of wall time (single-thread rows)\n"
               "  --json FILE     also write the results as JSON to FILE\n",
               to);
}

options parse(int argc, char** argv) {
    options o;
    bench::arguments args(argc, argv);
    if (args.has("--quick")) { // defaults that the other flags override
        o.quick = true;
        o.n = 2000;
        o.keys = 2000;
        o.seconds = 0.05;
        o.reps = 1;
    }
    while (args.next()) {
        if (args.is("--quick")) {
        } else if (args.is("--n")) {
            o.n = args.count();
        } else if (args.is("--keys")) {
            o.keys = args.count();
        } else if (args.is("--seconds")) {
            o.seconds = args.positive();
        } else if (args.is("--threads")) {
            const std::vector<std::string> items = bench::split_list(args.value());
            const char* need = "--threads needs a list of counts from 1 to 256, e.g. 1,2,4,8";
            if (items.empty()) throw std::invalid_argument(need);
            o.threads.clear();
            for (const std::string& item : items) {
                char* end = nullptr;
                const long x = std::strtol(item.c_str(), &end, 10);
                if (*end != '\0' || x < 1 || x > 256) throw std::invalid_argument(need);
                o.threads.push_back(static_cast<unsigned>(x));
            }
        } else if (args.is("--reps")) {
            o.reps = static_cast<int>(args.count());
        } else if (args.is("--warmup")) {
            o.warmup = static_cast<int>(args.count_or_zero());
        } else if (args.is("--cpu-time")) {
            o.cpu_time = true;
        } else if (args.is("--json")) {
            o.json = args.value();
        } else if (args.is("--help") || args.is("-h")) {
            usage(stdout);
            std::exit(0);
        } else {
            args.unknown();
        }
    }
    if (o.n > 2'000'000'000 || o.keys > 2'000'000'000) throw std::invalid_argument("--n or --keys is too large");
    o.n = (o.n + 9) / 10 * 10;
    if (o.threads.empty()) {
        const unsigned cores = std::thread::hardware_concurrency();
        o.threads = {1, 2};
        if (cores >= 4) o.threads.push_back(4);
        if (cores >= 8) o.threads.push_back(8);
    }
    for (unsigned must : {1u, 2u})
        if (std::find(o.threads.begin(), o.threads.end(), must) == o.threads.end()) o.threads.push_back(must);
    std::sort(o.threads.begin(), o.threads.end());
    o.threads.erase(std::unique(o.threads.begin(), o.threads.end()), o.threads.end());
    return o;
}

/// x with thousands separators, no decimals.
std::string grouped(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", x);
    std::string digits = buf, out;
    const std::size_t lead = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (i - lead) % 3 == 0 && i >= lead) out += ',';
        out += digits[i];
    }
    return out;
}

const char* verdict(bool met) { return met ? "met" : "NOT met"; }

std::string json_list(const std::vector<double>& xs) {
    std::string s = "[";
    for (std::size_t i = 0; i < xs.size(); ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", xs[i]);
        s += buf;
    }
    return s + "]";
}

} // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    // Freed memory kept for reuse (as kv_bench): a recorded pass reuses the pages its warm-up
    // touched instead of paying first-touch page faults.
    const bench::environment env("txn_bench", opt.quick, bench::keep_freed_memory());
    const workload w = make_workload(opt.n);
    const unsigned max_threads = opt.threads.back();
    const mix_workload mw = make_mix_workload(opt.keys, max_threads, opt.quick ? 4096 : std::size_t{1} << 18);
    const auto run_start = clock_type::now();

    double value_bytes = 0;
    for (const Plan& p : w.values) value_bytes += static_cast<double>(inmem::encode(p).size());
    value_bytes /= static_cast<double>(w.values.size());

    env.print_header();
    std::printf("database:   durability::none (in memory); key %zu bytes, value Plan %.0f bytes encoded\n", key_bytes,
                value_bytes);
    std::printf("workload:   single-thread rows: n %zu per row (10-put rows: n/10 groups), %zu state records, each\n"
                "            mode in a child process after %d warm-up pass%s; mix: %zu keys in one run, %.2f s per\n"
                "            thread count; median of %d repetition%s\n\n",
                w.n, w.names.size(), opt.warmup, opt.warmup == 1 ? "" : "es", mw.keys, opt.seconds, opt.reps,
                opt.reps == 1 ? "" : "s");
    std::fflush(stdout);

    // ---- measure
    using table = std::array<std::array<std::vector<double>, row_count>, mode_count>;
    table wall, cpu;
    std::array<std::array<double, row_count>, mode_count> allocs{};
    std::vector<std::vector<mix_sample>> mix(opt.threads.size());
    for (int rep = 0; rep < opt.reps; ++rep) {
        for (std::size_t k = 0; k < mode_count; ++k) {
            const auto md = static_cast<mode>((static_cast<std::size_t>(rep) + k) % mode_count);
            const sample s = measure_single(md, w, opt.warmup);
            for (std::size_t r = 0; r < row_count; ++r) {
                wall[md][r].push_back(s[r].wall_ns);
                cpu[md][r].push_back(s[r].cpu_ns);
                allocs[md][r] = s[r].allocations;
            }
        }
        std::vector<std::size_t> order(opt.threads.size()); // positions in opt.threads, rotated
        for (std::size_t k = 0; k < order.size(); ++k) order[k] = (k + static_cast<std::size_t>(rep)) % order.size();
        std::vector<unsigned> counts;
        for (std::size_t k : order) counts.push_back(opt.threads[k]);
        const std::vector<double> v =
            bench::in_child([&] { return run_mix(mw, counts, opt.seconds, opt.warmup > 0 ? std::min(0.2, opt.seconds) : 0); });
        if (v.size() != counts.size() * mix_sample::fields) throw std::runtime_error("txn_bench: short mix result");
        for (std::size_t k = 0; k < order.size(); ++k) mix[order[k]].push_back(mix_sample::from(v, k * mix_sample::fields));
        if (!opt.quick) {
            std::printf("repetition %d of %d done (%.0f s)\n", rep + 1, opt.reps,
                        std::chrono::duration<double>(clock_type::now() - run_start).count());
            std::fflush(stdout);
        }
    }
    const std::string load_end = bench::load_average();

    // ---- report
    std::array<std::array<double, row_count>, mode_count> wall_med{}, cpu_med{};
    for (std::size_t md = 0; md < mode_count; ++md)
        for (std::size_t r = 0; r < row_count; ++r) {
            wall_med[md][r] = bench::median(wall[md][r]);
            cpu_med[md][r] = bench::median(cpu[md][r]);
        }
    const auto& med = opt.cpu_time ? cpu_med : wall_med;
    double wall_sum = 0, cpu_sum = 0;
    for (std::size_t md = 0; md < mode_count; ++md)
        for (std::size_t r = 0; r < row_count; ++r)
            for (std::size_t i = 0; i < wall[md][r].size(); ++i) {
                wall_sum += wall[md][r][i];
                cpu_sum += cpu[md][r][i];
            }
    const double descheduled = wall_sum > 0 && cpu_sum > 0 ? std::max(0.0, 1 - cpu_sum / wall_sum) : 0;

    std::printf("%ssingle thread (median of %d, %s)\n", opt.quick ? "" : "\n", opt.reps,
                opt.cpu_time ? "thread CPU time" : "wall time; thread CPU time in brackets");
    std::printf("%-26s %-8s %20s %20s %16s %14s\n", "operation", "unit", "single_thread", "optimistic",
                opt.cpu_time ? "opt/st" : "opt/st (cpu)", "allocs st/opt");
    for (std::size_t r = 0; r < row_count; ++r) {
        char st[32], op[32], ratio[32];
        if (opt.cpu_time) {
            std::snprintf(st, sizeof st, "%.1f", med[single_thread][r]);
            std::snprintf(op, sizeof op, "%.1f", med[optimistic][r]);
            std::snprintf(ratio, sizeof ratio, "%.2fx", med[optimistic][r] / med[single_thread][r]);
        } else {
            std::snprintf(st, sizeof st, "%.1f (%.1f)", wall_med[single_thread][r], cpu_med[single_thread][r]);
            std::snprintf(op, sizeof op, "%.1f (%.1f)", wall_med[optimistic][r], cpu_med[optimistic][r]);
            std::snprintf(ratio, sizeof ratio, "%.2fx (%.2fx)", wall_med[optimistic][r] / wall_med[single_thread][r],
                          cpu_med[optimistic][r] / cpu_med[single_thread][r]);
        }
        std::printf("%-26s %-8s %20s %20s %16s %6.1f / %5.1f\n", row_names[r], row_units[r], st, op, ratio,
                    allocs[single_thread][r], allocs[optimistic][r]);
    }
    std::printf("descheduled: %.0f%% of the timed wall time went to other processes%s\n", 100 * descheduled,
                descheduled > 0.05 ? " (a busy machine: trust the ratios, or rerun; --cpu-time helps)" : "");

    std::vector<double> mix_rate(opt.threads.size()), mix_efficiency(opt.threads.size()), spin_rate(opt.threads.size()),
        mix_cores(opt.threads.size()), map_rate(opt.threads.size());
    std::printf("\nread-mostly mix, optimistic: %zu gets : 1 put, %zu keys in one run shared by all threads, each\n"
                "thread its own random key sequence; %.2f s per measurement (median of %d)\n",
                mix_gets, mw.keys, opt.seconds, opt.reps);
    std::printf("%-8s %12s %12s %10s %9s %6s %12s %9s %22s %8s %13s %9s\n", "threads", "ops/s", "gets/s", "puts/s",
                "vs 1 thr", "cores", "ops/cpu-s", "vs 1 thr", "per thread min..max", "overlap", "csw/s vol/inv",
                "spin vs 1");
    for (std::size_t k = 0; k < opt.threads.size(); ++k) {
        auto field = [&](double mix_sample::*f) {
            std::vector<double> v;
            for (const auto& s : mix[k]) v.push_back(s.*f);
            return bench::median(v);
        };
        mix_rate[k] = field(&mix_sample::ops_per_s);
        mix_efficiency[k] = field(&mix_sample::ops_per_cpu_s);
        spin_rate[k] = field(&mix_sample::spin_per_s);
        map_rate[k] = field(&mix_sample::map_per_s);
        mix_cores[k] = field(&mix_sample::cpu_cores);
        const double put_share = 1.0 / static_cast<double>(mix_gets + 1);
        char range[48];
        std::snprintf(range, sizeof range, "%s..%s", grouped(field(&mix_sample::slowest)).c_str(),
                      grouped(field(&mix_sample::fastest)).c_str());
        char switches[32];
        std::snprintf(switches, sizeof switches, "%.0f/%.0f", field(&mix_sample::waits_per_s),
                      field(&mix_sample::preempted_per_s));
        std::printf("%-8u %12s %12s %10s %8.2fx %6.2f %12s %8.2fx %22s %7.0f%% %13s %8.2fx%s\n", opt.threads[k],
                    grouped(mix_rate[k]).c_str(), grouped(mix_rate[k] * (1 - put_share)).c_str(),
                    grouped(mix_rate[k] * put_share).c_str(), mix_rate[k] / mix_rate[0], mix_cores[k],
                    grouped(mix_efficiency[k]).c_str(), mix_efficiency[k] / mix_efficiency[0], range,
                    100 * field(&mix_sample::overlap), switches, spin_rate[k] / spin_rate[0],
                    opt.threads[k] > env.cores ? "  (more threads than cores)" : "");
    }
    std::printf("ops/s = operations of all threads / (last thread's end - first thread's start); cores = the\n"
                "threads' CPU time / that interval (below the thread count: the threads waited or the machine\n"
                "was busy; csw/s tells which: voluntary switches are waits, involuntary ones preemption);\n"
                "ops/cpu-s = operations / the threads' CPU seconds (flat = no contention cost per operation);\n"
                "overlap = share of the interval during which every thread ran; spin vs 1 = how a loop that\n"
                "touches no memory scaled just before (what the machine allowed any code).\n");

    // ---- targets
    const double r_put_new = med[optimistic][put_new] / med[single_thread][put_new];
    const double r_put_over = med[optimistic][put_overwrite] / med[single_thread][put_overwrite];
    const double r_scale = mix_rate[1] / mix_rate[0]; // opt.threads is sorted and holds 1 and 2
    // What 2 threads would do with 2 cores of their own, from the work per CPU second.
    const double r_scale_cpu = 2 * mix_efficiency[1] / mix_efficiency[0];
    const double r_tx_rmw = med[optimistic][get_put_transact] / med[optimistic][get_put_plain];
    const double r_tx_begin = med[optimistic][get_put_begin] / med[optimistic][get_put_plain];
    const double r_tx_10 = med[optimistic][puts10_transact] / med[optimistic][puts10_plain];
    std::printf("\n%-44s %18s %8s %9s  %s\n", "target (optimistic unless said)", "figure", "ratio", "target", "met?");
    auto ns = [](double x) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.1f ns", x);
        return std::string(buf);
    };
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "put (new key) / single_thread's", ns(med[optimistic][put_new]).c_str(),
                r_put_new, "<= 1.3x", verdict(r_put_new <= 1.3));
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "put (overwrite) / single_thread's",
                ns(med[optimistic][put_overwrite]).c_str(), r_put_over, "<= 1.3x", verdict(r_put_over <= 1.3));
    std::printf("%-44s %18s %7.2fx %9s  %s%s\n", "read mix: 2 threads / 1 thread (ops/s)",
                (grouped(mix_rate[1]) + " /s").c_str(), r_scale, ">= 1.8x", verdict(r_scale >= 1.8),
                env.cores < 2 ? " (1 core: meaningless)" : env.cores < 4 ? " (2 cores: indicative)" : "");
    const double r_spin = spin_rate[1] / spin_rate[0];
    char spin_note[64];
    std::snprintf(spin_note, sizeof spin_note, "%s /s spin", grouped(spin_rate[1]).c_str());
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "  a spin loop on the same machine, 2 / 1", spin_note, r_spin, "",
                r_spin < 1.8 ? "(the machine did not give 2 cores)" : "");
    const double r_map = map_rate[1] / map_rate[0];
    char map_note[64];
    std::snprintf(map_note, sizeof map_note, "%s /s map", grouped(map_rate[1]).c_str());
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "  baseline: read-only flat_map lookups, 2 / 1", map_note, r_map, "",
                "(what this machine gives memory-bound reads)");
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "  the mix's scaling / the baseline's", "", r_scale / r_map, "", "");
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "  ops per CPU second x 2 (an estimate)",
                (grouped(mix_efficiency[1]) + " /cpu-s").c_str(), r_scale_cpu, ">= 1.8x",
                r_scale_cpu >= 1.8 ? "estimate met" : "estimate NOT met");
    if (mix_cores[1] < 1.8)
        std::printf("  (the estimate assumes 2 free cores cost no more per operation than the time-sliced threads\n"
                    "   here did, which share one core's caches: it leaves out cross-core cache-line traffic)\n");
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "state cas (success) / single_thread's",
                ns(med[optimistic][cas_success]).c_str(), med[optimistic][cas_success] / med[single_thread][cas_success],
                "-", "-");
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "state cas (fail, stale) / single_thread's",
                ns(med[optimistic][cas_failure]).c_str(), med[optimistic][cas_failure] / med[single_thread][cas_failure],
                "-", "-");
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "transact() get+put / plain get+put", ns(med[optimistic][get_put_transact]).c_str(),
                r_tx_rmw, "-", "-");
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "begin/commit get+put / plain get+put", ns(med[optimistic][get_put_begin]).c_str(),
                r_tx_begin, "-", "-");
    std::printf("%-44s %18s %7.2fx %9s  %s\n", "transact() of 10 puts / 10 plain puts", ns(med[optimistic][puts10_transact]).c_str(),
                r_tx_10, "-", "-");
    const double total_s = std::chrono::duration<double>(clock_type::now() - run_start).count();
    std::printf("\nload: %s at the end; the whole run took %.0f s\n", load_end.c_str(), total_s);

    if (!opt.json.empty()) {
        std::ofstream out(opt.json);
        if (!out) throw std::runtime_error("cannot write " + opt.json);
        out << "{\n" << env.json_members() << ",\n  \"n\": " << w.n
            << ",\n  \"mix_keys\": " << mw.keys << ",\n  \"mix_seconds\": " << opt.seconds
            << ",\n  \"repetitions\": " << opt.reps << ",\n  \"load_end\": " << bench::json_string(load_end) << ",\n  \"descheduled\": " << descheduled
            << ",\n  \"single_thread_rows\": [\n";
        for (std::size_t r = 0; r < row_count; ++r) {
            out << "    {\"op\": " << bench::json_string(row_names[r]) << ", \"unit\": " << bench::json_string(row_units[r]);
            for (std::size_t md = 0; md < mode_count; ++md)
                out << ", " << bench::json_string(mode_names[md]) << ": {\"median\": " << wall_med[md][r]
                    << ", \"cpu_median\": " << cpu_med[md][r] << ", \"allocs\": " << allocs[md][r]
                    << ", \"samples\": " << json_list(wall[md][r]) << ", \"cpu_samples\": " << json_list(cpu[md][r])
                    << "}";
            out << "}" << (r + 1 < row_count ? "," : "") << "\n";
        }
        out << "  ],\n  \"mix\": [\n";
        for (std::size_t k = 0; k < opt.threads.size(); ++k) {
            std::vector<double> rates, cores, efficiency, spin;
            for (const auto& s : mix[k]) {
                spin.push_back(s.spin_per_s);
                rates.push_back(s.ops_per_s);
                cores.push_back(s.cpu_cores);
                efficiency.push_back(s.ops_per_cpu_s);
            }
            out << "    {\"threads\": " << opt.threads[k] << ", \"median_ops_per_s\": " << mix_rate[k]
                << ", \"ops_per_s\": " << json_list(rates) << ", \"cpu_cores\": " << json_list(cores)
                << ", \"ops_per_cpu_second\": " << json_list(efficiency)
                << ", \"spin_per_s\": " << json_list(spin) << "}"
                << (k + 1 < opt.threads.size() ? "," : "") << "\n";
        }
        out << "  ],\n  \"ratios\": {\"put_new_optimistic_over_single_thread\": " << r_put_new
            << ", \"put_overwrite_optimistic_over_single_thread\": " << r_put_over
            << ", \"spin_2_threads_over_1\": " << r_spin << ", \"map_2_threads_over_1\": " << r_map << ", \"mix_2_threads_over_1\": " << r_scale << ", \"mix_2_threads_over_1_per_cpu_second_x2\": " << r_scale_cpu << ", \"transact_get_put_over_plain\": " << r_tx_rmw
            << ", \"begin_commit_get_put_over_plain\": " << r_tx_begin
            << ", \"transact_10_puts_over_plain\": " << r_tx_10 << "}\n}\n";
        if (!out) throw std::runtime_error("cannot write " + opt.json);
        std::printf("results written to %s\n", opt.json.c_str());
    }
    return 0;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "txn_bench: %s\n", e.what());
    usage(stderr);
    return 2;
} catch (const bench::child_failed& e) {
    std::fprintf(stderr, "txn_bench: a measurement failed: %s\n", e.what());
    return 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
