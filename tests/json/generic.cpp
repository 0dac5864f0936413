// Tests of inmem/schema/description.hpp and inmem/json/generic.hpp: every type's canonical
// text parses to a description that prints back to the same text; the generic decoder, given
// only the description, turns a value's bytes into the JSON the typed one makes, over every
// value family, random values and edge values alike; malformed descriptions and bytes are
// refused by both decoders alike.
#include <catch2/catch.hpp>
#include <inmem/json.hpp>
#include <inmem/json/generic.hpp>
#include <inmem/schema/description.hpp>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

namespace {
enum class Mood : std::uint8_t { calm, busy };
enum Level : std::int64_t { low = -5, high = 1'000'000'000'000 };

struct Point {
    float x = 0;
    double y = 0;
};

struct Celsius {
    double degrees = 0;
};

struct Everything {
    bool flag = false;
    char letter = 'a';
    std::int8_t i8 = 0;
    std::uint8_t u8 = 0;
    std::int16_t i16 = 0;
    std::uint16_t u16 = 0;
    std::int32_t i32 = 0;
    std::uint32_t u32 = 0;
    std::int64_t i64 = 0;
    std::uint64_t u64 = 0;
    float f = 0;
    double d = 0;
    Mood mood = Mood::calm;
    Level level = low;
    std::string text;
    std::vector<int> numbers;
    std::vector<bool> bits;
    std::array<Point, 2> corners{};
    std::optional<std::string> maybe;
    std::optional<std::optional<int>> nested;
    std::variant<int, std::string, Point> choice;
    std::map<std::string, int> by_name;
    std::map<int, std::vector<std::string>> by_number;
    std::unordered_map<std::string, double> hashed;
    std::pair<int, std::string> pair;
    std::tuple<bool, std::int16_t, std::string> triple;
    std::tuple<> nothing;
    std::chrono::milliseconds timeout{0};
    std::chrono::duration<double> seconds{0};
    std::chrono::system_clock::time_point when{};
    Celsius temperature;
    std::vector<Point> path;
};
} // namespace

template <>
struct inmem::adapt<Celsius> {
    using stored_type = std::int64_t; // millidegrees
    static std::int64_t to_stored(const Celsius& c) { return std::llround(c.degrees * 1000); }
    static Celsius from_stored(std::int64_t m) { return Celsius{static_cast<double>(m) / 1000}; }
};

namespace {
std::string random_text(std::mt19937& rng) {
    std::string s(rng() % 6, 'x');
    for (char& c : s) c = static_cast<char>(rng() % 3 == 0 ? rng() % 256 : 'a' + rng() % 26); // sometimes not UTF-8
    return s;
}

Everything random_value(std::mt19937& rng) {
    std::uniform_real_distribution<double> real(-1e6, 1e6);
    Everything v;
    v.flag = rng() % 2;
    v.letter = static_cast<char>(rng());
    v.i8 = static_cast<std::int8_t>(rng());
    v.u8 = static_cast<std::uint8_t>(rng());
    v.i16 = static_cast<std::int16_t>(rng());
    v.u16 = static_cast<std::uint16_t>(rng());
    v.i32 = static_cast<std::int32_t>(rng());
    v.u32 = static_cast<std::uint32_t>(rng());
    v.i64 = static_cast<std::int64_t>((std::uint64_t{rng()} << 32) | rng());
    v.u64 = (std::uint64_t{rng()} << 32) | rng();
    v.f = static_cast<float>(real(rng));
    v.d = real(rng);
    switch (rng() % 5) { // edge floats
    case 0: v.d = std::numeric_limits<double>::quiet_NaN(); break;
    case 1: v.f = -std::numeric_limits<float>::infinity(); break;
    case 2: v.d = -0.0; break;
    default: break;
    }
    v.mood = rng() % 2 ? Mood::busy : Mood::calm;
    v.level = rng() % 2 ? high : low;
    v.text = random_text(rng);
    for (std::size_t i = rng() % 4; i > 0; --i) v.numbers.push_back(static_cast<int>(rng()));
    for (std::size_t i = rng() % 5; i > 0; --i) v.bits.push_back(rng() % 2);
    v.corners = {Point{static_cast<float>(real(rng)), real(rng)}, Point{}};
    if (rng() % 2) v.maybe = random_text(rng);
    switch (rng() % 3) {
    case 0: break;
    case 1: v.nested = std::optional<int>{}; break;
    default: v.nested = std::optional<int>{static_cast<int>(rng())};
    }
    switch (rng() % 3) {
    case 0: v.choice = static_cast<int>(rng()); break;
    case 1: v.choice = random_text(rng); break;
    default: v.choice = Point{1.5f, -2.25};
    }
    for (std::size_t i = rng() % 4; i > 0; --i) v.by_name[random_text(rng)] = static_cast<int>(rng());
    for (std::size_t i = rng() % 3; i > 0; --i) v.by_number[static_cast<int>(rng() % 100) - 50] = {random_text(rng)};
    for (std::size_t i = rng() % 4; i > 0; --i) v.hashed[random_text(rng)] = real(rng);
    v.pair = {static_cast<int>(rng()), random_text(rng)};
    v.triple = {rng() % 2 == 0, static_cast<std::int16_t>(rng()), random_text(rng)};
    v.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(rng()));
    v.seconds = std::chrono::duration<double>(real(rng));
    v.when = std::chrono::system_clock::time_point(std::chrono::system_clock::duration(static_cast<std::int64_t>(rng())));
    v.temperature = Celsius{static_cast<double>(static_cast<int>(rng() % 100000)) / 1000};
    for (std::size_t i = rng() % 3; i > 0; --i) v.path.push_back(Point{static_cast<float>(i), -1.0 * static_cast<double>(i)});
    return v;
}

template <class T>
void check_description_round_trip() {
    const std::string text = inmem::describe<T>();
    const inmem::type_description d = inmem::parse_type_description(text);
    CHECK(inmem::to_string(d) == text);
}
} // namespace

TEST_CASE("a type's canonical text parses to a description that prints back to it", "[json]") {
    check_description_round_trip<Everything>();
    check_description_round_trip<int>();
    check_description_round_trip<std::string>();
    check_description_round_trip<std::vector<std::map<std::string, std::optional<Point>>>>();
    check_description_round_trip<std::tuple<>>();
    check_description_round_trip<std::chrono::steady_clock::time_point>();

    using kind = inmem::type_description::kind;
    const auto d = inmem::parse_type_description(inmem::describe<Point>());
    CHECK(d.what == kind::structure);
    CHECK(d.fields == std::vector<std::string>{"x", "y"});
    REQUIRE(d.children.size() == 2);
    CHECK(d.children[0].what == kind::floating);
    CHECK(d.children[0].bits == 32);
    const auto e = inmem::parse_type_description(inmem::describe<Everything>());
    CHECK(e.fields.size() == 32);
    CHECK(e.fields[31] == "path");
    CHECK(e.children[27].what == kind::duration); // timeout: milliseconds
    CHECK(e.children[27].num == 1);
    CHECK(e.children[27].den == 1000);
    CHECK(e.children[29].what == kind::time_point);
    CHECK(e.children[29].name == "system");
    CHECK(e.children[30].what == kind::integer); // the adapted Celsius: its stored type
}

TEST_CASE("malformed descriptions are refused, naming the offset", "[json]") {
    for (const char* bad : {"", "int", "i7", "i128", "u", "f16", "vector<i32", "vector<i32>>", "array<i32>",
                            "array<i32,>", "variant<>", "map<i32>", "struct{x:i32}", "struct{:i32;}", "struct{x;}",
                            "enum<string>", "duration<string,1/1>", "duration<i64,0/1>", "time_point<system,i64>",
                            "array<u8,99999999999999999999999>", "tuple<i32,>", "bool bool", "string!"}) {
        INFO(bad);
        CHECK_THROWS_AS(inmem::parse_type_description(bad), inmem::error);
    }
    std::string deep;
    for (int i = 0; i < 100; ++i) deep += "vector<";
    deep += "i32";
    for (int i = 0; i < 100; ++i) deep += ">";
    try {
        (void)inmem::parse_type_description(deep);
        FAIL("a description nested 100 deep was accepted");
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::invalid_argument);
        CHECK(std::string(e.what()).find("offset") != std::string::npos);
    }
}

TEST_CASE("the generic decoder makes the typed decoder's JSON from the description alone", "[json]") {
    const auto d = inmem::parse_type_description(inmem::describe<Everything>());
    std::mt19937 rng(42);
    for (int i = 0; i < 500; ++i) {
        const Everything v = random_value(rng);
        const std::string bytes = inmem::encode(v);
        const nlohmann::json typed = inmem::bytes_to_json<Everything>(bytes);
        const nlohmann::json generic = inmem::generic_to_json(d, bytes);
        INFO(typed.dump());
        REQUIRE(generic == typed);
        REQUIRE(generic.dump() == typed.dump()); // the same text too (numbers' types included)
    }
    // values alone, each family at its edges
    const auto same = [](const auto& value) {
        using T = std::remove_cvref_t<decltype(value)>;
        const std::string bytes = inmem::encode(value);
        CHECK(inmem::generic_to_json(inmem::parse_type_description(inmem::describe<T>()), bytes).dump() ==
              inmem::bytes_to_json<T>(bytes).dump());
    };
    same(std::numeric_limits<std::int64_t>::min());
    same(std::numeric_limits<std::uint64_t>::max());
    same(std::numeric_limits<float>::denorm_min());
    same(std::string("\xff\xfe not UTF-8"));
    same(std::map<std::string, int>{{"ok", 1}, {"\xc3\x28", 2}}); // one key not UTF-8: pairs
    same(std::optional<std::optional<std::optional<int>>>{std::optional<std::optional<int>>{std::nullopt}});
    same(std::tuple<>{});
    same(std::array<std::optional<bool>, 3>{true, std::nullopt, false});
}

TEST_CASE("bytes that do not decode are refused by the generic decoder as by the typed one", "[json]") {
    const auto d = inmem::parse_type_description(inmem::describe<Everything>());
    std::mt19937 rng(7);
    const std::string bytes = inmem::encode(random_value(rng));
    const auto both_refuse = [&](const std::string& damaged) {
        const bool typed_ok = inmem::decode<Everything>(damaged).has_value();
        bool generic_ok = true;
        try {
            (void)inmem::generic_to_json(d, damaged);
        } catch (const inmem::error& e) {
            CHECK(e.code() == inmem::errc::corruption);
            generic_ok = false;
        }
        return !typed_ok && !generic_ok;
    };
    for (std::size_t cut = 0; cut < bytes.size(); ++cut) REQUIRE(both_refuse(bytes.substr(0, cut))); // truncated
    CHECK(both_refuse(bytes + "x"));                                                                 // trailing
    std::string bad_bool = bytes;
    bad_bool[0] = 2;
    CHECK(both_refuse(bad_bool));
    // every single flipped byte: the generic decoder accepts exactly what the typed one does
    for (std::size_t at = 0; at < bytes.size(); ++at) {
        std::string damaged = bytes;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
        const auto typed = inmem::decode<Everything>(damaged);
        std::optional<nlohmann::json> generic;
        try {
            generic = inmem::generic_to_json(d, damaged);
        } catch (const inmem::error&) {
        }
        INFO("byte " << at);
        REQUIRE(typed.has_value() == generic.has_value());
        // the same JSON for what an encoder writes (a flip may leave a map's keys out of
        // order: the typed decoder sorts them, the generic one keeps the bytes' order)
        if (typed && inmem::encode(typed.value()) == damaged) CHECK(generic->dump() == inmem::to_json(typed.value()).dump());
    }
    // a hostile description cannot make it loop or allocate beyond the bytes
    CHECK_THROWS_AS(inmem::generic_to_json(inmem::parse_type_description("array<tuple<>,99999999999>"), ""), inmem::error);
    CHECK_THROWS_AS(inmem::generic_to_json(inmem::parse_type_description("array<u8,99999999999>"), "abc"), inmem::error);
}
