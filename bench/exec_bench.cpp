// exec_bench: what deterministic re-execution (inmem/exec.hpp) costs on top of the work it
// wraps, with a model-call stand-in that does no work (the overhead itself). One line of
// figures, the first after the header:
//
//   exec: step record <T> ns, event append <T> ns, step replay <T> ns, resume of 10000 steps <T> ms
//
// then the detail, and the figures against issue 13's targets (recording a step at most 2x
// an event append; replaying a step at most 0.5 us; a miss is reported, not an error: the
// program exits 0).
//
//   exec_bench [--steps N] [--reps R] [--quick]
//
// - step record: N = 10,000 steps ex.step("llm:call", i, [] { return i + 1; }) (a u64 in, a
//   u64 out) in record mode into a new run, per step: each is one commit of its step_record
//   event (about 60 bytes: name, input, output, hash, duration);
// - event append: N db.events().append(run, Said{text}) into a new run, per append, with a
//   payload of the same size as a step record's, one commit each (the peer of a step record);
// - step replay: an execution opened with exec_mode::resume on the recorded run, then its N
//   steps asked for again, each returning its recorded output (checked: name, input bytes,
//   output type; decoded), per step, without the opening;
// - resume of N steps: execute(db, run, exec_mode::resume) (which loads the run's N step
//   records) plus the N steps, in ms: what restarting a crashed agent costs before it runs
//   its first new step.
// The detail adds replay_run (exec_mode::replay into a scratch run, with the final state
// compared) of the same run, per step.
//
// Method: inmem::basic_database<..., durability::none> (in memory), in this process. Each
// figure is the median over R repetitions (--reps, default 21) of the wall time
// (steady_clock), after one unrecorded warm-up; each repetition records into a new run.
// --quick (a smoke test): N 1,000, 3 repetitions. docs/performance.md has results.
#include "common.hpp"

#include <inmem/exec.hpp>
#include <inmem/inmem.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Said {
    std::string text;
};
using exec_schema = inmem::schema<inmem::events<Said, inmem::step_record>>;
using db_type = inmem::basic_database<exec_schema, inmem::durability::none>;
using ex_type = inmem::execution<db_type>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("exec_bench: check failed: " + what); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double seconds(F&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The agent: n model calls that do nothing.
std::uint64_t agent(ex_type& ex, std::uint64_t n) {
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < n; ++i) sum += ex.step("llm:call", i, [i] { return i + 1; });
    return sum;
}

} // namespace

int main(int argc, char** argv) {
    std::uint64_t n = 10'000, reps = 21;
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--quick") quick = true;
        else if (a == "--steps" && i + 1 < argc) n = std::stoull(argv[++i]);
        else if (a == "--reps" && i + 1 < argc) reps = std::stoull(argv[++i]);
        else {
            std::fprintf(stderr, "usage: exec_bench [--steps N] [--reps R] [--quick]\n");
            return 2;
        }
    }
    if (quick) n = 1'000, reps = 3;
    bench::keep_freed_memory();
    const std::uint64_t expected = n * (n + 1) / 2;

    db_type db;
    // A step record's size, for the event append's payload.
    std::size_t record_bytes = 0;
    {
        const auto probe = db.begin_run();
        auto ex = inmem::execute(db, probe);
        (void)ex.step("llm:call", std::uint64_t{0}, [] { return std::uint64_t{1}; });
        record_bytes = inmem::encode(db.events().read<inmem::step_record>(probe)[0].value).size();
    }
    const Said payload{std::string(record_bytes > 1 ? record_bytes - 1 : 1, 'x')};

    std::vector<double> record, append, replay, resume, replay_mode;
    inmem::run_id recorded;
    for (std::uint64_t rep = 0; rep <= reps; ++rep) {
        const bool warm = rep == 0;
        const auto run = db.begin_run({.name = "recorded"});
        const double r = seconds([&] {
            auto ex = inmem::execute(db, run);
            if (agent(ex, n) != expected) fail("record");
        });
        const auto log = db.begin_run({.name = "events"});
        const double a = seconds([&] {
            for (std::uint64_t i = 0; i < n; ++i) db.events().append(log, payload);
        });
        if (db.events().count(log) != n) fail("append");
        auto ex = inmem::execute(db, run, inmem::exec_mode::resume);
        if (ex.recorded_steps() != n) fail("the record");
        const double p = seconds([&] {
            if (agent(ex, n) != expected) fail("replay");
        });
        const double s = seconds([&] {
            auto again = inmem::execute(db, run, inmem::exec_mode::resume);
            if (agent(again, n) != expected) fail("resume");
        });
        db.end_run(run);
        db.end_run(log);
        if (!warm) {
            record.push_back(r / static_cast<double>(n) * 1e9);
            append.push_back(a / static_cast<double>(n) * 1e9);
            replay.push_back(p / static_cast<double>(n) * 1e9);
            resume.push_back(s * 1e3);
        }
        recorded = run;
    }
    for (std::uint64_t rep = 0; rep < std::min<std::uint64_t>(reps, 5); ++rep) {
        inmem::replay_report report;
        const double t = seconds([&] {
            report = inmem::replay_run(db, recorded, [&](ex_type& ex) { (void)agent(ex, n); });
        });
        if (!report.ok()) fail("replay_run: " + inmem::to_string(report));
        replay_mode.push_back(t / static_cast<double>(n) * 1e9);
    }

    const double rec = median(record), app = median(append), rep = median(replay), res = median(resume);
    std::printf("# exec_bench (%s build), %s, load %s\n", INMEM_BENCH_BUILDTYPE, bench::utc_now().c_str(),
                bench::load_average().c_str());
    std::printf("exec: step record %.0f ns, event append %.0f ns, step replay %.0f ns, resume of %llu steps %.2f ms\n",
                rec, app, rep, static_cast<unsigned long long>(n), res);
    std::printf("  steps %llu, repetitions %llu, step record %zu bytes encoded, event payload %zu bytes\n",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(reps), record_bytes,
                payload.text.size());
    std::printf("  replay_run (replay mode into a scratch run, final state compared): %.0f ns per step\n",
                median(replay_mode));
    std::printf("  targets: step record / event append %.2f (<= 2: %s), step replay %.0f ns (<= 500: %s)\n", rec / app,
                rec / app <= 2 ? "met" : "MISSED", rep, rep <= 500 ? "met" : "MISSED");
    return 0;
}
