// inmem/durability/crc32c.hpp: CRC-32C, the checksum of every physical WAL record.
//
// What is computed:
//   crc32c(bytes)   := CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, register preset
//                      to 0xFFFFFFFF, result complemented. The same function as iSCSI
//                      (RFC 3720 B.4), ext4, btrfs and LevelDB: crc32c("123456789") = 0xE3069283.
//   crc32c(a ++ b)  == crc32c_extend(crc32c(a), b), so a record can be checksummed piecewise.
//   stored          := crc32c_mask(crc) = rotr(crc, 15) + 0xA282EAD8 (mod 2^32), LevelDB's mask.
//
// Where it is used: the WAL stores the masked CRC of each physical record in the record's
// header; a reader unmasks it and compares before it trusts the record's length or payload.
//
// How: the SSE4.2 `crc32` instruction on x86-64 (chosen at run time, three independent streams
// so the instruction's latency is hidden), the ARMv8 CRC32 instructions on aarch64 when the
// compiler targets them, and slicing-by-8 over compile-time tables everywhere else.
#pragma once

#include <inmem/config.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace inmem::detail {

/// CRC-32C of n bytes at data, continuing from crc, the CRC of the bytes before them (0 to
/// start): crc32c_extend(crc32c(a), b) == crc32c(a + b). data may be null when n is 0.
/// O(n): with the hardware instruction (crc32c_hardware()) some 15-25 GB/s, else about 2 GB/s.
inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept;

/// CRC-32C of n bytes at data (data may be null when n is 0). crc32c of no bytes is 0.
inline std::uint32_t crc32c(const void* data, std::size_t n) noexcept { return crc32c_extend(0, data, n); }

/// The value to store for a CRC: rotated and offset (LevelDB's mask), so that a CRC computed
/// over bytes that themselves contain CRCs stays well distributed.
constexpr std::uint32_t crc32c_mask(std::uint32_t crc) noexcept;

/// The CRC a stored (masked) value stands for: crc32c_unmask(crc32c_mask(c)) == c.
constexpr std::uint32_t crc32c_unmask(std::uint32_t masked) noexcept;

/// crc32c_extend by slicing-by-8, without special instructions: always available, the
/// reference the hardware path is tested against. About 2 GB/s.
inline std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t n) noexcept;

/// Whether crc32c_extend uses a hardware CRC instruction on this machine (decided once).
inline bool crc32c_hardware() noexcept;

// ---- masking ----

inline constexpr std::uint32_t crc32c_mask_delta = 0xA282EAD8u;

constexpr std::uint32_t crc32c_mask(std::uint32_t crc) noexcept { return std::rotr(crc, 15) + crc32c_mask_delta; }

constexpr std::uint32_t crc32c_unmask(std::uint32_t masked) noexcept {
    return std::rotl(masked - crc32c_mask_delta, 15);
}

// ---- polynomial arithmetic and tables (all evaluated at compile time) ----
//
// The CRC register is a polynomial over GF(2) in reflected order: bit 31 is x^0, bit 0 is
// x^31. Below, "raw" registers are the preset-and-complemented values the loops carry.

inline constexpr std::uint32_t crc32c_polynomial = 0x82F63B78u;

/// a(x) * b(x) mod P(x), reflected.
constexpr std::uint32_t crc32c_multiply(std::uint32_t a, std::uint32_t b) noexcept {
    std::uint32_t product = 0;
    for (std::uint32_t m = 0x80000000u; m != 0; m >>= 1) {
        if (a & m) product ^= b;
        b = (b & 1) ? (b >> 1) ^ crc32c_polynomial : b >> 1;
    }
    return product;
}

/// x^(8n) mod P(x): multiplying a raw register by it is feeding it n zero bytes.
constexpr std::uint32_t crc32c_zeros_factor(std::size_t n) noexcept {
    std::uint32_t result = 0x80000000u; // x^0
    std::uint32_t power = 0x00800000u;  // x^8, then x^16, x^32, ...
    for (; n != 0; n >>= 1) {
        if (n & 1) result = crc32c_multiply(power, result);
        power = crc32c_multiply(power, power);
    }
    return result;
}

/// Tables of slicing-by-8: [0] is the byte-at-a-time table, [k][i] is i followed by k zero bytes.
using crc32c_slice_tables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr crc32c_slice_tables crc32c_make_slice_tables() {
    crc32c_slice_tables t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ crc32c_polynomial : c >> 1;
        t[0][i] = c;
    }
    for (std::size_t k = 1; k < 8; ++k)
        for (std::size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    return t;
}

inline constexpr crc32c_slice_tables crc32c_slices = crc32c_make_slice_tables();
static_assert(crc32c_slices[0][1] == 0xF26B8303u && crc32c_slices[0][128] == crc32c_polynomial,
              "inmem: CRC-32C table generation is wrong");

/// Multiplication of a raw register by a fixed x^(8n), a nibble at a time: [k][v] is the
/// product for the register v << 4k. This is how the hardware path joins its streams.
using crc32c_shift_table = std::array<std::array<std::uint32_t, 16>, 8>;

constexpr crc32c_shift_table crc32c_make_shift_table(std::size_t zero_bytes) {
    const std::uint32_t factor = crc32c_zeros_factor(zero_bytes);
    crc32c_shift_table t{};
    for (std::uint32_t k = 0; k < 8; ++k)
        for (std::uint32_t v = 0; v < 16; ++v) t[k][v] = crc32c_multiply(factor, v << (4 * k));
    return t;
}

template <std::size_t ZeroBytes>
inline constexpr crc32c_shift_table crc32c_shift_by = crc32c_make_shift_table(ZeroBytes);

/// The raw register r fed the table's number of zero bytes.
inline std::uint32_t crc32c_shift(const crc32c_shift_table& t, std::uint32_t r) noexcept {
    return t[0][r & 15] ^ t[1][(r >> 4) & 15] ^ t[2][(r >> 8) & 15] ^ t[3][(r >> 12) & 15] ^
           t[4][(r >> 16) & 15] ^ t[5][(r >> 20) & 15] ^ t[6][(r >> 24) & 15] ^ t[7][r >> 28];
}

/// 8 bytes at p as a little-endian integer; p need not be aligned.
inline std::uint64_t crc32c_load_le64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::big) {
        std::uint64_t swapped = 0;
        for (int i = 0; i < 8; ++i, v >>= 8) swapped = (swapped << 8) | (v & 0xff);
        v = swapped;
    }
    return v;
}

// ---- portable path ----

inline std::uint32_t crc32c_extend_portable(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    const auto& t = crc32c_slices;
    auto p = static_cast<const unsigned char*>(data);
    std::uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {
        const std::uint64_t w = crc32c_load_le64(p) ^ c;
        c = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^ t[4][(w >> 24) & 0xff] ^
            t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^ t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
    }
    for (; n != 0; --n, ++p) c = t[0][(c ^ *p) & 0xff] ^ (c >> 8);
    return ~c;
}

} // namespace inmem::detail

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#include <nmmintrin.h>

namespace inmem::detail {

/// Feeds whole groups of 3 * Block bytes to the raw register crc, advancing p and n. The
/// crc32 instruction has a latency of 3 cycles and a throughput of 1, so three independent
/// streams (block 0 from crc, blocks 1 and 2 from 0) run at the full rate; they are then
/// joined as crc = r0 * x^(16 Block) + r1 * x^(8 Block) + r2. always_inline: clang would
/// otherwise call it and keep crc, p and n in memory, halving throughput on short buffers.
template <std::size_t Block>
__attribute__((target("sse4.2"), always_inline)) inline void
crc32c_sse42_streams(std::uint32_t& crc, const unsigned char*& p, std::size_t& n) noexcept {
    static_assert(Block % 8 == 0);
    for (; n >= 3 * Block; n -= 3 * Block, p += 3 * Block) {
        std::uint64_t r0 = crc, r1 = 0, r2 = 0;
        for (std::size_t i = 0; i < Block; i += 8) {
            r0 = _mm_crc32_u64(r0, crc32c_load_le64(p + i));
            r1 = _mm_crc32_u64(r1, crc32c_load_le64(p + Block + i));
            r2 = _mm_crc32_u64(r2, crc32c_load_le64(p + 2 * Block + i));
        }
        crc = crc32c_shift(crc32c_shift_by<2 * Block>, static_cast<std::uint32_t>(r0)) ^
              crc32c_shift(crc32c_shift_by<Block>, static_cast<std::uint32_t>(r1)) ^ static_cast<std::uint32_t>(r2);
    }
}

/// crc32c_extend with SSE4.2; only to be called where the CPU has it.
__attribute__((target("sse4.2"))) inline std::uint32_t crc32c_extend_sse42(std::uint32_t crc, const void* data,
                                                                           std::size_t n) noexcept {
    auto p = static_cast<const unsigned char*>(data);
    std::uint32_t c = ~crc;
    // Align, so that no 8-byte load straddles a cache line.
    for (; n != 0 && (reinterpret_cast<std::uintptr_t>(p) & 7) != 0; --n, ++p) c = _mm_crc32_u8(c, *p);
    // Large groups for throughput, then smaller ones so mid-sized records get streams too.
    crc32c_sse42_streams<2048>(c, p, n);
    crc32c_sse42_streams<256>(c, p, n);
    crc32c_sse42_streams<64>(c, p, n);
    std::uint64_t r = c;
    for (; n >= 8; n -= 8, p += 8) r = _mm_crc32_u64(r, crc32c_load_le64(p));
    c = static_cast<std::uint32_t>(r);
    for (; n != 0; --n, ++p) c = _mm_crc32_u8(c, *p);
    return ~c;
}

inline bool crc32c_hardware() noexcept {
    static const bool supported = [] {
        __builtin_cpu_init(); // in case the first call comes from a static initialiser
        return __builtin_cpu_supports("sse4.2") != 0;
    }();
    return supported;
}

inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    return crc32c_hardware() ? crc32c_extend_sse42(crc, data, n) : crc32c_extend_portable(crc, data, n);
}

} // namespace inmem::detail

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)

#include <arm_acle.h>

namespace inmem::detail {

/// crc32c_extend with the ARMv8 CRC32 instructions (the compiler targets them, e.g. -march=armv8-a+crc).
inline std::uint32_t crc32c_extend_armv8(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    auto p = static_cast<const unsigned char*>(data);
    std::uint32_t c = ~crc;
    for (; n != 0 && (reinterpret_cast<std::uintptr_t>(p) & 7) != 0; --n, ++p) c = __crc32cb(c, *p);
    for (; n >= 8; n -= 8, p += 8) c = __crc32cd(c, crc32c_load_le64(p));
    for (; n != 0; --n, ++p) c = __crc32cb(c, *p);
    return ~c;
}

inline bool crc32c_hardware() noexcept { return true; }

inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    return crc32c_extend_armv8(crc, data, n);
}

} // namespace inmem::detail

#else

namespace inmem::detail {

inline bool crc32c_hardware() noexcept { return false; }

inline std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t n) noexcept {
    return crc32c_extend_portable(crc, data, n);
}

} // namespace inmem::detail

#endif
