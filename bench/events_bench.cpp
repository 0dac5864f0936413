// events_bench: what the event log (db.events(), primitives/events.hpp) costs, against what
// the rest of inmem and libcrypto do with the same bytes. In one run, one line of figures:
//
//   events: append <N>/s, kv put <N>/s, read <N>/s, verify <N> MB/s, sha256 <N> MB/s
//
// then the ratios against issue 11's targets (append / kv put >= 0.7, verify / sha256 >= 0.7)
// and the detail.
//
//   events_bench [--n N] [--reps R] [--warmup W] [--dir DIR] [--cpu-time] [--quick]
//
// - append: n events appended to one run, one commit each (log.append(run, plan)), no labels;
// - kv put: n puts of new keys (bench::plan_key(i), 24 bytes, in order) in one run, one commit
//   each, of the same values: the same setup, so the two compare like for like;
// - read: the whole log read back in pages of 100 (log.read(run, {.from = s, .limit = 100})),
//   every event decoded;
// - verify: log.verify(run) over the whole log: report.bytes / wall time;
// - sha256: inmem::detail::sha256 alone (the hasher verify uses) over the same messages
//   verify hashes (prev_hash 32 + header 32 + labels and payload as stored), one digest each,
//   rebuilt from the read entries and each checked against the hash the log stored.
//
// Method: every database is inmem::basic_database<schema> with its default durability
// (durability::batched: a commit returns once logged in memory, a background thread
// fdatasyncs every 100 ms), opened in a new directory under DIR (default: the temp
// directory) with open_options{.snapshot_after_bytes = 0}; the values are bench::make_plans()'
// plans (149 bytes encoded), value i = plans[i % 1024], the same for both. A measurement runs
// in a child process of its own (bench::in_child), after `warmup` unrecorded passes there
// (each on a database of its own, removed after); the append child then reads, verifies and
// hashes the log it appended. A repetition measures append then kv put, or kv put then append
// (alternating), so that the machine's noise falls on both; the figures are medians over the
// repetitions of n / wall time (steady_clock) of the timed loop alone (with --cpu-time: the
// thread's CPU time, for a busy machine; the detail gives the CPU-time ratios either way); the
// db.sync() after it is timed apart. Freed memory is kept for reuse (bench::keep_freed_memory,
// as kv_bench).
#include "common.hpp"

#include <inmem/crypto/sha256.hpp>
#include <inmem/inmem.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <unistd.h>

namespace fs = std::filesystem;

using bench::Plan;

using bench_schema = inmem::schema<inmem::kv<Plan>, inmem::events<Plan>>;
using bench_db = inmem::basic_database<bench_schema>;
static_assert(std::is_same_v<bench_db::durability_policy, inmem::durability::batched>,
              "the default durability is batched");

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("events_bench: check failed: " + what); }

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

constexpr std::size_t page_size = 100;

/// Keys plan_key(first), plan_key(first + 1), ... made in place (no allocation per key).
class key_maker {
public:
    explicit key_maker(std::uint64_t first) {
        const std::string key = bench::plan_key(first);
        std::memcpy(buf_, key.data(), bench::plan_key_bytes);
    }
    std::string_view current() const noexcept { return {buf_, bench::plan_key_bytes}; }
    void advance() noexcept {
        for (std::size_t i = bench::plan_key_bytes - 1; i >= 11; --i) {
            if (buf_[i] != '9') {
                ++buf_[i];
                return;
            }
            buf_[i] = '0';
        }
    }

private:
    char buf_[bench::plan_key_bytes + 8];
};

inmem::open_options bench_options() {
    inmem::open_options o;
    o.snapshot_after_bytes = 0; // no automatic snapshot while measuring
    return o;
}

struct workload {
    std::size_t n = 0;
    std::vector<Plan> values;
    std::uint64_t budget_sum = 0; // of values(0..n-1): what the read pass must add up to
    const Plan& value(std::size_t i) const { return values[i % values.size()]; }
};

/// One database's directory, removed (with what it holds) when destroyed.
struct scoped_dir {
    fs::path path;
    explicit scoped_dir(fs::path p) : path(std::move(p)) {}
    scoped_dir(const scoped_dir&) = delete;
    scoped_dir& operator=(const scoped_dir&) = delete;
    ~scoped_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

// What the append child returns, in this order.
enum append_field : std::size_t {
    a_wall, a_cpu, a_sync_ms, r_wall, r_cpu, v_wall, v_cpu, v_bytes, s_wall, s_cpu, s_bytes, append_fields
};
// What the kv child returns.
enum put_field : std::size_t { p_wall, p_cpu, p_sync_ms, put_fields };

/// n appends to a new run of a new database in dir: the loop's timing and db.sync()'s ms.
/// With `rest`, then reads, verifies and hashes the log into out.
void append_pass(const fs::path& dir, const workload& w, std::vector<double>* rest) {
    scoped_dir scope(dir);
    bench_db db(dir, bench_options());
    const inmem::run_id run = db.begin_run({.name = "events"});
    auto log = db.events();
    inmem::event_id last{};
    const bench::timing t = bench::time_ns([&] {
        for (std::size_t i = 0; i < w.n; ++i) {
            last = log.append(run, w.value(i));
            bench::do_not_optimize(last);
        }
    });
    if (last.run != run || last.seq + 1 != w.n) fail("the last append's id is not seq n - 1");
    const auto sync_start = clock_type::now();
    db.sync();
    const double sync_ms = seconds_since(sync_start) * 1e3;
    if (!rest) return;
    std::vector<double>& out = *rest;
    out.assign(append_fields, 0);
    out[a_wall] = t.wall_ns;
    out[a_cpu] = t.cpu_ns;
    out[a_sync_ms] = sync_ms;
    if (log.count(run) != w.n) fail("the log's count is not n");

    // read: pages of 100 over the whole log, every value decoded.
    std::uint64_t read = 0, budgets = 0;
    const bench::timing tr = bench::time_ns([&] {
        for (std::uint64_t s = 0; s < w.n; s += page_size) {
            auto page = log.read(run, {.from = s, .limit = page_size});
            read += page.size();
            for (const auto& e : page) budgets += static_cast<std::uint64_t>(std::get<Plan>(e.value).budget);
            bench::do_not_optimize(page);
        }
    });
    if (read != w.n) fail("the read pages returned " + std::to_string(read) + " events, not n");
    if (budgets != w.budget_sum) fail("the read pages returned other values than were appended");
    out[r_wall] = tr.wall_ns;
    out[r_cpu] = tr.cpu_ns;

    // verify: the whole chain.
    inmem::chain_report report;
    const bench::timing tv = bench::time_ns([&] { report = log.verify(run); });
    if (!report) fail("verify: " + report.message);
    if (report.checked != w.n) fail("verify checked " + std::to_string(report.checked) + " events, not n");
    out[v_wall] = tv.wall_ns;
    out[v_cpu] = tv.cpu_ns;
    out[v_bytes] = static_cast<double>(report.bytes);

    // sha256: the messages verify hashes, rebuilt from the entries (untimed) into one buffer:
    // prev_hash, run, seq, time, the type's fingerprint (8 bytes big-endian each), the two
    // empty labels (a 2-byte length each), the payload as the codec wrote it.
    constexpr std::uint64_t fingerprint =
        bench_schema::slot_infos[bench_schema::slot_of<inmem::primitive::event, Plan>].fingerprint;
    std::string messages;
    std::vector<std::size_t> ends;
    ends.reserve(w.n);
    std::vector<inmem::sha256_digest> stored;
    stored.reserve(w.n);
    auto be64 = [&](std::uint64_t v) {
        char b[8];
        for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xff);
        messages.append(b, 8);
    };
    for (std::uint64_t s = 0; s < w.n; s += page_size)
        for (const auto& e : log.read(run, {.from = s, .limit = page_size})) {
            messages.append(reinterpret_cast<const char*>(e.prev_hash.data()), 32);
            be64(run.value);
            be64(e.id.seq);
            be64(static_cast<std::uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(e.time.time_since_epoch()).count()));
            be64(fingerprint);
            messages.append(4, '\0');
            messages += inmem::encode(std::get<Plan>(e.value));
            ends.push_back(messages.size());
            stored.push_back(e.hash);
        }
    if (messages.size() != report.bytes)
        fail("the rebuilt messages hold " + std::to_string(messages.size()) + " bytes, verify hashed " +
             std::to_string(report.bytes));
    inmem::detail::sha256 hasher;
    for (std::size_t i = 0, begin = 0; i < ends.size(); begin = ends[i++])
        if (hasher.update(messages.data() + begin, ends[i] - begin).finish() != stored[i])
            fail("the rebuilt message of event " + std::to_string(i) + " does not hash to its stored hash");
    std::uint8_t acc = 0;
    const bench::timing ts = bench::time_ns([&] {
        for (std::size_t i = 0, begin = 0; i < ends.size(); begin = ends[i++]) {
            const inmem::sha256_digest d = hasher.update(messages.data() + begin, ends[i] - begin).finish();
            acc = static_cast<std::uint8_t>(acc ^ d[0]);
        }
        bench::do_not_optimize(acc);
    });
    out[s_wall] = ts.wall_ns;
    out[s_cpu] = ts.cpu_ns;
    out[s_bytes] = static_cast<double>(messages.size());
}

/// n puts of new keys to a new run of a new database in dir, the same values as the appends.
std::vector<double> put_pass(const fs::path& dir, const workload& w) {
    scoped_dir scope(dir);
    bench_db db(dir, bench_options());
    const inmem::run_id run = db.begin_run({.name = "kv"});
    auto plans = db.kv<Plan>();
    key_maker key(0);
    const bench::timing t = bench::time_ns([&] {
        for (std::size_t i = 0; i < w.n; ++i) {
            bench::do_not_optimize(plans.put(run, key.current(), w.value(i)));
            key.advance();
        }
    });
    if (db.last_version() != w.n + 1) fail("the put count does not match the database's version");
    const auto sync_start = clock_type::now();
    db.sync();
    const double sync_ms = seconds_since(sync_start) * 1e3;
    const auto v = plans.get(run, bench::plan_key(w.n - 1));
    if (!v || *v != w.value(w.n - 1)) fail("the last put does not read back");
    std::vector<double> out(put_fields, 0);
    out[p_wall] = t.wall_ns;
    out[p_cpu] = t.cpu_ns;
    out[p_sync_ms] = sync_ms;
    return out;
}

struct options {
    std::size_t n = 200000;
    int reps = 5;
    int warmup = 1;
    bool quick = false;
    bool cpu_time = false;
    std::string dir;
};

void usage(std::FILE* to) {
    std::fputs("usage: events_bench [--n N] [--reps R] [--warmup W] [--dir DIR] [--cpu-time] [--quick]\n"
               "  --n N        events appended (and keys put) per measurement (default 200000)\n"
               "  --reps R     repetitions of each measurement; the median is reported (default 5)\n"
               "  --warmup W   unrecorded passes before each measurement, in its child (default 1)\n"
               "  --dir DIR    where the databases go (default: a new directory in the temp directory)\n"
               "  --cpu-time   rates from the thread's CPU time instead of wall time (for a busy machine)\n"
               "  --quick      a smoke test: n 2000, 1 repetition\n",
               to);
}

options parse(int argc, char** argv) {
    options o;
    bench::arguments args(argc, argv);
    if (args.has("--quick")) {
        o.quick = true;
        o.n = 2000;
        o.reps = 1;
    }
    while (args.next()) {
        if (args.is("--quick")) {
        } else if (args.is("--n")) {
            o.n = args.count();
        } else if (args.is("--reps")) {
            o.reps = static_cast<int>(args.count());
        } else if (args.is("--warmup")) {
            o.warmup = static_cast<int>(args.count_or_zero());
        } else if (args.is("--cpu-time")) {
            o.cpu_time = true;
        } else if (args.is("--dir")) {
            o.dir = args.value("a directory");
        } else if (args.is("--help") || args.is("-h")) {
            usage(stdout);
            std::exit(0);
        } else {
            args.unknown();
        }
    }
    if (o.n > 100'000'000) throw std::invalid_argument("--n is too large");
    return o;
}

std::string verdict(double ratio, double target) { return ratio >= target ? "met" : "MISSED"; }

} // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    const bench::environment env("events_bench", opt.quick, bench::keep_freed_memory());

    workload w;
    w.n = opt.n;
    w.values = bench::make_plans();
    for (std::size_t i = 0; i < w.n; ++i) w.budget_sum += static_cast<std::uint64_t>(w.value(i).budget);
    double value_bytes = 0;
    for (const Plan& p : w.values) value_bytes += static_cast<double>(inmem::encode(p).size());
    value_bytes /= static_cast<double>(w.values.size());

    const fs::path parent = opt.dir.empty() ? fs::temp_directory_path() : fs::path(opt.dir);
    fs::create_directories(parent);
    std::string tmpl = (parent / "inmem-events-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) fail("cannot create a directory in " + parent.string());
    const scoped_dir root{fs::path(tmpl)};

    env.print_header();
    std::printf("workload:   n %zu per measurement, median of %d repetition%s (append and kv put alternated), each "
                "after %d warm-up pass%s%s; value Plan, %.0f bytes encoded; durability::batched in %s\n",
                w.n, opt.reps, opt.reps == 1 ? "" : "s", opt.warmup, opt.warmup == 1 ? "" : "es",
                bench::runs_in_child ? " in a child process" : "", value_bytes, root.path.c_str());
    std::fflush(stdout);

    const unsigned timeout = 600;
    int dir_seq = 0;
    auto fresh = [&](const char* what) { return root.path / (std::string(what) + "-" + std::to_string(dir_seq++)); };
    std::vector<std::vector<double>> appends, puts;
    for (int rep = 0; rep < opt.reps; ++rep)
        for (int k = 0; k < 2; ++k) {
            if ((rep + k) % 2 == 0) {
                std::vector<fs::path> dirs;
                for (int i = 0; i <= opt.warmup; ++i) dirs.push_back(fresh("append"));
                appends.push_back(bench::in_child([&] {
                    for (int i = 0; i < opt.warmup; ++i) append_pass(dirs[static_cast<std::size_t>(i)], w, nullptr);
                    std::vector<double> out;
                    append_pass(dirs.back(), w, &out);
                    return out;
                }, timeout));
                if (appends.back().size() != append_fields) fail("the append child returned a malformed result");
            } else {
                std::vector<fs::path> dirs;
                for (int i = 0; i <= opt.warmup; ++i) dirs.push_back(fresh("kv"));
                puts.push_back(bench::in_child([&] {
                    for (int i = 0; i < opt.warmup; ++i) put_pass(dirs[static_cast<std::size_t>(i)], w);
                    return put_pass(dirs.back(), w);
                }, timeout));
                if (puts.back().size() != put_fields) fail("the kv child returned a malformed result");
            }
        }

    auto column = [](const std::vector<std::vector<double>>& rows, std::size_t field) {
        std::vector<double> v;
        for (const auto& r : rows) v.push_back(r[field]);
        return v;
    };
    const double n = static_cast<double>(w.n);
    // Per repetition: ops/s or MB/s (1 MB = 10^6 bytes), from wall time (clock 0) or the
    // thread's CPU time (clock 1: each *_cpu field follows its *_wall field).
    struct figures {
        std::vector<double> append, put, read, verify, sha;
        double append_rate = 0, put_rate = 0, read_rate = 0, verify_rate = 0, sha_rate = 0;
        double append_ratio() const { return append_rate / put_rate; }
        double verify_ratio() const { return verify_rate / sha_rate; }
    };
    auto figures_of = [&](std::size_t clock) {
        auto rates = [&](const std::vector<std::vector<double>>& rows, std::size_t field) {
            std::vector<double> v;
            for (const auto& r : rows) v.push_back(n / (r[field + clock] * 1e-9));
            return v;
        };
        auto mb_rates = [&](std::size_t bytes, std::size_t field) {
            std::vector<double> v;
            for (const auto& r : appends) v.push_back(r[bytes] / 1e6 / (r[field + clock] * 1e-9));
            return v;
        };
        figures f{rates(appends, a_wall), rates(puts, p_wall), rates(appends, r_wall), mb_rates(v_bytes, v_wall),
                  mb_rates(s_bytes, s_wall)};
        f.append_rate = bench::median(f.append);
        f.put_rate = bench::median(f.put);
        f.read_rate = bench::median(f.read);
        f.verify_rate = bench::median(f.verify);
        f.sha_rate = bench::median(f.sha);
        return f;
    };
    const figures shown = figures_of(opt.cpu_time ? 1 : 0), other = figures_of(opt.cpu_time ? 0 : 1);

    std::printf("events: append %.0f/s, kv put %.0f/s, read %.0f/s, verify %.0f MB/s, sha256 %.0f MB/s\n",
                shown.append_rate, shown.put_rate, shown.read_rate, shown.verify_rate, shown.sha_rate);
    std::printf("targets: append / kv put %.2f (target >= 0.7: %s); verify / sha256 %.2f (target >= 0.7: %s)\n",
                shown.append_ratio(), verdict(shown.append_ratio(), 0.7).c_str(), shown.verify_ratio(),
                verdict(shown.verify_ratio(), 0.7).c_str());

    // The detail.
    const double bytes_per_event = appends.front()[v_bytes] / n;
    auto list = [](const std::vector<double>& xs, int digits) {
        std::string s;
        for (std::size_t i = 0; i < xs.size(); ++i) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%s%.*f", i ? " " : "", digits, xs[i]);
            s += buf;
        }
        return s;
    };
    auto ns_per = [&](const std::vector<std::vector<double>>& rows, std::size_t field) {
        return bench::median(column(rows, field)) / n;
    };
    std::printf("\nappend:     log.append(run, plan), no labels, one commit each: %.0f ns/event wall, %.0f CPU; "
                "db.sync() after the loop %.1f ms (untimed)\n",
                ns_per(appends, a_wall), ns_per(appends, a_cpu), bench::median(column(appends, a_sync_ms)));
    std::printf("kv put:     kv<Plan>().put(run, new key, plan), keys plan_key(i) in order, one commit each: "
                "%.0f ns/put wall, %.0f CPU; db.sync() after %.1f ms (untimed)\n",
                ns_per(puts, p_wall), ns_per(puts, p_cpu), bench::median(column(puts, p_sync_ms)));
    std::printf("read:       pages of %zu, log.read(run, {.from = s, .limit = %zu}), over the whole log, values "
                "decoded: %.0f ns/event wall, %.0f CPU\n",
                page_size, page_size, ns_per(appends, r_wall), ns_per(appends, r_cpu));
    std::printf("verify:     log.verify(run): report.bytes %.0f (%.0f per event: prev_hash 32 + header 32 + labels 4 "
                "+ payload) in %.0f ns/event wall, %.0f CPU\n",
                appends.front()[v_bytes], bytes_per_event, ns_per(appends, v_wall), ns_per(appends, v_cpu));
    std::printf("sha256:     inmem::detail::sha256, one update + finish per event over the same messages (rebuilt "
                "from the entries, each checked against its stored hash), one buffer: %.0f ns/event wall, %.0f CPU\n",
                ns_per(appends, s_wall), ns_per(appends, s_cpu));
    std::printf("samples:    append/s %s | kv put/s %s | read/s %s | verify MB/s %s | sha256 MB/s %s\n",
                list(shown.append, 0).c_str(), list(shown.put, 0).c_str(), list(shown.read, 0).c_str(),
                list(shown.verify, 0).c_str(), list(shown.sha, 0).c_str());
    std::printf("%sappend / kv put %.2f, verify / sha256 %.2f (append %.0f/s, kv put %.0f/s, verify %.0f MB/s, "
                "sha256 %.0f MB/s)\n",
                opt.cpu_time ? "wall time:  " : "CPU time:   ", other.append_ratio(), other.verify_ratio(),
                other.append_rate, other.put_rate, other.verify_rate, other.sha_rate);
    double wall_sum = 0, cpu_sum = 0;
    constexpr std::array<std::pair<append_field, append_field>, 4> timed_pairs = {
        {{a_wall, a_cpu}, {r_wall, r_cpu}, {v_wall, v_cpu}, {s_wall, s_cpu}}};
    for (const auto& r : appends)
        for (const auto& [wf, cf] : timed_pairs) {
            wall_sum += r[wf];
            cpu_sum += r[cf];
        }
    for (const auto& r : puts) {
        wall_sum += r[p_wall];
        cpu_sum += r[p_cpu];
    }
    const double descheduled = wall_sum > 0 ? std::max(0.0, 1 - cpu_sum / wall_sum) : 0;
    std::printf("rates:      median of %d, n / %s of the timed loop; MB = 10^6 bytes; load %s at the end\n"
                "descheduled: %.0f%% of the timed wall time went to other processes and the batched flusher%s\n",
                opt.reps, opt.cpu_time ? "the thread's CPU time" : "wall time (steady_clock)",
                bench::load_average().c_str(), 100 * descheduled,
                descheduled > 0.05 ? " (a busy machine: trust the ratios, or rerun)" : "");
    return 0;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "events_bench: %s\n", e.what());
    usage(stderr);
    return 2;
} catch (const bench::child_failed& e) {
    std::fprintf(stderr, "events_bench: a measurement failed: %s\n", e.what());
    return 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
