// inmem/vectors/codes.hpp: how a collection's index may keep its vectors in less memory than
// float32 (inmem::store_float16, inmem::store_int8), and the kernels that compare a float
// query with them.
//
//   float16  IEEE-754 half precision, 2 bytes a dimension: 11 significant bits, so about 3
//            decimal digits; values beyond +-65504 are clamped to it (embeddings are far inside).
//   int8     scalar quantisation, 1 byte a dimension plus a float a vector: each vector x is
//            kept as round(x_i / s) in [-127, 127] with s = max |x_i| / 127, its own scale
//            (no training, nothing to redo as the collection grows, any metric).
//
// A distance on codes is an estimate: the index finds candidates by it, and the handle ranks
// them again by the exact float32 embeddings of the records (primitives/vectors.hpp). The
// kernels have the shape of the float32 ones (distance.hpp): a portable loop and an AVX2 one
// chosen once at run time, through compiler vector extensions (no <immintrin.h>).
#pragma once

#include <inmem/vectors/distance.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace inmem::detail {

/// float to IEEE half, rounding to nearest even; beyond +-65504 (and infinity) clamped to it.
/// (NaN never reaches here: embeddings are checked finite.)
inline std::uint16_t float_to_half(float value) noexcept {
    std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    bits &= 0x7fffffffu;
    if (bits >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7bffu); // rounds to 65520 or more
    if (bits < 0x38800000u) {
        // Below the smallest normal half (2^-14): a subnormal or 0. Adding 0.5 aligns the
        // float's mantissa so that its low bits are the half's, rounded by the FPU (to even).
        const float shifted = std::bit_cast<float>(bits) + 0.5f;
        return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(shifted) - 0x3f000000u));
    }
    // A normal half: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits
    // to nearest, ties to even (adding 0xfff plus the lowest kept bit carries exactly then).
    const std::uint32_t odd = (bits >> 13) & 1u;
    bits += (static_cast<std::uint32_t>(15 - 127) << 23) + 0xfffu + odd;
    return static_cast<std::uint16_t>(sign | (bits >> 13));
}

/// IEEE half to float, exactly (finite halves: the only ones float_to_half makes).
inline float half_to_float(std::uint16_t half) noexcept {
    // The half's exponent and mantissa moved to a float's places make a float 2^-112 times the
    // value (2^(15 - 127)), subnormal halves included; the multiplication puts it right.
    const float magnitude = std::bit_cast<float>(static_cast<std::uint32_t>(half & 0x7fffu) << 13) * 0x1p112f;
    return std::bit_cast<float>(std::bit_cast<std::uint32_t>(magnitude) | (static_cast<std::uint32_t>(half & 0x8000u) << 16));
}

/// The int8 codes of x (n floats) into out; returns the scale s (x_i ~ s * out_i).
inline float quantise_int8(const float* x, std::int8_t* out, std::size_t n) noexcept {
    float largest = 0;
    for (std::size_t i = 0; i < n; ++i) largest = std::max(largest, std::fabs(x[i]));
    if (!(largest > 0)) {
        std::fill(out, out + n, std::int8_t{0});
        return 0;
    }
    const float scale = largest / 127.0f;
    const float inverse = 127.0f / largest;
    for (std::size_t i = 0; i < n; ++i)
        out[i] = static_cast<std::int8_t>(std::clamp(std::nearbyint(x[i] * inverse), -127.0f, 127.0f));
    return scale;
}

// ---- Portable kernels: q . x and |q - x|^2 with x given by codes (scale: int8's s).

inline float dot_half_portable(const float* q, const std::uint16_t* x, std::size_t n) noexcept {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += q[i] * half_to_float(x[i]);
        s1 += q[i + 1] * half_to_float(x[i + 1]);
        s2 += q[i + 2] * half_to_float(x[i + 2]);
        s3 += q[i + 3] * half_to_float(x[i + 3]);
    }
    for (; i < n; ++i) s0 += q[i] * half_to_float(x[i]);
    return (s0 + s1) + (s2 + s3);
}

inline float l2_half_portable(const float* q, const std::uint16_t* x, std::size_t n) noexcept {
    float s0 = 0, s1 = 0;
    std::size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        const float d0 = q[i] - half_to_float(x[i]), d1 = q[i + 1] - half_to_float(x[i + 1]);
        s0 += d0 * d0;
        s1 += d1 * d1;
    }
    for (; i < n; ++i) {
        const float d = q[i] - half_to_float(x[i]);
        s0 += d * d;
    }
    return s0 + s1;
}

inline float dot_int8_portable(const float* q, const std::int8_t* x, std::size_t n) noexcept {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += q[i] * static_cast<float>(x[i]);
        s1 += q[i + 1] * static_cast<float>(x[i + 1]);
        s2 += q[i + 2] * static_cast<float>(x[i + 2]);
        s3 += q[i + 3] * static_cast<float>(x[i + 3]);
    }
    for (; i < n; ++i) s0 += q[i] * static_cast<float>(x[i]);
    return (s0 + s1) + (s2 + s3);
}

inline float l2_int8_portable(const float* q, const std::int8_t* x, float scale, std::size_t n) noexcept {
    float s0 = 0, s1 = 0;
    std::size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        const float d0 = q[i] - scale * static_cast<float>(x[i]);
        const float d1 = q[i + 1] - scale * static_cast<float>(x[i + 1]);
        s0 += d0 * d0;
        s1 += d1 * d1;
    }
    for (; i < n; ++i) {
        const float d = q[i] - scale * static_cast<float>(x[i]);
        s0 += d * d;
    }
    return s0 + s1;
}

} // namespace inmem::detail

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

namespace inmem::detail {

// Codes at any address, allowed to alias their element type (see unaligned_lanes).
typedef unsigned short half_codes __attribute__((vector_size(16)));
typedef unsigned short unaligned_half_codes __attribute__((vector_size(16), aligned(2), may_alias));
typedef signed char int8_codes __attribute__((vector_size(8)));
typedef signed char unaligned_int8_codes __attribute__((vector_size(8), aligned(1), may_alias));
typedef unsigned int word_lanes __attribute__((vector_size(32)));
typedef int int_lanes __attribute__((vector_size(32)));

// Eight halves widened to 32 bits, and eight int8 codes sign-extended to 32 bits: one
// vpmovzxwd / vpmovsxbd. (GCC 12 turns the conversion of a short vector into eight scalar
// ones, ~3x slower than the scan it feeds; its own <immintrin.h> uses these builtins.)
__attribute__((target("avx2,fma"))) inline word_lanes widen_halves(const std::uint16_t* p) noexcept {
#if defined(__clang__)
    return __builtin_convertvector(*reinterpret_cast<const unaligned_half_codes*>(p), word_lanes);
#else
    typedef short shorts __attribute__((vector_size(16)));
    return reinterpret_cast<word_lanes>(
        __builtin_ia32_pmovzxwd256(reinterpret_cast<shorts>(*reinterpret_cast<const unaligned_half_codes*>(p))));
#endif
}
__attribute__((target("avx2,fma"))) inline int_lanes widen_int8(const std::int8_t* p) noexcept {
#if defined(__clang__)
    return __builtin_convertvector(*reinterpret_cast<const unaligned_int8_codes*>(p), int_lanes);
#else
    typedef char bytes __attribute__((vector_size(16)));
    typedef long long quads __attribute__((vector_size(16)));
    long long low;
    std::memcpy(&low, p, sizeof low); // (with the zero upper half: one vpmovsxbd from memory)
    return reinterpret_cast<int_lanes>(__builtin_ia32_pmovsxbd256(reinterpret_cast<bytes>(quads{low, 0})));
#endif
}

// Eight halves as eight floats, by half_to_float's arithmetic in vector registers.
__attribute__((target("avx2,fma"))) inline vector_lanes load_half_lanes(const std::uint16_t* p) noexcept {
    const word_lanes h = widen_halves(p);
    const vector_lanes magnitude = reinterpret_cast<vector_lanes>((h & 0x7fffu) << 13) * 0x1p112f;
    return reinterpret_cast<vector_lanes>(reinterpret_cast<word_lanes>(magnitude) | ((h & 0x8000u) << 16));
}

__attribute__((target("avx2,fma"))) inline vector_lanes load_int8_lanes(const std::int8_t* p) noexcept {
    return __builtin_convertvector(widen_int8(p), vector_lanes);
}

__attribute__((target("avx2,fma"))) inline float dot_half_avx2(const float* q, const std::uint16_t* x, std::size_t n) noexcept {
    vector_lanes s0{}, s1{};
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 += load_lanes(q + i) * load_half_lanes(x + i);
        s1 += load_lanes(q + i + 8) * load_half_lanes(x + i + 8);
    }
    for (; i + 8 <= n; i += 8) s0 += load_lanes(q + i) * load_half_lanes(x + i);
    float s = sum_lanes(s0 + s1);
    for (; i < n; ++i) s += q[i] * half_to_float(x[i]);
    return s;
}

__attribute__((target("avx2,fma"))) inline float l2_half_avx2(const float* q, const std::uint16_t* x, std::size_t n) noexcept {
    vector_lanes s0{}, s1{};
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const vector_lanes d0 = load_lanes(q + i) - load_half_lanes(x + i);
        const vector_lanes d1 = load_lanes(q + i + 8) - load_half_lanes(x + i + 8);
        s0 += d0 * d0;
        s1 += d1 * d1;
    }
    for (; i + 8 <= n; i += 8) {
        const vector_lanes d = load_lanes(q + i) - load_half_lanes(x + i);
        s0 += d * d;
    }
    float s = sum_lanes(s0 + s1);
    for (; i < n; ++i) {
        const float d = q[i] - half_to_float(x[i]);
        s += d * d;
    }
    return s;
}

__attribute__((target("avx2,fma"))) inline float dot_int8_avx2(const float* q, const std::int8_t* x, std::size_t n) noexcept {
    vector_lanes s0{}, s1{}, s2{}, s3{};
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 += load_lanes(q + i) * load_int8_lanes(x + i);
        s1 += load_lanes(q + i + 8) * load_int8_lanes(x + i + 8);
        s2 += load_lanes(q + i + 16) * load_int8_lanes(x + i + 16);
        s3 += load_lanes(q + i + 24) * load_int8_lanes(x + i + 24);
    }
    for (; i + 8 <= n; i += 8) s0 += load_lanes(q + i) * load_int8_lanes(x + i);
    float s = sum_lanes((s0 + s1) + (s2 + s3));
    for (; i < n; ++i) s += q[i] * static_cast<float>(x[i]);
    return s;
}

__attribute__((target("avx2,fma"))) inline float l2_int8_avx2(const float* q, const std::int8_t* x, float scale,
                                                             std::size_t n) noexcept {
    const vector_lanes s = vector_lanes{} + scale;
    vector_lanes s0{}, s1{};
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const vector_lanes d0 = load_lanes(q + i) - s * load_int8_lanes(x + i);
        const vector_lanes d1 = load_lanes(q + i + 8) - s * load_int8_lanes(x + i + 8);
        s0 += d0 * d0;
        s1 += d1 * d1;
    }
    for (; i + 8 <= n; i += 8) {
        const vector_lanes d = load_lanes(q + i) - s * load_int8_lanes(x + i);
        s0 += d * d;
    }
    float out = sum_lanes(s0 + s1);
    for (; i < n; ++i) {
        const float d = q[i] - scale * static_cast<float>(x[i]);
        out += d * d;
    }
    return out;
}

} // namespace inmem::detail

#define INMEM_DETAIL_AVX2_TARGET __attribute__((target("avx2,fma")))

#else

#define INMEM_DETAIL_AVX2_TARGET

namespace inmem::detail {
inline float dot_half_avx2(const float* q, const std::uint16_t* x, std::size_t n) noexcept { return dot_half_portable(q, x, n); }
inline float l2_half_avx2(const float* q, const std::uint16_t* x, std::size_t n) noexcept { return l2_half_portable(q, x, n); }
inline float dot_int8_avx2(const float* q, const std::int8_t* x, std::size_t n) noexcept { return dot_int8_portable(q, x, n); }
inline float l2_int8_avx2(const float* q, const std::int8_t* x, float scale, std::size_t n) noexcept {
    return l2_int8_portable(q, x, scale, n);
}
} // namespace inmem::detail

#endif

namespace inmem::detail {

/// How the index keeps a row's n dimensions: Code is float, std::uint16_t (half) or
/// std::int8_t; int8 rows also carry their scale.
template <class Code>
struct row_codes {
    static_assert(std::is_same_v<Code, float> || std::is_same_v<Code, std::uint16_t> || std::is_same_v<Code, std::int8_t>);
    /// Whether distances on these codes are estimates (to be ranked again exactly).
    static constexpr bool approximate = !std::is_same_v<Code, float>;

    /// Writes x's codes to out; returns the row's scale (1 but for int8).
    static float encode(const float* x, Code* out, std::size_t n) noexcept {
        if constexpr (std::is_same_v<Code, float>) {
            std::copy(x, x + n, out);
            return 1;
        } else if constexpr (std::is_same_v<Code, std::uint16_t>) {
            for (std::size_t i = 0; i < n; ++i) out[i] = float_to_half(x[i]);
            return 1;
        } else {
            return quantise_int8(x, out, n);
        }
    }
    /// The floats the codes stand for, into out.
    static void decode(const Code* codes, float scale, float* out, std::size_t n) noexcept {
        for (std::size_t i = 0; i < n; ++i) {
            if constexpr (std::is_same_v<Code, float>) out[i] = codes[i];
            else if constexpr (std::is_same_v<Code, std::uint16_t>) out[i] = half_to_float(codes[i]);
            else out[i] = scale * static_cast<float>(codes[i]);
        }
    }
};

/// A distance kernel on rows of codes: query (n floats, as the index keeps queries) against
/// a row's codes and its scale.
template <class Code>
using code_kernel = float (*)(const float* query, const Code* row, float scale, std::size_t n) noexcept;

template <metric M, class Code>
float code_distance_portable(const float* q, const Code* x, float scale, std::size_t n) noexcept {
    if constexpr (std::is_same_v<Code, std::uint16_t>) {
        if constexpr (M == metric::l2) return l2_half_portable(q, x, n);
        else if constexpr (M == metric::inner_product) return -dot_half_portable(q, x, n);
        else return 1.0f - dot_half_portable(q, x, n);
    } else {
        if constexpr (M == metric::l2) return l2_int8_portable(q, x, scale, n);
        else if constexpr (M == metric::inner_product) return -scale * dot_int8_portable(q, x, n);
        else return 1.0f - scale * dot_int8_portable(q, x, n);
    }
}
template <metric M, class Code>
INMEM_DETAIL_AVX2_TARGET float code_distance_avx2(const float* q, const Code* x, float scale, std::size_t n) noexcept {
    if constexpr (std::is_same_v<Code, std::uint16_t>) {
        if constexpr (M == metric::l2) return l2_half_avx2(q, x, n);
        else if constexpr (M == metric::inner_product) return -dot_half_avx2(q, x, n);
        else return 1.0f - dot_half_avx2(q, x, n);
    } else {
        if constexpr (M == metric::l2) return l2_int8_avx2(q, x, scale, n);
        else if constexpr (M == metric::inner_product) return -scale * dot_int8_avx2(q, x, n);
        else return 1.0f - scale * dot_int8_avx2(q, x, n);
    }
}
#undef INMEM_DETAIL_AVX2_TARGET

/// The kernel of metric M on Code rows for this CPU (portable = true: the portable one).
template <metric M, class Code>
code_kernel<Code> code_kernel_for(bool portable = false) noexcept {
    return !portable && vector_kernels_avx2() ? &code_distance_avx2<M, Code> : &code_distance_portable<M, Code>;
}

/// The kernel that compares a float query with a row of Code: distance.hpp's for float rows,
/// the code kernels for the others.
template <class Code>
using row_kernel = std::conditional_t<std::is_same_v<Code, float>, distance_kernel, code_kernel<Code>>;

/// The row kernel of metric M on Code rows for this CPU.
template <metric M, class Code>
row_kernel<Code> row_kernel_for() noexcept {
    if constexpr (std::is_same_v<Code, float>) return kernel_for<M>();
    else return code_kernel_for<M, Code>();
}

/// kernel's distance from query to a row's n codes (scale: int8's; ignored by the others).
template <class Code>
inline float row_distance(row_kernel<Code> kernel, const float* query, const Code* row, float scale, std::size_t n) noexcept {
    if constexpr (std::is_same_v<Code, float>) return kernel(query, row, n);
    else return kernel(query, row, scale, n);
}

} // namespace inmem::detail
