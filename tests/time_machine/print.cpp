// Tests of inmem/time_machine/print.hpp: values, diffs and timelines as text for a person.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

namespace {
enum class Color : std::uint8_t { red, green, blue };
struct Step {
    std::string tool;
    std::vector<int> args;
    std::optional<double> cost;
};
struct Task {
    std::string title;
    std::vector<Step> steps;
    std::optional<std::string> note;
    bool done = false;
    std::map<std::string, int> counts;
    Color color = Color::red;
    std::chrono::milliseconds took{};
};
struct Plan {
    std::string goal;
    int budget = 0;
};
struct Said {
    std::string what;
};
using print_schema = inmem::schema<inmem::kv<Plan>, inmem::states<int>, inmem::events<Said>>;
using print_db = inmem::basic_database<print_schema, inmem::durability::none>;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }
} // namespace

TEST_CASE("print: format_value writes a nested struct with its field names, quoted strings, lists and optionals",
          "[print]") {
    using namespace std::chrono_literals;
    const Task task{"fix \"it\"\n",
                    {{"grep", {1, 2}, 0.5}, {"sed", {}, std::nullopt}},
                    std::nullopt,
                    false,
                    {{"a", 1}, {"b", -2}},
                    Color::blue,
                    1500ms};
    CHECK(inmem::detail::format_value(task) ==
          R"({title: "fix \"it\"\n", steps: [{tool: "grep", args: [1, 2], cost: 0.5}, {tool: "sed", args: [], cost: null}], )"
          R"(note: null, done: false, counts: {"a": 1, "b": -2}, color: 2, took: 1500ms})");
    CHECK(inmem::detail::format_value(std::string("tab\there\x01")) == R"("tab\there\x01")");
    CHECK(inmem::detail::format_value(std::optional<std::string>("x")) == R"("x")");
    CHECK(inmem::detail::format_value(std::vector<bool>{true, false}) == "[true, false]");
    CHECK(inmem::detail::format_value(std::tuple<int, std::string>{1, "a"}) == R"((1, "a"))");
    CHECK(inmem::detail::format_value(std::variant<int, Plan>{7}) == "7");
    CHECK(has(inmem::detail::format_value(std::variant<int, Plan>{Plan{"g", 1}}), R"(Plan {goal: "g", budget: 1})"));
    CHECK(inmem::detail::format_value(0.1) == "0.1");
    CHECK(inmem::detail::format_value(std::chrono::system_clock::time_point(1'800'000'000s)) == "2027-01-15T08:00:00Z");
    CHECK(inmem::detail::format_value(std::chrono::system_clock::time_point(1'800'000'000'250ms)) ==
          "2027-01-15T08:00:00.25Z");
}

TEST_CASE("print: a slot's bytes print as its type, and bytes that do not decode say so", "[print]") {
    constexpr auto plan_slot = print_schema::slot_of<inmem::primitive::kv, Plan>;
    CHECK(inmem::slot_value_to_string<print_schema>(plan_slot, inmem::encode(Plan{"ship", 3})) ==
          R"({goal: "ship", budget: 3})");
    CHECK(inmem::slot_value_to_string<print_schema>(plan_slot, std::string("\x05", 1)) == "<undecodable 1 bytes>");
    CHECK(inmem::slot_value_to_string<print_schema>(99, "") == "<slot 99 not in the schema: 0 bytes>");
}

TEST_CASE("print: a diff as text names keys, fields and values, what was added and removed, and the events",
          "[print]") {
    print_db db;
    auto run = db.begin_run();
    db.events().append(run, Said{"hello"});
    db.kv<Plan>().put(run, "plan", Plan{"a", 1});
    db.kv<Plan>().put(run, "notes", Plan{"n", 0});
    db.events().append(run, Said{"x"});
    db.states<int>().set(run, "counter", 1);
    const auto child = inmem::fork(db, run, inmem::at_event{0});
    db.kv<Plan>().put(child, "plan", Plan{"b", 2});
    db.kv<Plan>().put(child, "extra", Plan{"e", 5});
    db.events().append(child, Said{"y"});

    const std::string text = inmem::to_string<print_schema>(inmem::diff(db, run, child));
    INFO(text);
    CHECK(text.starts_with("diff run " + std::to_string(run.value) + " @ v"));
    CHECK(has(text, "-> run " + std::to_string(child.value) + " @ v"));
    CHECK(has(text, R"('plan': {goal: "a", budget: 1} -> {goal: "b", budget: 2})"));
    CHECK(has(text, R"('notes': removed (was {goal: "n", budget: 0}))"));
    CHECK(has(text, R"('extra': added {goal: "e", budget: 5})"));
    CHECK(has(text, "state int 'counter': removed (was 1)"));
    CHECK(has(text, "events: 1 same, 1 only in run " + std::to_string(run.value) + ", 1 only in run " +
                        std::to_string(child.value) + "; first divergence: "));
    CHECK(has(text, "  - run " + std::to_string(run.value) + R"( #1 )"));
    CHECK(has(text, R"(Said {what: "x"})"));
    CHECK(has(text, "  + run " + std::to_string(child.value) + R"( #0 )"));
    CHECK(has(text, R"(Said {what: "y"})"));
    CHECK(has(text, "traces: none"));
    CHECK_FALSE(has(text, "no differences"));
}

TEST_CASE("print: an empty diff prints that there are no differences", "[print]") {
    print_db db;
    auto run = db.begin_run();
    db.kv<Plan>().put(run, "plan", Plan{"a", 1});
    const std::string text = inmem::to_string<print_schema>(inmem::diff(db, run, run));
    CHECK(has(text, "no differences"));
    CHECK_FALSE(has(text, "kv"));
}

TEST_CASE("print: a timeline as text has one step per commit with its changes' values", "[print]") {
    print_db db;
    auto run = db.begin_run();
    db.kv<Plan>().put(run, "plan", Plan{"a", 1});
    db.kv<Plan>().put(run, "plan", Plan{"b", 2});
    db.events().append(run, Said{"said"});
    db.kv<Plan>().erase(run, "plan");
    const std::string text = inmem::to_string<print_schema>(inmem::timeline(db, run));
    INFO(text);
    CHECK(has(text, R"('plan': added {goal: "a", budget: 1})"));
    CHECK(has(text, R"('plan': {goal: "a", budget: 1} -> {goal: "b", budget: 2})"));
    CHECK(has(text, R"(#0: added {what: "said"})"));
    CHECK(has(text, R"('plan': erased (was {goal: "b", budget: 2}))"));
}
