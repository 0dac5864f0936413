// compare_bench: inmem side by side with RocksDB, LMDB and SQLite, in one run, on the same
// workloads, each peer set up as its own documentation recommends for the durability level
// compared (see stores.hpp, and the configuration lines the program prints first):
//
//   batched  inmem durability::batched (100 ms) | RocksDB WAL, sync=false, FlushWAL(true) every
//            100 ms | LMDB MDB_NOSYNC, mdb_env_sync(env, 1) every 100 ms | SQLite WAL, synchronous=NORMAL
//   strict   inmem durability::strict | RocksDB sync=true | LMDB default | SQLite WAL, synchronous=FULL
//
// Workloads (24-byte keys, 150-byte values from a pool of 1024: bench::make_plans() as text, the
// agent values the other benchmarks store):
//   put        n puts of new keys in random order, each its own commit, batched (+ the final sync)
//   reopen     the put directory opened again (after the put workload closed it) and one get:
//              the time to be usable after n committed writes (inmem: WAL replay)
//   get        get hits, after n keys were loaded (in transactions of 1000): a warm-up pass,
//              then max(n, ops) gets in another random order
//   mix        read-mostly: 10 gets to 1 put (overwrite) on the n loaded keys, batched
//   append     n appends to one run's sequence, batched: inmem appends to the run's event log
//              (db.events().append: seq, time and SHA-256 hash chain at commit, the chain head
//              rewritten), the peers put key = run + big-endian sequence; read back by seq
//   cas        n compare-and-swaps, each reading one of 1024 versioned records and writing it
//              back with its counter + 1 if its version is still the one read, batched
//              (inmem: states<Rec>().read + cas; peers: read-check-write in one transaction)
//   strict1/4  commits for S seconds by 1 and 4 writer threads, strict (new keys, one put per commit)
//   rss        peak RSS (VmHWM) growth per 1M entries: n entries loaded and each read once,
//              less what the empty store held after opening
// Limits, in the same run: boost::unordered_flat_map insert and find (the same keys and
// values), write(180 B)+fdatasync in the same directory, memcpy bandwidth.
//
// Every measurement runs in a child process of its own (bench::in_child, fork): peers never share
// a heap, an RSS figure or a background thread, and a crash or hang (alarm) fails one row only. Each
// store works in a fresh directory under --dir, removed afterwards.
//
//   compare_bench [--quick | --full] [--n N] [--ops N] [--seconds S] [--reps R] [--dir DIR]
//                 [--json FILE] [--stores LIST] [--workloads LIST] [--max-seconds S]
#include "../common.hpp"
#include "stores.hpp"

#include <boost/unordered/unordered_flat_map.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <optional>
#include <random>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace {

using namespace compare;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// ----- options -----

struct options {
    std::size_t n = 200000;      // keys / writes per workload
    std::size_t ops = 500000;    // at least this many reads in get and mix
    double seconds = 2.0;        // each strict measurement and the fdatasync limit
    double max_seconds = 60;     // a count-bounded loop stops here (the row says so)
    int reps = 1;
    std::size_t records = 1024;  // cas records
    std::string dir;
    std::string json;
    std::vector<std::string> stores{"inmem", "rocksdb", "lmdb", "sqlite"};
    std::vector<std::string> workloads{"limits", "put", "reopen", "get", "mix", "append",
                                       "cas",    "strict1", "strict4", "rss"};
    bool quick = false;
    std::string mode = "default";
    std::string command;
};

void usage(std::FILE* to) {
    std::fputs(
        "usage: compare_bench [--quick | --full] [--n N] [--ops N] [--seconds S] [--reps R] [--dir DIR]\n"
        "                     [--json FILE] [--stores LIST] [--workloads LIST] [--max-seconds S]\n"
        "  --quick            a smoke test of some 30 s: n 20000, ops 100000, 0.5 s per strict row\n"
        "  --full             the issue's sizes: n 1000000 (get hit on 1M keys, reopen after 1M writes,\n"
        "                     RSS of 1M entries), ops 1000000, 3 s per strict row\n"
        "  --n N              keys / writes per workload (default 200000)\n"
        "  --ops N            at least this many operations in get and mix (default 500000)\n"
        "  --seconds S        duration of each strict row and of the fdatasync limit (default 2)\n"
        "  --reps R           repetitions; the table shows the median ops/s (default 1)\n"
        "  --dir DIR          where the stores work (default: the temp directory); a new directory\n"
        "                     is made in it and removed at the end\n"
        "  --json FILE        also write every result as JSON\n"
        "  --stores LIST      comma-separated subset of inmem,rocksdb,lmdb,sqlite\n"
        "  --workloads LIST   comma-separated subset of limits,put,reopen,get,mix,append,cas,strict1,\n"
        "                     strict4,rss (reopen needs put)\n"
        "  --max-seconds S    a count-bounded loop stops after S seconds (default 60)\n",
        to);
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

options parse(int argc, char** argv) {
    options o;
    bench::arguments args(argc, argv);
    o.command = args.command_line();
    if (args.has("--quick")) { // presets first: the other flags override them
        o.quick = true;
        o.mode = "quick";
        o.n = 20000;
        o.ops = 100000;
        o.seconds = 0.5;
        o.max_seconds = 10;
    }
    if (args.has("--full")) {
        o.mode = "full";
        o.n = 1000000;
        o.ops = 1000000;
        o.seconds = 3;
        o.max_seconds = 120;
    }
    while (args.next()) {
        if (args.is("--quick") || args.is("--full")) continue;
        if (args.is("--n")) o.n = static_cast<std::size_t>(args.positive());
        else if (args.is("--ops")) o.ops = static_cast<std::size_t>(args.positive());
        else if (args.is("--seconds")) o.seconds = args.positive();
        else if (args.is("--max-seconds")) o.max_seconds = args.positive();
        else if (args.is("--reps")) o.reps = static_cast<int>(args.positive());
        else if (args.is("--dir")) o.dir = args.value();
        else if (args.is("--json")) o.json = args.value();
        else if (args.is("--stores")) o.stores = bench::split_list(args.value());
        else if (args.is("--workloads")) o.workloads = bench::split_list(args.value());
        else if (args.is("--help") || args.is("-h")) {
            usage(stdout);
            std::exit(0);
        } else args.unknown();
    }
    for (const auto& s : o.stores)
        if (!contains({"inmem", "rocksdb", "lmdb", "sqlite"}, s)) throw std::invalid_argument("unknown store " + s);
    for (const auto& w : o.workloads)
        if (!contains({"limits", "put", "reopen", "get", "mix", "append", "cas", "strict1", "strict4", "rss"}, w))
            throw std::invalid_argument("unknown workload " + w);
    if (contains(o.workloads, "reopen") && !contains(o.workloads, "put"))
        throw std::invalid_argument("the reopen workload opens what put wrote: list put too");
    if (o.n < 16) throw std::invalid_argument("--n must be at least 16");
    return o;
}

// ----- the data -----

constexpr std::size_t value_pool_size = 1024;
constexpr std::size_t value_bytes = 150;

/// The agent values the other benchmarks store (bench::make_plans()), as the raw bytes the
/// peers keep: each plan's text cut or padded to exactly value_bytes.
std::vector<Value> make_values() {
    std::vector<Value> values;
    values.reserve(value_pool_size);
    for (std::string& payload : bench::make_plan_payloads(value_bytes, value_pool_size))
        values.push_back(Value{std::move(payload)});
    return values;
}

/// The ids 0..n-1 in a random order (seed picks which).
std::vector<std::uint32_t> shuffled(std::size_t n, std::uint64_t seed) {
    std::vector<std::uint32_t> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = static_cast<std::uint32_t>(i);
    std::mt19937_64 rng(seed);
    std::shuffle(ids.begin(), ids.end(), rng);
    return ids;
}

/// The keys of ids, laid out in that order: "agent:mem:" + 14 digits = 24 bytes.
key_set make_keys(const std::vector<std::uint32_t>& ids) {
    key_set k;
    k.bytes.resize(ids.size() * key_set::key_bytes);
    char buf[key_set::key_bytes + 8];
    for (std::size_t i = 0; i < ids.size(); ++i) {
        std::snprintf(buf, sizeof buf, "agent:mem:%014u", ids[i]);
        std::memcpy(k.bytes.data() + i * key_set::key_bytes, buf, key_set::key_bytes);
    }
    return k;
}

constexpr std::uint64_t seed_load = 1, seed_visit = 2, seed_cas = 3;

/// Writer thread t's keys: "agent:w<t>:" + 15 digits, counted up in place.
class thread_keys {
public:
    explicit thread_keys(unsigned t) {
        std::snprintf(buf_, sizeof buf_, "agent:w%01u:%015u", t % 10, 0u);
    }
    std::string_view current() const noexcept { return {buf_, key_set::key_bytes}; }
    void advance() noexcept {
        for (std::size_t i = key_set::key_bytes - 1; i >= 9; --i) {
            if (buf_[i] != '9') {
                ++buf_[i];
                return;
            }
            buf_[i] = '0';
        }
    }

private:
    char buf_[key_set::key_bytes + 8];
};

// ----- /proc and the file system -----

/// A field of /proc/self/status in kB (VmRSS, VmHWM).
double proc_status_kb(std::string_view field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':')
            return std::strtod(line.c_str() + field.size() + 1, nullptr);
    return 0;
}

/// Bytes allocated on disk under dir (st_blocks: sparse files count what they hold).
double disk_bytes(const fs::path& dir) {
    double total = 0;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode))
            total += static_cast<double>(st.st_blocks) * 512.0;
    }
    return total;
}

std::string statfs_type(const fs::path& dir) {
    struct statfs s {};
    if (statfs(dir.c_str(), &s) != 0) return "unknown";
    switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext2/3/4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    default: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "f_type 0x%lx", static_cast<unsigned long>(s.f_type));
        return buf;
    }
    }
}

std::string mount_of(const fs::path& dir) {
    const std::string canonical = fs::canonical(dir).string();
    std::ifstream in("/proc/mounts");
    std::string device, point, type, opts, rest, best_line = "unknown mount";
    std::size_t best = 0;
    while (in >> device >> point >> type >> opts) {
        std::getline(in, rest);
        const bool under = canonical == point || point == "/" ||
                           (canonical.rfind(point, 0) == 0 && canonical.size() > point.size() &&
                            canonical[point.size()] == '/');
        if (under && point.size() >= best) {
            best = point.size();
            best_line = type + " on " + device + " at " + point + " (" + opts + ")";
        }
    }
    return best_line;
}

// ----- measurements in a child process -----

using measurement = std::map<std::string, double>;

struct outcome {
    measurement m;
    std::string error;
    bool ok() const { return error.empty(); }
};

/// Runs f() -> measurement in a child process (bench::in_child, killed after timeout_s) and
/// returns what it measured, or why it failed.
template <class F>
outcome measure(F&& f, unsigned timeout_s) {
    outcome r;
    try {
        r.m = bench::in_child(std::forward<F>(f), timeout_s);
    } catch (const bench::child_failed& e) {
        r.error = e.what();
        return r;
    }
    if (!r.m.count("ops") || !r.m.count("seconds")) r.error = "the measurement returned no result";
    return r;
}

// ----- workloads (each runs in a child) -----

struct loop_clock {
    clock_type::time_point start = clock_type::now();
    double cpu_start = process_cpu_seconds();
    double max_seconds;
    explicit loop_clock(double max_s) : max_seconds(max_s) {}
    /// Checked every 256 operations: a count-bounded loop that runs too long stops.
    bool over(std::size_t i) const { return (i & 255) == 0 && i > 0 && seconds_since(start) > max_seconds; }
    void finish(measurement& m, std::size_t ops, std::size_t planned) const {
        m["seconds"] = seconds_since(start);
        m["cpu_cores"] = (process_cpu_seconds() - cpu_start) / m["seconds"];
        m["ops"] = static_cast<double>(ops);
        if (ops < planned) m["capped"] = 1;
    }
};

void check_value(bool found, const std::string& got, const Value& want, const char* what) {
    if (!found) fail(std::string(what) + ": a key written is missing");
    if (got != want.payload) fail(std::string(what) + ": a value read back differs from the one written");
}

template <class Store>
measurement w_put(const fs::path& dir, const options& o) {
    const auto values = make_values();
    const key_set keys = make_keys(shuffled(o.n, seed_load));
    measurement m;
    Store s(dir);
    std::size_t i = 0;
    loop_clock c(o.max_seconds);
    for (; i < o.n && !c.over(i); ++i) s.put(keys[i], values[i % values.size()]);
    s.sync();
    c.finish(m, i, o.n);
    std::string out;
    for (std::size_t k = 0; k < i; k += std::max<std::size_t>(1, i / 64)) check_value(s.get(keys[k], out), out, values[k % values.size()], "put");
    return m;
}

/// Opens what w_put wrote (`written` puts) and reads the last key written.
template <class Store>
measurement w_reopen(const fs::path& dir, const options& o, std::size_t written) {
    const auto values = make_values();
    const key_set keys = make_keys(shuffled(o.n, seed_load));
    measurement m;
    m["disk_bytes"] = disk_bytes(dir);
    std::string out;
    const auto start = clock_type::now();
    Store s(dir);
    const bool found = s.get(keys[written - 1], out);
    m["seconds"] = seconds_since(start);
    m["ops"] = static_cast<double>(written);
    check_value(found, out, values[(written - 1) % values.size()], "reopen");
    if constexpr (requires { s.recovery(); }) {
        m["recovery_took_s"] = std::chrono::duration<double>(s.recovery().took).count();
        m["commits_replayed"] = static_cast<double>(s.recovery().commits_applied);
        m["wal_bytes"] = static_cast<double>(s.recovery().wal_bytes);
    }
    check_value(s.get(keys[0], out), out, values[0], "reopen");
    return m;
}

template <class Store>
measurement w_get(const fs::path& dir, const options& o) {
    const auto values = make_values();
    const auto load_ids = shuffled(o.n, seed_load);
    const key_set keys = make_keys(load_ids);
    const auto visit_ids = shuffled(o.n, seed_visit);
    const key_set visit = make_keys(visit_ids);
    // The value each visited key must hold: load wrote values[i % pool] at load position i.
    std::vector<std::uint32_t> pos(o.n);
    for (std::size_t i = 0; i < o.n; ++i) pos[load_ids[i]] = static_cast<std::uint32_t>(i);
    Store s(dir);
    s.load(keys, o.n, values);
    s.sync();
    std::string out;
    for (std::size_t i = 0; i < o.n; ++i) // warm-up, checked
        check_value(s.get(visit[i], out), out, values[pos[visit_ids[i]] % values.size()], "get");
    const std::size_t ops = std::max(o.n, o.ops);
    std::size_t hits = 0, i = 0;
    measurement m;
    loop_clock c(o.max_seconds);
    for (std::size_t k = 0; i < ops && !c.over(i); ++i, ++k) {
        if (k == o.n) k = 0;
        hits += s.get(visit[k], out);
        bench::do_not_optimize(out.data());
    }
    c.finish(m, i, ops);
    if (hits != i) fail("get: a loaded key was not found");
    return m;
}

template <class Store>
measurement w_mix(const fs::path& dir, const options& o) {
    const auto values = make_values();
    const key_set keys = make_keys(shuffled(o.n, seed_load));
    const key_set visit = make_keys(shuffled(o.n, seed_visit));
    Store s(dir);
    s.load(keys, o.n, values);
    s.sync();
    const std::size_t ops = std::max(o.n, o.ops);
    std::size_t hits = 0, puts = 0, i = 0;
    std::string out;
    measurement m;
    loop_clock c(o.max_seconds);
    for (std::size_t k = 0; i < ops && !c.over(i); ++i, ++k) {
        if (k == o.n) k = 0;
        if (i % 11 == 10) {
            s.put(visit[k], values[(i * 7) % values.size()]);
            ++puts;
        } else {
            hits += s.get(visit[k], out);
            bench::do_not_optimize(out.data());
        }
    }
    s.sync();
    c.finish(m, i, ops);
    m["puts"] = static_cast<double>(puts);
    if (hits != i - puts) fail("mix: a loaded key was not found");
    return m;
}

template <class Store>
measurement w_append(const fs::path& dir, const options& o) {
    const auto values = make_values();
    Store s(dir);
    std::size_t i = 0;
    measurement m;
    loop_clock c(o.max_seconds);
    for (; i < o.n && !c.over(i); ++i) s.append(i, values[i % values.size()]);
    s.sync();
    c.finish(m, i, o.n);
    std::string out;
    check_value(s.read_append(0, out), out, values[0], "append");
    check_value(s.read_append(i - 1, out), out, values[(i - 1) % values.size()], "append");
    return m;
}

template <class Store>
measurement w_cas(const fs::path& dir, const options& o) {
    const auto values = make_values();
    std::vector<std::string> names(o.records);
    for (std::size_t r = 0; r < o.records; ++r) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "task:claim:%013zu", r);
        names[r] = buf;
    }
    std::vector<std::uint32_t> pick(o.n);
    std::mt19937_64 rng(seed_cas);
    for (auto& p : pick) p = static_cast<std::uint32_t>(rng() % o.records);
    Store s(dir);
    s.cas_setup(names, values[0]);
    s.sync();
    std::size_t ok = 0, i = 0;
    measurement m;
    loop_clock c(o.max_seconds);
    for (; i < o.n && !c.over(i); ++i) ok += s.cas(pick[i]);
    s.sync();
    c.finish(m, i, o.n);
    if (ok != i) fail("cas: a compare-and-swap failed with a single writer");
    std::uint64_t sum = 0;
    for (std::size_t r = 0; r < o.records; ++r) sum += s.cas_seq(r);
    if (sum != ok) fail("cas: the records' counters do not add up to the swaps made");
    return m;
}

template <class Store>
measurement w_strict(const fs::path& dir, const options& o, unsigned threads) {
    const auto values = make_values();
    Store s(dir, threads);
    std::vector<std::uint64_t> done(threads * 8); // one cache line apart
    std::vector<std::exception_ptr> errors(threads);
    std::atomic<bool> stop{false};
    std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            thread_keys key(t);
            std::uint64_t n = 0;
            ready.arrive_and_wait();
            try {
                while (!stop.load(std::memory_order_relaxed)) {
                    s.put(key.current(), values[n % values.size()], t);
                    key.advance();
                    ++n;
                }
            } catch (...) {
                errors[t] = std::current_exception();
            }
            done[t * 8] = n;
        });
    ready.arrive_and_wait();
    measurement m;
    loop_clock c(o.max_seconds);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    stop = true;
    for (auto& w : workers) w.join();
    for (const auto& e : errors)
        if (e) std::rethrow_exception(e);
    std::size_t total = 0;
    for (unsigned t = 0; t < threads; ++t) total += done[t * 8];
    c.finish(m, total, total);
    m["threads"] = threads;
    std::string out; // writer 0's first key (inmem: in writer 0's run, which get reads)
    check_value(s.get(thread_keys(0).current(), out), out, values[0], "strict");
    return m;
}

template <class Store>
measurement w_rss(const fs::path& dir, const options& o) {
    const auto values = make_values();
    const key_set keys = make_keys(shuffled(o.n, seed_load));
    std::string out;
    out.reserve(256);
    const double base_kb = proc_status_kb("VmRSS");
    measurement m;
    const auto start = clock_type::now();
    {
        Store s(dir);
        // What an empty store holds (threads' stacks, caches set up front) is not per entry.
        m["open_kb"] = proc_status_kb("VmRSS") - base_kb;
        s.load(keys, o.n, values);
        s.sync();
        for (std::size_t i = 0; i < o.n; ++i) check_value(s.get(keys[i], out), out, values[i % values.size()], "rss");
        m["rss_end_kb"] = proc_status_kb("VmRSS") - base_kb;
        m["hwm_kb"] = proc_status_kb("VmHWM") - base_kb;
    }
    m["seconds"] = seconds_since(start);
    m["ops"] = static_cast<double>(o.n);
    m["disk_bytes"] = disk_bytes(dir);
    m["bytes_per_entry"] = (m["hwm_kb"] - m["open_kb"]) * 1024.0 / static_cast<double>(o.n);
    return m;
}

// ----- limits -----

/// Transparent, so find() takes the string_view keys without building a std::string.
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return boost::hash<std::string_view>()(s); }
};
using flat_map = boost::unordered_flat_map<std::string, std::string, string_hash, std::equal_to<>>;

measurement l_flat_put(const options& o) {
    const auto values = make_values();
    const key_set keys = make_keys(shuffled(o.n, seed_load));
    flat_map map;
    measurement m;
    loop_clock c(o.max_seconds);
    for (std::size_t i = 0; i < o.n; ++i) map.insert_or_assign(std::string(keys[i]), values[i % values.size()].payload);
    c.finish(m, o.n, o.n);
    bench::do_not_optimize(map.size());
    return m;
}

measurement l_flat_get(const options& o) {
    const auto values = make_values();
    const key_set keys = make_keys(shuffled(o.n, seed_load));
    const key_set visit = make_keys(shuffled(o.n, seed_visit));
    flat_map map;
    for (std::size_t i = 0; i < o.n; ++i) map.insert_or_assign(std::string(keys[i]), values[i % values.size()].payload);
    std::string out;
    for (std::size_t i = 0; i < o.n; ++i) out = map.find(visit[i])->second; // warm-up
    const std::size_t ops = std::max(o.n, o.ops);
    std::size_t hits = 0;
    measurement m;
    loop_clock c(o.max_seconds);
    for (std::size_t i = 0, k = 0; i < ops; ++i, ++k) {
        if (k == o.n) k = 0;
        const auto it = map.find(visit[k]);
        if (it != map.end()) {
            out.assign(it->second);
            ++hits;
        }
        bench::do_not_optimize(out.data());
    }
    c.finish(m, ops, ops);
    if (hits != ops) fail("flat_map: a key is missing");
    return m;
}

measurement l_flat_rss(const options& o) {
    const auto values = make_values();
    const key_set keys = make_keys(shuffled(o.n, seed_load));
    const double base_kb = proc_status_kb("VmRSS");
    measurement m;
    const auto start = clock_type::now();
    {
        flat_map map;
        for (std::size_t i = 0; i < o.n; ++i) map.insert_or_assign(std::string(keys[i]), values[i % values.size()].payload);
        m["rss_end_kb"] = proc_status_kb("VmRSS") - base_kb;
        m["hwm_kb"] = proc_status_kb("VmHWM") - base_kb;
    }
    m["open_kb"] = 0;
    m["seconds"] = seconds_since(start);
    m["ops"] = static_cast<double>(o.n);
    m["disk_bytes"] = 0;
    m["bytes_per_entry"] = m["hwm_kb"] * 1024.0 / static_cast<double>(o.n);
    return m;
}

/// write(180 bytes) + fdatasync for o.seconds on a new O_APPEND file in dir.
measurement l_fdatasync(const fs::path& dir, const options& o) {
    fs::create_directories(dir);
    const fs::path file = dir / "raw.log";
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create " + file.string());
    char buf[180];
    std::memset(buf, 'x', sizeof buf);
    std::size_t n = 0;
    measurement m;
    loop_clock c(o.max_seconds);
    do {
        if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) fail("raw write failed");
        if (::fdatasync(fd) != 0) fail("raw fdatasync failed");
        ++n;
    } while (seconds_since(c.start) < o.seconds);
    c.finish(m, n, n);
    ::close(fd);
    return m;
}

/// memcpy of a 64 MiB buffer, repeated: ops are 174-byte records (a key and a value).
measurement l_memcpy(const options& o) {
    const std::size_t bytes = std::size_t{64} << 20;
    std::vector<char> src(bytes, 'a'), dst(bytes, 'b');
    std::memcpy(dst.data(), src.data(), bytes); // touch both
    const int rounds = o.quick ? 8 : 32;
    measurement m;
    loop_clock c(o.max_seconds);
    for (int r = 0; r < rounds; ++r) {
        src[static_cast<std::size_t>(r)] = static_cast<char>(r);
        std::memcpy(dst.data(), src.data(), bytes);
        bench::do_not_optimize(dst.data());
    }
    c.finish(m, 0, 0);
    const double total = static_cast<double>(bytes) * rounds;
    m["bytes_per_s"] = total / m["seconds"];
    m["ops"] = total / (key_set::key_bytes + value_bytes);
    return m;
}

// ----- rows and what runs them -----

struct row {
    std::string workload;  // put, reopen, get, ...
    std::string durability; // batched, strict, "-"
    std::string store;      // inmem, rocksdb, ..., or a limit: flat_map, fdatasync, memcpy
    bool limit = false;
    std::vector<outcome> samples;
    // Medians over the successful samples.
    double ops_per_s = 0, ns_per_op = 0, value = 0; // value: rss MiB per 1M entries
    std::string error;
    measurement first; // the sample nearest the median, for the notes
};

struct workload_info {
    const char* id;
    const char* title;
    const char* durability;
};

constexpr workload_info workload_table[] = {
    {"put", "put (new key, random order)", "batched"},
    {"reopen", "reopen after the put rows' commits", "batched"},
    {"get", "get hit", "batched"},
    {"mix", "read-mostly, 10 get : 1 put", "batched"},
    {"append", "append to a run's sequence (inmem: event log)", "batched"},
    {"cas", "cas of a versioned record", "batched"},
    {"strict1", "strict commit, 1 writer", "strict"},
    {"strict4", "strict commit, 4 writers", "strict"},
    {"rss", "peak RSS per 1M entries (MiB, lower is better)", "batched"},
    {"memcpy", "memcpy bandwidth", "-"},
};

const workload_info& info_of(std::string_view id) {
    for (const auto& w : workload_table)
        if (id == w.id) return w;
    fail("no workload " + std::string(id));
}

template <template <level> class Store>
measurement run_workload(const std::string& w, const fs::path& dir, const options& o, std::size_t written) {
    if (w == "put") return w_put<Store<level::batched>>(dir, o);
    if (w == "reopen") return w_reopen<Store<level::batched>>(dir, o, written);
    if (w == "get") return w_get<Store<level::batched>>(dir, o);
    if (w == "mix") return w_mix<Store<level::batched>>(dir, o);
    if (w == "append") return w_append<Store<level::batched>>(dir, o);
    if (w == "cas") return w_cas<Store<level::batched>>(dir, o);
    if (w == "strict1") return w_strict<Store<level::strict>>(dir, o, 1);
    if (w == "strict4") return w_strict<Store<level::strict>>(dir, o, 4);
    if (w == "rss") return w_rss<Store<level::batched>>(dir, o);
    fail("no workload " + w);
}

measurement run_store(const std::string& store, const std::string& w, const fs::path& dir, const options& o,
                      std::size_t written) {
    if (store == "inmem") return run_workload<inmem_store>(w, dir, o, written);
    if (store == "rocksdb") return run_workload<rocksdb_store>(w, dir, o, written);
    if (store == "lmdb") return run_workload<lmdb_store>(w, dir, o, written);
    if (store == "sqlite") return run_workload<sqlite_store>(w, dir, o, written);
    fail("no store " + store);
}

double median_of(std::vector<double> v) { return bench::median(std::move(v)); }

void summarise(row& r) {
    std::vector<double> rates, values;
    for (const auto& s : r.samples) {
        if (!s.ok()) {
            if (r.error.empty()) r.error = s.error;
            continue;
        }
        const double ops = s.m.at("ops"), secs = s.m.at("seconds");
        rates.push_back(secs > 0 ? ops / secs : 0);
        if (s.m.count("bytes_per_entry")) values.push_back(s.m.at("bytes_per_entry") * 1e6 / (1 << 20));
    }
    if (rates.empty()) return;
    r.error.clear();
    r.ops_per_s = median_of(rates);
    r.ns_per_op = r.ops_per_s > 0 ? 1e9 / r.ops_per_s : 0;
    if (!values.empty()) r.value = median_of(values);
    double best = -1;
    for (const auto& s : r.samples)
        if (s.ok()) {
            const double rate = s.m.at("ops") / s.m.at("seconds");
            if (best < 0 || std::abs(rate - r.ops_per_s) < std::abs(best - r.ops_per_s)) {
                best = rate;
                r.first = s.m;
            }
        }
}

bool is_rss(const row& r) { return r.workload == "rss"; }

/// inmem / r: on ops/s (higher: inmem faster), or on MiB for rss (lower: inmem smaller).
std::optional<double> ratio(const std::vector<row>& rows, const row& r) {
    if (!r.error.empty() || r.store == "inmem" || r.workload == "memcpy") return std::nullopt;
    for (const auto& x : rows)
        if (x.store == "inmem" && x.workload == r.workload && x.error.empty()) {
            if (is_rss(r)) return r.value > 0 ? std::optional(x.value / r.value) : std::nullopt;
            return r.ops_per_s > 0 ? std::optional(x.ops_per_s / r.ops_per_s) : std::nullopt;
        }
    return std::nullopt;
}

std::string thousands(double v) {
    if (!(v >= 0)) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    std::string s = buf, out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i && (s.size() - i) % 3 == 0) out += ',';
        out += s[i];
    }
    return out;
}

std::string fixed(double v, int digits) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

std::string note_of(const row& r) {
    const auto& m = r.first;
    auto get = [&](const char* k) { return m.count(k) ? m.at(k) : 0.0; };
    std::string n;
    if (r.workload == "reopen") {
        n = "open+get " + fixed(get("seconds") * 1e3, 1) + " ms, disk " + fixed(get("disk_bytes") / 1e6, 1) + " MB";
        if (m.count("recovery_took_s"))
            n += ", replay " + fixed(get("recovery_took_s") * 1e3, 1) + " ms of " + thousands(get("commits_replayed")) +
                 " commits";
    } else if (r.workload == "rss") {
        n = fixed(r.value, 1) + " MiB/1M (" + fixed(get("bytes_per_entry"), 0) + " B/entry), disk " +
            fixed(get("disk_bytes") * 1e6 / std::max(1.0, get("ops")) / (1 << 20), 1) + " MiB/1M";
    } else if (r.workload == "memcpy") {
        n = fixed(get("bytes_per_s") / 1e9, 2) + " GB/s (ops: 174-byte records)";
    } else {
        n = "cpu " + fixed(get("cpu_cores"), 2) + " cores";
        if (r.workload == "put" || r.workload == "append" || r.workload == "cas" || r.workload == "get" ||
            r.workload == "mix")
            n += ", " + thousands(get("ops")) + " ops";
        if (r.workload == "append" && r.store == "inmem") n += ", db.events().append, hash-chained";
        if (get("capped") != 0) n += ", stopped at --max-seconds";
    }
    if (r.limit) n = "limit; " + n;
    if (r.samples.size() > 1) n += ", median of " + std::to_string(r.samples.size());
    return n;
}

void print_table(const std::vector<row>& rows) {
    std::printf("\n%-48s %-9s %-10s %14s %12s %9s  %s\n", "workload", "store", "durability", "ops/s", "ns/op",
                "inmem/x", "note");
    std::printf("%s\n", std::string(150, '-').c_str());
    std::string last;
    for (const auto& r : rows) {
        if (!last.empty() && last != r.workload) std::printf("\n");
        last = r.workload;
        const auto& w = info_of(r.workload);
        if (!r.error.empty()) {
            std::printf("%-48s %-9s %-10s %14s %12s %9s  FAILED: %s\n", w.title, r.store.c_str(),
                        r.durability.c_str(), "-", "-", "-", r.error.c_str());
            continue;
        }
        const auto q = ratio(rows, r);
        const std::string rs = q ? fixed(*q, 2) + "x" : "-";
        if (is_rss(r))
            std::printf("%-48s %-9s %-10s %14s %12s %9s  %s\n", w.title, r.store.c_str(), r.durability.c_str(),
                        fixed(r.value, 1).c_str(), "", rs.c_str(), note_of(r).c_str());
        else
            std::printf("%-48s %-9s %-10s %14s %12s %9s  %s\n", w.title, r.store.c_str(), r.durability.c_str(),
                        thousands(r.ops_per_s).c_str(), fixed(r.ns_per_op, r.ns_per_op < 100 ? 1 : 0).c_str(),
                        rs.c_str(), note_of(r).c_str());
    }
    std::printf("%s\n", std::string(150, '-').c_str());
    std::printf("inmem/x: inmem's ops/s over the row's (above 1: inmem faster); for RSS, inmem's MiB over the "
                "row's (below 1: inmem smaller).\n");
}

struct target {
    std::string what;
    std::string goal;
    double ratio = 0; // inmem / the peer named
    std::string peer;
    bool met = false;
    bool known = false;
};

std::vector<target> targets(const std::vector<row>& rows) {
    auto find = [&](const std::string& w, const std::string& s) -> const row* {
        for (const auto& r : rows)
            if (r.workload == w && r.store == s && r.error.empty()) return &r;
        return nullptr;
    };
    auto vs_best = [&](const std::string& w, const std::string& what, double need, bool strictly) {
        target t{what, (strictly ? "> " : ">= ") + fixed(need, 0) + "x the best peer", 0, "", false, false};
        const row* in = find(w, "inmem");
        const row* best = nullptr;
        for (const char* p : {"rocksdb", "lmdb", "sqlite"})
            if (const row* r = find(w, p); r && (!best || r->ops_per_s > best->ops_per_s)) best = r;
        if (in && best && best->ops_per_s > 0) {
            t.known = true;
            t.peer = best->store;
            t.ratio = in->ops_per_s / best->ops_per_s;
            t.met = strictly ? t.ratio > need : t.ratio >= need;
        }
        return t;
    };
    auto vs = [&](const std::string& w, const std::string& what, const std::string& peer, bool strictly) {
        target t{what, (strictly ? "> " : ">= ") + std::string("1x ") + peer, 0, peer, false, false};
        const row* in = find(w, "inmem");
        const row* p = find(w, peer);
        if (in && p && p->ops_per_s > 0) {
            t.known = true;
            t.ratio = in->ops_per_s / p->ops_per_s;
            t.met = strictly ? t.ratio > 1 : t.ratio >= 1;
        }
        return t;
    };
    return {vs_best("put", "put (batched)", 3, false), vs("get", "get hit", "lmdb", false),
            vs_best("strict1", "strict commits, 1 writer", 1, false),
            vs_best("strict4", "strict commits, 4 writers", 1, true),
            vs("reopen", "recovery vs RocksDB reopen", "rocksdb", true)};
}

void print_targets(const std::vector<target>& ts) {
    std::printf("\nTargets of issue 5 (goals, not tests):\n");
    for (const auto& t : ts) {
        if (!t.known) {
            std::printf("  %-30s %-24s not measured\n", t.what.c_str(), t.goal.c_str());
            continue;
        }
        std::printf("  %-30s %-24s inmem/%s = %sx: %s\n", t.what.c_str(), t.goal.c_str(), t.peer.c_str(),
                    fixed(t.ratio, 2).c_str(), t.met ? "met" : "missed");
    }
}

std::string json_number(double v) {
    if (!std::isfinite(v)) return "null";
    char buf[48];
    std::snprintf(buf, sizeof buf, "%.6g", v);
    return buf;
}

void write_json(const std::string& path, const options& o, const bench::environment& env, const std::string& fsinfo,
                const std::string& load_end,
                const std::map<std::string, std::string>& configs, const std::vector<row>& rows,
                const std::vector<target>& ts, double total_s) {
    std::ofstream out(path);
    out << "{\n" << env.json_members()
        << ",\n  \"command\": " << bench::json_string(o.command) << ",\n  \"mode\": " << bench::json_string(o.mode)
        << ",\n  \"filesystem\": " << bench::json_string(fsinfo)
        << ",\n  \"load_end\": " << bench::json_string(load_end) << ",\n  \"n\": " << o.n
        << ",\n  \"ops\": " << o.ops << ",\n  \"strict_seconds\": " << json_number(o.seconds)
        << ",\n  \"reps\": " << o.reps << ",\n  \"key_bytes\": " << key_set::key_bytes
        << ",\n  \"value_bytes\": " << value_bytes << ",\n  \"cas_records\": " << o.records
        << ",\n  \"versions\": {\"rocksdb\": " << bench::json_string(rocksdb_version())
        << ", \"lmdb\": " << bench::json_string(MDB_VERSION_STRING)
        << ", \"sqlite\": " << bench::json_string(sqlite3_libversion()) << "},\n  \"configs\": {";
    bool first = true;
    for (const auto& [k, v] : configs) {
        out << (first ? "\n" : ",\n") << "    " << bench::json_string(k) << ": " << bench::json_string(v);
        first = false;
    }
    out << "\n  },\n  \"results\": [";
    first = true;
    for (const auto& r : rows) {
        const auto q = ratio(rows, r);
        out << (first ? "\n" : ",\n") << "    {\"workload\": " << bench::json_string(r.workload)
            << ", \"title\": " << bench::json_string(info_of(r.workload).title)
            << ", \"store\": " << bench::json_string(r.store)
            << ", \"durability\": " << bench::json_string(r.durability) << ", \"limit\": " << (r.limit ? "true" : "false");
        if (!r.error.empty()) out << ", \"error\": " << bench::json_string(r.error);
        else {
            out << ", \"ops_per_s\": " << json_number(r.ops_per_s) << ", \"ns_per_op\": " << json_number(r.ns_per_op);
            if (is_rss(r)) out << ", \"mib_per_1m_entries\": " << json_number(r.value);
            out << ", \"ratio_inmem_over_this\": " << (q ? json_number(*q) : "null");
        }
        out << ",\n     \"samples\": [";
        for (std::size_t i = 0; i < r.samples.size(); ++i) {
            const auto& s = r.samples[i];
            out << (i ? ", " : "") << "{";
            if (!s.ok()) out << "\"error\": " << bench::json_string(s.error);
            else {
                bool f = true;
                for (const auto& [k, v] : s.m) {
                    out << (f ? "" : ", ") << bench::json_string(k) << ": " << json_number(v);
                    f = false;
                }
            }
            out << "}";
        }
        out << "]}";
        first = false;
    }
    out << "\n  ],\n  \"targets\": [";
    for (std::size_t i = 0; i < ts.size(); ++i) {
        const auto& t = ts[i];
        out << (i ? ",\n" : "\n") << "    {\"what\": " << bench::json_string(t.what)
            << ", \"goal\": " << bench::json_string(t.goal) << ", \"measured\": " << (t.known ? "true" : "false");
        if (t.known)
            out << ", \"peer\": " << bench::json_string(t.peer) << ", \"ratio\": " << json_number(t.ratio)
                << ", \"met\": " << (t.met ? "true" : "false");
        out << "}";
    }
    out << "\n  ],\n  \"total_s\": " << json_number(total_s) << "\n}\n";
    if (!out) fail("cannot write " + path);
}

} // namespace

int main(int argc, char** argv) try {
    const options o = parse(argc, argv);
    const auto t_start = clock_type::now();
    const bench::environment env("compare_bench", o.quick); // malloc as the peers find it

    // The working directory: a new one in --dir (or the temp directory), removed at the end.
    const fs::path parent = o.dir.empty() ? fs::temp_directory_path() : fs::path(o.dir);
    fs::create_directories(parent);
    std::string tmpl = (parent / "inmem-compare-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("cannot create a directory in " + parent.string());
    const fs::path root = tmpl;
    struct remove_root {
        fs::path p;
        ~remove_root() {
            std::error_code ec;
            fs::remove_all(p, ec);
        }
    } cleanup{root};

    const std::string fsinfo = statfs_type(root) + "; " + mount_of(root);
    std::map<std::string, std::string> configs = {
        {"inmem batched", inmem_store<level::batched>::describe()},
        {"inmem strict", inmem_store<level::strict>::describe()},
        {"rocksdb batched", rocksdb_store<level::batched>::describe()},
        {"rocksdb strict", rocksdb_store<level::strict>::describe()},
        {"lmdb batched", lmdb_store<level::batched>::describe()},
        {"lmdb strict", lmdb_store<level::strict>::describe()},
        {"sqlite batched", sqlite_store<level::batched>::describe()},
        {"sqlite strict", sqlite_store<level::strict>::describe()},
    };

    env.print_header();
    std::printf("against:    RocksDB %s, LMDB (%s), SQLite %s\n", rocksdb_version().c_str(), MDB_VERSION_STRING,
                sqlite3_libversion());
    std::printf("directory:  %s\n", root.c_str());
    std::printf("filesystem: %s\n", fsinfo.c_str());
    std::printf("workload:   mode %s: n %zu, ops %zu, strict rows %.1f s, %d repetition(s); %zu-byte keys, %zu-byte "
                "values (bench::make_plans() as text)\n",
                o.mode.c_str(), o.n, o.ops, o.seconds, o.reps, key_set::key_bytes, value_bytes);
    std::printf("configurations:\n");
    for (const auto& [k, v] : configs) std::printf("  %-16s %s\n", k.c_str(), v.c_str());
    std::fflush(stdout);

    const unsigned timeout = static_cast<unsigned>(o.max_seconds * 4 + 120);
    std::vector<row> rows;
    auto progress = [](const row& r, const outcome& s) {
        if (s.ok())
            std::fprintf(stderr, "  %-8s %-10s %-8s %14s ops/s  (%.2f s)\n", r.workload.c_str(), r.store.c_str(),
                         r.durability.c_str(), thousands(s.m.at("ops") / s.m.at("seconds")).c_str(),
                         s.m.at("seconds"));
        else
            std::fprintf(stderr, "  %-8s %-10s %-8s FAILED: %s\n", r.workload.c_str(), r.store.c_str(),
                         r.durability.c_str(), s.error.c_str());
    };
    auto add_limit = [&](const std::string& workload, const std::string& name, auto f) {
        row r{workload, info_of(workload).durability, name, true, {}, 0, 0, 0, {}, {}};
        for (int rep = 0; rep < o.reps; ++rep) {
            r.samples.push_back(measure(f, timeout));
            progress(r, r.samples.back());
        }
        summarise(r);
        rows.push_back(std::move(r));
    };

    int dir_seq = 0;
    auto fresh_dir = [&](const std::string& w, const std::string& s) {
        return root / (w + "-" + s + "-" + std::to_string(dir_seq++));
    };

    for (const auto& wt : workload_table) {
        const std::string w = wt.id;
        if (w == "reopen" || w == "memcpy") continue; // reopen runs with put; memcpy with the limits
        if (!contains(o.workloads, w)) continue;
        std::fprintf(stderr, "%s\n", wt.title);
        std::vector<row> group, reopen_group;
        for (const auto& s : o.stores) {
            group.push_back(row{w, wt.durability, s, false, {}, 0, 0, 0, {}, {}});
            reopen_group.push_back(row{"reopen", "batched", s, false, {}, 0, 0, 0, {}, {}});
        }
        const bool with_reopen = w == "put" && contains(o.workloads, "reopen");
        for (int rep = 0; rep < o.reps; ++rep)
            for (std::size_t k = 0; k < o.stores.size(); ++k) {
                const std::string& s = o.stores[k];
                const fs::path dir = fresh_dir(w, s);
                group[k].samples.push_back(
                    measure([&] { return run_store(s, w, dir, o, 0); }, timeout));
                progress(group[k], group[k].samples.back());
                if (with_reopen && group[k].samples.back().ok()) {
                    const auto written = static_cast<std::size_t>(group[k].samples.back().m.at("ops"));
                    reopen_group[k].samples.push_back(
                        measure([&] { return run_store(s, "reopen", dir, o, written); }, timeout));
                    progress(reopen_group[k], reopen_group[k].samples.back());
                }
                std::error_code ec;
                fs::remove_all(dir, ec);
            }
        // The limits beside the workloads they bound.
        for (auto& r : group) {
            summarise(r);
            rows.push_back(std::move(r));
        }
        if (contains(o.workloads, "limits")) {
            if (w == "put") add_limit("put", "flat_map", [&] { return l_flat_put(o); });
            if (w == "get") add_limit("get", "flat_map", [&] { return l_flat_get(o); });
            if (w == "strict1") {
                const fs::path dir = fresh_dir("fdatasync", "raw");
                add_limit("strict1", "fdatasync", [&] { return l_fdatasync(dir, o); });
                std::error_code ec;
                fs::remove_all(dir, ec);
            }
            if (w == "rss") add_limit("rss", "flat_map", [&] { return l_flat_rss(o); });
        }
        if (with_reopen)
            for (auto& r : reopen_group) {
                summarise(r);
                rows.push_back(std::move(r));
            }
    }
    if (contains(o.workloads, "limits")) {
        std::fprintf(stderr, "memcpy bandwidth\n");
        add_limit("memcpy", "memcpy", [&] { return l_memcpy(o); });
    }
    // Table order: as workload_table lists them.
    std::stable_sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
        auto at = [](const row& r) {
            for (std::size_t i = 0; i < std::size(workload_table); ++i)
                if (r.workload == workload_table[i].id) return i;
            return std::size(workload_table);
        };
        return at(a) < at(b);
    });

    print_table(rows);
    const auto ts = targets(rows);
    print_targets(ts);
    const double total_s = seconds_since(t_start);
    const std::string load_end = bench::load_average();
    std::printf("\ntotal %.1f s; load average at start %s, at end %s\n", total_s, env.load_start.c_str(),
                load_end.c_str());
    if (!o.json.empty()) {
        write_json(o.json, o, env, fsinfo, load_end, configs, rows, ts, total_s);
        std::printf("results written to %s\n", o.json.c_str());
    }
    bool failed = false;
    for (const auto& r : rows) failed = failed || !r.error.empty();
    return failed ? 1 : 0;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "compare_bench: %s\n", e.what());
    usage(stderr);
    return 2;
} catch (const std::exception& e) {
    std::fprintf(stderr, "compare_bench: %s\n", e.what());
    return 1;
}
