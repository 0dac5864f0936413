// The evolution matrix: one database per rule of schema/evolution.hpp, written by one program
// and opened by another compiled with the changed structs, as a user meets it after editing a
// struct. This file is both programs: built with INMEM_EVOLUTION_SIDE=1 (the old structs) it
// is the writer, with 2 (the new ones) the checker.
//   evolution_v1 write DIR                 writes every case into DIR/<case>-{wal,snapshot}
//   evolution_v2 --writer PATH             runs the writer into a fresh directory, then opens
//                                          each case under the new structs and checks every
//                                          value field by field, or, for a change that is not
//                                          safe, the refusal (its message, nothing written)
// Each case is written twice: in the WAL only, and with a snapshot half way.
#include <inmem/inmem.hpp>
#include <inmem/json.hpp> // (the upgrade function reads the old value as JSON)

#include "../support.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#if INMEM_EVOLUTION_SIDE == 1
#define OLD(...) __VA_ARGS__
#define NEW(...)
#elif INMEM_EVOLUTION_SIDE == 2
#define OLD(...)
#define NEW(...) __VA_ARGS__
#else
#error "build with -DINMEM_EVOLUTION_SIDE=1 (the writer) or 2 (the checker)"
#endif

namespace {
namespace fs = std::filesystem;
template <class Schema>
using db = inmem::basic_database<Schema, inmem::durability::strict>;
constexpr int values_per_case = 20; // values written per case and directory

// What the checker found wrong.
struct checker {
    int failures = 0;
    std::string at;
    void expect(bool ok, const std::string& what) {
        if (ok) return;
        ++failures;
        std::fprintf(stderr, "evolution: %s: %s\n", at.c_str(), what.c_str());
    }
};
} // namespace

// ---- The cases: the old struct (OLD), the new one (NEW), what is written and what is read.

namespace added { // fields added, with and without a default member initialiser
OLD(struct T { std::string a; };)
NEW(struct T {
    std::string a;
    int b = 7;
    std::vector<std::string> c;
    double d;
};)
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {"x" + std::to_string(i)}); })
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<T>().get(r, "k" + std::to_string(i));
    c.expect(v && v->a == "x" + std::to_string(i) && v->b == 7 && v->c.empty() && v->d == 0.0, "the added fields");
})
} // namespace added

namespace removed { // a field removed
OLD(struct T {
    std::string a;
    std::vector<int> gone;
    int b = 0;
};)
NEW(struct T {
    std::string a;
    int b = 0;
};)
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {"x", {1, 2, i}, i}); })
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<T>().get(r, "k" + std::to_string(i));
    c.expect(v && v->a == "x" && v->b == i, "the fields kept");
})
} // namespace removed

namespace reordered { // the same fields in another order
OLD(struct T {
    int a = 0;
    std::string b;
    double c = 0;
};)
NEW(struct T {
    double c = 0;
    int a = 0;
    std::string b;
};)
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {i, "b", i * 0.5}); })
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<T>().get(r, "k" + std::to_string(i));
    c.expect(v && v->a == i && v->b == "b" && v->c == i * 0.5, "the fields by name");
})
} // namespace reordered

namespace renamed { // a field renamed, declared
OLD(struct T {
    std::string body;
    int n = 0;
};)
NEW(struct T {
    std::string text;
    int n = 0;
};)
} // namespace renamed
NEW(template <> struct inmem::schema_traits<renamed::T> {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 1> renamed_fields = {{{"body", "text"}}};
};)
namespace renamed {
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {"hello", i}); })
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<T>().get(r, "k" + std::to_string(i));
    c.expect(v && v->text == "hello" && v->n == i, "the renamed field");
})
} // namespace renamed

namespace widened { // every widening the rules allow
OLD(struct T {
    std::int32_t i = 0;
    std::uint16_t u = 0;
    std::uint8_t w = 0;
    float f = 0;
    int o = 0;
    std::variant<int, std::string> v;
};)
NEW(struct T {
    std::int64_t i = 0;
    std::uint32_t u = 0;
    std::int32_t w = 0;
    double f = 0;
    std::optional<int> o;
    std::variant<int, std::string, double> v;
};)
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) {
    d.kv<T>().put(r, "k" + std::to_string(i),
                  {-2147483647 - 1 + i, 65535, 255, 1.5f, i,
                   i % 2 ? std::variant<int, std::string>(i) : std::variant<int, std::string>("s")});
})
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<T>().get(r, "k" + std::to_string(i));
    c.expect(v && v->i == std::int64_t{-2147483647 - 1 + i} && v->u == 65535 && v->w == 255 && v->f == 1.5 &&
                 v->o == i,
             "the widened numbers");
    c.expect(v && (i % 2 ? v->v.index() == 0 && std::get<0>(v->v) == i : v->v.index() == 1 && std::get<1>(v->v) == "s"),
             "the variant's alternative");
})
} // namespace widened

namespace nested { // a struct inside containers gaining a field
OLD(struct Step { std::string tool; };)
NEW(struct Step {
    std::string tool;
    int tries = 1;
};)
struct T {
    std::vector<Step> steps;
    std::map<std::string, Step> by_name;
    std::optional<Step> last;
};
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) {
    d.kv<T>().put(r, "k" + std::to_string(i), {{{"search"}, {"fetch"}}, {{"a", {"mail"}}}, Step{"last"}});
})
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<T>().get(r, "k" + std::to_string(i));
    c.expect(v && v->steps.size() == 2 && v->steps[1].tool == "fetch" && v->steps[1].tries == 1 &&
                 v->by_name.at("a").tool == "mail" && v->by_name.at("a").tries == 1 && v->last && v->last->tries == 1,
             "the nested structs");
})
} // namespace nested

namespace slots { // a type removed from the schema, another added before the one kept
struct Kept {
    std::string a;
};
OLD(struct Dropped { int x = 0; };)
NEW(struct Fresh { int y = 0; };)
OLD(using schema = inmem::schema<inmem::kv<Kept, Dropped>>;)
NEW(using schema = inmem::schema<inmem::kv<Fresh, Kept>>;)
OLD(void write(db<schema>& d, inmem::run_id r, int i) {
    d.kv<Kept>().put(r, "k" + std::to_string(i), {"kept"});
    d.kv<Dropped>().put(r, "k" + std::to_string(i), {i});
})
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<Kept>().get(r, "k" + std::to_string(i));
    c.expect(v && v->a == "kept", "the kept type");
    c.expect(!d.kv<Fresh>().get(r, "k" + std::to_string(i)), "nothing of the added type");
})
} // namespace slots

namespace states { // a state record's type gaining a field: its value, writer and version kept
OLD(struct Lease { std::string holder; };)
NEW(struct Lease {
    std::string holder;
    std::int64_t until = -1;
};)
using schema = inmem::schema<inmem::kv<int>, inmem::states<Lease>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) {
    auto s = d.states<Lease>();
    const auto name = "lease" + std::to_string(i);
    if (!s.init(r, name, {"a"})) std::abort();
    if (!s.cas(r, name, s.read(name)->version, {"b" + std::to_string(i)})) std::abort();
})
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.states<Lease>().read("lease" + std::to_string(i));
    c.expect(v && v->value.holder == "b" + std::to_string(i) && v->value.until == -1 && v->writer == r &&
                 v->version > 0,
             "the state record");
})
} // namespace states

namespace quickstart { // examples/quickstart.cpp's structs, made durable; the new Plan has an owner
OLD(struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    int budget = 0;
};)
NEW(struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    int budget = 0;
    std::string owner = "unassigned";
};)
struct ToolResult {
    std::string tool;
    std::variant<std::string, double> output;
    std::chrono::milliseconds took{};
    std::optional<std::string> error;
};
struct ToolCall {
    std::string tool;
    std::map<std::string, std::string> args;
};
struct Claim {
    std::string worker;
};
using schema = inmem::schema<inmem::kv<Plan, ToolResult, std::string>, inmem::events<ToolCall>,
                             inmem::states<Claim, inmem::counter>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) {
    d.kv<Plan>().put(r, "plan" + std::to_string(i), Plan{"answer the customer", {"search docs", "draft reply"}, 3});
    d.kv<ToolResult>().put(r, "tool:search" + std::to_string(i),
                           ToolResult{"search", std::string("3 articles"), std::chrono::milliseconds(42), {}});
    d.kv<std::string>().put(r, "mood" + std::to_string(i), "customer is in a hurry");
    d.events().append(r, ToolCall{"search", {{"q", "refund"}}});
})
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto p = d.kv<Plan>().get(r, "plan" + std::to_string(i));
    c.expect(p && p->goal == "answer the customer" && p->steps.size() == 2 && p->budget == 3 && p->owner == "unassigned",
             "the plan with its new field");
    const auto t = d.kv<ToolResult>().get(r, "tool:search" + std::to_string(i));
    c.expect(t && t->took == std::chrono::milliseconds(42), "the tool result");
    c.expect(d.kv<std::string>().get(r, "mood" + std::to_string(i)) == "customer is in a hurry", "the note");
    c.expect(d.events().verify(r) && d.events().read(r).size() == static_cast<std::size_t>(values_per_case),
             "the events and their chain");
})
} // namespace quickstart

namespace event_added { // an event type added at the end of the list: the log of one type gets its type index
struct Asked {
    std::string question;
};
NEW(struct Answered { std::string answer; };)
OLD(using schema = inmem::schema<inmem::kv<int>, inmem::events<Asked>>;)
NEW(using schema = inmem::schema<inmem::kv<int>, inmem::events<Asked, Answered>>;)
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.events().append(r, Asked{"q" + std::to_string(i)}); })
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto asked = d.events().read<Asked>(r);
    c.expect(asked.size() == static_cast<std::size_t>(values_per_case) && asked[i].value.question == "q" + std::to_string(i) &&
                 asked[i].id.seq == static_cast<std::uint64_t>(i),
             "the old events by their type");
    c.expect(d.events().count<Answered>(r) == 0 && d.events().verify(r), "the chain and the new type's count");
})
} // namespace event_added

namespace upgraded { // a change no rule makes, made by the type's upgrade function
OLD(struct T {
    std::string count;
    int n = 0;
};)
NEW(struct T {
    std::int64_t count = 0;
    int n = 0;
};)
} // namespace upgraded
NEW(template <> struct inmem::schema_traits<upgraded::T> {
    static upgraded::T upgrade(const nlohmann::json& old) {
        return {std::stoll(old.at("count").get<std::string>()), old.at("n").get<int>()};
    }
};)
namespace upgraded {
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {std::to_string(i * 3), i}); })
NEW(void check(db<schema>& d, inmem::run_id r, int i, checker& c) {
    const auto v = d.kv<T>().get(r, "k" + std::to_string(i));
    c.expect(v && v->count == i * 3 && v->n == i, "the upgraded value");
})
} // namespace upgraded

// Changes without a rule: refused at open.
namespace undeclared_rename {
OLD(struct T { std::string body; };)
NEW(struct T { std::string text; };)
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {"b"}); })
const std::vector<std::string> refusal = {"kv<undeclared_rename::T>", "body is gone and text is new",
                                          "renamed_fields", "removed_fields"};
} // namespace undeclared_rename

namespace narrowed {
OLD(struct T { std::int64_t a = 0; };)
NEW(struct T { std::int32_t a = 0; };)
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {i}); })
const std::vector<std::string> refusal = {"kv<narrowed::T>", "$.a", "i64", "i32"};
} // namespace narrowed

namespace retyped {
OLD(struct T { std::string a; };)
NEW(struct T { int a = 0; };)
using schema = inmem::schema<inmem::kv<T>>;
OLD(void write(db<schema>& d, inmem::run_id r, int i) { d.kv<T>().put(r, "k" + std::to_string(i), {"a"}); })
const std::vector<std::string> refusal = {"kv<retyped::T>", "$.a", "string", "i32"};
} // namespace retyped

namespace event_changed {
OLD(struct E { std::string what; };)
NEW(struct E {
    std::string what;
    int weight = 0;
};)
using schema = inmem::schema<inmem::kv<int>, inmem::events<E>>;
OLD(void write(db<schema>& d, inmem::run_id r, int) { d.events().append(r, E{"x"}); })
const std::vector<std::string> refusal = {"events<event_changed::E>", "hashed"};
} // namespace event_changed

namespace {

#if INMEM_EVOLUTION_SIDE == 1
template <class Schema, class Write>
void write_case(const fs::path& root, const std::string& name, Write write) {
    for (const bool snapshot : {false, true}) {
        db<Schema> d(root / (name + (snapshot ? "-snapshot" : "-wal")));
        const auto run = d.begin_run({.name = name});
        for (int i = 0; i < values_per_case; ++i) {
            write(d, run, i);
            if (snapshot && i == values_per_case / 2) d.snapshot();
        }
    }
}

int writer(const fs::path& root) {
    write_case<added::schema>(root, "added", added::write);
    write_case<removed::schema>(root, "removed", removed::write);
    write_case<reordered::schema>(root, "reordered", reordered::write);
    write_case<renamed::schema>(root, "renamed", renamed::write);
    write_case<widened::schema>(root, "widened", widened::write);
    write_case<nested::schema>(root, "nested", nested::write);
    write_case<slots::schema>(root, "slots", slots::write);
    write_case<states::schema>(root, "states", states::write);
    write_case<quickstart::schema>(root, "quickstart", quickstart::write);
    write_case<upgraded::schema>(root, "upgraded", upgraded::write);
    write_case<event_added::schema>(root, "event_added", event_added::write);
    write_case<undeclared_rename::schema>(root, "undeclared_rename", undeclared_rename::write);
    write_case<narrowed::schema>(root, "narrowed", narrowed::write);
    write_case<retyped::schema>(root, "retyped", retyped::write);
    write_case<event_changed::schema>(root, "event_changed", event_changed::write);
    return 0;
}
#else
template <class Schema, class Check>
void check_case(const fs::path& root, const std::string& name, Check check, checker& c) {
    for (const bool snapshot : {false, true}) {
        const fs::path dir = root / (name + (snapshot ? "-snapshot" : "-wal"));
        c.at = dir.filename().string();
        for (int open = 0; open < 2; ++open) { // migrating, then from the snapshot under the new schema
            try {
                db<Schema> d(dir);
                c.expect(d.recovery().schema_changes.empty() == (open == 1),
                         open ? "migrated again at the second open" : "no change reported");
                if (open == 0)
                    for (const auto& line : d.recovery().schema_changes) std::printf("  %s: %s\n", c.at.c_str(), line.c_str());
                const auto run = d.runs().at(0).id;
                for (int i = 0; i < values_per_case; ++i) check(d, run, i, c);
            } catch (const std::exception& e) {
                c.expect(false, std::string("open failed: ") + e.what());
            }
        }
    }
}

template <class Schema>
void check_refused(const fs::path& root, const std::string& name, const std::vector<std::string>& words, checker& c) {
    for (const bool snapshot : {false, true}) {
        const fs::path dir = root / (name + (snapshot ? "-snapshot" : "-wal"));
        c.at = dir.filename().string();
        const auto before = inmem_test::regular_files(dir);
        try {
            db<Schema> d(dir);
            c.expect(false, "opened");
        } catch (const inmem::error& e) {
            c.expect(e.code() == inmem::errc::schema_mismatch, std::string("not schema_mismatch: ") + e.what());
            for (const auto& word : words)
                c.expect(std::string_view(e.what()).find(word) != std::string_view::npos,
                         "the message does not say '" + word + "': " + e.what());
            if (!snapshot) std::printf("  %s refused: %s\n", c.at.c_str(), e.what());
        }
        c.expect(inmem_test::regular_files(dir) == before, "the refused open changed the files");
    }
}

int check_all(const fs::path& writer_program) {
    inmem_test::temp_dir root;
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl(writer_program.c_str(), writer_program.c_str(), "write", root.path().c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "evolution: the writer %s failed (%d)\n", writer_program.c_str(), status);
        return 1;
    }
    checker c;
    check_case<added::schema>(root.path(), "added", added::check, c);
    check_case<removed::schema>(root.path(), "removed", removed::check, c);
    check_case<reordered::schema>(root.path(), "reordered", reordered::check, c);
    check_case<renamed::schema>(root.path(), "renamed", renamed::check, c);
    check_case<widened::schema>(root.path(), "widened", widened::check, c);
    check_case<nested::schema>(root.path(), "nested", nested::check, c);
    check_case<slots::schema>(root.path(), "slots", slots::check, c);
    check_case<states::schema>(root.path(), "states", states::check, c);
    check_case<quickstart::schema>(root.path(), "quickstart", quickstart::check, c);
    check_case<upgraded::schema>(root.path(), "upgraded", upgraded::check, c);
    check_case<event_added::schema>(root.path(), "event_added", event_added::check, c);
    check_refused<undeclared_rename::schema>(root.path(), "undeclared_rename", undeclared_rename::refusal, c);
    check_refused<narrowed::schema>(root.path(), "narrowed", narrowed::refusal, c);
    check_refused<retyped::schema>(root.path(), "retyped", retyped::refusal, c);
    check_refused<event_changed::schema>(root.path(), "event_changed", event_changed::refusal, c);
    std::printf("evolution matrix: 11 safe changes and 4 refused, each from the WAL and from a snapshot: %d failures\n",
                c.failures);
    return c.failures == 0 ? 0 : 1;
}
#endif
} // namespace

int main(int argc, char** argv) {
#if INMEM_EVOLUTION_SIDE == 1
    if (argc == 3 && std::string_view(argv[1]) == "write") return writer(argv[2]);
    std::fprintf(stderr, "usage: %s write DIR\n", argv[0]);
#else
    if (argc == 3 && std::string_view(argv[1]) == "--writer") return check_all(argv[2]);
    std::fprintf(stderr, "usage: %s --writer PATH\n", argv[0]);
#endif
    return 2;
}
