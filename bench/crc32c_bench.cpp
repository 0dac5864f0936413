// crc32c_bench: throughput of inmem's CRC-32C, hardware path against portable (slicing-by-8).
//
//   crc32c_bench [--quick] [--runs R]
//
// Method: for each buffer size (64 B, 4 KiB, 1 MiB) and each path, a run checksums the same
// random buffer back to back until about 64 MiB have gone through (1 MiB with --quick), timed
// as one loop on std::chrono::steady_clock; the table shows the median of R runs (default 9,
// 1 with --quick) after one unrecorded warm-up run. Calls are independent, as a WAL's records
// are, so small buffers measure throughput rather than latency. Before timing, both paths are
// checked to agree on the buffer. Needs nothing but the header.
#include <inmem/durability/crc32c.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace {

// The compiler must assume *p is read and memory changed, so no call is hoisted or dropped.
inline void escape(const void* p) {
#if defined(__GNUC__) || defined(__clang__)
    asm volatile("" : : "g"(p) : "memory");
#else
    static const void* volatile sink;
    sink = p;
#endif
}

using extend_fn = std::uint32_t (*)(std::uint32_t, const void*, std::size_t) noexcept;

// Bytes per nanosecond (= GB/s) of one run: `calls` checksums of n bytes.
double run_gbps(extend_fn f, const unsigned char* data, std::size_t n, std::size_t calls) {
    std::uint32_t sum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < calls; ++i) {
        escape(data);
        sum ^= f(0, data, n);
    }
    const auto stop = std::chrono::steady_clock::now();
    escape(&sum);
    const double ns = std::chrono::duration<double, std::nano>(stop - start).count();
    return static_cast<double>(n) * static_cast<double>(calls) / ns;
}

double median_gbps(extend_fn f, const unsigned char* data, std::size_t n, std::size_t bytes_per_run, int runs) {
    const std::size_t calls = std::max<std::size_t>(1, bytes_per_run / n);
    run_gbps(f, data, n, calls); // warm-up: caches, branch predictors, clock frequency
    std::vector<double> results;
    for (int r = 0; r < runs; ++r) results.push_back(run_gbps(f, data, n, calls));
    std::sort(results.begin(), results.end());
    return results[results.size() / 2];
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            return colon == std::string::npos ? line : line.substr(colon + 2);
        }
    return "unknown";
}

std::string compiler() {
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "unknown";
#endif
}

} // namespace

int main(int argc, char** argv) {
    bool quick = false;
    int runs = 9;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else {
            std::fprintf(stderr, "usage: %s [--quick] [--runs R]\n", argv[0]);
            return 2;
        }
    }
    if (quick) runs = 1;
    const std::size_t bytes_per_run = quick ? (std::size_t{1} << 20) : (std::size_t{64} << 20);

    using namespace inmem::detail;
    std::printf("crc32c_bench: %s, %s\n", cpu_model().c_str(), compiler().c_str());
    std::printf("hardware path: %s; median of %d run(s) of ~%zu MiB each\n\n",
                crc32c_hardware() ? "yes" : "no (crc32c_extend is the portable path)", runs, bytes_per_run >> 20);

    std::mt19937_64 rng(1);
    std::vector<unsigned char> buffer(std::size_t{1} << 20);
    for (auto& b : buffer) b = static_cast<unsigned char>(rng());

    std::printf("%-10s %16s %16s %8s\n", "buffer", "crc32c GB/s", "portable GB/s", "ratio");
    int status = 0;
    for (std::size_t n : {std::size_t{64}, std::size_t{4096}, std::size_t{1} << 20}) {
        if (crc32c_extend(0, buffer.data(), n) != crc32c_extend_portable(0, buffer.data(), n)) {
            std::fprintf(stderr, "crc32c_bench: hardware and portable disagree on %zu bytes\n", n);
            status = 1;
        }
        const double hw = median_gbps(&crc32c_extend, buffer.data(), n, bytes_per_run, runs);
        const double portable = median_gbps(&crc32c_extend_portable, buffer.data(), n, bytes_per_run, runs);
        const std::string label = n >= (1 << 20) ? std::to_string(n >> 20) + " MiB"
                                  : n >= 1024    ? std::to_string(n >> 10) + " KiB"
                                                 : std::to_string(n) + " B";
        std::printf("%-10s %16.2f %16.2f %7.1fx\n", label.c_str(), hw, portable, hw / portable);
    }
    return status;
}
