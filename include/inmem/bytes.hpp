// inmem/bytes.hpp: fixed-width and variable-length integers in bytes, the one byte coding
// that keys (big-endian, so byte order is numeric order), the value codec, the WAL and the
// snapshot files (little-endian fixed, LEB128 varint) are written with.
#pragma once

#include <inmem/config.hpp>
#include <inmem/error.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace inmem::detail {

// ---- Big-endian (keys)

template <class Int>
void append_big_endian(std::string& out, Int v) {
    for (int shift = (sizeof(Int) - 1) * 8; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xff));
}

// Writes v big-endian at out: one byte swap and one store, not a byte at a time.
template <class Int>
void store_big_endian(char* out, Int v) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        if constexpr (sizeof(Int) == 2) v = static_cast<Int>(__builtin_bswap16(static_cast<std::uint16_t>(v)));
        else if constexpr (sizeof(Int) == 4) v = static_cast<Int>(__builtin_bswap32(static_cast<std::uint32_t>(v)));
        else if constexpr (sizeof(Int) == 8) v = static_cast<Int>(__builtin_bswap64(static_cast<std::uint64_t>(v)));
    }
    std::memcpy(out, &v, sizeof v);
}

template <class Int>
Int read_big_endian(std::string_view in, std::size_t at) noexcept {
    Int v = 0;
    for (std::size_t i = 0; i < sizeof(Int); ++i) v = static_cast<Int>((v << 8) | static_cast<unsigned char>(in[at + i]));
    return v;
}

// Reads a big-endian integer at in[at]: one load and one byte swap (in must hold it).
template <class Int>
Int load_big_endian(const char* in) noexcept {
    Int v;
    std::memcpy(&v, in, sizeof v);
    if constexpr (std::endian::native == std::endian::little) {
        if constexpr (sizeof(Int) == 2) v = static_cast<Int>(__builtin_bswap16(static_cast<std::uint16_t>(v)));
        else if constexpr (sizeof(Int) == 4) v = static_cast<Int>(__builtin_bswap32(static_cast<std::uint32_t>(v)));
        else if constexpr (sizeof(Int) == 8) v = static_cast<Int>(__builtin_bswap64(static_cast<std::uint64_t>(v)));
    }
    return v;
}

// ---- Little-endian fixed and varint (values, files)

template <class I>
constexpr I to_little_endian(I v) noexcept {
    if constexpr (std::endian::native == std::endian::little || sizeof(I) == 1) {
        return v;
    } else {
        auto bytes = std::bit_cast<std::array<unsigned char, sizeof(I)>>(v);
        std::reverse(bytes.begin(), bytes.end());
        return std::bit_cast<I>(bytes);
    }
}

/// Appends encoded values to a std::string.
class writer {
public:
    explicit writer(std::string& out) noexcept : out_(out) {}

    void bytes(const void* data, std::size_t n) { out_.append(static_cast<const char*>(data), n); }

    template <class I>
    void fixed(I v) {
        v = to_little_endian(v);
        bytes(&v, sizeof v);
    }

    void varint(std::uint64_t v) {
        char buf[10];
        std::size_t n = 0;
        while (v >= 0x80) {
            buf[n++] = static_cast<char>(v | 0x80);
            v >>= 7;
        }
        buf[n++] = static_cast<char>(v);
        bytes(buf, n);
    }

    std::string& out() noexcept { return out_; }

private:
    std::string& out_;
};

/// Reads encoded values from untrusted bytes. Every read checks what is left; the first
/// failure is recorded and every later read fails too.
class reader {
public:
    explicit reader(std::string_view in) noexcept : pos_(in.data()), end_(in.data() + in.size()) {}

    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - pos_); }
    errc error() const noexcept { return error_; }
    bool ok() const noexcept { return error_ == errc::ok; }

    bool fail(errc e) noexcept {
        if (error_ == errc::ok) error_ = e;
        return false;
    }

    bool bytes(std::size_t n, const char*& out) noexcept {
        if (INMEM_UNLIKELY(!ok() || n > remaining())) return fail(errc::decode_truncated);
        out = pos_;
        pos_ += n;
        return true;
    }

    template <class I>
    bool fixed(I& v) noexcept {
        const char* p;
        if (!bytes(sizeof v, p)) return false;
        std::memcpy(&v, p, sizeof v);
        v = to_little_endian(v);
        return true;
    }

    bool varint(std::uint64_t& v) noexcept {
        v = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            const char* p;
            if (!bytes(1, p)) return false;
            auto byte = static_cast<std::uint8_t>(*p);
            if (shift == 63 && byte > 1) return fail(errc::decode_invalid); // beyond 64 bits
            v |= std::uint64_t{byte & 0x7fu} << shift;
            if (!(byte & 0x80)) {
                if (byte == 0 && shift != 0) return fail(errc::decode_invalid); // redundant byte
                return true;
            }
        }
        return fail(errc::decode_invalid);
    }

    // A count of elements, each at least min_size bytes: refused when the input cannot hold them.
    bool count(std::uint64_t& n, std::size_t min_size) noexcept {
        if (!varint(n)) return false;
        if (n > remaining() / (min_size ? min_size : 1)) return fail(errc::decode_truncated);
        return true;
    }

private:
    const char* pos_;
    const char* end_;
    errc error_ = errc::ok;
};

} // namespace inmem::detail
