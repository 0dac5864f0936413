// Resume under kill -9 (inmem/exec/): a child executes a fake agent on a strict database
// (record mode, then resume mode after each crash), its tools logging each call to a file
// outside the database; the parent SIGKILLs it at random moments until the run completes,
// and checks:
//   - after every kill, no step is half applied: a step's KV writes and event exist exactly
//     when its record does;
//   - at the end, every step whose record committed was never executed again: no call of
//     step k comes from an attempt later than the one whose output the record holds;
//   - every step ran at least once, and the final KV and events equal an uninterrupted run's.
//   exec_crash --kills N        (the parent; exits 1 on any violation)
#include <inmem/exec.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Said {
    std::uint64_t step = 0;
};
// What a tool returns: its value, and which attempt (child process) ran it.
struct tool_result {
    std::uint64_t attempt = 0;
    std::uint64_t value = 0;
};
using crash_schema = inmem::schema<inmem::kv<std::uint64_t>, inmem::events<Said, inmem::step_record>>;
using durable_db = inmem::basic_database<crash_schema, inmem::durability::strict>;
constexpr std::uint64_t agent_steps = 24;

// Whether step k of the agent writes to the database (the others are calls outside it, or random()).
constexpr bool writes(std::uint64_t k) { return k % 4 != 3 && k % 6 != 5; }

void log_call(const std::filesystem::path& calls, std::uint64_t step, std::uint64_t attempt) {
    if (calls.empty()) return;
    const std::string line = std::to_string(step) + " " + std::to_string(attempt) + "\n";
    const int fd = ::open(calls.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0 || ::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
    ::close(fd);
}

std::string key_a(std::uint64_t k) { return "a" + std::to_string(k); }
std::string key_b(std::uint64_t k) { return "b" + std::to_string(k); }

// The agent: a loop of tool steps, some writing through their transaction, some not, and a
// recorded random number now and then.
template <class Ex>
void agent(Ex& ex, const std::filesystem::path& calls, std::uint64_t attempt) {
    auto& db = ex.database();
    std::uint64_t sum = 0;
    for (std::uint64_t k = 0; k < agent_steps; ++k) {
        if (k % 6 == 5) {
            sum += ex.random() % 7;
            continue;
        }
        tool_result r;
        if (writes(k)) {
            r = ex.step("tool:write", k, [&](auto& tx) {
                log_call(calls, k, attempt);
                db.template kv<std::uint64_t>().put(tx, key_a(k), k * k + sum);
                db.template kv<std::uint64_t>().put(tx, key_b(k), k + 1);
                db.events().append(tx, Said{k});
                return tool_result{attempt, 3 * k};
            });
        } else {
            r = ex.step("tool:call", k, [&] {
                log_call(calls, k, attempt);
                return tool_result{attempt, 3 * k};
            });
        }
        if (r.value != 3 * k) std::abort();
        sum += r.value;
    }
    db.template kv<std::uint64_t>().put(ex.run(), "sum", sum); // (outside a step: the same on every path)
}

int child(const std::filesystem::path& dir, std::uint64_t attempt) {
    durable_db db(dir);
    const auto runs = db.runs();
    inmem::run_id run;
    inmem::exec_mode mode = inmem::exec_mode::resume;
    if (runs.empty()) {
        run = db.begin_run({.name = "agent"});
        mode = inmem::exec_mode::record;
    } else {
        run = runs[0].id;
        if (runs[0].status == inmem::run_status::completed) return 0;
    }
    auto ex = inmem::execute(db, run, mode);
    agent(ex, dir / "calls", attempt);
    db.end_run(run);
    return 0;
}

pid_t spawn(const std::filesystem::path& dir, std::uint64_t attempt) {
    const pid_t pid = ::fork();
    if (pid < 0) std::abort();
    if (pid == 0) {
        const std::string d = dir.string(), a = std::to_string(attempt);
        const char* argv[] = {"exec_crash", "--child", d.c_str(), a.c_str(), nullptr};
        ::execv("/proc/self/exe", const_cast<char* const*>(argv));
        std::_Exit(127);
    }
    return pid;
}

// After a kill: every write step is all or nothing with its record. "" when it holds.
std::string half_applied(const std::filesystem::path& dir) {
    durable_db db(dir);
    const auto runs = db.runs();
    if (runs.empty()) return {};
    const auto run = runs[0].id;
    if (!db.events().verify(run).valid()) return "the event chain does not verify";
    std::map<std::uint64_t, bool> recorded, said;
    for (const auto& e : db.events().read<inmem::step_record>(run)) recorded[e.value.index] = true;
    for (const auto& e : db.events().read<Said>(run)) said[e.value.step] = true;
    // Step k's record has index k minus nothing: random() steps are steps too, so index = k.
    for (std::uint64_t k = 0; k < agent_steps; ++k) {
        if (!writes(k)) continue;
        const bool a = db.kv<std::uint64_t>().get(run, key_a(k)).has_value();
        const bool b = db.kv<std::uint64_t>().get(run, key_b(k)).has_value();
        if (a != recorded[k] || b != recorded[k] || said[k] != recorded[k])
            return "step " + std::to_string(k) + ": record " + std::to_string(recorded[k]) + ", a " + std::to_string(a) +
                   ", b " + std::to_string(b) + ", event " + std::to_string(said[k]);
    }
    return {};
}

struct totals {
    std::uint64_t kills = 0, episodes = 0, repeated = 0, violations = 0;
};

// The end of an episode: nothing executed after its record, the state of an uninterrupted run.
void check_final(const std::filesystem::path& dir, totals& t) {
    auto fail = [&](const std::string& why) {
        ++t.violations;
        std::fprintf(stderr, "exec_crash: episode %llu: %s\n", static_cast<unsigned long long>(t.episodes), why.c_str());
    };
    durable_db db(dir);
    const auto run = db.runs().at(0).id;
    if (db.run(run).status != inmem::run_status::completed) return fail("the run did not complete");
    std::map<std::uint64_t, std::uint64_t> producer; // step -> the attempt its record holds
    for (const auto& e : db.events().read<inmem::step_record>(run)) {
        if (e.value.name == inmem::random_step) continue;
        const auto out = inmem::decode<tool_result>(e.value.output);
        if (!out) return fail("a record does not decode");
        producer[e.value.index] = out.value().attempt;
    }
    std::ifstream in(dir / "calls");
    std::map<std::uint64_t, std::uint64_t> calls;
    std::uint64_t step = 0, attempt = 0;
    while (in >> step >> attempt) {
        ++calls[step];
        if (!producer.contains(step)) return fail("step " + std::to_string(step) + " ran but has no record");
        if (attempt > producer[step])
            fail("step " + std::to_string(step) + " ran again in attempt " + std::to_string(attempt) +
                 " after its record committed in attempt " + std::to_string(producer[step]));
    }
    for (const auto& [k, n] : calls) t.repeated += n - 1;
    if (calls.size() != producer.size()) fail("some recorded steps never ran");
    // An uninterrupted run of the same agent, in memory.
    inmem::basic_database<crash_schema, inmem::durability::none> clean;
    const auto whole = clean.begin_run();
    {
        auto ex = inmem::execute(clean, whole);
        agent(ex, {}, 0);
    }
    // Random numbers differ between the two runs, so compare what does not depend on them
    // through the record: b keys and events exactly; a keys and the sum depend on them and
    // are recomputed from the crashed run's own record.
    for (std::uint64_t k = 0; k < agent_steps; ++k) {
        if (!writes(k)) continue;
        if (db.kv<std::uint64_t>().get(run, key_b(k)) != clean.kv<std::uint64_t>().get(whole, key_b(k)))
            fail("key " + key_b(k) + " differs from an uninterrupted run's");
    }
    std::vector<std::uint64_t> a, b;
    for (const auto& e : db.events().read<Said>(run)) a.push_back(e.value.step);
    for (const auto& e : clean.events().read<Said>(whole)) b.push_back(e.value.step);
    if (a != b) fail("the events differ from an uninterrupted run's");
    // The crashed run replays without divergence, to the same state (a, sum included).
    const auto report = inmem::replay_run(db, run, [](auto& ex) { agent(ex, {}, 0); });
    if (!report.ok()) fail("the resumed run does not replay: " + inmem::to_string(report));
}

int parent(std::uint64_t target_kills) {
    inmem_test::temp_dir root;
    std::mt19937_64 rng(std::random_device{}());
    totals t;
    // One uninterrupted child, to learn how long a whole run takes here.
    const auto dir0 = root.path() / "calibrate";
    std::filesystem::create_directories(dir0);
    const auto started = std::chrono::steady_clock::now();
    int status = 0;
    ::waitpid(spawn(dir0, 0), &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "exec_crash: the uninterrupted child failed\n");
        return 1;
    }
    const auto whole = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
    check_final(dir0, t);
    while (t.kills < target_kills) {
        const auto dir = root.path() / ("episode-" + std::to_string(t.episodes));
        std::filesystem::create_directories(dir);
        for (std::uint64_t attempt = 1;; ++attempt) {
            const pid_t pid = spawn(dir, attempt);
            std::this_thread::sleep_for(std::chrono::microseconds(rng() % (whole.count() + 1)));
            if (::waitpid(pid, &status, WNOHANG) == pid) {
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                    ++t.violations;
                    std::fprintf(stderr, "exec_crash: attempt %llu failed by itself\n",
                                 static_cast<unsigned long long>(attempt));
                }
                break;
            }
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            if (WIFEXITED(status)) { // it finished just before the kill
                if (WEXITSTATUS(status) != 0) ++t.violations;
                break;
            }
            ++t.kills;
            if (const std::string why = half_applied(dir); !why.empty()) {
                ++t.violations;
                std::fprintf(stderr, "exec_crash: after kill %llu: %s\n", static_cast<unsigned long long>(t.kills),
                             why.c_str());
            }
        }
        check_final(dir, t);
        std::filesystem::remove_all(dir);
        ++t.episodes;
    }
    std::printf("exec_crash: %llu kills over %llu runs, %llu steps run again (their record had not committed), "
                "%llu violations\n",
                static_cast<unsigned long long>(t.kills), static_cast<unsigned long long>(t.episodes),
                static_cast<unsigned long long>(t.repeated), static_cast<unsigned long long>(t.violations));
    // The kills must have hit a step between its call and its commit at least once, or the
    // test proved nothing about that window.
    if (target_kills >= 100 && t.repeated == 0) {
        std::fprintf(stderr, "exec_crash: no kill landed inside a step\n");
        return 1;
    }
    return t.violations == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    if (argc == 4 && std::string_view(argv[1]) == "--child") return child(argv[2], std::stoull(argv[3]));
    std::uint64_t kills = 200;
    for (int i = 1; i + 1 < argc; ++i)
        if (std::string_view(argv[i]) == "--kills") kills = std::stoull(argv[i + 1]);
    return parent(kills);
}
