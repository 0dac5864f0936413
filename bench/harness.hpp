// bench/harness.hpp: the little the benchmarks need, without a benchmark library.
//
// - do_not_optimize(v): the compiler must assume v is read (and memory clobbered), so work
//   whose result reaches it cannot be dropped;
// - time_ns(f): wall time of f() on std::chrono::steady_clock, the thread's CPU time (ns), and
//   the heap allocations f() made (with allocation_count, where the program counts them);
// - median(xs);
// - machine_info(): CPU model (from /proc/cpuinfo), core count, compiler, build type;
// - json_string(s): s quoted as a JSON string.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#ifndef INMEM_BENCH_BUILDTYPE
#define INMEM_BENCH_BUILDTYPE "unknown"
#endif

namespace bench {

template <class T>
inline void do_not_optimize(const T& value) {
#if defined(__GNUC__) || defined(__clang__)
    asm volatile("" : : "r,m"(value) : "memory");
#else
    static volatile const void* sink;
    sink = &value;
#endif
}

/// Nanoseconds f() took: wall time on std::chrono::steady_clock (the figure reported), and
/// the CPU time of the calling thread, which leaves out the time the thread was descheduled;
/// on a shared machine the gap between the two says how disturbed a measurement was.
struct timing {
    double wall_ns = 0;
    double cpu_ns = 0;
    double allocations = 0; ///< heap allocations f() made, if the program counts them
};

/// Heap allocations so far. A program that wants them counted replaces the global operator
/// new to increment it (kv_bench does); it stays 0 otherwise.
inline std::uint64_t allocation_count = 0;

inline double thread_cpu_ns() {
#if defined(CLOCK_THREAD_CPUTIME_ID)
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
#else
    return 0;
#endif
}

// Not inlined, so each timed loop is a function of its own (time_ns<lambda>) that callgrind
// and perf attribute costs to; called once per loop, it costs nothing measurable.
#if defined(__GNUC__) || defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE
#endif

template <class F>
BENCH_NOINLINE timing time_ns(F&& f) {
    const std::uint64_t allocations_start = allocation_count;
    const double cpu_start = thread_cpu_ns();
    const auto start = std::chrono::steady_clock::now();
    f();
    const auto stop = std::chrono::steady_clock::now();
    const double cpu_stop = thread_cpu_ns();
    return {std::chrono::duration<double, std::nano>(stop - start).count(), cpu_stop - cpu_start,
            static_cast<double>(allocation_count - allocations_start)};
}

inline double median(std::vector<double> xs) {
    if (xs.empty()) return 0;
    std::sort(xs.begin(), xs.end());
    const std::size_t mid = xs.size() / 2;
    return xs.size() % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

struct machine {
    std::string cpu;
    unsigned cores = 0;
    std::string compiler;
    std::string build_type;
    bool asserts = true;
};

inline std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto colon = line.find(':');
            if (colon == std::string::npos) break;
            auto value = line.substr(colon + 1);
            value.erase(0, value.find_first_not_of(" \t"));
            return value;
        }
    }
    return "unknown";
}

inline machine machine_info() {
    machine m;
    m.cpu = cpu_model();
    m.cores = std::thread::hardware_concurrency();
#if defined(__clang__)
    m.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    m.compiler = std::string("gcc ") + __VERSION__;
#else
    m.compiler = "unknown";
#endif
    m.build_type = INMEM_BENCH_BUILDTYPE;
#ifdef NDEBUG
    m.asserts = false;
#endif
    return m;
}

inline std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

} // namespace bench
