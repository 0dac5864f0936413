// exec_resume: deterministic re-execution of an agent. The agent's model and tool calls are
// steps of an execution (inmem/exec.hpp): recorded with what they wrote. A first process
// runs it and dies half way (a real crash: _exit, nothing closed); the database is opened
// again, the run shows as interrupted, and the same code resumes it: the completed steps come
// from the record (their tools are not called again) and the rest runs live. Then the code
// changes (a new search limit) and replay_run, as a CI check would, reports the step where
// the old run and the new code part ways, field by field. Last, a what-if: the run forked
// at the human's approval, resumed with another answer.
// It checks what it shows: a failed check prints why and exits with 1.
//
// Build and run: meson compile -C build examples/exec_resume && build/examples/exec_resume
#include <inmem/inmem.hpp> // with inmem/exec.hpp: execute, replay_run, fork_at_step

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

struct Query {
    std::string text;
    int limit = 0;
};
struct Plan {
    std::string goal;
    int budget = 0;
};
struct Said {
    std::string what;
};

// step_record is the event each step is recorded as: listing it lets runs be executed.
using agent_schema = inmem::schema<inmem::kv<Plan, std::string>, inmem::events<Said, inmem::step_record>>;
using agent_db = inmem::basic_database<agent_schema, inmem::durability::strict>;
using execution = inmem::execution<agent_db>;

namespace {

int tool_calls = 0; // how often this process called a tool or the model

bool check(bool ok, const char* what) {
    if (!ok) std::printf("CHECK FAILED: %s\n", what);
    return ok;
}

// The agent. crash_after: the process dies (really) after that many steps; limit: the search
// size (the "code change"); answer: what the human says when asked.
void agent(execution& ex, int crash_after = -1, int limit = 10, std::string answer = "yes") {
    auto& db = ex.database();
    auto crash_point = [&] {
        if (static_cast<int>(ex.steps()) == crash_after) {
            std::printf("  ... the process dies after %d steps\n", crash_after);
            std::fflush(stdout);
            ::_exit(3);
        }
    };
    const Plan plan = ex.step("llm:plan", std::string("why is checkout slow?"), [&] {
        ++tool_calls;
        return Plan{"find the slow query", 3};
    });
    crash_point();
    const std::string hits = ex.step("tool:search", Query{"slow query log", limit}, [&](auto& tx) {
        ++tool_calls;
        db.kv<std::string>().put(tx, "hits", "orders: 2.3 s");
        db.events().append(tx, Said{"searched for " + plan.goal});
        return std::string("orders: 2.3 s");
    });
    crash_point();
    const std::string approved = ex.step("human:approve", std::string("add an index on orders?"), [&] {
        ++tool_calls;
        return answer;
    });
    crash_point();
    ex.step("tool:apply", approved, [&](auto& tx) {
        ++tool_calls;
        db.kv<Plan>().put(tx, "plan", Plan{plan.goal + (approved == "yes" ? ": index added" : ": left alone"), 0});
        db.events().append(tx, Said{"applied: " + approved + " after " + hits});
    });
}

} // namespace

int main() {
    const auto dir = std::filesystem::temp_directory_path() / ("inmem-exec-resume-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    bool ok = true;

    // 1. The first process records the run and dies after two steps.
    std::printf("1. record, then a crash\n");
    std::fflush(stdout); // (before fork: the child must not print it again)
    if (const pid_t pid = ::fork(); pid == 0) {
        agent_db db(dir);
        const auto run = db.begin_run({.name = "checkout latency"});
        auto ex = inmem::execute(db, run);
        agent(ex, /*crash_after=*/2);
        std::_Exit(0); // not reached
    } else {
        int status = 0;
        ::waitpid(pid, &status, 0);
    }

    {
        // 2. Opened again: the run is interrupted; the same code resumes it.
        agent_db db(dir);
        const auto run = db.runs().at(0).id;
        std::printf("2. reopened: run %llu is %s, with %llu recorded steps\n",
                    static_cast<unsigned long long>(run.value), inmem::to_string(db.run(run).status).data(),
                    static_cast<unsigned long long>(db.events().count<inmem::step_record>(run)));
        ok &= check(db.run(run).status == inmem::run_status::interrupted, "the crash interrupted the run");
        auto ex = inmem::execute(db, run, inmem::exec_mode::resume);
        agent(ex);
        db.end_run(run);
        std::printf("   resumed: %d tool calls in this process (the 2 recorded steps were not run again), plan '%s'\n",
                    tool_calls, db.kv<Plan>().get(run, "plan")->goal.c_str());
        ok &= check(tool_calls == 2, "only the steps without a record ran");
        ok &= check(db.run(run).metadata.at(std::string(inmem::exec_resumes_metadata)) == "1", "resume counted");

        // 3. The unchanged code replays the run: no divergence, the same state.
        tool_calls = 0;
        const auto same = inmem::replay_run(db, run, [](execution& e) { agent(e); });
        std::printf("3. replay of the same code: %s\n", inmem::to_string(same).c_str());
        ok &= check(same.ok() && tool_calls == 0, "the same code replays without calling a tool");

        // 4. A code change (search limit 10 -> 50): the replay stops at the first wrong step.
        const auto changed = inmem::replay_run(db, run, [](execution& e) { agent(e, -1, 50); });
        std::printf("4. replay after a code change:\n   %s\n", inmem::to_string(changed).c_str());
        ok &= check(changed.diverged && changed.diverged->step == 1 &&
                        changed.diverged->kind == inmem::divergence_kind::different_step,
                    "the change diverges at step 1");

        // 5. What if the human had said no? Fork before step 2, resume with the other answer.
        const auto what_if = inmem::fork_at_step(db, run, 2, {.name = "what if no"});
        tool_calls = 0;
        auto wex = inmem::execute(db, what_if, inmem::exec_mode::resume);
        agent(wex, -1, 10, "no");
        db.end_run(what_if);
        std::printf("5. what-if from step 2: %d tool calls, plan '%s'\n", tool_calls,
                    db.kv<Plan>().get(what_if, "plan")->goal.c_str());
        ok &= check(tool_calls == 2, "the what-if ran steps 2 and 3 only");
        ok &= check(db.kv<Plan>().get(what_if, "plan")->goal == "find the slow query: left alone", "the new answer");
        ok &= check(db.kv<Plan>().get(run, "plan")->goal == "find the slow query: index added", "the run is unchanged");
    }
    std::filesystem::remove_all(dir);
    return ok ? 0 : 1;
}
