// Property tests of inmem/schema/codec.hpp, with a fixed-seed PRNG:
//  - random values of rich types round-trip exactly, and encoding is deterministic;
//  - random and mutated bytes never crash or hang the decoder: they give an error, or a value
//    that re-encodes and decodes to itself;
//  - decoding hostile bytes allocates at most a constant factor of the input's size.
//
// Reproduce or widen a run with INMEM_PROPERTY_SEED=<n> and INMEM_PROPERTY_ITERATIONS=<n>
// (the seed in use is printed with every failure). The defaults keep this file around a
// second or two in a debug build with AddressSanitizer.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <boost/pfr/core.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

// ---------------------------------------------------------------------------------------------
// Allocation counting: every global operator new/delete is replaced (consistently, forwarding to
// malloc/free, so sanitizer builds see matching pairs); bytes are counted only on a thread
// that set `counting`.

namespace alloc_probe {
thread_local bool counting = false;
thread_local std::size_t total_bytes = 0;
thread_local std::size_t largest = 0;
thread_local std::size_t calls = 0;

inline void note(std::size_t n) noexcept {
    if (counting) {
        total_bytes += n;
        largest = std::max(largest, n);
        ++calls;
    }
}

inline void* allocate(std::size_t n) {
    note(n);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}

inline void* allocate(std::size_t n, std::align_val_t al) {
    note(n);
    std::size_t a = std::max(static_cast<std::size_t>(al), sizeof(void*));
    std::size_t size = (std::max<std::size_t>(n, 1) + a - 1) / a * a; // aligned_alloc wants a multiple
    if (void* p = std::aligned_alloc(a, size)) return p;
    throw std::bad_alloc();
}

// Counts allocations of the current thread while alive.
struct scope {
    scope() noexcept {
        total_bytes = 0;
        largest = 0;
        calls = 0;
        counting = true;
    }
    ~scope() { counting = false; }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;
};
} // namespace alloc_probe

void* operator new(std::size_t n) { return alloc_probe::allocate(n); }
void* operator new[](std::size_t n) { return alloc_probe::allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return alloc_probe::allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return alloc_probe::allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new(std::size_t n, std::align_val_t al) { return alloc_probe::allocate(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return alloc_probe::allocate(n, al); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    try {
        return alloc_probe::allocate(n, al);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
    try {
        return alloc_probe::allocate(n, al);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

// Money (support.hpp) is not an aggregate; from_stored refuses negative amounts, which hostile
// bytes hit too.
using inmem_test::Money;

namespace {

// ---------------------------------------------------------------------------------------------
// Settings

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
    const char* s = std::getenv(name);
    if (!s || !*s) return fallback;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 0);
    if (*end != '\0') FAIL(name << " is not a number: " << s);
    return v;
}

std::uint64_t base_seed() { return env_u64("INMEM_PROPERTY_SEED", 0x1a2b3c4d5e6f7081ull); }
std::size_t iterations(std::size_t fallback) {
    const std::uint64_t n = env_u64("INMEM_PROPERTY_ITERATIONS", 0);
    return n ? static_cast<std::size_t>(n) : fallback;
}

// One PRNG per test case, seeded from the base seed and a per-case salt, so one case can be
// rerun alone with the same draws. mt19937_64 is specified exactly: the same on every platform.
struct rng_t {
    std::mt19937_64 engine;
    explicit rng_t(std::uint64_t seed) : engine(seed) {}
    std::uint64_t next() { return engine(); }
    std::uint64_t below(std::uint64_t n) { return n ? next() % n : 0; }
    bool one_in(std::uint64_t n) { return below(n) == 0; }
};

std::uint64_t salt(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

// ---------------------------------------------------------------------------------------------
// Stored types

enum class Status : std::uint8_t { idle, running, done };
enum Legacy : std::int16_t { legacy_a = -1, legacy_b = 300 };


struct Point {
    std::int16_t x;
    std::int16_t y;
};
struct Step {
    std::string name;
    std::optional<std::int32_t> retries;
    std::vector<Point> path;
    bool done;
    Status status;
};
struct Plan {
    std::string goal;
    std::vector<Step> steps;
    std::map<std::string, std::int64_t> budget;
    std::variant<std::monostate, std::int32_t, std::string, Step> choice;
    std::chrono::milliseconds timeout;
    std::chrono::system_clock::time_point created;
    std::optional<Money> spent;
};
struct Scalars {
    std::int8_t i8;
    std::uint8_t u8;
    std::int16_t i16;
    std::uint16_t u16;
    std::int32_t i32;
    std::uint32_t u32;
    std::int64_t i64;
    std::uint64_t u64;
    char c;
    char8_t c8;
    char16_t c16;
    char32_t c32;
    float f;
    double d;
    bool b;
    Legacy legacy;
    Status status;
    std::byte byte;
};
struct Containers {
    std::array<std::int16_t, 3> arr;
    std::pair<std::string, std::optional<double>> pr;
    std::tuple<bool, char32_t, std::vector<std::string>> tup;
    std::unordered_map<std::int32_t, std::vector<Step>> by_id;
    std::unordered_map<std::string, std::string> labels;
    std::optional<std::optional<std::string>> maybe_maybe;
    std::vector<bool> flags;
    std::vector<std::vector<std::int32_t>> grid;
    std::vector<float> samples;
    std::chrono::duration<double> elapsed;
    std::chrono::time_point<std::chrono::steady_clock, std::chrono::seconds> deadline;
    std::vector<Money> ledger;
    std::variant<Point, std::tuple<>, std::map<std::uint8_t, bool>> v;
};
struct Deep {
    std::vector<std::map<std::string, std::vector<std::optional<Plan>>>> layers;
    std::array<Point, 2> two_points; // (std::array<non-trivial> members crash gcc 12 in Boost.PFR)
    Scalars scalars;
    std::vector<std::variant<std::monostate, Scalars, Containers>> mix;
};

} // namespace


namespace {

using inmem::detail::value_kind;
template <class T>
constexpr value_kind kind_v = inmem::detail::value_kind_v<T>;

// ---------------------------------------------------------------------------------------------
// A random value of any storable type, driven by the codec's own classification.

struct gen {
    rng_t& rng;
    int depth = 0;

    std::size_t count() { // container sizes shrink with depth, so values stay small
        const std::uint64_t cap = depth <= 1 ? 6 : depth <= 3 ? 3 : 2;
        return static_cast<std::size_t>(rng.below(cap + 1));
    }
};

template <class T>
void generate(gen& g, T& v);

template <class T>
T generated(gen& g) {
    T v{};
    generate(g, v);
    return v;
}

template <class V, std::size_t... I>
void generate_alternative(gen& g, V& v, std::size_t index, std::index_sequence<I...>) {
    (void)((index == I ? (generate(g, v.template emplace<I>()), true) : false) || ...);
}

template <class T>
void generate_integer(gen& g, T& v) {
    using L = std::numeric_limits<T>;
    switch (g.rng.below(6)) {
    case 0: v = L::min(); break;
    case 1: v = L::max(); break;
    case 2: v = static_cast<T>(g.rng.below(3)); break;
    default: v = static_cast<T>(g.rng.next()); break;
    }
}

template <class T>
void generate_floating(gen& g, T& v) {
    using L = std::numeric_limits<T>;
    using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    static constexpr T specials[] = {T(0),         -T(0),         T(1),           L::infinity(), -L::infinity(),
                                     L::quiet_NaN(), L::denorm_min(), L::max(), L::lowest(), T(0.1)};
    switch (g.rng.below(3)) {
    case 0: v = specials[g.rng.below(std::size(specials))]; break;
    case 1: v = static_cast<T>(static_cast<std::int32_t>(g.rng.next())) / T(64); break;
    default: v = std::bit_cast<T>(static_cast<bits_t>(g.rng.next())); break; // NaN payloads too
    }
}

template <class T>
void generate(gen& g, T& v) {
    constexpr value_kind kind = kind_v<T>;
    ++g.depth;
    if constexpr (kind == value_kind::adapted) {
        auto stored = generated<typename inmem::adapt<T>::stored_type>(g);
        try {
            v = inmem::adapt<T>::from_stored(std::move(stored));
        } catch (const std::exception&) {
            v = T{}; // a value from_stored refuses: use the default
        }
    } else if constexpr (kind == value_kind::boolean) {
        v = g.rng.one_in(2);
    } else if constexpr (kind == value_kind::integer) {
        generate_integer(g, v);
    } else if constexpr (kind == value_kind::floating) {
        generate_floating(g, v);
    } else if constexpr (kind == value_kind::enumeration) {
        v = static_cast<T>(generated<std::underlying_type_t<T>>(g));
    } else if constexpr (kind == value_kind::string) {
        // Mostly short; sometimes long enough for a two-byte length.
        const std::size_t n = g.rng.one_in(16) ? g.rng.below(300) : g.rng.below(12);
        v.clear();
        for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<char>(g.rng.next()));
    } else if constexpr (kind == value_kind::vector) {
        const std::size_t n = g.count();
        v.clear();
        for (std::size_t i = 0; i < n; ++i) v.push_back(generated<typename T::value_type>(g));
    } else if constexpr (kind == value_kind::array) {
        for (auto& e : v) generate(g, e);
    } else if constexpr (kind == value_kind::optional) {
        if (g.rng.one_in(3)) v.reset();
        else generate(g, v.emplace());
    } else if constexpr (kind == value_kind::variant) {
        generate_alternative(g, v, static_cast<std::size_t>(g.rng.below(std::variant_size_v<T>)),
                             std::make_index_sequence<std::variant_size_v<T>>{});
    } else if constexpr (kind == value_kind::map) {
        const std::size_t n = g.count();
        v.clear();
        for (std::size_t i = 0; i < n; ++i) {
            auto key = generated<typename T::key_type>(g);
            v.emplace(std::move(key), generated<typename T::mapped_type>(g));
        }
    } else if constexpr (kind == value_kind::pair) {
        generate(g, v.first);
        generate(g, v.second);
    } else if constexpr (kind == value_kind::tuple) {
        std::apply([&](auto&... e) { (generate(g, e), ...); }, v);
    } else if constexpr (kind == value_kind::duration) {
        v = T{generated<typename T::rep>(g)};
    } else if constexpr (kind == value_kind::time_point) {
        v = T{generated<typename T::duration>(g)};
    } else if constexpr (kind == value_kind::aggregate) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (generate(g, boost::pfr::get<I>(v)), ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    } else {
        static_assert(inmem::detail::always_false<T>, "not a storable type");
    }
    --g.depth;
}

// ---------------------------------------------------------------------------------------------
// Deep equality, bit for bit on floating point (NaN equals itself, -0.0 differs from 0.0).

template <class T>
bool same(const T& a, const T& b);

template <class V, std::size_t... I>
bool same_alternative(const V& a, const V& b, std::index_sequence<I...>) {
    if (a.index() != b.index()) return false;
    bool equal = false;
    (void)((a.index() == I ? (equal = same(std::get<I>(a), std::get<I>(b)), true) : false) || ...);
    return equal;
}

template <class T>
bool same(const T& a, const T& b) {
    constexpr value_kind kind = kind_v<T>;
    if constexpr (kind == value_kind::adapted) {
        return same(inmem::adapt<T>::to_stored(a), inmem::adapt<T>::to_stored(b));
    } else if constexpr (kind == value_kind::boolean || kind == value_kind::integer ||
                         kind == value_kind::enumeration || kind == value_kind::string) {
        return a == b;
    } else if constexpr (kind == value_kind::floating) {
        using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        return std::bit_cast<bits_t>(a) == std::bit_cast<bits_t>(b);
    } else if constexpr (kind == value_kind::vector || kind == value_kind::array) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (!same<typename T::value_type>(a[i], b[i])) return false;
        return true;
    } else if constexpr (kind == value_kind::optional) {
        return a.has_value() == b.has_value() && (!a || same(*a, *b));
    } else if constexpr (kind == value_kind::variant) {
        return same_alternative(a, b, std::make_index_sequence<std::variant_size_v<T>>{});
    } else if constexpr (kind == value_kind::map) {
        if (a.size() != b.size()) return false;
        for (const auto& [key, value] : a) {
            auto it = b.find(key);
            if (it == b.end() || !same(value, it->second)) return false;
        }
        return true;
    } else if constexpr (kind == value_kind::pair) {
        return same(a.first, b.first) && same(a.second, b.second);
    } else if constexpr (kind == value_kind::tuple) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return (same(std::get<I>(a), std::get<I>(b)) && ...);
        }(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else if constexpr (kind == value_kind::duration) {
        return same(a.count(), b.count());
    } else if constexpr (kind == value_kind::time_point) {
        return same(a.time_since_epoch(), b.time_since_epoch());
    } else if constexpr (kind == value_kind::aggregate) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return (same(boost::pfr::get<I>(a), boost::pfr::get<I>(b)) && ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    } else {
        static_assert(inmem::detail::always_false<T>, "not a storable type");
    }
}

// ---------------------------------------------------------------------------------------------
// Checks

bool is_decode_error(std::error_code e) {
    return e == inmem::errc::decode_truncated || e == inmem::errc::decode_invalid ||
           e == inmem::errc::decode_trailing;
}

// Decoding arbitrary bytes: an error of the decode family, or a value that is a fixed point
// (it re-encodes, and those bytes decode to the same value and encode to the same bytes).
// Returns an empty string when the property holds, else what went wrong.
template <class T>
std::string check_untrusted(std::string_view in) {
    auto r = inmem::decode<T>(in);
    if (r.has_error()) return is_decode_error(r.error()) ? "" : "unexpected error " + r.error().message();
    const std::string again = inmem::encode(r.value());
    auto r2 = inmem::decode<T>(again);
    if (!r2) return "re-encoded value does not decode: " + r2.error().message();
    if (!same(r.value(), r2.value())) return "re-encoded value decodes to another value";
    if (inmem::encode(r2.value()) != again) return "encoding is not stable";
    return "";
}

std::string hex(std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < 256; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        out += digits[c >> 4];
        out += digits[c & 15];
        out += ' ';
    }
    if (s.size() > 256) out += "...";
    return out;
}

// Varints that decode badly or to enormous counts, to splice into valid encodings.
const std::vector<std::string>& hostile_varints() {
    static const std::vector<std::string> v = [] {
        auto b = [](std::initializer_list<int> l) {
            std::string s;
            for (int x : l) s.push_back(static_cast<char>(x));
            return s;
        };
        return std::vector<std::string>{
            b({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), // 2^64 - 1
            b({0x80, 0x80, 0x80, 0x80, 0x80, 0x20}),                         // 2^40
            b({0xff, 0xff, 0xff, 0xff, 0x0f}),                               // 2^32 - 1
            b({0xff, 0xff, 0xff, 0x7f}),                                     // 2^28 - 1
            b({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}), // beyond 64 bits
            b({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}), // 11 bytes
            b({0x80, 0x00}),                                                 // redundant zero
            b({0x80, 0x80, 0x80}),                                           // unterminated
        };
    }();
    return v;
}

std::string mutate(rng_t& rng, std::string s) {
    const std::size_t rounds = 1 + rng.below(3);
    for (std::size_t round = 0; round < rounds; ++round) {
        const std::size_t n = s.size();
        const std::size_t at = static_cast<std::size_t>(rng.below(n + 1)); // may be n
        switch (rng.below(9)) {
        case 0: // flip a bit
            if (n) s[at % n] = static_cast<char>(s[at % n] ^ (1 << rng.below(8)));
            break;
        case 1: { // change a byte, often to an interesting value
            static constexpr unsigned char interesting[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff};
            if (n)
                s[at % n] = static_cast<char>(rng.one_in(2) ? interesting[rng.below(std::size(interesting))]
                                                            : rng.next());
            break;
        }
        case 2: // truncate
            s.resize(at);
            break;
        case 3: { // insert random bytes
            std::string ins;
            for (std::uint64_t i = 0, k = 1 + rng.below(4); i < k; ++i) ins.push_back(static_cast<char>(rng.next()));
            s.insert(at, ins);
            break;
        }
        case 4: // delete a range
            s.erase(at, static_cast<std::size_t>(1 + rng.below(8)));
            break;
        case 5: { // duplicate a range
            if (!n) break;
            const std::size_t from = static_cast<std::size_t>(rng.below(n));
            const std::size_t len = static_cast<std::size_t>(1 + rng.below(std::min<std::size_t>(n - from, 32)));
            s.insert(at, s.substr(from, len));
            break;
        }
        case 6: { // splice in a hostile varint, inserted or overwriting
            const auto& hv = hostile_varints()[rng.below(hostile_varints().size())];
            if (rng.one_in(2)) s.insert(at, hv);
            else s.replace(at, hv.size(), hv);
            break;
        }
        case 7: // append random bytes
            for (std::uint64_t i = 0, k = 1 + rng.below(4); i < k; ++i) s.push_back(static_cast<char>(rng.next()));
            break;
        default: // swap two bytes
            if (n >= 2) std::swap(s[at % n], s[rng.below(n)]);
            break;
        }
    }
    return s;
}

// Bytes allocated by decoding `in` as T (all allocations, freed or not).
struct alloc_result {
    std::size_t bytes = 0;
    std::size_t largest = 0;
    bool ok = false;
};
template <class T>
alloc_result decode_counting(std::string_view in) {
    alloc_result out;
    {
        alloc_probe::scope probe;
        auto r = inmem::decode<T>(in);
        out.ok = r.has_value();
    }
    out.bytes = alloc_probe::total_bytes;
    out.largest = alloc_probe::largest;
    return out;
}

// The allocation bound checked below: a constant factor of the input size, plus a little.
constexpr std::size_t alloc_factor = 64;
constexpr std::size_t alloc_slack = 256;
bool within_bound(const alloc_result& a, std::size_t input_size) {
    return a.bytes <= alloc_factor * input_size + alloc_slack;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Round trips

TEMPLATE_TEST_CASE("random values round-trip exactly", "[codec]", Step, Plan, Scalars, Containers, Deep,
                   std::vector<std::string>, (std::map<std::string, std::vector<std::int32_t>>),
                   (std::variant<std::monostate, Plan, std::vector<bool>, double>), std::optional<Containers>,
                   (std::tuple<Money, std::unordered_map<std::uint16_t, Scalars>, std::array<std::string, 3>>)) {
    using T = TestType;
    const std::uint64_t seed = base_seed() ^ salt("round-trip");
    CAPTURE(seed);
    rng_t rng(seed);
    const std::size_t n = iterations(500);
    std::size_t bytes_seen = 0;
    for (std::size_t i = 0; i < n; ++i) {
        gen g{rng};
        const T value = generated<T>(g);
        const std::string e = inmem::encode(value);
        bytes_seen += e.size();
        auto d = inmem::decode<T>(e);
        if (!d) {
            INFO("iteration " << i << ": " << hex(e));
            FAIL("a valid encoding does not decode: " << d.error().message());
        }
        const bool equal = same(value, d.value());
        const bool stable = inmem::encode(d.value()) == e && inmem::encode(value) == e;
        if (!equal || !stable) {
            INFO("iteration " << i << ": " << hex(e));
            CHECK(equal);
            CHECK(stable);
            return;
        }
        // Every proper prefix is a truncation, every extension is trailing.
        if (!e.empty()) {
            const std::size_t cut = static_cast<std::size_t>(rng.below(e.size()));
            auto t = inmem::decode<T>(std::string_view(e).substr(0, cut));
            INFO("iteration " << i << ", prefix " << cut << " of " << hex(e));
            REQUIRE(t.has_error());
            REQUIRE(t.error() == inmem::errc::decode_truncated);
        }
        auto trailing = inmem::decode<T>(e + static_cast<char>(rng.next()));
        REQUIRE(trailing.has_error());
        REQUIRE(trailing.error() == inmem::errc::decode_trailing);
    }
    // The generator really produces varied, non-trivial values.
    CHECK(bytes_seen >= n * inmem::detail::min_encoded_size<T>());
    CHECK(bytes_seen > n);
    SUCCEED("average encoding: " << bytes_seen / n << " bytes");
}

TEST_CASE("the generator covers every alternative and both optional states", "[codec]") {
    const std::uint64_t seed = base_seed() ^ salt("coverage");
    CAPTURE(seed);
    rng_t rng(seed);
    std::array<int, 4> alternatives{};
    int empty = 0, full = 0, nan = 0, big_string = 0;
    for (int i = 0; i < 400; ++i) {
        gen g{rng};
        auto v = generated<std::variant<std::monostate, std::int32_t, std::string, Step>>(g);
        ++alternatives[v.index()];
        auto o = generated<std::optional<double>>(g);
        (o ? full : empty)++;
        if (o && std::isnan(*o)) ++nan;
        if (generated<std::string>(g).size() >= 128) ++big_string;
    }
    for (int count : alternatives) CHECK(count > 0);
    CHECK(empty > 0);
    CHECK(full > 0);
    CHECK(nan > 0);
    CHECK(big_string > 0);
}

// ---------------------------------------------------------------------------------------------
// Hostile bytes

TEMPLATE_TEST_CASE("random bytes decode to an error or to a fixed point", "[codec]", Step, Plan, Scalars,
                   Containers, Deep, std::vector<std::string>, (std::map<std::string, std::vector<std::int32_t>>),
                   (std::variant<std::monostate, Plan, std::vector<bool>, double>), std::optional<Containers>,
                   bool, std::string, std::vector<std::uint32_t>) {
    using T = TestType;
    const std::uint64_t seed = base_seed() ^ salt("random bytes");
    CAPTURE(seed);
    rng_t rng(seed);
    const std::size_t n = iterations(500) * 4;
    std::size_t decoded = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::string in;
        const std::size_t len = static_cast<std::size_t>(rng.below(i % 8 == 0 ? 200 : 24));
        // Mostly small bytes, so lengths and tags are often plausible.
        for (std::size_t k = 0; k < len; ++k)
            in.push_back(static_cast<char>(rng.one_in(2) ? rng.below(4) : rng.next()));
        const std::string problem = check_untrusted<T>(in);
        if (!problem.empty()) {
            INFO("iteration " << i << ": " << hex(in));
            FAIL(problem);
        }
        decoded += inmem::decode<T>(in).has_value();
    }
    SUCCEED("decoded " << decoded << " of " << n);
}

TEMPLATE_TEST_CASE("mutated encodings decode to an error or to a fixed point", "[codec]", Step, Plan, Scalars,
                   Containers, Deep, std::vector<std::string>, (std::map<std::string, std::vector<std::int32_t>>),
                   (std::variant<std::monostate, Plan, std::vector<bool>, double>), std::optional<Containers>,
                   (std::tuple<Money, std::unordered_map<std::uint16_t, Scalars>, std::array<std::string, 3>>)) {
    using T = TestType;
    const std::uint64_t seed = base_seed() ^ salt("mutations");
    CAPTURE(seed);
    rng_t rng(seed);
    const std::size_t n = iterations(500);
    std::size_t errors = 0, values = 0;
    for (std::size_t i = 0; i < n; ++i) {
        gen g{rng};
        const std::string valid = inmem::encode(generated<T>(g));
        for (int m = 0; m < 6; ++m) {
            const std::string in = mutate(rng, valid);
            const std::string problem = check_untrusted<T>(in);
            if (!problem.empty()) {
                INFO("iteration " << i << "." << m << ": valid " << hex(valid) << "\nmutated " << hex(in));
                FAIL(problem);
            }
            (inmem::decode<T>(in).has_value() ? values : errors)++;
        }
    }
    // Both outcomes occur: the mutations neither always break nor never break the bytes.
    CHECK(errors > 0);
    SUCCEED(values << " mutated inputs decoded to values, " << errors << " to errors");
}

// ---------------------------------------------------------------------------------------------
// Allocation bound

TEST_CASE("the allocation probe counts what decoding allocates", "[codec]") {
    // The probe itself: a decode that must allocate is seen, a counted scope starts at zero.
    const std::string e = inmem::encode(std::vector<std::string>{std::string(1000, 'a'), std::string(100, 'b')});
    const auto a = decode_counting<std::vector<std::string>>(e);
    CHECK(a.ok);
    CHECK(a.largest >= 1000);
    CHECK(a.bytes >= 1100 + 2 * sizeof(std::string));
    CHECK(decode_counting<std::int32_t>(inmem::encode(std::int32_t{5})).bytes == 0);
    // Allocations outside a scope are not counted.
    CHECK_FALSE(alloc_probe::counting);
    const std::size_t before = alloc_probe::total_bytes;
    auto outside = std::make_unique<char[]>(1 << 16);
    outside[0] = 1;
    CHECK(alloc_probe::total_bytes == before);
}

TEST_CASE("a count of 2^40 strings in 10 bytes fails without allocating", "[codec]") {
    // varint(2^40) = 80 80 80 80 80 20, then 4 bytes that could start strings.
    std::string in = "\x80\x80\x80\x80\x80\x20";
    in += "\x01\x61\x01\x62";
    REQUIRE(in.size() == 10);
    const auto a = decode_counting<std::vector<std::string>>(in);
    CHECK_FALSE(a.ok);
    CHECK(inmem::decode<std::vector<std::string>>(in).error() == inmem::errc::decode_truncated);
    CHECK(a.largest < 1024);
    CHECK(within_bound(a, in.size()));
    // The same for nested and mapped containers.
    CHECK(decode_counting<std::vector<std::vector<std::string>>>(in).largest < 1024);
    CHECK(decode_counting<std::unordered_map<std::string, std::string>>(in).largest < 1024);
    CHECK(decode_counting<std::map<std::string, Plan>>(in).largest < 1024);
    CHECK(decode_counting<std::vector<Plan>>(in).largest < 1024);
    CHECK(decode_counting<std::vector<bool>>(in).largest < 1024);
    CHECK(decode_counting<std::vector<std::uint64_t>>(in).largest < 1024);
}

TEST_CASE("counts just within the input allocate within the bound", "[codec]") {
    // The worst a count can claim: as many elements as bytes remain (each at least one byte).
    // vector<vector<string>>: the outer count and the first inner count both claim that.
    for (std::size_t size : {16u, 100u, 1000u, 100000u}) {
        CAPTURE(size);
        std::string in;
        const std::uint64_t claim = size - 8;
        for (int level = 0; level < 2; ++level) {
            std::uint64_t v = claim;
            do {
                in.push_back(static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
                v >>= 7;
            } while (v);
        }
        in.resize(size, '\x05'); // strings of 5 bytes: the input runs out long before the claim
        const auto a = decode_counting<std::vector<std::vector<std::string>>>(in);
        CHECK_FALSE(a.ok);
        CAPTURE(a.bytes);
        CHECK(within_bound(a, in.size()));
        const auto b = decode_counting<std::vector<Step>>(in);
        CAPTURE(b.bytes);
        CHECK(within_bound(b, in.size()));
        const auto c = decode_counting<std::unordered_map<std::string, std::vector<std::string>>>(in);
        CAPTURE(c.bytes);
        CHECK(within_bound(c, in.size()));
    }
}

// Types whose decoding allocates at most 64x its input: for each container, what one element
// takes in memory over the bytes it takes at least in the input (sizeof(E) / min_encoded_size,
// e.g. 32 for a string), summed over nested containers, stays under 64.
TEMPLATE_TEST_CASE("decoding hostile bytes allocates at most 64x the input", "[codec]", Step, Plan, Scalars,
                   Containers, std::vector<std::string>, std::vector<std::vector<std::string>>,
                   (std::map<std::string, std::vector<std::int32_t>>),
                   (std::unordered_map<std::int32_t, std::vector<Step>>), std::vector<bool>,
                   std::vector<std::uint64_t>) {
    using T = TestType;
    const std::uint64_t seed = base_seed() ^ salt("allocations");
    CAPTURE(seed);
    rng_t rng(seed);
    const std::size_t n = iterations(500);
    std::size_t worst_bytes = 0, worst_input = 1;
    for (std::size_t i = 0; i < n; ++i) {
        gen g{rng};
        const std::string valid = inmem::encode(generated<T>(g));
        for (int m = 0; m < 4; ++m) {
            std::string in = m == 0 ? valid : mutate(rng, valid);
            if (m == 3) { // random bytes, biased to small values that look like counts
                in.clear();
                for (std::uint64_t k = 0, len = rng.below(64); k < len; ++k)
                    in.push_back(static_cast<char>(rng.one_in(2) ? rng.below(64) : rng.next()));
            }
            const auto a = decode_counting<T>(in);
            if (a.bytes * worst_input > worst_bytes * std::max<std::size_t>(in.size(), 1)) {
                worst_bytes = a.bytes;
                worst_input = std::max<std::size_t>(in.size(), 1);
            }
            if (!within_bound(a, in.size())) {
                INFO("iteration " << i << "." << m << ": " << a.bytes << " bytes allocated for " << in.size()
                                  << " input bytes: " << hex(in));
                FAIL("allocation beyond " << alloc_factor << "x the input + " << alloc_slack);
            }
        }
    }
    SUCCEED("worst: " << worst_bytes << " bytes for " << worst_input << " input bytes");
}
