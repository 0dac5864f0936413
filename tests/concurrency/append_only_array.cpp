// Tests of inmem/concurrency/append_only_array.hpp: the array one writer appends to in chunks
// of doubling size (64, 128, 256, ... elements) that never move. push_back, get, set, size and
// reserve, across chunk boundaries; and the header's claim: a reader that sees size() == n
// reads elements [0, n) as written while one writer appends (that case is
// tagged [stress] too, for the ThreadSanitizer stress suite).
#include <catch2/catch.hpp>
#include <inmem/concurrency/append_only_array.hpp>

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

using inmem::detail::append_only_array;

namespace {

std::uint64_t value_of(std::uint64_t i) { return i * 0x9E3779B97F4A7C15ull + 1; } // never 0, all distinct
std::uint64_t reset_of(std::uint64_t i) { return ~value_of(i); }                  // what set() writes

// Index of the first element of each chunk: 0, 64, 192, 448, ... (2^(k+6) - 64).
constexpr std::uint64_t chunk_start(unsigned k) { return (std::uint64_t{1} << (k + 6)) - 64; }

struct alignas(8) pair32 { // aligned as a uint64, so that std::atomic of it is lock-free (clang: no libatomic call)
    std::uint32_t a, b;
    bool operator==(const pair32&) const = default;
};
static_assert(std::is_trivially_copyable_v<pair32>);
static_assert(std::atomic<pair32>::is_always_lock_free);

} // namespace

TEST_CASE("append_only_array: push_back, get and size across chunk boundaries", "[append_only_array]") {
    append_only_array<std::uint64_t> a;
    CHECK(a.size() == 0);
    constexpr std::uint64_t n = chunk_start(7) + 5; // into the eighth chunk
    for (std::uint64_t i = 0; i < n; ++i) {
        a.push_back(value_of(i));
        REQUIRE(a.size() == i + 1);
        REQUIRE(a.get(i) == value_of(i));
        if (i > 0) REQUIRE(a.get(i - 1) == value_of(i - 1)); // a new chunk does not move the old
    }
    for (std::uint64_t i = 0; i < n; ++i) REQUIRE(a.get(i) == value_of(i));
    for (unsigned k = 1; k <= 7; ++k) { // both sides of every boundary
        CHECK(a.get(chunk_start(k) - 1) == value_of(chunk_start(k) - 1));
        CHECK(a.get(chunk_start(k)) == value_of(chunk_start(k)));
    }
    // A second array is independent of the first.
    append_only_array<std::uint64_t> b;
    b.push_back(7);
    for (int i = 0; i < 10000; ++i) b.push_back(i);
    CHECK(b.get(0) == 7);
    CHECK(b.get(10000) == 9999);
    CHECK(a.get(0) == value_of(0));
    CHECK(b.size() == 10001);
}

TEST_CASE("append_only_array: set changes one element only", "[append_only_array]") {
    append_only_array<std::uint64_t> a;
    for (std::uint64_t i = 0; i < 500; ++i) a.push_back(value_of(i));
    for (std::uint64_t i : {0ull, 63ull, 64ull, 191ull, 192ull, 499ull}) a.set(i, reset_of(i));
    for (std::uint64_t i = 0; i < 500; ++i) {
        const bool was_set = i == 0 || i == 63 || i == 64 || i == 191 || i == 192 || i == 499;
        REQUIRE(a.get(i) == (was_set ? reset_of(i) : value_of(i)));
    }
    CHECK(a.size() == 500);
    a.set(499, 5);
    a.push_back(6);
    CHECK(a.get(499) == 5);
    CHECK(a.get(500) == 6);
}

TEST_CASE("append_only_array: reserve makes room without changing size", "[append_only_array]") {
    append_only_array<std::uint64_t> a;
    a.reserve(0);
    CHECK(a.size() == 0);
    for (std::uint64_t i = 0; i < 60; ++i) a.push_back(value_of(i));
    a.reserve(1000); // from the middle of chunk 0 through several more
    CHECK(a.size() == 60);
    CHECK(a.get(59) == value_of(59));
    for (std::uint64_t i = 60; i < 1060; ++i) a.push_back(value_of(i));
    CHECK(a.size() == 1060);
    a.reserve(); // the default: room for one more
    a.reserve(); // twice is harmless
    a.push_back(value_of(1060));
    for (std::uint64_t i = 0; i <= 1060; ++i) REQUIRE(a.get(i) == value_of(i));
}

TEST_CASE("append_only_array: a small struct element", "[append_only_array]") {
    append_only_array<pair32> a;
    for (std::uint32_t i = 0; i < 300; ++i) a.push_back(pair32{i, ~i});
    a.set(100, pair32{1, 2});
    CHECK(a.size() == 300);
    for (std::uint32_t i = 0; i < 300; ++i) REQUIRE(a.get(i) == (i == 100 ? pair32{1, 2} : pair32{i, ~i}));
}

TEST_CASE("append_only_array: readers read [0, size()) while one writer appends", "[append_only_array][stress]") {
    constexpr std::uint64_t n = 100000; // through chunk 10
    append_only_array<std::uint64_t> a;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> wrong{0}, shrunk{0}, reads{0}, rounds{0};
    // The writer also set()s element i / 2 after pushing element i, so a reader may see either
    // value of an element, never anything else (0 included: an element not yet written).
    auto ok = [](std::uint64_t i, std::uint64_t v) { return v == value_of(i) || v == reset_of(i); };
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t)
        readers.emplace_back([&, t] {
            std::uint64_t seen = 0, rng = 99 + t, local_reads = 0;
            while (!done.load(std::memory_order_acquire)) {
                const std::uint64_t size = a.size();
                if (size < seen) shrunk.fetch_add(1);
                if (size && !ok(size - 1, a.get(size - 1))) wrong.fetch_add(1); // the newest first
                const std::uint64_t from = size < seen ? 0 : size - seen > 256 ? size - 256 : seen;
                for (std::uint64_t i = from; i < size; ++i, ++local_reads) // all that is new (up to 256)
                    if (!ok(i, a.get(i))) wrong.fetch_add(1);
                for (int k = 0; k < 32 && size; ++k, ++local_reads) { // and any older ones
                    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                    const std::uint64_t i = (rng >> 33) % size;
                    if (!ok(i, a.get(i))) wrong.fetch_add(1);
                }
                seen = size;
                rounds.fetch_add(1);
            }
            reads.fetch_add(local_reads);
        });
    for (std::uint64_t i = 0; i < n; ++i) {
        if (i > 0 && ((i + 64) & (i + 63)) == 0) { // a new chunk: have the readers on it
            const std::uint64_t r = rounds.load(); // 3 readers: the 4th round from now began after this
            while (rounds.load() < r + 4) std::this_thread::yield();
        }
        if (i % 2) a.reserve(); // half through reserve first, half through push_back alone
        a.push_back(value_of(i));
        a.set(i / 2, reset_of(i / 2));
    }
    done.store(true, std::memory_order_release);
    for (auto& r : readers) r.join();
    CHECK(wrong == 0);
    CHECK(shrunk == 0);
    CHECK(reads > 0);
    REQUIRE(a.size() == n);
    for (std::uint64_t i = 0; i < n; ++i) REQUIRE(a.get(i) == (i <= (n - 1) / 2 ? reset_of(i) : value_of(i)));
}
