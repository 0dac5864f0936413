// agent_loop: an agent's loop logged in inmem: each tool call and its result is an event of
// the run, appended as it happens, and the reasoning behind them is recorded as traces
// linked to those events (a decision, then what the agent concluded from the result, under
// it); afterwards the run's timeline and reasoning are printed from the database and the
// event log's hash chain verified, the way a supervisor or an auditor would.
//
// Build and run: meson compile -C build examples/agent_loop && build/examples/agent_loop
#include <inmem/inmem.hpp> // with the ready-made trace types, inmem::trace::*

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

// What the agent does, as plain structs.
struct ToolCall {
    std::string tool;
    std::map<std::string, std::string> args;
};
struct ToolResult {
    std::string tool;
    std::string output;
    int status = 200;
};
struct Answer {
    std::string text;
};

using agent_schema = inmem::schema<inmem::kv<std::string>, inmem::events<ToolCall, ToolResult, Answer>,
                                   inmem::traces<inmem::trace::decision, inmem::trace::assumption>>;
// A manual clock makes this example print the same times on every run; drop it for real time.
using agent_db = inmem::basic_database<agent_schema, inmem::clocks::manual>;

namespace {

// A stand-in for the tools an LLM agent calls.
ToolResult call_tool(const ToolCall& call) {
    if (call.tool == "search") return {call.tool, "3 flights: SK4021 08:10, DY604 12:40, SK4035 18:05", 200};
    if (call.tool == "book" && call.args.at("flight") == "SK4021") return {call.tool, "sold out", 409};
    if (call.tool == "book") return {call.tool, "booked " + call.args.at("flight"), 201};
    return {call.tool, "unknown tool", 404};
}

double seconds_of(std::chrono::system_clock::time_point t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

} // namespace

int main() {
    using namespace std::chrono_literals;
    agent_db db;
    db.clock().set(std::chrono::system_clock::time_point(1'800'000'000s));
    auto log = db.events();
    auto notes = db.kv<std::string>();
    const inmem::run_id run = db.begin_run({.name = "book a flight to Oslo", .tags = {"travel"}});

    // The loop: a plan of tool calls; each call and its result go into the log as they
    // happen. The result and the agent's note of it are one transaction: both or neither.
    std::vector<ToolCall> plan{{"search", {{"to", "OSL"}, {"date", "2027-01-14"}}},
                               {"book", {{"flight", "SK4021"}}},
                               {"book", {{"flight", "DY604"}}}};
    auto reasoning = db.traces();
    for (const ToolCall& call : plan) {
        const inmem::event_id called = log.append(run, call, {.thread = "main", .agent = "planner"});
        // Why this call: a decision linked to its event, with the options not taken.
        const inmem::trace_id why = reasoning.record(
            run, inmem::trace::decision{call.tool, call.tool == "search" ? 0.9 : 0.7, {"ask the user"}, "next step of the plan"},
            {.event = called, .tags = {"plan"}});
        db.clock().advance(1500ms); // the tool takes its time
        const ToolResult result = call_tool(call);
        std::optional<inmem::event_ticket> logged; // its id is known once the transaction commits
        db.transact(run, [&](auto& tx) {
            logged = log.append(tx, result, {.thread = "main", .agent = "tools"});
            notes.put(tx, "last " + call.tool, result.output);
        });
        // What the agent takes from the result, under the decision it follows.
        reasoning.record(run,
                         inmem::trace::assumption{result.status < 400 ? "the tool did what was asked" : "try another flight",
                                                  result.status < 400 ? 0.95 : 0.6, result.output},
                         {.event = logged->id(), .parent = why, .tags = {result.status < 400 ? "ok" : "retry"}});
        if (result.status == 201) break;
    }
    log.append(run, Answer{"You are on DY604 at 12:40."}, {.agent = "planner"});
    db.end_run(run, inmem::run_status::completed);

    // The timeline, from the log alone.
    std::printf("run %llu '%s': %llu events\n", static_cast<unsigned long long>(run.value), db.run(run).name.c_str(),
                static_cast<unsigned long long>(log.count(run)));
    const double start = seconds_of(db.run(run).started);
    for (const auto& e : log.read(run)) {
        std::printf("  #%llu +%.1fs %-8s ", static_cast<unsigned long long>(e.id.seq), seconds_of(e.time) - start,
                    e.agent.c_str());
        std::visit(
            [](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, ToolCall>) {
                    std::printf("call %s(", v.tool.c_str());
                    const char* sep = "";
                    for (const auto& [k, a] : v.args) std::printf("%s%s=%s", std::exchange(sep, ", "), k.c_str(), a.c_str());
                    std::printf(")\n");
                } else if constexpr (std::is_same_v<T, ToolResult>) {
                    std::printf("%d %s\n", v.status, v.output.c_str());
                } else {
                    std::printf("answer: %s\n", v.text.c_str());
                }
            },
            e.value);
    }

    // Questions a supervisor asks of the log: what failed, what the tools said last.
    for (const auto& e : log.read<ToolResult>(run))
        if (e.value.status >= 400) std::printf("failed at #%llu: %s %s\n", static_cast<unsigned long long>(e.id.seq),
                                               e.value.tool.c_str(), e.value.output.c_str());
    const auto last_tool = log.read(run, {.agent = "tools", .reverse = true, .limit = 1});
    std::printf("last tool event: #%llu\n", static_cast<unsigned long long>(last_tool[0].id.seq));

    // The reasoning, as trees under each decision, and what was concluded at the failed call.
    for (const auto& root : reasoning.read<inmem::trace::decision>(run))
        for (const auto& t : reasoning.subtree(root.id)) {
            std::printf("  %*s", static_cast<int>(2 * t.depth), "");
            if (const auto* d = std::get_if<inmem::trace::decision>(&t.value))
                std::printf("decide %s (%.2f) at event #%llu\n", d->choice.c_str(), d->confidence,
                            static_cast<unsigned long long>(t.event->seq));
            else
                std::printf("assume '%s' (%.2f)\n", std::get<inmem::trace::assumption>(t.value).statement.c_str(),
                            std::get<inmem::trace::assumption>(t.value).confidence);
        }
    std::printf("traces tagged retry: %zu\n", reasoning.read(run, {.tag = "retry"}).size());

    // The chain: every event's hash covers the one before; the head is what to keep elsewhere.
    const inmem::chain_report report = log.verify(run);
    std::printf("chain: %s (%llu events, %llu bytes hashed); head %s\n", report ? "valid" : report.message.c_str(),
                static_cast<unsigned long long>(report.checked), static_cast<unsigned long long>(report.bytes),
                inmem::to_hex(log.head(run).hash).substr(0, 16).c_str());
    return report ? 0 : 1;
}
