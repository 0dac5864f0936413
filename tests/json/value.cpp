// Tests of inmem/json/value.hpp: every codec family round-trips through JSON text, the JSON
// has the documented shape (field names, the literal forms below), bytes and JSON agree, and
// JSON that does not fit is refused with errc::invalid_argument naming the place.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/json/value.hpp>

#include "../support.hpp"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

using Catch::Matchers::Contains;
using inmem::errc;
using inmem_test::error_of;
using inmem_test::Money;
using inmem_test::what_of;
using nlohmann::json;

namespace {

enum class Color : std::uint8_t { red = 1, green = 200 };
enum Legacy { legacy_low = -5, legacy_high = 7 };

struct Empty {
    bool operator==(const Empty&) const = default;
};
struct Step {
    std::string tool;
    std::optional<std::int32_t> retries;
    bool operator==(const Step&) const = default;
};
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    std::int32_t budget = 0;
    bool operator==(const Plan&) const = default;
};

} // namespace

// A declared name, so messages can be checked in full.
template <>
struct inmem::schema_traits<Plan> {
    static constexpr std::string_view name = "Plan";
};

namespace {

// One struct holding every family, nested.
struct Everything {
    bool flag;
    std::int8_t i8;
    std::uint16_t u16;
    std::int64_t i64;
    std::uint64_t u64;
    char c;
    char32_t c32;
    double d;
    float f;
    Color color;
    Legacy legacy;
    std::string text;
    std::vector<Step> steps;
    std::vector<bool> bits;
    std::array<std::int32_t, 3> box;
    std::optional<Plan> plan;
    std::optional<std::optional<std::int32_t>> maybe;
    std::variant<std::monostate, std::int32_t, Step> choice;
    std::map<std::string, std::int64_t> by_name;
    std::map<std::int32_t, std::string> by_id;
    std::unordered_map<std::string, double> scores;
    std::unordered_map<std::int64_t, Color> colors;
    std::pair<bool, std::string> pair;
    std::tuple<char, double, std::string> tuple;
    std::tuple<> nothing;
    std::chrono::milliseconds timeout;
    std::chrono::duration<double> seconds;
    std::chrono::system_clock::time_point at;
    Money price;
    std::vector<Money> prices;
    Empty empty;
    bool operator==(const Everything&) const = default;
};

// to_json, through text and back; checks bytes_to_json and json_to_bytes agree with it.
template <class T>
T round_trip(const T& value) {
    const json j = inmem::to_json(value);
    const std::string bytes = inmem::encode(value);
    CHECK(inmem::bytes_to_json<T>(bytes) == j);
    CHECK(inmem::json_to_bytes<T>(j) == bytes);
    return inmem::from_json<T>(json::parse(j.dump()));
}

// The message of from_json<T>(j), which must throw errc::invalid_argument.
template <class T>
std::string refusal(const json& j) {
    CHECK(error_of([&] { (void)inmem::from_json<T>(j); }) == errc::invalid_argument);
    return what_of([&] { (void)inmem::from_json<T>(j); });
}

Everything sample() {
    using namespace std::chrono;
    Everything e{};
    e.flag = true;
    e.i8 = -128;
    e.u16 = 65535;
    e.i64 = std::numeric_limits<std::int64_t>::min();
    e.u64 = std::numeric_limits<std::uint64_t>::max();
    e.c = 'q';
    e.c32 = U'\U0001F600';
    e.d = 0.1;
    e.f = 3.25f;
    e.color = Color::green;
    e.legacy = legacy_low;
    e.text = "caf\xc3\xa9 \xf0\x9f\x98\x80 \"quoted\"\n";
    e.steps = {{"search", 3}, {"reply", std::nullopt}};
    e.bits = {true, false, true};
    e.box = {-1, 0, 1};
    e.plan = Plan{"answer", {"a", "b"}, 7};
    e.maybe = std::optional<std::int32_t>{}; // engaged, holding an empty optional
    e.choice = Step{"call", 1};
    e.by_name = {{"x", 1}, {"", -2}, {"with space", 3}};
    e.by_id = {{-4, "minus four"}, {9, "nine"}};
    e.scores = {{"a", 0.5}, {"b", -1e-300}};
    e.colors = {{1, Color::red}, {-100, Color::green}, {1LL << 40, Color::red}};
    e.pair = {false, "p"};
    e.tuple = {'z', 2.5, "t"};
    e.timeout = milliseconds{-1500};
    e.seconds = duration<double>{0.25};
    e.at = system_clock::time_point{nanoseconds{1700000000123456789LL}};
    e.price = Money(1999);
    e.prices = {Money(0), Money(5)};
    return e;
}

} // namespace

TEST_CASE("json: every family round-trips through JSON text", "[json]") {
    const Everything e = sample();
    CHECK(round_trip(e) == e);
    CHECK(round_trip(Everything{}) == Everything{});
    CHECK(round_trip(Empty{}) == Empty{});
    CHECK(round_trip(Plan{}) == Plan{});
    // Top-level values of each family, not only fields.
    CHECK(round_trip(std::vector<std::int32_t>{}).empty());
    CHECK(round_trip(std::numeric_limits<std::int64_t>::max()) == std::numeric_limits<std::int64_t>::max());
    CHECK(round_trip(std::numeric_limits<std::int64_t>::min()) == std::numeric_limits<std::int64_t>::min());
    CHECK(round_trip(std::numeric_limits<std::uint64_t>::max()) == std::numeric_limits<std::uint64_t>::max());
    CHECK(round_trip(std::int8_t{-128}) == -128);
    CHECK(round_trip(char16_t{0xffff}) == char16_t{0xffff});
    CHECK(round_trip(std::string("a\0b", 3)) == std::string("a\0b", 3));
    using oo = std::optional<std::optional<std::int32_t>>;
    CHECK(round_trip(oo{}) == oo{});
    CHECK(round_trip(oo{std::optional<std::int32_t>{}}) == oo{std::optional<std::int32_t>{}});
    CHECK(round_trip(oo{5}) == oo{5});
    using var = std::variant<std::int32_t, std::string, Empty>;
    CHECK(round_trip(var{std::in_place_index<2>}) == var{std::in_place_index<2>});
    const std::tuple<std::int32_t, std::pair<std::string, Money>, std::array<Color, 2>> nested{
        -7, {"m", Money(3)}, {Color::red, Color::green}};
    CHECK(round_trip(nested) == nested);
}

TEST_CASE("json: doubles and floats keep their bits, including NaN and infinities", "[json]") {
    const double doubles[] = {0.0, -0.0, 0.1, 1.0 / 3.0, -2.5e-8, 1e300,
                              std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                              std::numeric_limits<double>::min(), std::numeric_limits<double>::denorm_min(),
                              std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                              9007199254740993.0};
    for (double d : doubles) {
        const double back = round_trip(d);
        CHECK(std::bit_cast<std::uint64_t>(back) == std::bit_cast<std::uint64_t>(d));
    }
    const float floats[] = {0.1f, -0.0f, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                            std::numeric_limits<float>::infinity()};
    for (float f : floats) CHECK(std::bit_cast<std::uint32_t>(round_trip(f)) == std::bit_cast<std::uint32_t>(f));
    CHECK(std::isnan(round_trip(std::numeric_limits<double>::quiet_NaN())));
    CHECK(std::isnan(round_trip(std::numeric_limits<float>::quiet_NaN())));

    CHECK(inmem::to_json(std::numeric_limits<double>::quiet_NaN()) == json("NaN"));
    CHECK(inmem::to_json(std::numeric_limits<double>::infinity()) == json("Infinity"));
    CHECK(inmem::to_json(-std::numeric_limits<float>::infinity()) == json("-Infinity"));
    CHECK(inmem::to_json(-0.0).dump() == "-0.0");
    CHECK(inmem::to_json(0.1f).dump() == "0.10000000149011612"); // the float's exact value as a double
    CHECK(inmem::from_json<double>(json(3)) == 3.0);                 // integers are numbers too
    CHECK(std::signbit(inmem::from_json<double>(json::parse("-0.0"))));
}

TEST_CASE("json: the shape of each family is the documented one", "[json]") {
    CHECK(inmem::to_json(Plan{"x", {"a"}, 3}).dump() == R"({"budget":3,"goal":"x","steps":["a"]})");
    CHECK(inmem::to_json(Step{"t", std::nullopt}).dump() == R"({"retries":null,"tool":"t"})");
    CHECK(inmem::to_json(Empty{}).dump() == "{}");
    CHECK(inmem::to_json(true).dump() == "true");
    CHECK(inmem::to_json(std::uint64_t{18446744073709551615ull}).dump() == "18446744073709551615");
    CHECK(inmem::to_json(std::int64_t{-9223372036854775807LL - 1}).dump() == "-9223372036854775808");
    CHECK(inmem::to_json('A').dump() == "65");
    CHECK(inmem::to_json(Color::green).dump() == "200");
    CHECK(inmem::to_json(legacy_low).dump() == "-5");
    CHECK(inmem::to_json(std::array<std::int32_t, 2>{1, 2}).dump() == "[1,2]");
    CHECK(inmem::to_json(std::optional<std::int32_t>{}).dump() == "null");
    CHECK(inmem::to_json(std::optional<std::int32_t>{4}).dump() == "4");
    using oo = std::optional<std::optional<std::int32_t>>;
    CHECK(inmem::to_json(oo{std::optional<std::int32_t>{}}).dump() == "[null]");
    CHECK(inmem::to_json(oo{4}).dump() == "[4]");
    CHECK(inmem::to_json(std::variant<std::int32_t, std::string>{"s"}).dump() == R"({"index":1,"value":"s"})");
    CHECK(inmem::to_json(std::map<std::string, std::int32_t>{{"b", 2}, {"a", 1}}).dump() == R"({"a":1,"b":2})");
    CHECK(inmem::to_json(std::map<std::int32_t, bool>{{2, true}, {-1, false}}).dump() == "[[-1,false],[2,true]]");
    CHECK(inmem::to_json(std::pair<std::int32_t, std::string>{1, "x"}).dump() == R"([1,"x"])");
    CHECK(inmem::to_json(std::tuple<bool, double>{false, 0.5}).dump() == "[false,0.5]");
    CHECK(inmem::to_json(std::tuple<>{}).dump() == "[]");
    CHECK(inmem::to_json(std::chrono::seconds{-90}).dump() == "-90");
    CHECK(inmem::to_json(std::chrono::system_clock::time_point{std::chrono::microseconds{5}}).dump() == "5000");
    CHECK(inmem::to_json(Money(250)).dump() == "250");

    // An unordered_map with non-string keys is in encoded-key order, whatever its insertion order.
    std::unordered_map<std::int32_t, std::int32_t> a, b;
    for (std::int32_t i = 0; i < 50; ++i) a.emplace(i * 7919 % 1000, i);
    for (std::int32_t i = 49; i >= 0; --i) b.emplace(i * 7919 % 1000, i);
    CHECK(inmem::to_json(a).dump() == inmem::to_json(b).dump());
    CHECK(inmem::to_json(std::unordered_map<std::int32_t, bool>{{256, true}, {1, false}}).dump() ==
          "[[256,true],[1,false]]"); // encoded little-endian: 00 01 .. sorts before 01 00 ..
}

TEST_CASE("json: strings that are not UTF-8 survive as base64", "[json]") {
    // Invalid byte, overlong, surrogate, past U+10FFFF, cut short, lone continuation.
    const std::string bad[] = {"\xff", "ok\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                               std::string(1, '\x80')};
    for (const auto& s : bad) {
        const json j = inmem::to_json(s);
        REQUIRE(j.is_object());
        CHECK(round_trip(s) == s); // round_trip dumps: no type_error 316
    }
    CHECK(inmem::to_json(std::string("\xff\x00\x41", 3)).dump() == R"({"base64":"/wBB"})");
    CHECK(inmem::to_json(std::string("\xc3\xa9")).dump() == "\"\xc3\xa9\"");
    const std::map<std::string, std::int32_t> keys{{"fine", 1}, {"\xfe", 2}};
    CHECK(inmem::to_json(keys).dump() == R"([["fine",1],[{"base64":"/g=="},2]])");
    CHECK(round_trip(keys) == keys);
    // The pair form is read for string keys too.
    CHECK(inmem::from_json<std::map<std::string, std::int32_t>>(json::parse(R"([["k",1]])")).at("k") == 1);

    CHECK_THAT(refusal<std::string>(json::parse(R"({"base64":"/w="})")), Contains("at $.base64: expected canonical"));
    CHECK_THAT(refusal<std::string>(json::parse(R"({"base64":"/x=="})")), Contains("canonical"));
    CHECK_THAT(refusal<std::string>(json::parse(R"({"base64":7})")), Contains("found a number"));
    CHECK_THAT(refusal<std::string>(json::parse(R"({"text":"x"})")), Contains("expected a string, found an object"));
}

TEST_CASE("json: integers are range-checked, fractions refused", "[json]") {
    CHECK(inmem::from_json<std::int32_t>(json::parse("3.0")) == 3); // integral floats are accepted
    CHECK(inmem::from_json<std::int64_t>(json::parse("-1e15")) == -1000000000000000LL);
    CHECK(inmem::from_json<std::uint8_t>(json::parse("255")) == 255);
    CHECK(inmem::from_json<Color>(json(200)) == Color::green);

    CHECK_THAT(refusal<std::int32_t>(json::parse("1e300")), Contains("at $: 1e+300 is out of range for int32"));
    CHECK_THAT(refusal<std::int32_t>(json::parse("2147483648")), Contains("2147483648 is out of range for int32"));
    CHECK_THAT(refusal<std::int64_t>(json::parse("18446744073709551616")), Contains("out of range for int64"));
    CHECK_THAT(refusal<std::int64_t>(json::parse("9223372036854775808")), Contains("out of range for int64"));
    CHECK_THAT(refusal<std::uint8_t>(json::parse("-1")), Contains("-1 is out of range for uint8"));
    CHECK_THAT(refusal<std::uint64_t>(json::parse("-1")), Contains("out of range for uint64"));
    CHECK_THAT(refusal<std::int32_t>(json::parse("2.5")), Contains("expected an integer, found 2.5"));
    CHECK_THAT(refusal<std::int64_t>(json::parse("1e17")), Contains("beyond 2^53"));
    CHECK_THAT(refusal<std::int32_t>(json("7")), Contains("expected an integer, found a string"));
    CHECK_THAT(refusal<std::int32_t>(json(true)), Contains("found a boolean"));
    CHECK_THAT(refusal<Color>(json(300)), Contains("300 is out of range for"));
    CHECK_THAT(refusal<bool>(json(1)), Contains("expected a boolean, found a number"));
    CHECK_THAT(refusal<float>(json(1e300)), Contains("out of range for float"));
    CHECK_THAT(refusal<double>(json("nan")), Contains("found the string \"nan\""));
    CHECK_THAT(refusal<double>(json(nullptr)), Contains("expected a number, found null"));
}

TEST_CASE("json: hostile JSON names the place and what was expected", "[json]") {
    // Full messages, with the declared name of Plan (std::system_error appends the code's).
    CHECK(refusal<Plan>(json::parse(R"({"goal":"g","steps":["a","b",3],"budget":1})")) ==
          "inmem: JSON does not fit Plan at $.steps[2]: expected a string, found a number: invalid argument");
    CHECK(refusal<Plan>(json::parse(R"({"goal":"g","steps":[],"budget":1e30})")) ==
          "inmem: JSON does not fit Plan at $.budget: 1e+30 is out of range for int32: invalid argument");
    CHECK(refusal<Plan>(json::parse(R"({"steps":[],"budget":1})")) ==
          "inmem: JSON does not fit Plan at $: missing field 'goal': invalid argument");
    CHECK(refusal<Plan>(json::parse(R"({"goel":"g","steps":[],"budget":1})")) ==
          "inmem: JSON does not fit Plan at $: unknown field 'goel' (the fields are goal, steps, budget): "
          "invalid argument");
    CHECK(refusal<Plan>(json::parse(R"(["g",[],1])")) ==
          "inmem: JSON does not fit Plan at $: expected an object, found an array: invalid argument");
    CHECK_THAT(refusal<Empty>(json::parse(R"({"x":1})")), Contains("unknown field 'x' (there are no fields)"));
    using plans = std::map<std::string, Plan>;
    CHECK_THAT(refusal<plans>(json::parse(R"({"a b":{"goal":1}})")), Contains(R"(at $["a b"]: missing field 'steps')"));
    CHECK_THAT(refusal<plans>(json::parse(R"({"a b":{"goal":1,"steps":[],"budget":0}})")),
               Contains(R"(at $["a b"].goal: expected a string, found a number)"));

    // Deeper paths through every container.
    Everything e = sample();
    json j = inmem::to_json(e);
    auto refuse_edit = [&](auto edit) {
        json copy = j;
        edit(copy);
        return refusal<Everything>(copy);
    };
    CHECK_THAT(refuse_edit([](json& c) { c["steps"][1]["retries"] = "x"; }),
               Contains("at $.steps[1].retries: expected an integer, found a string"));
    CHECK_THAT(refuse_edit([](json& c) { c["box"].push_back(4); }),
               Contains("at $.box: expected an array of 3 elements, found an array of 4"));
    CHECK_THAT(refuse_edit([](json& c) { c["choice"]["index"] = 3; }),
               Contains("at $.choice.index: expected an alternative's index, below 3, found 3"));
    CHECK_THAT(refuse_edit([](json& c) { c["choice"]["index"] = -1; }),
               Contains("at $.choice.index: -1 is out of range"));
    CHECK_THAT(refuse_edit([](json& c) { c["choice"].erase("value"); }),
               Contains("at $.choice: missing field 'value'"));
    CHECK_THAT(refuse_edit([](json& c) { c["choice"]["value"]["tool"] = 1; }),
               Contains("at $.choice.value.tool: expected a string"));
    CHECK_THAT(refuse_edit([](json& c) { c["by_id"].push_back(json::array({9, "again"})); }),
               Contains("at $.by_id[2][0]: this key is given twice"));
    CHECK_THAT(refuse_edit([](json& c) { c["by_id"][0] = json::array({1}); }),
               Contains("at $.by_id[0]: expected an array of 2 elements, found an array of 1"));
    CHECK_THAT(refuse_edit([](json& c) { c["by_name"] = 5; }),
               Contains("at $.by_name: expected an object or an array of [key, value] pairs, found a number"));
    CHECK_THAT(refuse_edit([](json& c) { c["colors"] = json::object(); }),
               Contains("at $.colors: expected an array of [key, value] pairs, found an object"));
    CHECK_THAT(refuse_edit([](json& c) { c["by_name"]["with space"] = true; }),
               Contains(R"(at $.by_name["with space"]: expected an integer, found a boolean)"));
    CHECK_THAT(refuse_edit([](json& c) { c["tuple"][2] = nullptr; }),
               Contains("at $.tuple[2]: expected a string, found null"));
    CHECK_THAT(refuse_edit([](json& c) { c["pair"] = json::array({true}); }),
               Contains("at $.pair: expected an array of 2"));
    CHECK_THAT(refuse_edit([](json& c) { c["maybe"] = 4; }),
               Contains("at $.maybe: expected an array of 1 element, found a number"));
    CHECK_THAT(refuse_edit([](json& c) { c["plan"]["steps"] = "s"; }),
               Contains("at $.plan.steps: expected an array, found a string"));
    CHECK_THAT(refuse_edit([](json& c) { c["at"] = 1.5; }), Contains("at $.at: expected an integer, found 1.5"));
    CHECK_THAT(refuse_edit([](json& c) { c["prices"][1] = -5; }),
               Contains("at $.prices[1]: inmem_test::Money refused the value: negative money"));
    CHECK_THAT(refuse_edit([](json& c) { c["empty"] = json::array(); }),
               Contains("at $.empty: expected an object, found an array"));
    CHECK_THAT(refuse_edit([](json& c) { c.erase("price"); }), Contains("at $: missing field 'price'"));
    CHECK_THAT(refuse_edit([](json& c) { c["extra"] = 1; }), Contains("at $: unknown field 'extra'"));
}

TEST_CASE("json: bytes_to_json reads the codec's bytes and refuses damaged ones", "[json]") {
    const Everything e = sample();
    const std::string bytes = inmem::encode(e);
    CHECK(inmem::bytes_to_json<Everything>(bytes) == inmem::to_json(e));
    CHECK(inmem::encode(inmem::from_json<Everything>(inmem::bytes_to_json<Everything>(bytes))) == bytes);
    CHECK(inmem::json_to_bytes<Plan>(inmem::to_json(Plan{"g", {"s"}, 2})) == inmem::encode(Plan{"g", {"s"}, 2}));

    const std::string plan = inmem::encode(Plan{"goal", {"a", "b"}, 1});
    const std::string cut = plan.substr(0, plan.size() - 1);
    CHECK(error_of([&] { (void)inmem::bytes_to_json<Plan>(cut); }) == errc::corruption);
    CHECK(what_of([&] { (void)inmem::bytes_to_json<Plan>(cut); }) ==
          "inmem: a value of " + std::to_string(cut.size()) +
              " bytes does not decode as Plan: encoded value is truncated: stored data is corrupt");
    CHECK(error_of([&] { (void)inmem::bytes_to_json<Plan>(plan + "x"); }) == errc::corruption);
    CHECK(error_of([&] { (void)inmem::bytes_to_json<Money>(inmem::encode(std::int64_t{-1})); }) == errc::corruption);
    CHECK(error_of([&] { (void)inmem::json_to_bytes<Plan>(json::object()); }) == errc::invalid_argument);
}

TEST_CASE("json: nlohmann's own conversions are untouched for types of namespace inmem", "[json]") {
    // nlohmann looks up to_json(json&, const T&) by ADL; ours take one argument and stay out.
    const json j = inmem::errc::conflict;
    CHECK(j == json(5));
    CHECK(j.get<inmem::errc>() == inmem::errc::conflict);
    const json v = std::vector<inmem::errc>{inmem::errc::ok, inmem::errc::io_error};
    CHECK(v.dump() == "[0,40]");
    CHECK(inmem::to_json(inmem::errc::io_error) == json(40));
}
