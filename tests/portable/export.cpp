// Tests of inmem/portable/export.hpp: a run as JSON Lines, self-contained: every commit with
// its values (overwritten and erased ones too), values that read back by the header's type
// descriptions alone, event chains that verify from the file alone, a last line that says the
// file is whole, progress, and clear errors.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/json.hpp>
#include <inmem/portable/export.hpp>

#include "../support.hpp"

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    std::optional<int> budget;
};
struct Said {
    std::string what;
};
struct Heard {
    int loudness = 0;
};
struct Lease {
    std::string holder;
};
struct Thought {
    std::string text;
};
using export_schema =
    inmem::schema<inmem::kv<Plan, std::string>, inmem::events<Said, Heard>, inmem::states<Lease>, inmem::traces<Thought>>;
using db_type = inmem::database<export_schema>;

std::vector<nlohmann::json> lines_of(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
}
} // namespace

TEST_CASE("export: a run's commits as JSON Lines, values by field name, readable by the header's descriptions alone",
          "[export]") {
    db_type db;
    const auto other = db.begin_run({.name = "not exported"});
    const auto run = db.begin_run({.name = "triage", .tags = {"support"}, .metadata = {{"ticket", "4711"}}});
    auto plans = db.kv<Plan>();
    const auto v_plan = plans.put(run, "plan", {"answer", {"search"}, 3});
    plans.put(run, "plan", {"answer", {"search", "reply"}, std::nullopt});
    db.kv<std::string>().put(run, "mood", "hurried");
    db.kv<std::string>().erase(run, "mood");
    db.kv<std::string>().put(other, "x", "y");
    REQUIRE(db.states<Lease>().init(run, "lease", {"triage"}));
    db.events().append(run, Said{"hello"}, {.thread = "t1", .agent = "planner"});
    db.events().append(run, Heard{7});
    db.events().append(run, Said{"bye"});
    db.traces().record(run, Thought{"why not"});
    db.end_run(run, inmem::run_status::completed);

    std::ostringstream out;
    std::vector<inmem::export_progress> seen;
    const auto report = inmem::export_run(db, run, out, {.progress = [&](const auto& p) { seen.push_back(p); }});
    const std::string text = out.str();
    const auto lines = lines_of(text);
    REQUIRE(lines.size() == 2 + report.commits + 1);
    CHECK(report.bytes == text.size());
    CHECK(report.runs == 1);

    // The header: the format and every slot's description.
    const auto& header = lines.front();
    CHECK(header["inmem"] == "export");
    CHECK(header["format"] == inmem::export_format_version);
    const auto& slots = header["schema"]["slots"];
    REQUIRE(slots.size() == export_schema::size);
    CHECK(slots[0]["family"] == "kv");
    CHECK(slots[0]["description"] == inmem::describe<Plan>());
    CHECK(std::stoull(slots[0]["fingerprint"].get<std::string>(), nullptr, 16) == inmem::fingerprint_v<Plan>);
    std::vector<inmem::type_description> layouts;
    for (const auto& s : slots) layouts.push_back(inmem::parse_type_description(s["description"].get<std::string>()));

    // The run line.
    const auto& r = lines[1]["run"];
    CHECK(r["id"] == run.value);
    CHECK(r["name"] == "triage");
    CHECK(r["status"] == "completed");
    CHECK(r["metadata"]["ticket"] == "4711");
    CHECK(r["tags"] == nlohmann::json::array({"support"}));
    CHECK_FALSE(r["ended"].is_null());

    // The commits, oldest first: the overwritten plan and the erased mood are there.
    std::vector<nlohmann::json> changes;
    std::uint64_t last = 0;
    for (std::size_t i = 2; i + 1 < lines.size(); ++i) {
        const auto& c = lines[i]["commit"];
        CHECK(c["run"] == run.value);
        CHECK(c["version"].get<std::uint64_t>() > last);
        last = c["version"].get<std::uint64_t>();
        for (const auto& change : c["changes"]) changes.push_back(change);
    }
    CHECK(lines[2]["commit"]["version"] == v_plan);
    CHECK(lines[2]["commit"]["changes"][0]["value"] ==
          nlohmann::json::parse(R"({"goal":"answer","steps":["search"],"budget":3})"));
    auto find = [&](std::string_view family, std::string_view key, bool erased) {
        std::size_t n = 0;
        for (const auto& c : changes) n += c["family"] == family && c["key"] == key && c.contains("erased") == erased;
        return n;
    };
    CHECK(find("kv", "plan", false) == 2);
    CHECK(find("kv", "mood", false) == 1);
    CHECK(find("kv", "mood", true) == 1);
    CHECK(find("trace", "", false) == 1);
    CHECK(report.changes == changes.size());

    // Every value reads back through the descriptions, without the C++ types.
    for (const auto& c : changes) {
        if (!c.contains("value")) continue;
        const auto slot = c["slot"].get<std::uint16_t>();
        const std::string bytes = inmem::slot_value_from_json<export_schema>(slot, c["value"]);
        CHECK(inmem::generic_to_json(layouts[slot], bytes) == c["value"]);
    }

    // The event chain verifies from the file alone: each hash recomputed from what it carries.
    std::string previous(64, '0');
    std::size_t events = 0;
    for (const auto& c : changes) {
        if (c["family"] != "event") continue;
        ++events;
        const auto& e = c["event"];
        CHECK(e["prev_hash"] == previous);
        const auto slot = c["slot"].get<std::uint16_t>();
        const std::string payload = inmem::slot_value_from_json<export_schema>(slot, c["value"]);
        std::string hashed;
        for (const auto& label : {e["thread"].get<std::string>(), e["agent"].get<std::string>()}) {
            inmem::detail::append_big_endian(hashed, static_cast<std::uint16_t>(label.size()));
            hashed += label;
        }
        hashed += payload;
        const auto prev = inmem::detail::hash_from_hex(e["prev_hash"].get<std::string>());
        REQUIRE(prev);
        const auto hash = inmem::detail::event_hash(
            std::string_view(reinterpret_cast<const char*>(prev->data()), 32), run.value, c["seq"].get<std::uint64_t>(),
            e["time"].get<std::int64_t>(), std::stoull(slots[slot]["fingerprint"].get<std::string>(), nullptr, 16), hashed);
        CHECK(inmem::detail::hash_to_hex(std::string_view(reinterpret_cast<const char*>(hash.data()), 32)) == e["hash"]);
        previous = e["hash"].get<std::string>();
    }
    CHECK(events == 3);
    CHECK(changes[0].contains("value"));

    // The last line says the file is whole; progress went up to it.
    const auto& end = lines.back()["end"];
    CHECK(end["runs"] == 1);
    CHECK(end["commits"] == report.commits);
    CHECK(end["changes"] == report.changes);
    REQUIRE_FALSE(seen.empty());
    for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i].bytes >= seen[i - 1].bytes);
    CHECK(seen.back().bytes == report.bytes);
    CHECK(seen.back().runs_done == 1);
    CHECK(seen.back().commits == report.commits);
}

TEST_CASE("export: several runs, an unknown run refused before anything is written, a failing stream", "[export]") {
    db_type db;
    const auto a = db.begin_run({.name = "a"});
    const auto b = db.begin_run({.name = "b", .parent = a});
    db.kv<std::string>().put(a, "k", "1");
    db.kv<std::string>().put(b, "k", "2");
    std::ostringstream out;
    const std::vector<inmem::run_id> both{a, b};
    const auto report = inmem::export_runs(db, both, out);
    const auto lines = lines_of(out.str());
    CHECK(report.runs == 2);
    std::vector<std::uint64_t> runs;
    for (const auto& l : lines)
        if (l.contains("run")) runs.push_back(l["run"]["id"].get<std::uint64_t>());
    CHECK(runs == std::vector<std::uint64_t>{a.value, b.value});
    CHECK(lines[3]["run"]["parent"] == a.value);

    // A key that is not UTF-8 survives, as json/value.hpp writes such strings.
    db.kv<std::string>().put(a, std::string("\xff\x01", 2), "binary key");
    std::ostringstream binary;
    inmem::export_run(db, a, binary);
    const auto binary_lines = lines_of(binary.str());
    CHECK(binary_lines[binary_lines.size() - 2]["commit"]["changes"][0]["key"] == nlohmann::json::parse(R"({"base64":"/wE="})"));

    std::ostringstream none;
    const std::vector<inmem::run_id> unknown{a, inmem::run_id{99}};
    try {
        inmem::export_runs(db, unknown, none);
        FAIL("exported");
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::unknown_run);
    }
    CHECK(none.str().empty());

    std::ostringstream broken;
    broken.setstate(std::ios::badbit);
    try {
        inmem::export_run(db, a, broken);
        FAIL("exported");
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::io_error);
    }
}
