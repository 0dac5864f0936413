// Tests of inmem/json/records.hpp: every value a run stored, found by the walker and shown
// as JSON through its schema slot (no C++ type at the call site), and back to the same bytes.
#include "../support.hpp"

#include <inmem/json/records.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

using nlohmann::json;

namespace {

struct Step {
    std::string tool;
    std::optional<std::int32_t> retries;
    bool operator==(const Step&) const = default;
};
enum class Mode : std::uint8_t { fast = 1, careful = 2 };
struct Memory {
    std::string goal;
    std::vector<Step> steps;
    std::variant<std::monostate, std::int64_t, Step> last;
    std::optional<Step> pending;
    std::map<std::string, double> scores;
    std::unordered_map<std::int32_t, std::string> notes;
    std::map<std::int64_t, std::vector<bool>> flags;
    std::array<std::uint16_t, 2> window;
    std::pair<Mode, std::string> mode;
    std::tuple<char, float> mark;
    std::chrono::milliseconds timeout{};
    std::chrono::system_clock::time_point at{};
    inmem_test::Money cost;
    bool operator==(const Memory&) const = default;
};
struct Claim {
    std::string owner;
    std::int64_t until_ms = 0;
    bool operator==(const Claim&) const = default;
};

using schema = inmem::schema<inmem::kv<std::string, Memory>, inmem::states<Claim>>;
using db_type = inmem::basic_database<schema, inmem::durability::none>;

Memory sample(int i) {
    using namespace std::chrono;
    Memory m;
    m.goal = "goal " + std::to_string(i);
    m.steps = {Step{"search", 2}, Step{"read", std::nullopt}};
    m.last = i % 3 == 0 ? decltype(m.last){} : i % 3 == 1 ? decltype(m.last){std::int64_t{-i}} : Step{"patch", 1};
    if (i % 2) m.pending = Step{"test", i};
    m.scores = {{"precision", 0.25 * i}, {"recall", -1.5}};
    m.notes = {{i, "first"}, {-i - 1, "second"}};
    m.flags = {{std::int64_t{1} << 40, {true, false, true}}};
    m.window = {static_cast<std::uint16_t>(i), 65535};
    m.mode = {i % 2 ? Mode::careful : Mode::fast, "why"};
    m.mark = {'x', 0.5f};
    m.timeout = milliseconds(1500 + i);
    m.at = system_clock::time_point(milliseconds(1'700'000'000'000 + i));
    m.cost = inmem_test::Money(100 * i);
    return m;
}

} // namespace

TEST_CASE("every record of a run goes to JSON by its slot and back to the same bytes", "[json]") {
    db_type db;
    const auto run = db.begin_run();
    auto memories = db.kv<Memory>();
    for (int i = 0; i < 6; ++i) memories.put(run, "m" + std::to_string(i), sample(i));
    db.kv<std::string>().put(run, "greeting", std::string("h\xc3\xa9llo"));
    db.kv<std::string>().put(run, std::string("bin\xff", 4), std::string("\x01\xfe", 2));
    auto claims = db.states<Claim>();
    claims.set(run, "task", Claim{"me", 42});
    claims.erase(run, "task");

    std::size_t seen = 0;
    inmem::walk_run(db, run, [&](const inmem::walked_record& r) {
        ++seen;
        const json j = inmem::record_to_json<schema>(r);
        CHECK(j["family"] == std::string(r.family));
        CHECK(j["version"] == r.version);
        CHECK(j["writer"] == run.value);
        if (!r.value) { // the erase's journal entry
            CHECK(j["value"].is_null());
            CHECK(j["family"] == "state");
            return;
        }
        // Through text and back: the same codec bytes as stored, for every family of value.
        const json value = json::parse(j["value"].dump());
        CHECK(inmem::slot_value_from_json<schema>(r.parts.slot, value) == std::string(*r.value));
        if (r.type.ends_with("Memory")) {
            const int i = std::stoi(std::string(r.parts.key.substr(1)));
            CHECK(inmem::from_json<Memory>(value) == sample(i));
        }
    });
    CHECK(seen == 6 + 2 + 2);

    const json all = inmem::run_to_json(db, run);
    REQUIRE(all.size() == seen);
    // Keys in byte order: the kv<std::string> slot (0) first, its non-UTF-8 key as base64.
    CHECK(all[0]["key"] == json::object({{"base64", "Ymlu/w=="}})); // "bin\xff"
    CHECK(all[0]["value"] == json::object({{"base64", "Af4="}}));    // "\x01\xfe"
    CHECK(all[1]["key"] == "greeting");
    CHECK(all[1]["value"] == "h\xc3\xa9llo");
}

TEST_CASE("a record's JSON has the shape tools read", "[json]") {
    db_type db;
    const auto run = db.begin_run();
    db.kv<std::string>().put(run, "k", std::string("v"));
    const auto version = db.states<Claim>().set(run, "lead", Claim{"me", 7});
    const json all = inmem::run_to_json(db, run);
    REQUIRE(all.size() == 2);
    json first = all[0];
    CHECK(first["type"].is_string()); // the compiler's name of std::string
    first.erase("type");
    CHECK(first.dump() == R"({"family":"kv","key":"k","run":1,"slot":0,"value":"v","version":)" +
                              std::to_string(version - 1) + R"(,"writer":1})");
    CHECK(all[1]["family"] == "state");
    CHECK(all[1]["key"] == "lead");
    CHECK(all[1]["sequence"] == version);
    CHECK(all[1]["value"] == json::parse(R"({"owner":"me","until_ms":7})"));
}

TEST_CASE("JSON that does not fit a slot is refused with the field named", "[json]") {
    using inmem_test::error_of;
    using inmem_test::what_of;
    const json bad = json::parse(R"({"owner": 3, "until_ms": 1})");
    CHECK(error_of([&] { (void)inmem::slot_value_from_json<schema>(2, bad); }) == inmem::errc::invalid_argument);
    CHECK(what_of([&] { (void)inmem::slot_value_from_json<schema>(2, bad); }).find("$.owner: expected a string") !=
          std::string::npos);
    CHECK(what_of([&] { (void)inmem::slot_value_from_json<schema>(2, json::parse(R"({"owner":"x"})")); })
              .find("missing field 'until_ms'") != std::string::npos);
    CHECK(what_of([&] { (void)inmem::slot_value_to_json<schema>(3, "x"); }).find("there is no slot 3") !=
          std::string::npos);
    CHECK(error_of([&] { (void)inmem::slot_value_to_json<schema>(1, "\x05"); }) == inmem::errc::corruption);
}
