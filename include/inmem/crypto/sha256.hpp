// inmem/crypto/sha256.hpp: SHA-256 through OpenSSL's libcrypto (link -lcrypto; pkg-config
// libcrypto), for the event log's hash chain.
//
// OpenSSL 3 looks a digest up by name in its provider tables on every one-shot EVP_Digest,
// which costs more than hashing a short event: sha256 fetches the EVP_MD once per process
// and keeps its EVP_MD_CTX, so hashing 64 bytes costs the compression function and little
// more (0.2-0.4 us against 0.9-1.1 us one-shot, on a 2-vCPU Xeon with SHA-NI, OpenSSL 3.0).
// OpenSSL picks the SHA-NI or AVX2 code itself.
#pragma once

#include <inmem/error.hpp>

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace inmem {

/// A SHA-256 digest: 32 bytes.
using sha256_digest = std::array<std::uint8_t, 32>;

/// digest as 64 lowercase hexadecimal digits.
inline std::string to_hex(const sha256_digest& digest) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * digest.size());
    for (std::uint8_t b : digest) out += {hex[b >> 4], hex[b & 15]};
    return out;
}

} // namespace inmem

namespace inmem::detail {

/// An incremental SHA-256, reusable: update() any number of times, finish() returns the
/// digest and starts over. Not thread-safe (one per thread: see sha256::of). Throws
/// inmem::error (io_error) if libcrypto fails, which it does only without memory or without
/// a provider of SHA-256.
class sha256 {
public:
    sha256() : ctx_(EVP_MD_CTX_new()) {
        if (!ctx_) fail("EVP_MD_CTX_new");
        start();
    }
    ~sha256() { EVP_MD_CTX_free(ctx_); }
    sha256(sha256&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
    sha256& operator=(sha256&& other) noexcept {
        std::swap(ctx_, other.ctx_);
        return *this;
    }
    sha256(const sha256&) = delete;
    sha256& operator=(const sha256&) = delete;

    /// Feeds bytes to the digest.
    sha256& update(const void* bytes, std::size_t size) {
        if (size != 0 && EVP_DigestUpdate(ctx_, bytes, size) != 1) fail("EVP_DigestUpdate");
        return *this;
    }
    sha256& update(std::string_view bytes) { return update(bytes.data(), bytes.size()); }

    /// The digest of everything fed since the last finish() (or construction); the next
    /// update() starts a new message.
    sha256_digest finish() {
        sha256_digest out{};
        unsigned size = 0;
        if (EVP_DigestFinal_ex(ctx_, out.data(), &size) != 1 || size != out.size()) fail("EVP_DigestFinal_ex");
        start();
        return out;
    }

    /// The digest of bytes, with this thread's hasher.
    static sha256_digest of(std::string_view bytes) {
        thread_local sha256 hasher;
        return hasher.update(bytes).finish();
    }

private:
    // The SHA-256 implementation of the default provider, fetched once per process (OpenSSL
    // keeps it; freeing it at exit would race with other threads' last hashes).
    static const EVP_MD* algorithm() {
        static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (!md) fail("EVP_MD_fetch(SHA256)");
        return md;
    }
    void start() {
        if (EVP_DigestInit_ex2(ctx_, algorithm(), nullptr) != 1) fail("EVP_DigestInit_ex2");
    }
    [[noreturn]] static void fail(const char* call) {
        throw error(errc::io_error, std::string("inmem: SHA-256: libcrypto's ") + call + " failed");
    }

    EVP_MD_CTX* ctx_;
};

} // namespace inmem::detail
