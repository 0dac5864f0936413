// Tests of inmem/vectors/codes.hpp: float16 conversion (exact both ways, rounding to nearest
// even, clamped), int8 scalar quantisation (within half a step of every value), and the code
// kernels, AVX2 and portable, against a double-precision reference on the decoded vectors.
#include <catch2/catch.hpp>
#include <inmem/vectors/codes.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

using inmem::metric;
using namespace inmem::detail;

TEST_CASE("every finite half converts to float and back to itself", "[vectors]") {
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        const auto half = static_cast<std::uint16_t>(h);
        if ((half & 0x7c00u) == 0x7c00u) continue; // infinities and NaNs: never made
        const float f = half_to_float(half);
        REQUIRE(std::isfinite(f));
        REQUIRE(float_to_half(f) == half);
    }
    CHECK(half_to_float(0x3c00) == 1.0f);
    CHECK(half_to_float(0xc000) == -2.0f);
    CHECK(half_to_float(0x7bff) == 65504.0f);
    CHECK(half_to_float(0x0001) == std::ldexp(1.0f, -24)); // the smallest subnormal
    CHECK(half_to_float(0x0400) == std::ldexp(1.0f, -14)); // the smallest normal
    CHECK(std::signbit(half_to_float(0x8000)));
}

TEST_CASE("floats round to the nearest half, ties to even, and are clamped to +-65504", "[vectors]") {
    const float ulp = std::ldexp(1.0f, -10); // a half's step just above 1
    CHECK(float_to_half(1.0f + ulp / 2) == 0x3c00);         // a tie: to the even 1.0
    CHECK(float_to_half(1.0f + 3 * ulp / 2) == 0x3c02);     // a tie: to the even 1 + 2 ulp
    CHECK(float_to_half(1.0f + ulp / 2 + ulp / 64) == 0x3c01); // above the tie: up
    CHECK(float_to_half(1.0f + ulp / 2 - ulp / 64) == 0x3c00); // below it: down
    CHECK(float_to_half(65504.0f) == 0x7bff);
    CHECK(float_to_half(65519.0f) == 0x7bff);
    CHECK(float_to_half(65520.0f) == 0x7bff); // IEEE would make it infinity
    CHECK(float_to_half(1e30f) == 0x7bff);
    CHECK(float_to_half(-1e30f) == 0xfbff);
    CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);       // a tie below the smallest subnormal: to 0
    CHECK(float_to_half(std::ldexp(1.5f, -25)) == 0x0001);       // above it: up
    CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);       // 1.5 subnormal steps: a tie, to even 2
    CHECK(float_to_half(1e-30f) == 0x0000);
    CHECK(float_to_half(-0.0f) == 0x8000);

    // Against a direct rounding of every float in a sweep: the nearest half, ties to even.
    std::mt19937 rng(5);
    std::uniform_int_distribution<std::uint32_t> bits(0, 0x477fefffu); // below 65520
    for (int i = 0; i < 200000; ++i) {
        const float f = std::bit_cast<float>(bits(rng));
        const std::uint16_t h = float_to_half(f);
        const double got = half_to_float(h);
        const double below = half_to_float(static_cast<std::uint16_t>(h == 0 ? 0 : h - 1));
        const double above = half_to_float(static_cast<std::uint16_t>(h + 1));
        const double err = std::fabs(got - f);
        REQUIRE(err <= std::fabs(above - f));
        if (h != 0) REQUIRE(err <= std::fabs(below - f));
        if (err == std::fabs(above - f) || (h != 0 && err == std::fabs(below - f))) REQUIRE((h & 1u) == 0); // a tie: even
    }
#ifdef __FLT16_MAX__
    for (std::uint32_t b = 0; b < 0x477fe000u; b += 997) { // the compiler's own conversion agrees
        const float f = std::bit_cast<float>(b);
        REQUIRE(float_to_half(f) == std::bit_cast<std::uint16_t>(static_cast<_Float16>(f)));
    }
#endif
}

TEST_CASE("int8 codes keep each value within half a step, by the vector's own scale", "[vectors]") {
    std::mt19937 rng(11);
    std::normal_distribution<float> n(0, 3);
    for (const std::size_t dim : {1u, 5u, 64u, 385u}) {
        std::vector<float> x(dim), back(dim);
        for (float& v : x) v = n(rng);
        std::vector<std::int8_t> codes(dim);
        const float scale = row_codes<std::int8_t>::encode(x.data(), codes.data(), dim);
        float largest = 0;
        for (const float v : x) largest = std::max(largest, std::fabs(v));
        CHECK(scale == Approx(largest / 127));
        row_codes<std::int8_t>::decode(codes.data(), scale, back.data(), dim);
        bool extreme = false;
        for (std::size_t i = 0; i < dim; ++i) {
            REQUIRE(std::fabs(back[i] - x[i]) <= scale * 0.5f * 1.0001f);
            extreme = extreme || codes[i] == 127 || codes[i] == -127;
        }
        CHECK(extreme); // the largest value takes the whole range
    }
    std::vector<float> zero(8, 0.0f);
    std::vector<std::int8_t> codes(8, 1);
    CHECK(row_codes<std::int8_t>::encode(zero.data(), codes.data(), 8) == 0);
    CHECK(codes == std::vector<std::int8_t>(8, 0));
}

namespace {
template <metric M, class Code>
void check_kernels() {
    std::mt19937 rng(17);
    std::uniform_real_distribution<float> u(-1, 1);
    for (const std::size_t dim : {1u, 7u, 8u, 15u, 16u, 17u, 31u, 32u, 33u, 100u, 384u}) {
        std::vector<float> q(dim), x(dim), decoded(dim);
        for (float& v : q) v = u(rng);
        for (float& v : x) v = u(rng);
        std::vector<Code> codes(dim);
        const float scale = row_codes<Code>::encode(x.data(), codes.data(), dim);
        row_codes<Code>::decode(codes.data(), scale, decoded.data(), dim);
        double dot = 0, l2 = 0;
        for (std::size_t i = 0; i < dim; ++i) {
            dot += static_cast<double>(q[i]) * decoded[i];
            l2 += (static_cast<double>(q[i]) - decoded[i]) * (static_cast<double>(q[i]) - decoded[i]);
        }
        const double want = M == metric::l2 ? l2 : M == metric::inner_product ? -dot : 1 - dot;
        const float portable = code_kernel_for<M, Code>(true)(q.data(), codes.data(), scale, dim);
        const float best = code_kernel_for<M, Code>()(q.data(), codes.data(), scale, dim);
        INFO("dim " << dim << " metric " << inmem::to_string(M));
        CHECK(portable == Approx(want).margin(1e-5).epsilon(1e-5));
        CHECK(best == Approx(want).margin(1e-5).epsilon(1e-5));
    }
}
} // namespace

TEST_CASE("the code kernels compute each metric on the decoded vector, AVX2 and portable alike", "[vectors]") {
    INFO("kernels: " << vector_kernel_name());
    check_kernels<metric::l2, std::uint16_t>();
    check_kernels<metric::inner_product, std::uint16_t>();
    check_kernels<metric::cosine, std::uint16_t>();
    check_kernels<metric::l2, std::int8_t>();
    check_kernels<metric::inner_product, std::int8_t>();
    check_kernels<metric::cosine, std::int8_t>();
}
