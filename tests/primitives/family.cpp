// Tests of inmem/primitives/family.hpp and inmem/walk.hpp: a primitive family declared here,
// in the test tree alone (no library header knows it), plugs in through the schema, the
// generic accessor, the run walker, recovery's checks and error messages; kv and states are
// families like it.
#include "../support.hpp"

#include <inmem/walk.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace {

// ---- A toy primitive: numbered notes of a run (key: ns run primitive=200 slot number:u64).

template <class Engine, class T>
class note_handle {
public:
    note_handle(Engine& engine, std::uint16_t slot) noexcept : engine_(&engine), slot_(slot) {}

    inmem::version_t put(inmem::run_id run, std::uint64_t number, const T& value) const {
        inmem::detail::write_op op{inmem::detail::write_op::kind::put, key(run, number), inmem::encode(value)};
        return engine_->commit(run, std::span(&op, 1));
    }

    std::vector<T> all(inmem::run_id run) const {
        std::vector<T> out;
        engine_->scan(run, key(run, 0).substr(0, inmem::detail::run_key_prefix_size),
                      [&](std::string_view, const inmem::detail::stored_record& rec) {
                          out.push_back(inmem::decode<T>(rec.bytes).value());
                      });
        return out;
    }

private:
    std::string key(inmem::run_id run, std::uint64_t number) const {
        std::string number_bytes;
        inmem::detail::append_big_endian(number_bytes, number);
        return inmem::detail::run_data_key(inmem::detail::default_namespace, run.value, 200, slot_, number_bytes);
    }

    Engine* engine_;
    std::uint16_t slot_;
};

struct note_family {
    static constexpr inmem::primitive id{200};
    static constexpr std::string_view name = "note";
    template <class Engine, class T>
    using handle = note_handle<Engine, T>;

    static std::optional<inmem::key_parts> parse(std::string_view key) noexcept {
        const auto at = inmem::detail::address_of(key);
        if (!at || at->space != inmem::detail::key_space::run || at->primitive != 200 || at->rest.size() != 8)
            return std::nullopt;
        return inmem::key_parts{id, at->slot, inmem::run_id{at->run}, {},
                                inmem::detail::load_big_endian<std::uint64_t>(at->rest.data()), false};
    }
    static std::optional<inmem::value_parts> value_of(const inmem::key_parts& parts, std::string_view bytes) noexcept {
        if (bytes.empty()) return std::nullopt; // a note is never empty: its text has a length
        return inmem::value_parts{bytes, parts.run};
    }
    static std::string describe(const inmem::key_parts& parts) {
        return "note " + std::to_string(parts.sequence.value_or(0)) + " of run " + std::to_string(parts.run.value);
    }
};

template <class... T>
struct notes : inmem::family_entry<note_family, T...> {};

struct Note {
    std::string text;
    int weight = 0;
    bool operator==(const Note&) const = default;
};
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    bool operator==(const Plan&) const = default;
};
struct Task {
    std::string owner;
    bool operator==(const Task&) const = default;
};

using toy_schema = inmem::schema<inmem::kv<Plan>, notes<Note>, inmem::states<Task>>;

static_assert(inmem::primitive_family<note_family>);
static_assert(inmem::primitive_family<inmem::kv_family> && inmem::primitive_family<inmem::state_family>);
static_assert(toy_schema::slot_of<inmem::primitive{200}, Note> == 1);

template <class Db>
std::vector<std::string> walk_lines(const Db& db, inmem::run_id run) {
    std::vector<std::string> out;
    inmem::walk_run(db, run, [&](const inmem::walked_record& r) {
        std::string line = std::string(r.family) + " slot " + std::to_string(r.parts.slot) + " '" +
                           std::string(r.parts.key) + "'";
        if (r.parts.sequence) line += " #" + std::to_string(*r.parts.sequence);
        line += r.value ? " " + std::to_string(r.value->size()) + " bytes" : " erased";
        line += " by " + std::to_string(r.writer.value);
        out.push_back(line);
    });
    return out;
}

} // namespace

TEST_CASE("a primitive family declared in the test tree works through the generic accessor", "[family]") {
    inmem::basic_database<toy_schema, inmem::durability::none> db;
    const auto run = db.begin_run();
    auto notes_of = db.handle<note_family, Note>();
    notes_of.put(run, 2, Note{"second", 2});
    notes_of.put(run, 1, Note{"first", 1});
    CHECK(notes_of.all(run) == std::vector<Note>{{"first", 1}, {"second", 2}});
    // kv<T>() and states<T>() are the same accessor.
    db.handle<inmem::kv_family, Plan>().put(run, "plan", Plan{"ship", {"a"}});
    CHECK(db.kv<Plan>().get(run, "plan") == Plan{"ship", {"a"}});
}

TEST_CASE("the walker yields every record of a run in key order: by primitive id, slot, then key", "[family]") {
    inmem::basic_database<toy_schema, inmem::durability::none> db;
    const auto run = db.begin_run();
    const auto other = db.begin_run();
    auto notes_of = db.handle<note_family, Note>();
    notes_of.put(run, 7, Note{"n7", 7});
    db.kv<Plan>().put(run, "b", Plan{"b", {}});
    db.kv<Plan>().put(run, "a", Plan{"a", {"x", "y"}});
    db.kv<Plan>().put(other, "not mine", Plan{});
    db.states<Task>().set(run, "t1", Task{"me"});
    db.states<Task>().erase(run, "t1");
    notes_of.put(run, 3, Note{"n3", 3});

    const auto lines = walk_lines(db, run);
    const std::string a = std::to_string(inmem::encode(Plan{"a", {"x", "y"}}).size());
    const std::string b = std::to_string(inmem::encode(Plan{"b", {}}).size());
    const std::string t = std::to_string(inmem::encode(Task{"me"}).size());
    const std::string n = std::to_string(inmem::encode(Note{"n3", 3}).size());
    const std::string by = " by " + std::to_string(run.value);
    // The two state journal entries carry the versions of the set and the erase.
    const auto versions = db.states<Task>().writes(run);
    REQUIRE(versions.size() == 2);
    CHECK(lines == std::vector<std::string>{
                       "kv slot 0 'a' " + a + " bytes" + by,
                       "kv slot 0 'b' " + b + " bytes" + by,
                       "state slot 2 't1' #" + std::to_string(versions[0].version) + " " + t + " bytes" + by,
                       "state slot 2 't1' #" + std::to_string(versions[1].version) + " erased" + by,
                       "note slot 1 '' #3 " + n + " bytes" + by,
                       "note slot 1 '' #7 " + n + " bytes" + by,
                   });
    CHECK(walk_lines(db, other) == std::vector<std::string>{"kv slot 0 'not mine' " +
                                                            std::to_string(inmem::encode(Plan{}).size()) +
                                                            " bytes by " + std::to_string(other.value)});

    // The value views are the codec bytes: they decode as the slot's type.
    std::vector<Plan> plans;
    inmem::walk_run(db, run, [&](const inmem::walked_record& r) {
        if (r.family != "kv") return false; // kv (id 1) comes first: stop at the first other
        plans.push_back(inmem::decode<Plan>(*r.value).value());
        return true;
    });
    CHECK(plans == std::vector<Plan>{{"a", {"x", "y"}}, {"b", {}}});
    CHECK(inmem_test::error_of([&] { walk_lines(db, inmem::run_id{99}); }) == inmem::errc::unknown_run);
}

TEST_CASE("families describe their keys in error messages", "[family]") {
    using inmem::detail::describe_stored_key;
    std::string number;
    inmem::detail::append_big_endian(number, std::uint64_t{12});
    CHECK(describe_stored_key<toy_schema>(inmem::detail::run_data_key(0, 3, 200, 1, number)) == "note 12 of run 3");
    CHECK(describe_stored_key<toy_schema>(inmem::detail::run_data_key(0, 3, 1, 0, "plan")) == "kv key 'plan' of run 3");
    std::string shared;
    inmem::detail::shared_key_into(shared, 0, 3, 2, "lead");
    CHECK(describe_stored_key<toy_schema>(shared) == "state record 'lead'");
    // A key no family of the schema owns (slot 1 is a note, not a kv) falls back to the grammar.
    CHECK(describe_stored_key<toy_schema>(inmem::detail::run_data_key(0, 3, 1, 1, "x")) == "key 'x' of run 3");

    // A transaction conflict names the key by its family.
    inmem::basic_database<toy_schema, inmem::durability::none> db;
    const auto run = db.begin_run();
    auto plans = db.kv<Plan>();
    auto tx = db.begin(run);
    plans.put(tx, "plan", Plan{"mine", {}});
    plans.put(run, "plan", Plan{"theirs", {}});
    CHECK(inmem_test::what_of([&] { tx.commit(); }).find("changed kv key 'plan' of run 1, which the transaction wrote") !=
          std::string::npos);
}

TEST_CASE("recovery checks records by their family", "[family]") {
    inmem_test::temp_dir dir;
    inmem::run_id run;
    {
        inmem::basic_database<toy_schema, inmem::durability::strict> db(dir.path());
        run = db.begin_run();
        db.handle<note_family, Note>().put(run, 1, Note{"kept", 1});
    }
    {
        inmem::basic_database<toy_schema, inmem::durability::strict> db(dir.path());
        CHECK(db.handle<note_family, Note>().all(run) == std::vector<Note>{{"kept", 1}});
        CHECK(walk_lines(db, run).size() == 1);
        // A note key without its number: the engine stores what it is given, but the family
        // refuses it, so the next open finds a record that cannot be.
        inmem::detail::write_op bad{inmem::detail::write_op::kind::put,
                                    inmem::detail::run_data_key(0, run.value, 200, 1, "no-number"), "x"};
        db.engine().commit(run, std::span(&bad, 1));
        CHECK(inmem_test::error_of([&] { walk_lines(db, run); }) == inmem::errc::corruption);
    }
    const std::string what = inmem_test::what_of([&] { inmem::basic_database<toy_schema> db(dir.path()); });
    CHECK(what.find("a note record of slot 1") != std::string::npos);
    CHECK(what.find("with a key its family cannot parse") != std::string::npos);
}
