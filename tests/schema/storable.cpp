// Tests of inmem/schema/classify.hpp and inmem/schema/storable.hpp: the codec family of each
// type, the smallest size of its encoding, and that valid types pass the storable check.
// (Types that must be refused are compile-fail tests: tests/compile_fail/.)
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

using inmem_test::Money;

namespace {
struct Empty {};
struct Point {
    std::int16_t x;
    std::int16_t y;
};
struct Mixed {
    std::int32_t id;
    std::string name;
    std::optional<double> score;
};
struct Nested {
    Point p;
    std::array<Point, 2> corners;
    Mixed m;
    Empty e;
};
enum class Small : std::uint16_t { a, b };
enum Plain : std::int32_t { plain_a, plain_b };
enum class Wide : std::uint64_t { big = ~std::uint64_t{0} };

// An aggregate and an enum that are nevertheless stored through adapt: adapt wins.
struct Celsius {
    double degrees;
};
enum class Flag : std::uint8_t { off, on };

// A user clock; time_points of it need its declared (portable) name.
struct named_clock {
    using rep = std::int16_t;
    using period = std::ratio<1>;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<named_clock>;
    [[maybe_unused]] static constexpr bool is_steady = false;
};

struct Rich {
    std::vector<Mixed> items;
    std::map<std::string, std::vector<Point>> by_name;
    std::unordered_map<std::int32_t, std::optional<Money>> money;
    std::variant<std::monostate, Point, std::string> choice;
    std::pair<Small, Plain> enums;
    std::tuple<bool, char32_t, std::chrono::milliseconds> tup;
    std::chrono::system_clock::time_point when;
    std::chrono::time_point<std::chrono::steady_clock, std::chrono::duration<double>> steady;
    std::vector<bool> flags;
    std::array<Point, 3> table; // (std::array<non-trivial> members crash gcc 12 in Boost.PFR)
    Celsius temperature;
    Flag flag;
    std::byte raw;
};
} // namespace

template <>
struct inmem::schema_traits<named_clock> {
    static constexpr std::string_view name = "named";
};
template <>
struct inmem::adapt<Celsius> {
    using stored_type = std::string;
    static stored_type to_stored(const Celsius& c) { return std::to_string(c.degrees); }
    static Celsius from_stored(stored_type&& s) { return Celsius{std::stod(s)}; }
};
template <>
struct inmem::adapt<Flag> {
    using stored_type = bool;
    static stored_type to_stored(const Flag& f) { return f == Flag::on; }
    static Flag from_stored(stored_type&& b) { return b ? Flag::on : Flag::off; }
};

namespace {
using inmem::detail::value_kind;
template <class T>
constexpr value_kind kind = inmem::detail::value_kind_v<T>;
template <class T>
constexpr std::size_t min_size = inmem::detail::min_encoded_size<T>();
} // namespace

TEST_CASE("value_kind_v classifies scalars", "[storable]") {
    STATIC_REQUIRE(kind<bool> == value_kind::boolean);
    STATIC_REQUIRE(kind<const bool> == value_kind::boolean);
    STATIC_REQUIRE(kind<char> == value_kind::integer);
    STATIC_REQUIRE(kind<signed char> == value_kind::integer);
    STATIC_REQUIRE(kind<unsigned char> == value_kind::integer);
    STATIC_REQUIRE(kind<char8_t> == value_kind::integer);
    STATIC_REQUIRE(kind<char16_t> == value_kind::integer);
    STATIC_REQUIRE(kind<char32_t> == value_kind::integer);
    STATIC_REQUIRE(kind<std::int16_t> == value_kind::integer);
    STATIC_REQUIRE(kind<std::uint32_t> == value_kind::integer);
    STATIC_REQUIRE(kind<std::int64_t> == value_kind::integer);
    STATIC_REQUIRE(kind<unsigned long long> == value_kind::integer);
    STATIC_REQUIRE(kind<const volatile std::int32_t> == value_kind::integer);
    STATIC_REQUIRE(kind<float> == value_kind::floating);
    STATIC_REQUIRE(kind<double> == value_kind::floating);
    STATIC_REQUIRE(kind<Small> == value_kind::enumeration);
    STATIC_REQUIRE(kind<Plain> == value_kind::enumeration);
    STATIC_REQUIRE(kind<std::byte> == value_kind::enumeration);
}

TEST_CASE("value_kind_v classifies standard templates", "[storable]") {
    STATIC_REQUIRE(kind<std::string> == value_kind::string);
    STATIC_REQUIRE(kind<std::vector<int>> == value_kind::vector);
    STATIC_REQUIRE(kind<std::vector<bool>> == value_kind::vector);
    STATIC_REQUIRE(kind<std::vector<std::string>> == value_kind::vector);
    STATIC_REQUIRE(kind<std::array<int, 3>> == value_kind::array);
    STATIC_REQUIRE(kind<std::array<int, 0>> == value_kind::array);
    STATIC_REQUIRE(kind<std::optional<int>> == value_kind::optional);
    STATIC_REQUIRE(kind<std::variant<int, std::string>> == value_kind::variant);
    STATIC_REQUIRE(kind<std::map<int, int>> == value_kind::map);
    STATIC_REQUIRE(kind<std::map<int, int, std::greater<int>>> == value_kind::map);
    STATIC_REQUIRE(kind<std::unordered_map<std::string, int>> == value_kind::map);
    STATIC_REQUIRE(kind<std::pair<int, bool>> == value_kind::pair);
    STATIC_REQUIRE(kind<std::tuple<>> == value_kind::tuple);
    STATIC_REQUIRE(kind<std::tuple<int, std::string>> == value_kind::tuple);
    STATIC_REQUIRE(kind<std::chrono::milliseconds> == value_kind::duration);
    STATIC_REQUIRE(kind<std::chrono::duration<double, std::ratio<3, 7>>> == value_kind::duration);
    STATIC_REQUIRE(kind<std::chrono::system_clock::time_point> == value_kind::time_point);
    STATIC_REQUIRE(kind<std::chrono::time_point<std::chrono::steady_clock, std::chrono::seconds>> ==
                   value_kind::time_point);
    STATIC_REQUIRE(kind<named_clock::time_point> == value_kind::time_point);
}

TEST_CASE("value_kind_v classifies user types", "[storable]") {
    STATIC_REQUIRE(kind<Empty> == value_kind::aggregate);
    STATIC_REQUIRE(kind<Point> == value_kind::aggregate);
    STATIC_REQUIRE(kind<const Point> == value_kind::aggregate);
    STATIC_REQUIRE(kind<Nested> == value_kind::aggregate);
    STATIC_REQUIRE(kind<Rich> == value_kind::aggregate);
    STATIC_REQUIRE(kind<std::monostate> == value_kind::aggregate);
    // adapt<T> takes precedence over what T would otherwise be.
    STATIC_REQUIRE(kind<Money> == value_kind::adapted);
    STATIC_REQUIRE(kind<Celsius> == value_kind::adapted);
    STATIC_REQUIRE(kind<Flag> == value_kind::adapted);
}

TEST_CASE("value_kind_v leaves what the codec cannot store unsupported", "[storable]") {
    STATIC_REQUIRE(kind<wchar_t> == value_kind::unsupported);
    STATIC_REQUIRE(kind<long double> == value_kind::unsupported);
    STATIC_REQUIRE(kind<int*> == value_kind::unsupported);
    STATIC_REQUIRE(kind<int[3]> == value_kind::unsupported);
    STATIC_REQUIRE(kind<std::string_view> == value_kind::unsupported);
    STATIC_REQUIRE(kind<std::u8string> == value_kind::unsupported);
    STATIC_REQUIRE(kind<std::unique_ptr<int>> == value_kind::unsupported);
    STATIC_REQUIRE(kind<std::shared_ptr<int>> == value_kind::unsupported);
    STATIC_REQUIRE(kind<std::list<int>> == value_kind::unsupported);
    STATIC_REQUIRE(kind<std::set<int>> == value_kind::unsupported);
    STATIC_REQUIRE(kind<Money*> == value_kind::unsupported);
    STATIC_REQUIRE(kind<void> == value_kind::unsupported);
}

TEST_CASE("min_encoded_size of scalars is their size", "[storable]") {
    STATIC_REQUIRE(min_size<bool> == 1);
    STATIC_REQUIRE(min_size<char> == 1);
    STATIC_REQUIRE(min_size<char8_t> == 1);
    STATIC_REQUIRE(min_size<char16_t> == 2);
    STATIC_REQUIRE(min_size<char32_t> == 4);
    STATIC_REQUIRE(min_size<std::int16_t> == 2);
    STATIC_REQUIRE(min_size<std::uint32_t> == 4);
    STATIC_REQUIRE(min_size<std::int64_t> == 8);
    STATIC_REQUIRE(min_size<float> == 4);
    STATIC_REQUIRE(min_size<double> == 8);
    STATIC_REQUIRE(min_size<Small> == 2);
    STATIC_REQUIRE(min_size<Plain> == 4);
    STATIC_REQUIRE(min_size<Wide> == 8);
    STATIC_REQUIRE(min_size<std::byte> == 1);
}

TEST_CASE("min_encoded_size of variable-size types is one length, count, flag or index byte",
          "[storable]") {
    STATIC_REQUIRE(min_size<std::string> == 1);
    STATIC_REQUIRE(min_size<std::vector<std::int64_t>> == 1);
    STATIC_REQUIRE(min_size<std::vector<Nested>> == 1);
    STATIC_REQUIRE(min_size<std::optional<std::array<double, 100>>> == 1);
    STATIC_REQUIRE(min_size<std::variant<std::array<double, 100>, int>> == 1);
    STATIC_REQUIRE(min_size<std::map<std::int64_t, std::int64_t>> == 1);
    STATIC_REQUIRE(min_size<std::unordered_map<std::string, Nested>> == 1);
}

TEST_CASE("min_encoded_size of fixed compositions is the sum of their parts", "[storable]") {
    STATIC_REQUIRE(min_size<std::array<std::int32_t, 3>> == 12);
    STATIC_REQUIRE(min_size<std::array<std::string, 5>> == 5);
    STATIC_REQUIRE(min_size<std::array<std::string, 0>> == 0);
    STATIC_REQUIRE(min_size<std::array<std::array<std::int16_t, 2>, 3>> == 12);
    STATIC_REQUIRE(min_size<std::pair<std::int8_t, std::int64_t>> == 9);
    STATIC_REQUIRE(min_size<std::tuple<>> == 0);
    STATIC_REQUIRE(min_size<std::tuple<bool, double, std::string>> == 10);
    STATIC_REQUIRE(min_size<std::chrono::milliseconds> == 8);
    STATIC_REQUIRE(min_size<std::chrono::duration<std::int32_t, std::ratio<60>>> == 4);
    STATIC_REQUIRE(min_size<std::chrono::duration<float>> == 4);
    STATIC_REQUIRE(min_size<std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>> == 8);
    STATIC_REQUIRE(min_size<std::chrono::time_point<std::chrono::steady_clock,
                                                    std::chrono::duration<std::int16_t>>> == 2);
    STATIC_REQUIRE(min_size<named_clock::time_point> == 2);
    STATIC_REQUIRE(min_size<Empty> == 0);
    STATIC_REQUIRE(min_size<std::monostate> == 0);
    STATIC_REQUIRE(min_size<Point> == 4);
    STATIC_REQUIRE(min_size<Mixed> == 4 + 1 + 1);
    STATIC_REQUIRE(min_size<Nested> == 4 + 8 + 6 + 0);
    STATIC_REQUIRE(min_size<const Nested> == min_size<Nested>);
    // Adapted types take the size of what they are stored as.
    STATIC_REQUIRE(min_size<Money> == 8);
    STATIC_REQUIRE(min_size<Celsius> == 1);
    STATIC_REQUIRE(min_size<Flag> == 1);
    STATIC_REQUIRE(min_size<std::pair<Money, Celsius>> == 9);
}

TEST_CASE("min_encoded_size never exceeds an actual encoding", "[storable]") {
    // The smallest values of each type encode to exactly min_encoded_size bytes.
    CHECK(inmem::encode(Nested{}).size() == min_size<Nested>);
    CHECK(inmem::encode(Mixed{}).size() == min_size<Mixed>);
    CHECK(inmem::encode(std::tuple<bool, double, std::string>{}).size() == 10);
    CHECK(inmem::encode(std::array<std::string, 5>{}).size() == 5);
    CHECK(inmem::encode(Money{}).size() == min_size<Money>);
    CHECK(inmem::encode(std::variant<int, std::string>{}).size() == 1 + 4); // index + int
}

TEST_CASE("storable_v holds for valid types", "[storable]") {
    STATIC_REQUIRE(inmem::detail::storable_v<bool>);
    STATIC_REQUIRE(inmem::detail::storable_v<char>);
    STATIC_REQUIRE(inmem::detail::storable_v<char8_t>);
    STATIC_REQUIRE(inmem::detail::storable_v<char16_t>);
    STATIC_REQUIRE(inmem::detail::storable_v<char32_t>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::uint64_t>);
    STATIC_REQUIRE(inmem::detail::storable_v<float>);
    STATIC_REQUIRE(inmem::detail::storable_v<double>);
    STATIC_REQUIRE(inmem::detail::storable_v<Small>);
    STATIC_REQUIRE(inmem::detail::storable_v<Plain>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::byte>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::string>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::vector<std::vector<std::string>>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::vector<bool>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::array<std::string, 0>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::optional<std::optional<int>>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::variant<std::monostate, int, std::string>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::map<std::string, std::vector<Point>>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::unordered_map<std::int32_t, Mixed>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::map<std::int32_t, Empty>>); // keys carry the bytes
    STATIC_REQUIRE(inmem::detail::storable_v<std::pair<std::string, double>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::tuple<>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::tuple<int, Point, std::string>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::chrono::nanoseconds>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::chrono::duration<double, std::milli>>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::chrono::system_clock::time_point>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::chrono::steady_clock::time_point>);
    STATIC_REQUIRE(inmem::detail::storable_v<named_clock::time_point>);
    STATIC_REQUIRE(inmem::detail::storable_v<Empty>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::monostate>);
    STATIC_REQUIRE(inmem::detail::storable_v<Point>);
    STATIC_REQUIRE(inmem::detail::storable_v<Nested>);
    STATIC_REQUIRE(inmem::detail::storable_v<Rich>);
    STATIC_REQUIRE(inmem::detail::storable_v<Money>);
    STATIC_REQUIRE(inmem::detail::storable_v<std::vector<Money>>);
    STATIC_REQUIRE(inmem::detail::storable_v<Celsius>);
    STATIC_REQUIRE(inmem::detail::storable_v<Flag>);
}
