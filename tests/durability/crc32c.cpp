// Tests of inmem/durability/crc32c.hpp: known vectors, hardware against portable against a
// bit-at-a-time reference, piecewise extension, masking, and single-bit error detection.
#include <catch2/catch.hpp>
#include <inmem/durability/crc32c.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>
#include <string_view>
#include <vector>

using namespace inmem::detail;

namespace {

// The definition, one bit at a time: shares no code or table with the header.
std::uint32_t reference_crc32c(std::uint32_t crc, const unsigned char* p, std::size_t n) {
    crc = ~crc;
    for (std::size_t i = 0; i < n; ++i) {
        crc ^= p[i];
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

std::vector<unsigned char> random_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<unsigned char> v(n);
    for (auto& b : v) b = static_cast<unsigned char>(rng());
    return v;
}

// A copy of bytes placed at an address whose remainder modulo 16 is `alignment`.
class placed {
public:
    placed(const std::vector<unsigned char>& bytes, std::size_t alignment) : storage_(bytes.size() + 32) {
        const auto address = reinterpret_cast<std::uintptr_t>(storage_.data());
        data_ = storage_.data() + (16 + alignment - address % 16) % 16;
        if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
        REQUIRE(reinterpret_cast<std::uintptr_t>(data_) % 16 == alignment);
    }
    const unsigned char* data() const { return data_; }

private:
    std::vector<unsigned char> storage_;
    unsigned char* data_;
};

// Lengths around the points where the hardware path changes strategy: 8-byte words, and
// groups of three blocks of 64, 256 and 2048 bytes, alone and followed by smaller groups.
std::vector<std::size_t> interesting_lengths() {
    std::vector<std::size_t> lengths;
    for (std::size_t base : {192u, 384u, 768u, 960u, 1536u, 6144u, 6144u + 768u + 192u, 12288u, 65536u})
        for (std::size_t delta = 0; delta <= 24; ++delta) {
            lengths.push_back(base + delta);
            lengths.push_back(base - delta);
        }
    std::mt19937_64 rng(11);
    for (int i = 0; i < 60; ++i) lengths.push_back(301 + rng() % 70000);
    lengths.push_back(1 << 20);
    return lengths;
}

} // namespace

TEST_CASE("crc32c: the hardware path in use", "[crc32c]") {
    INFO("crc32c_hardware() = " << crc32c_hardware());
#if defined(__x86_64__)
    INFO("x86-64: SSE4.2 dispatched at run time");
#endif
    // Stable across calls: the choice is made once.
    CHECK(crc32c_hardware() == crc32c_hardware());
#if defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
    CHECK(crc32c_hardware());
#elif !defined(__x86_64__) // x86-64 decides at run time (an emulated CPU may lack SSE4.2)
    CHECK_FALSE(crc32c_hardware());
#endif
}

TEST_CASE("crc32c: known vectors (RFC 3720 B.4 and the check value)", "[crc32c]") {
    std::array<unsigned char, 32> zeros{}, ones{}, ascending{}, descending{};
    ones.fill(0xFF);
    for (std::size_t i = 0; i < 32; ++i) {
        ascending[i] = static_cast<unsigned char>(i);
        descending[i] = static_cast<unsigned char>(31 - i);
    }
    constexpr std::string_view check = "123456789";

    struct vector_case {
        const char* name;
        const void* data;
        std::size_t size;
        std::uint32_t expected;
    };
    const vector_case cases[] = {
        {"32 zero bytes", zeros.data(), zeros.size(), 0x8A9136AAu},
        {"32 bytes of 0xFF", ones.data(), ones.size(), 0x62A8AB43u},
        {"bytes 0..31", ascending.data(), ascending.size(), 0x46DD794Eu},
        {"bytes 31..0", descending.data(), descending.size(), 0x113FDB5Cu},
        {"\"123456789\"", check.data(), check.size(), 0xE3069283u},
        {"empty", check.data(), 0, 0u},
        {"empty, null", nullptr, 0, 0u},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        CHECK(crc32c(c.data, c.size) == c.expected);
        CHECK(crc32c_extend_portable(0, c.data, c.size) == c.expected);
        CHECK(reference_crc32c(0, static_cast<const unsigned char*>(c.data), c.size) == c.expected);
    }
    // Extending by nothing changes nothing.
    CHECK(crc32c_extend(0xE3069283u, nullptr, 0) == 0xE3069283u);
    CHECK(crc32c_extend_portable(0xE3069283u, nullptr, 0) == 0xE3069283u);
}

TEST_CASE("crc32c: portable matches the bit-at-a-time definition", "[crc32c]") {
    const auto bytes = random_bytes(4096 + 300, 1);
    for (std::size_t n = 0; n <= 300; ++n) {
        INFO("length " << n);
        REQUIRE(crc32c_extend_portable(0, bytes.data() + n % 7, n) == reference_crc32c(0, bytes.data() + n % 7, n));
        REQUIRE(crc32c_extend_portable(0x12345678u, bytes.data(), n) == reference_crc32c(0x12345678u, bytes.data(), n));
    }
    CHECK(crc32c_extend_portable(0, bytes.data(), bytes.size()) == reference_crc32c(0, bytes.data(), bytes.size()));
}

TEST_CASE("crc32c: hardware and portable agree at every length 0..300 and alignment 0..15", "[crc32c]") {
    INFO("hardware path in use: " << crc32c_hardware());
    for (std::size_t n = 0; n <= 300; ++n) {
        const auto bytes = random_bytes(n, 100 + n);
        const auto expected = crc32c_extend_portable(0, bytes.data(), n);
        REQUIRE(expected == reference_crc32c(0, bytes.data(), n));
        for (std::size_t alignment = 0; alignment < 16; ++alignment) {
            INFO("length " << n << ", alignment " << alignment);
            const placed at(bytes, alignment);
            REQUIRE(crc32c(at.data(), n) == expected);
            REQUIRE(crc32c_extend_portable(0, at.data(), n) == expected);
            REQUIRE(crc32c_extend(0xDEADBEEFu, at.data(), n) == crc32c_extend_portable(0xDEADBEEFu, at.data(), n));
        }
    }
}

TEST_CASE("crc32c: hardware and portable agree at larger lengths and every alignment 0..15", "[crc32c]") {
    INFO("hardware path in use: " << crc32c_hardware());
    std::uint64_t seed = 1000;
    for (std::size_t n : interesting_lengths()) {
        const auto bytes = random_bytes(n, ++seed);
        const auto expected = crc32c_extend_portable(0, bytes.data(), n);
        for (std::size_t alignment = 0; alignment < 16; ++alignment) {
            INFO("length " << n << ", alignment " << alignment);
            const placed at(bytes, alignment);
            REQUIRE(crc32c(at.data(), n) == expected);
            REQUIRE(crc32c_extend_portable(0, at.data(), n) == expected);
        }
    }
    // All zeros and all ones over the long paths (patterns random data would not favour).
    for (unsigned char fill : {0x00, 0xFF}) {
        const std::vector<unsigned char> uniform(20000, fill);
        CHECK(crc32c(uniform.data(), uniform.size()) == crc32c_extend_portable(0, uniform.data(), uniform.size()));
        CHECK(crc32c(uniform.data(), uniform.size()) == reference_crc32c(0, uniform.data(), uniform.size()));
    }
}

TEST_CASE("crc32c: the stream-joining tables feed a register zero bytes", "[crc32c]") {
    // crc32c_shift(crc32c_shift_by<N>, r) must equal the raw register r fed N zero bytes.
    std::mt19937_64 rng(5);
    const std::vector<unsigned char> zeros(4096, 0);
    auto fed = [&](std::uint32_t raw, std::size_t n) { return ~crc32c_extend_portable(~raw, zeros.data(), n); };
    for (int i = 0; i < 200; ++i) {
        const auto r = static_cast<std::uint32_t>(rng());
        CHECK(crc32c_shift(crc32c_shift_by<64>, r) == fed(r, 64));
        CHECK(crc32c_shift(crc32c_shift_by<128>, r) == fed(r, 128));
        CHECK(crc32c_shift(crc32c_shift_by<256>, r) == fed(r, 256));
        CHECK(crc32c_shift(crc32c_shift_by<512>, r) == fed(r, 512));
        CHECK(crc32c_shift(crc32c_shift_by<2048>, r) == fed(r, 2048));
        CHECK(crc32c_shift(crc32c_shift_by<4096>, r) == fed(r, 4096));
    }
    STATIC_REQUIRE(crc32c_zeros_factor(0) == 0x80000000u);
}

TEST_CASE("crc32c: extending composes at every split point", "[crc32c]") {
    const auto bytes = random_bytes(7000, 42);
    const auto whole = crc32c(bytes.data(), bytes.size());
    REQUIRE(whole == crc32c_extend_portable(0, bytes.data(), bytes.size()));
    for (std::size_t split = 0; split <= bytes.size(); ++split) {
        INFO("split at " << split);
        const auto head = crc32c(bytes.data(), split);
        REQUIRE(crc32c_extend(head, bytes.data() + split, bytes.size() - split) == whole);
        const auto head_portable = crc32c_extend_portable(0, bytes.data(), split);
        REQUIRE(head_portable == head);
        REQUIRE(crc32c_extend_portable(head_portable, bytes.data() + split, bytes.size() - split) == whole);
    }
    // Many small pieces, as a record written field by field.
    std::mt19937_64 rng(9);
    for (int trial = 0; trial < 50; ++trial) {
        std::uint32_t crc = 0, crc_portable = 0;
        for (std::size_t at = 0; at < bytes.size();) {
            const std::size_t piece = std::min<std::size_t>(rng() % 40, bytes.size() - at);
            crc = crc32c_extend(crc, bytes.data() + at, piece);
            crc_portable = crc32c_extend_portable(crc_portable, bytes.data() + at, piece);
            at += piece;
        }
        REQUIRE(crc == whole);
        REQUIRE(crc_portable == whole);
    }
}

TEST_CASE("crc32c: masking round-trips and moves the value", "[crc32c]") {
    STATIC_REQUIRE(crc32c_unmask(crc32c_mask(0xE3069283u)) == 0xE3069283u);
    STATIC_REQUIRE(crc32c_mask(0) == 0xA282EAD8u); // LevelDB: Mask(0) is the delta
    std::mt19937_64 rng(3);
    int unchanged = 0;
    for (int i = 0; i < 100000; ++i) {
        const auto crc = static_cast<std::uint32_t>(rng());
        REQUIRE(crc32c_unmask(crc32c_mask(crc)) == crc);
        REQUIRE(crc32c_mask(crc32c_unmask(crc)) == crc);
        unchanged += crc32c_mask(crc) == crc;
    }
    CHECK(unchanged == 0);
    for (std::uint32_t crc : {0u, 1u, 0xFFFFFFFFu, 0x8A9136AAu, 0x62A8AB43u, 0x46DD794Eu, 0x113FDB5Cu, 0xE3069283u}) {
        INFO(crc);
        CHECK(crc32c_mask(crc) != crc);
        CHECK(crc32c_unmask(crc32c_mask(crc)) == crc);
    }
    // The point of masking: the CRC of bytes ending in their own CRC is not a constant.
    const auto bytes = random_bytes(100, 4);
    std::vector<unsigned char> with_crc(bytes);
    with_crc.resize(104);
    const auto masked = crc32c_mask(crc32c(bytes.data(), bytes.size()));
    std::memcpy(with_crc.data() + 100, &masked, 4);
    CHECK(crc32c(with_crc.data(), with_crc.size()) != 0u);
}

TEST_CASE("crc32c: every single-bit flip in a 4 KiB buffer changes the CRC", "[crc32c]") {
    auto bytes = random_bytes(4096, 77);
    const auto original = crc32c(bytes.data(), bytes.size());
    std::size_t missed = 0, missed_portable = 0;
    for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
        const auto flip = static_cast<unsigned char>(1u << (bit % 8));
        bytes[bit / 8] ^= flip;
        missed += crc32c(bytes.data(), bytes.size()) == original;
        if (bit % 61 == 0) missed_portable += crc32c_extend_portable(0, bytes.data(), bytes.size()) == original;
        bytes[bit / 8] ^= flip;
    }
    CHECK(missed == 0);
    CHECK(missed_portable == 0);
    CHECK(crc32c(bytes.data(), bytes.size()) == original);
}
