// fork_diff: a what-if on an agent's run. A planning agent takes a few steps, each a tool
// call in the event log and a plan in KV; the run is then forked at step k, the fork goes on
// from there with another input (the user changed their mind), its last step is rolled
// back, and the diff of the two runs is printed field by field, the way a developer asks
// "what would the agent have done if...". Also: the run replayed as it was at step k.
// It checks what it shows (the fork starts where the parent was, the parent never changes,
// the runs differ after step k only): a failed check prints why and exits with 1.
//
// Build and run: meson compile -C build examples/fork_diff && build/examples/fork_diff
#include <inmem/inmem.hpp> // with the time machine: replay, fork, rollback, diff, to_string

#include <cstdio>
#include <string>
#include <vector>

// What the agent does and remembers, as plain structs.
struct ToolCall {
    std::string tool;
    std::string input;
};
struct Plan {
    std::string goal;
    std::vector<std::string> done; // the steps taken so far
    int budget = 0;
    bool operator==(const Plan&) const = default;
};
struct Notes {
    std::string text;
    int step = 0;
};

// rolled_back is the event inmem::rollback appends: listing it lets the runs be rolled back.
using agent_schema = inmem::schema<inmem::kv<Plan, Notes>, inmem::events<ToolCall, inmem::rolled_back>>;
// In memory, with a manual clock: the same output on every run.
using agent_db = inmem::basic_database<agent_schema, inmem::durability::none, inmem::clocks::manual>;

namespace {

constexpr int steps = 4;   // the agent's steps
constexpr int fork_at = 2; // the fork takes the run as it was after this many steps

// A stand-in for an LLM planner: the next tool call, from the destination and the step.
ToolCall next_call(const std::string& destination, int step) {
    static const char* const tools[] = {"search_flights", "compare_prices", "book", "send_confirmation"};
    return {tools[step % 4], destination + (step == 2 && destination == "Bergen" ? " by train" : "")};
}

// One step of the agent, in one transaction: the call into the log, the plan and notes updated.
void take_step(agent_db& db, inmem::run_id run, const std::string& destination, int step) {
    const ToolCall call = next_call(destination, step);
    db.transact(run, [&](auto& tx) {
        db.events().append(tx, call);
        Plan plan = db.kv<Plan>().get(tx, "plan").value_or(Plan{"", {}, 1000});
        plan.goal = "a trip to " + destination;
        plan.done.push_back(call.tool);
        plan.budget -= call.input.ends_with("train") ? 80 : 150;
        db.kv<Plan>().put(tx, "plan", plan);
        db.kv<Notes>().put(tx, "notes", Notes{"last: " + call.tool + "(" + call.input + ")", step});
    });
}

int fail(const char* why) {
    std::printf("FAILED: %s\n", why);
    return 1;
}

} // namespace

int main() {
    agent_db db;
    auto plans = db.kv<Plan>();

    // The run: the agent plans a trip to Oslo, step by step.
    const inmem::run_id run = db.begin_run({.name = "trip to Oslo"});
    for (int i = 0; i < steps; ++i) take_step(db, run, "Oslo", i);
    db.end_run(run, inmem::run_status::completed);
    const Plan parent_end = plans.get(run, "plan").value();

    // The run as it was after step k (the commit of its event k - 1), read with the live handles.
    const auto then = inmem::replay(db, run, inmem::at_event{fork_at - 1});
    const auto plan_then = plans.get(then, "plan");
    if (!plan_then || plan_then->done.size() != fork_at) return fail("the replay does not show the plan after step k");
    std::printf("replayed after step %d: %s, budget %d\n", fork_at, plan_then->goal.c_str(), plan_then->budget);

    // The what-if: fork there; the user now wants Bergen, and the fork takes the steps left.
    const inmem::run_id what_if = inmem::fork(db, run, inmem::at_event{fork_at - 1}, {.name = "what if Bergen"});
    if (plans.get(what_if, "plan") != plan_then) return fail("the fork does not start from the parent's plan then");
    db.kv<Notes>().put(what_if, "why", Notes{"the user asked for Bergen instead", fork_at});
    Plan before_last;
    for (int i = fork_at; i < steps; ++i) {
        if (i == steps - 1) before_last = plans.get(what_if, "plan").value();
        take_step(db, what_if, "Bergen", i);
    }

    // The last step was a mistake (no confirmation wanted yet): take it back. The KV returns to
    // what it was before it, with an inmem::rolled_back event to say so.
    const inmem::rolled_back undone = inmem::rollback(db, what_if, 1);
    std::printf("rolled back 1 step of the fork: %llu keys written back\n", static_cast<unsigned long long>(undone.puts));
    if (plans.get(what_if, "plan") != before_last) return fail("the rollback did not restore the plan");
    db.end_run(what_if, inmem::run_status::completed);

    // What differs, for a person: field names and values, not bytes.
    const inmem::run_diff d = inmem::diff(db, run, what_if);
    std::printf("\n%s", inmem::to_string<agent_schema>(d).c_str());

    // The properties this example shows, checked.
    if (plans.get(run, "plan") != parent_end) return fail("the parent changed");
    if (d.empty()) return fail("the diff is empty");
    if (d.events.same != fork_at) return fail("the runs' events should agree up to the fork point");
    if (!d.events.first_divergence_b || d.events.first_divergence_b->run != what_if)
        return fail("the first divergent event should be the fork's own");
    bool why_added = false;
    for (const auto& v : d.kv) why_added |= v.key == "why" && v.added();
    if (!why_added) return fail("the diff should show the fork's 'why' note as added");
    if (!inmem::diff(db, run, run).empty()) return fail("a run should not differ from itself");
    std::printf("\nok: the fork differs after step %d only, and the parent is as it was\n", fork_at);
    return 0;
}
