// quickstart: an agent's working memory in inmem, from schema to runs to typed KV, then
// coordination between agents (state records, cas) and transactions.
//
// Build and run: scripts/run-example.sh
#include <inmem/inmem.hpp>

#include <range/v3/view/filter.hpp>
#include <range/v3/view/transform.hpp>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

// 1. Declare the agent's data as plain structs: no macros, no registration.
struct Plan {
    std::string goal;
    std::vector<std::string> steps;
    int budget = 0;
};

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

// Who works on a ticket: a state record, shared by every run.
struct Claim {
    std::string worker;
};

// 2. List them in a schema, by primitive (examples/agent_loop.cpp logs events).
using agent_schema = inmem::schema<inmem::kv<Plan, ToolResult, std::string>, inmem::events<ToolCall>,
                                   inmem::states<Claim, inmem::counter>>;

int main() {
    // 3. A database: in memory, safe to share across threads (the default policies).
    inmem::database<agent_schema> db;

    // 4. Every write belongs to a run: one agent execution, with a name, tags and lineage.
    inmem::run_id run = db.begin_run({.name = "triage ticket 4711", .tags = {"support", "prod"}});

    auto plans = db.kv<Plan>();
    auto results = db.kv<ToolResult>();
    auto notes = db.kv<std::string>();

    plans.put(run, "plan", Plan{"answer the customer", {"search docs", "draft reply"}, 3});
    results.put(run, "tool:search", ToolResult{"search", std::string("3 articles"), std::chrono::milliseconds(42), {}});
    results.put(run, "tool:price", ToolResult{"price", 19.99, std::chrono::milliseconds(7), {}});
    results.put(run, "tool:mail", ToolResult{"mail", std::string(), std::chrono::milliseconds(900), "timeout"});
    notes.put(run, "mood", "customer is in a hurry");

    // Every write returns the key's new version; versions only grow.
    inmem::version_t v1 = plans.put(run, "plan", Plan{"answer the customer", {"search docs", "draft reply", "send"}, 2});
    std::printf("plan rewritten at version %llu, now %zu steps\n", static_cast<unsigned long long>(v1),
                plans.get(run, "plan")->steps.size());

    // 5. list() returns a view that range-v3 composes with, even as a temporary; a page of it
    // (after a key, at most a limit) costs only that page.
    auto failed = results.list(run, "tool:") |
                  ranges::views::filter([](const auto& e) { return e.value.error.has_value(); }) |
                  ranges::views::transform([](const auto& e) { return e.key + " (" + *e.value.error + ")"; });
    for (const auto& line : failed) std::printf("failed tool call: %s\n", line.c_str());
    auto page = results.list(run, "tool:", {.after = "tool:mail", .limit = 1});
    std::printf("the tool call after tool:mail: %s\n", page[0].key.c_str());

    // 6. Runs have lineage and a status; an ended run is read-only.
    inmem::run_id retry = db.begin_run({.name = "retry mail", .parent = run});
    db.end_run(run, inmem::run_status::failed);
    try {
        notes.put(run, "late", "too late");
    } catch (const inmem::error& e) {
        std::printf("as expected: %s\n", e.what());
    }
    notes.put(retry, "mood", "calmer");
    db.end_run(retry);

    for (const inmem::run_info& info : db.runs())
        std::printf("run %llu '%s' %s%s\n", static_cast<unsigned long long>(info.id.value), info.name.c_str(),
                    std::string(inmem::to_string(info.status)).c_str(),
                    info.parent ? (" (child of run " + std::to_string(info.parent->value) + ")").c_str() : "");

    // 7. Each run's data is its own: the same key in two runs holds two values.
    std::printf("mood in run %llu: %s; in run %llu: %s\n", static_cast<unsigned long long>(run.value),
                notes.get(run, "mood")->c_str(), static_cast<unsigned long long>(retry.value),
                notes.get(retry, "mood")->c_str());

    // 8. Coordination: three workers race to claim one ticket; cas() lets exactly one win
    // (which one depends on the threads' timing).
    auto claims = db.states<Claim>();
    inmem::run_id dispatcher = db.begin_run({.name = "dispatcher"});
    (void)claims.init(dispatcher, "ticket 4711", Claim{}); // false if it existed: fine here
    std::vector<std::thread> workers;
    for (const char* name : {"ada", "bob", "cy"})
        workers.emplace_back([&, name] {
            inmem::run_id me = db.begin_run({.name = name});
            auto seen = claims.read("ticket 4711");
            if (seen->value.worker.empty() && claims.cas(me, "ticket 4711", seen->version, Claim{name}))
                db.states<inmem::counter>().add(me, "claims won", 1);
        });
    for (auto& w : workers) w.join();
    const std::string winner = claims.read("ticket 4711")->value.worker;
    std::printf("ticket 4711 claimed by one of the three workers: %s (claims won: %lld)\n",
                winner == "ada" || winner == "bob" || winner == "cy" ? "yes" : "no",
                static_cast<long long>(db.states<inmem::counter>().value("claims won")));

    // 9. Transactions: one snapshot, and every write of every primitive lands together or not
    // at all. transact() re-runs the closure if another commit got in first.
    inmem::version_t at = db.transact(dispatcher, [&](auto& tx) {
        plans.put(tx, "plan", Plan{"close ticket 4711", {"check claim", "close"}, 1});
        claims.set(tx, "ticket 4711", Claim{"done"});
    });
    std::printf("plan and claim committed together at version %llu\n", static_cast<unsigned long long>(at));

    // The schema has a stable fingerprint: data written under another layout is refused.
    std::printf("Plan is stored as %s\n", inmem::describe<Plan>().c_str());
    std::printf("schema fingerprint %016llx\n", static_cast<unsigned long long>(agent_schema::fingerprint));
    return 0;
}
