// bench/common.hpp: what every benchmark program does the same way, so that the figures of
// different benchmarks are like for like. On top of harness.hpp (timing, machine_info):
//
// - in_child(f, timeout_s): f() run in a child process of its own (fork), its result sent back
//   through a pipe; a failure throws child_failed. timings_to_doubles / timings_from_doubles
//   carry a row of bench::timing through it;
// - keep_freed_memory(): the allocator set-up (glibc: freed memory kept for reuse);
// - environment: date, machine, build, load average and allocator, taken at start, printed
//   as the header every program opens with and written as members of its JSON;
// - arguments: the command-line reader the programs' parse() functions share; split_list;
// - Plan, make_plans(), plan_key(i), make_plan_payloads(): the agent values every benchmark
//   stores (the same content everywhere: ~150 bytes each), and their keys.
//
// Plain std types only: the programs include <inmem/inmem.hpp> themselves.
#pragma once

#include "harness.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__unix__) || defined(__APPLE__)
#include <cerrno>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>
#define BENCH_HAVE_FORK 1
#endif

namespace bench {

// ----- process isolation -----

/// Whether in_child() runs f() in a child process (fork exists) rather than in this one.
#ifdef BENCH_HAVE_FORK
inline constexpr bool runs_in_child = true;
#else
inline constexpr bool runs_in_child = false;
#endif

/// A measurement in a child process failed; what() says why: the child's exception message,
/// "timed out after N s", "killed by signal N", "exited with status N", ...
class child_failed : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

namespace detail {

inline void put_raw(std::string& out, const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }

inline bool get_raw(std::string_view& in, void* p, std::size_t n) {
    if (in.size() < n) return false;
    std::memcpy(p, in.data(), n);
    in.remove_prefix(n);
    return true;
}

// The results a child can return, in the pipe: a count, then the values (native byte order:
// the same binary writes and reads them).
inline void encode_result(std::string& out, const std::vector<double>& v) {
    const std::uint64_t count = v.size();
    put_raw(out, &count, sizeof count);
    put_raw(out, v.data(), v.size() * sizeof(double));
}

inline void encode_result(std::string& out, const std::map<std::string, double>& m) {
    const std::uint64_t count = m.size();
    put_raw(out, &count, sizeof count);
    for (const auto& [k, v] : m) {
        const std::uint64_t size = k.size();
        put_raw(out, &size, sizeof size);
        put_raw(out, k.data(), k.size());
        put_raw(out, &v, sizeof v);
    }
}

inline bool decode_result(std::string_view in, std::vector<double>& v) {
    std::uint64_t count = 0;
    if (!get_raw(in, &count, sizeof count) || in.size() != count * sizeof(double)) return false;
    v.resize(count);
    return get_raw(in, v.data(), in.size());
}

inline bool decode_result(std::string_view in, std::map<std::string, double>& m) {
    std::uint64_t count = 0;
    if (!get_raw(in, &count, sizeof count)) return false;
    for (std::uint64_t i = 0; i < count; ++i) {
        std::uint64_t size = 0;
        double v = 0;
        if (!get_raw(in, &size, sizeof size) || in.size() < size) return false;
        std::string k(in.substr(0, size));
        in.remove_prefix(size);
        if (!get_raw(in, &v, sizeof v)) return false;
        m[std::move(k)] = v;
    }
    return in.empty();
}

template <class R>
inline constexpr bool is_child_result_v =
    std::is_same_v<R, std::vector<double>> || std::is_same_v<R, std::map<std::string, double>>;

#ifdef BENCH_HAVE_FORK
inline bool write_all(int fd, std::string_view s) {
    while (!s.empty()) {
        const ssize_t k = ::write(fd, s.data(), s.size());
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        s.remove_prefix(static_cast<std::size_t>(k));
    }
    return true;
}

inline std::string read_all(int fd) {
    std::string in;
    char buf[4096];
    for (;;) {
        const ssize_t k = ::read(fd, buf, sizeof buf);
        if (k > 0) in.append(buf, static_cast<std::size_t>(k));
        else if (k == 0 || errno != EINTR) break;
    }
    return in;
}
#endif

} // namespace detail

/// Runs f() in a child process (fork) and returns what it returned: every measurement starts
/// from the parent's heap, and none inherits the free lists, threads or RSS another left. f
/// returns std::vector<double> or std::map<std::string, double>. With timeout_s > 0 the child
/// is killed (alarm) after that many seconds. Throws child_failed when the child threw (with
/// its message), was killed, exited otherwise or returned a malformed result. Without fork,
/// f() runs here (its exceptions become child_failed). Call it while the process has no other
/// threads.
template <class F>
auto in_child(F&& f, unsigned timeout_s = 0) -> std::remove_cvref_t<std::invoke_result_t<F&>> {
    using result = std::remove_cvref_t<std::invoke_result_t<F&>>;
    static_assert(detail::is_child_result_v<result>,
                  "in_child: f must return std::vector<double> or std::map<std::string, double>");
#ifdef BENCH_HAVE_FORK
    int fds[2];
    if (::pipe(fds) != 0) throw child_failed("pipe failed");
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        throw child_failed("fork failed");
    }
    if (pid == 0) {
        ::close(fds[0]);
        if (timeout_s > 0) ::alarm(timeout_s);
        std::string out;
        int status = 0;
        try {
            const result r = f();
            out = "=";
            detail::encode_result(out, r);
        } catch (const std::exception& e) {
            out = std::string("!") + e.what();
            status = 1;
        } catch (...) {
            out = "!an exception that is not a std::exception";
            status = 1;
        }
        if (!detail::write_all(fds[1], out) && status == 0) status = 1;
        ::close(fds[1]);
        std::fflush(stdout);
        std::fflush(stderr);
        ::_exit(status);
    }
    ::close(fds[1]);
    const std::string in = detail::read_all(fds[0]);
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) throw child_failed("waitpid failed");
    if (WIFSIGNALED(status))
        throw child_failed(WTERMSIG(status) == SIGALRM && timeout_s > 0
                               ? "timed out after " + std::to_string(timeout_s) + " s"
                               : "killed by signal " + std::to_string(WTERMSIG(status)));
    if (!in.empty() && in[0] == '!') throw child_failed(in.substr(1));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw child_failed("exited with status " + std::to_string(WEXITSTATUS(status)));
    result r;
    if (in.empty() || in[0] != '=' || !detail::decode_result(std::string_view(in).substr(1), r))
        throw child_failed("the child process returned a malformed result");
    return r;
#else
    (void)timeout_s;
    try {
        return f();
    } catch (const std::exception& e) {
        throw child_failed(e.what());
    }
#endif
}

/// A row of timings as in_child() carries it: 3 doubles per timing (wall, CPU, allocations).
template <std::size_t N>
std::vector<double> timings_to_doubles(const std::array<timing, N>& ts) {
    std::vector<double> v;
    v.reserve(3 * N);
    for (const timing& t : ts) v.insert(v.end(), {t.wall_ns, t.cpu_ns, t.allocations});
    return v;
}

/// The inverse of timings_to_doubles; throws std::runtime_error if v does not hold N timings.
template <std::size_t N>
std::array<timing, N> timings_from_doubles(const std::vector<double>& v) {
    if (v.size() != 3 * N)
        throw std::runtime_error("a measurement returned " + std::to_string(v.size()) + " values, not " +
                                 std::to_string(3 * N));
    std::array<timing, N> ts{};
    for (std::size_t i = 0; i < N; ++i) ts[i] = {v[3 * i], v[3 * i + 1], v[3 * i + 2]};
    return ts;
}

// ----- allocator -----

/// Keeps freed memory in the process (glibc: no mmap for large blocks, no trimming), so that a
/// recorded pass reuses the pages its warm-up pass touched instead of paying first-touch page
/// faults (microseconds each in a VM), which would otherwise weigh most on whoever allocates
/// large blocks. Returns a note for the header ("allocator:").
inline const char* keep_freed_memory() {
#if defined(__GLIBC__)
    const bool ok = mallopt(M_MMAP_MAX, 0) == 1 && mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max()) == 1;
    return ok ? "glibc malloc, freed memory kept for reuse (no mmap, no trim)" : "glibc malloc (mallopt failed)";
#else
    return "system malloc";
#endif
}

// ----- the environment -----

/// Now, UTC, ISO 8601: "2026-12-01T15:48:03Z".
inline std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
#if defined(_WIN32)
    gmtime_s(&tm, &t);
#else
    gmtime_r(&t, &tm);
#endif
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/// The load average over 1, 5 and 15 minutes ("0.52 0.61 0.70"), or "unknown".
inline std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string a, b, c;
    if (!(in >> a >> b >> c)) return "unknown";
    return a + " " + b + " " + c;
}

/// Where and how a benchmark ran, taken when it starts: what its header and JSON report.
struct environment {
    std::string program;    ///< "kv_bench": the header's first line, the JSON's "benchmark"
    bool quick = false;     ///< a --quick smoke run (the header says the numbers mean nothing)
    std::string date;       ///< the start, UTC, ISO 8601
    std::string cpu;        ///< CPU model, from /proc/cpuinfo
    unsigned cores = 0;     ///< std::thread::hardware_concurrency()
    std::string compiler;   ///< "gcc 12.2.0"
    std::string build_type; ///< meson's buildtype
    bool asserts = true;    ///< built without NDEBUG
    std::string load_start; ///< load_average() at the start
    std::string allocator;  ///< keep_freed_memory()'s note; empty where the program leaves malloc alone

    environment(std::string program_name, bool quick_run, std::string allocator_note = {})
        : program(std::move(program_name)), quick(quick_run), date(utc_now()), load_start(load_average()),
          allocator(std::move(allocator_note)) {
        const machine m = machine_info();
        cpu = m.cpu;
        cores = m.cores;
        compiler = m.compiler;
        build_type = m.build_type;
        asserts = m.asserts;
    }

    /// The header lines every program starts with (its own lines follow):
    ///   inmem kv_bench  2026-12-01T15:48:03Z[  (--quick: numbers mean nothing)]
    ///   cpu:        <model>, N cores
    ///   compiler:   gcc 12.2.0
    ///   build:      release (NDEBUG)
    ///   allocator:  <note>                      (where the program sets one)
    ///   load:       a b c (1, 5, 15 min) at start
    void print_header(std::FILE* to = stdout) const {
        std::fprintf(to, "inmem %s  %s%s\n", program.c_str(), date.c_str(),
                     quick ? "  (--quick: numbers mean nothing)" : "");
        std::fprintf(to, "cpu:        %s, %u cores\n", cpu.c_str(), cores);
        std::fprintf(to, "compiler:   %s\n", compiler.c_str());
        std::fprintf(to, "build:      %s%s\n", build_type.c_str(), asserts ? " (assertions on)" : " (NDEBUG)");
        if (!allocator.empty()) std::fprintf(to, "allocator:  %s\n", allocator.c_str());
        std::fprintf(to, "load:       %s (1, 5, 15 min) at start\n", load_start.c_str());
    }

    /// The fields as JSON object members, one per line, each after `indent`, separated by
    /// ",\n" (none before the first or after the last): "benchmark", "date", "cpu", "cores",
    /// "compiler", "build_type", "ndebug", "load_start", and "allocator" where set.
    std::string json_members(std::string_view indent = "  ") const {
        std::string out;
        auto member = [&](std::string_view key, const std::string& value) {
            if (!out.empty()) out += ",\n";
            out.append(indent).append(json_string(key)).append(": ").append(value);
        };
        member("benchmark", json_string(program));
        member("date", json_string(date));
        member("cpu", json_string(cpu));
        member("cores", std::to_string(cores));
        member("compiler", json_string(compiler));
        member("build_type", json_string(build_type));
        member("ndebug", asserts ? "false" : "true");
        member("load_start", json_string(load_start));
        if (!allocator.empty()) member("allocator", json_string(allocator));
        return out;
    }
};

// ----- options -----

/// The items of a comma-separated list ("1,2,4" -> {"1", "2", "4"}); empty items are left out.
inline std::vector<std::string> split_list(std::string_view s) {
    std::vector<std::string> out;
    for (;;) {
        const std::size_t comma = s.find(',');
        if (const std::string_view item = s.substr(0, comma); !item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

/// Reads a command line, one flag at a time; malformed input throws std::invalid_argument
/// ("--n needs a positive integer"), which the programs answer with their usage text:
///
///   bench::arguments args(argc, argv);
///   if (args.has("--quick")) { ...presets, which the other flags override... }
///   while (args.next()) {
///       if (args.is("--quick")) {}
///       else if (args.is("--n")) o.n = args.count();
///       else if (args.is("--json")) o.json = args.value();
///       else args.unknown();
///   }
class arguments {
public:
    arguments(int argc, char** argv) : argc_(argc), argv_(argv) {}

    /// Whether flag appears anywhere on the command line (for presets, read before next()).
    bool has(std::string_view flag) const {
        for (int i = 1; i < argc_; ++i)
            if (flag == argv_[i]) return true;
        return false;
    }

    /// Moves to the next flag (past the value a flag took); false at the end.
    bool next() { return ++at_ < argc_; }

    /// The current flag.
    std::string_view flag() const { return argv_[at_]; }

    /// Whether the current flag is `name`.
    bool is(std::string_view name) const { return flag() == name; }

    /// The current flag's value, the next argument ("--json needs a value", or with `what`
    /// "a file name": "--json needs a file name").
    std::string value(std::string_view what = "a value") {
        if (at_ + 1 >= argc_) throw std::invalid_argument(std::string(flag()) + " needs " + std::string(what));
        const std::string_view name = flag();
        ++at_;
        value_of_ = name;
        return argv_[at_];
    }

    /// The value as an integer of 1 or more ("--n needs a positive integer").
    std::size_t count() {
        const std::string v = value();
        char* end = nullptr;
        const long long x = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || x < 1) throw std::invalid_argument(value_of_ + " needs a positive integer");
        return static_cast<std::size_t>(x);
    }

    /// The value as an integer of 0 or more ("--warmup needs a count, 0 or more").
    std::size_t count_or_zero() {
        const std::string v = value();
        char* end = nullptr;
        const long long x = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || x < 0) throw std::invalid_argument(value_of_ + " needs a count, 0 or more");
        return static_cast<std::size_t>(x);
    }

    /// The value as a number above 0 ("--seconds needs a positive number").
    double positive() {
        const std::string v = value();
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || !(d > 0)) throw std::invalid_argument(value_of_ + " needs a positive number");
        return d;
    }

    /// Refuses the current flag: "unknown argument '--y'".
    [[noreturn]] void unknown() const {
        throw std::invalid_argument("unknown argument '" + std::string(flag()) + "'");
    }

    /// The whole command line, the program's name first, separated by spaces.
    std::string command_line() const {
        std::string out;
        for (int i = 0; i < argc_; ++i) out.append(i ? " " : "").append(argv_[i]);
        return out;
    }

private:
    int argc_;
    char** argv_;
    int at_ = 0;
    std::string value_of_; // the flag whose value was read last, for the messages
};

// ----- the agent values -----

/// The value every benchmark stores: what an agent keeps in working memory (about 150 bytes
/// encoded by inmem).
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    int budget = 0;

    friend bool operator==(const Plan&, const Plan&) = default;
};

/// How many distinct values the benchmarks cycle through.
inline constexpr std::size_t plan_pool_size = 1024;

/// The seed make_plans() draws with: every run, and every benchmark, stores the same values.
inline constexpr std::uint64_t plan_seed = 20261123;

/// `count` distinct plans ("answer ticket 00042 from the queue about billing and refunds",
/// four steps, a budget below 100), the same on every call.
inline std::vector<Plan> make_plans(std::size_t count = plan_pool_size) {
    static constexpr std::array<std::string_view, 8> topics = {"billing", "refunds", "shipping", "login",
                                                               "invoices", "upgrades", "outages", "returns"};
    static constexpr std::array<std::string_view, 8> verbs = {"search docs for", "draft reply on", "check status of",
                                                              "escalate", "summarise", "ask customer about",
                                                              "look up", "verify"};
    std::mt19937_64 rng(plan_seed);
    std::vector<Plan> plans;
    plans.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        Plan p;
        char goal[128];
        const std::string_view first = topics[rng() % topics.size()];
        const std::string_view second = topics[rng() % topics.size()];
        std::snprintf(goal, sizeof goal, "answer ticket %05zu from the queue about %.*s and %.*s", i,
                      static_cast<int>(first.size()), first.data(), static_cast<int>(second.size()), second.data());
        p.goal = goal;
        for (int s = 0; s < 4; ++s) {
            const std::string_view verb = verbs[rng() % verbs.size()];
            const std::string_view topic = topics[rng() % topics.size()];
            p.steps.push_back(std::string(verb) + " " + std::string(topic));
        }
        p.budget = static_cast<int>(rng() % 100);
        plans.push_back(std::move(p));
    }
    return plans;
}

/// The length of plan_key(i).
inline constexpr std::size_t plan_key_bytes = 24;

/// The key of plan number i: "agent:plan:" + 13 digits, 24 bytes ("agent:plan:0000000000246").
inline std::string plan_key(std::uint64_t i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "agent:plan:%013llu", static_cast<unsigned long long>(i));
    return buf;
}

/// A plan as text: "goal | step; step; step; step | budget".
inline std::string plan_text(const Plan& p) {
    std::string out = p.goal + " |";
    for (std::size_t s = 0; s < p.steps.size(); ++s) out += (s ? "; " : " ") + p.steps[s];
    return out + " | " + std::to_string(p.budget);
}

/// make_plans(count) as raw values of exactly `bytes` bytes each, for stores that keep bytes
/// rather than inmem's encoding: plan_text(), cut or padded with spaces to that length.
inline std::vector<std::string> make_plan_payloads(std::size_t bytes, std::size_t count = plan_pool_size) {
    std::vector<std::string> out;
    out.reserve(count);
    for (const Plan& p : make_plans(count)) {
        std::string text = plan_text(p);
        text.resize(bytes, ' ');
        out.push_back(std::move(text));
    }
    return out;
}

} // namespace bench
