// inmem/vectors/distance.hpp: the metrics of a vector collection and the kernels that compute
// them, with AVX2 where the CPU has it (chosen once, at run time) and a portable loop
// everywhere else.
//
// Every metric is reported as a distance, smaller is closer, so that results sort one way:
//   l2             the squared Euclidean distance, sum (q_i - x_i)^2 (as faiss IndexFlatL2)
//   inner_product  -(q . x): the largest inner product first (faiss IndexFlatIP's, negated)
//   cosine         1 - cos(q, x), in [0, 2]; vectors are normalised once, when written
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace inmem {

/// How a collection measures closeness (see inmem::collection). Stable: part of the schema's
/// fingerprint, so reopening a database under another metric is refused.
enum class metric : std::uint8_t {
    l2 = 1,            ///< squared Euclidean distance
    inner_product = 2, ///< negated inner product (for embeddings meant for dot-product search)
    cosine = 3,        ///< 1 - cosine similarity (the usual choice for text embeddings)
};

/// The metric's name as tools and messages spell it.
constexpr std::string_view to_string(metric m) noexcept {
    switch (m) {
    case metric::l2: return "l2";
    case metric::inner_product: return "inner_product";
    case metric::cosine: return "cosine";
    }
    return "?";
}

namespace detail {

inline float dot_portable(const float* a, const float* b, std::size_t n) noexcept {
    // Four partial sums: the compiler vectorises this at -O2 (SSE2 on any x86-64) without
    // -ffast-math, since the association is written out.
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

inline float l2_portable(const float* a, const float* b, std::size_t n) noexcept {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1], d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i < n; ++i) {
        const float d = a[i] - b[i];
        s0 += d * d;
    }
    return (s0 + s1) + (s2 + s3);
}

} // namespace inmem::detail
} // namespace inmem

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

namespace inmem::detail {

// Eight floats in a 256-bit register, by the compilers' vector extensions: no <immintrin.h>
// (a large header) in every user's translation unit, and the same code for GCC and Clang.
typedef float vector_lanes __attribute__((vector_size(32)));
// The same, at any float's address and allowed to alias floats: reading one is an unaligned
// 256-bit load (vmovups). (A memcpy into a vector_lanes is not: GCC 12 copies it in 16-byte
// halves through the stack, and the reload stalls on store forwarding, ~5x slower.)
typedef float unaligned_lanes __attribute__((vector_size(32), aligned(4), may_alias));

__attribute__((target("avx2,fma"))) inline vector_lanes load_lanes(const float* p) noexcept {
    return *reinterpret_cast<const unaligned_lanes*>(p);
}

__attribute__((target("avx2,fma"))) inline float sum_lanes(vector_lanes v) noexcept {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/// q . x with AVX2: four independent accumulators of eight lanes (32 floats a step), which
/// keeps the arithmetic units busy while the rows stream in from memory.
__attribute__((target("avx2,fma"))) inline float dot_avx2(const float* a, const float* b, std::size_t n) noexcept {
    vector_lanes s0{}, s1{}, s2{}, s3{};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 += load_lanes(a + i) * load_lanes(b + i);
        s1 += load_lanes(a + i + 8) * load_lanes(b + i + 8);
        s2 += load_lanes(a + i + 16) * load_lanes(b + i + 16);
        s3 += load_lanes(a + i + 24) * load_lanes(b + i + 24);
    }
    for (; i + 8 <= n; i += 8) s0 += load_lanes(a + i) * load_lanes(b + i);
    float s = sum_lanes((s0 + s1) + (s2 + s3));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma"))) inline float l2_avx2(const float* a, const float* b, std::size_t n) noexcept {
    vector_lanes s0{}, s1{}, s2{}, s3{};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const vector_lanes d0 = load_lanes(a + i) - load_lanes(b + i);
        const vector_lanes d1 = load_lanes(a + i + 8) - load_lanes(b + i + 8);
        const vector_lanes d2 = load_lanes(a + i + 16) - load_lanes(b + i + 16);
        const vector_lanes d3 = load_lanes(a + i + 24) - load_lanes(b + i + 24);
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    for (; i + 8 <= n; i += 8) {
        const vector_lanes d = load_lanes(a + i) - load_lanes(b + i);
        s0 += d * d;
    }
    float s = sum_lanes((s0 + s1) + (s2 + s3));
    for (; i < n; ++i) {
        const float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

/// Whether this CPU runs the AVX2 kernels (asked once).
inline bool vector_kernels_avx2() noexcept {
    static const bool supported = [] {
        __builtin_cpu_init(); // in case the first call comes from a static initialiser
        return __builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0;
    }();
    return supported;
}

} // namespace inmem::detail

// What a kernel that calls the AVX2 ones is compiled for (so that they inline into it).
#define INMEM_DETAIL_AVX2_TARGET __attribute__((target("avx2,fma")))

#else

#define INMEM_DETAIL_AVX2_TARGET

namespace inmem::detail {
inline bool vector_kernels_avx2() noexcept { return false; }
inline float dot_avx2(const float* a, const float* b, std::size_t n) noexcept { return dot_portable(a, b, n); }
inline float l2_avx2(const float* a, const float* b, std::size_t n) noexcept { return l2_portable(a, b, n); }
} // namespace inmem::detail

#endif

namespace inmem::detail {

/// A distance kernel: the distance between a query and a row of n floats, by one metric,
/// on rows as the index keeps them (normalised for cosine).
using distance_kernel = float (*)(const float* query, const float* row, std::size_t n) noexcept;

template <metric M>
float distance_portable(const float* q, const float* x, std::size_t n) noexcept {
    if constexpr (M == metric::l2) return l2_portable(q, x, n);
    else if constexpr (M == metric::inner_product) return -dot_portable(q, x, n);
    else return 1.0f - dot_portable(q, x, n);
}
template <metric M>
INMEM_DETAIL_AVX2_TARGET float distance_avx2(const float* q, const float* x, std::size_t n) noexcept {
    if constexpr (M == metric::l2) return l2_avx2(q, x, n);
    else if constexpr (M == metric::inner_product) return -dot_avx2(q, x, n);
    else return 1.0f - dot_avx2(q, x, n);
}
#undef INMEM_DETAIL_AVX2_TARGET

/// The kernel of metric M for this CPU (portable = true: the portable one, for tests).
template <metric M>
distance_kernel kernel_for(bool portable = false) noexcept {
    return !portable && vector_kernels_avx2() ? &distance_avx2<M> : &distance_portable<M>;
}

/// The name of the kernels this CPU runs ("avx2" or "portable"), for reports.
inline std::string_view vector_kernel_name() noexcept { return vector_kernels_avx2() ? "avx2" : "portable"; }

/// Scales v to unit length in place; false (v unchanged) when its norm is 0.
inline bool normalise(std::span<float> v) noexcept {
    double sum = 0;
    for (const float x : v) sum += static_cast<double>(x) * x;
    if (!(sum > 0)) return false;
    const float scale = static_cast<float>(1.0 / std::sqrt(sum));
    for (float& x : v) x *= scale;
    return true;
}

} // namespace inmem::detail
