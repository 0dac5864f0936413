// replay_bench: what the time machine (inmem/time_machine.hpp: replay, diff, fork) costs on
// a run of 10,000 writes over 1,000 keys, and what the run's history (history/run_history.hpp)
// keeps per version. One line of figures, the first after the header:
//
//   replay: run <W> writes <T> us, alone <T> us, among 10000 runs <T> us (ratio <R>), diff <T> us, fork <T> us, history bytes/version <B>
//
// then the detail, and the figures against issue 12's targets (ratio <= 1.2, history
// overhead <= 32 B per version, a replay of 10,000 writes under 10 ms; a miss is reported,
// not an error: the program exits 0).
//
//   replay_bench [--writes W] [--keys K] [--runs R] [--reps N] [--cpu-time] [--quick]
//
// The run (the same in every database): W = 10,000 puts of db.kv<Note>(), one commit each,
// to the keys "key-0000".."key-0999" (K = 1,000): W / K rounds, each writing every key once
// in an order of its own (a fixed shuffle, seeded), so that each key is overwritten W / K - 1
// times and every key exists after the first round. Write i stores note(i): a 40-byte text
// that names i, and i (45 bytes encoded). mid is the commit version of the run's
// (W / 2)th write.
//
// - run W writes: wall time of the W puts into a new database (the median of N builds; the
//   last one is the "alone" database);
// - alone: in the database that holds only that run, inmem::replay(db, run, at_version{mid})
//   plus db.kv<Note>().list(view) of every key through it (the view and the listing are
//   destroyed inside the timing); the listing is checked against a model of the run (count
//   K, and the sum of the write numbers its values carry);
// - among R runs: the same replay + list of the same run in a second database where R - 1 =
//   9,999 other runs (begun first) write 10 puts each over 10 keys of their own, round-robin
//   over the runs, with the run's writes spread evenly between theirs in commit order (one
//   in every ~11 commits): its history and its records are interleaved with ~110,000
//   others' commits (begin_run and put).
//   ratio = among / alone (1 means the other runs cost nothing);
// - diff: inmem::diff(db, {run, at_version{mid}}, run) in the alone database (mid against
//   the end: every key differs), checked against the model;
// - fork: inmem::fork(db, run, at_version{mid}) in the alone database, a new child run per
//   repetition (its K keys copied in one commit), checked after;
// - history bytes/version: of db.engine().history(run) in the alone database after the run
//   is written: (memory() - value_bytes()) / values(), i.e. everything the history holds
//   (its blocks, as allocated, and the writer's key index) beyond the kept values' own
//   bytes, per kept version (W - K values: a key's first write replaces nothing). The
//   detail also gives the stream's bytes as written (what a snapshot stores: the encoding's
//   own overhead, without the blocks' unused tails and the key index).
//
// Method: inmem::basic_database<schema<kv<Note>>, durability::none> (in memory), in this
// process. Each time is the median over N repetitions (--reps, default 51) of the wall time
// (steady_clock) of the call alone, after one unrecorded warm-up; alone and among are
// measured alternately in each repetition so that the machine's noise falls on both; diff
// and fork after them (fork last: its children are runs of the alone database). --cpu-time
// reports the thread's CPU time instead (for a busy machine); the detail gives both either
// way. Freed memory is kept for reuse (bench::keep_freed_memory, as kv_bench).
// --quick (a smoke test): W 1,000 over K 100 keys, R 100 runs, 3 repetitions.
// docs/performance.md has results.
#include "common.hpp"

#include <inmem/inmem.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct Note {
    std::string text;
    int n = 0;
};

using db_type = inmem::basic_database<inmem::schema<inmem::kv<Note>>, inmem::durability::none>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("replay_bench: check failed: " + what); }

/// The value of write i (of any run): 40 bytes of text naming i, and i.
Note note(std::size_t i) {
    char text[64];
    std::snprintf(text, sizeof text, "observation %08zu of the agent's loop", i % 100'000'000);
    return Note{text, static_cast<int>(i)};
}

std::string key_name(std::size_t k) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "key-%04zu", k);
    return buf;
}

struct options {
    std::size_t writes = 10'000;
    std::size_t keys = 1'000;
    std::size_t runs = 10'000;
    std::size_t reps = 51;
    bool cpu_time = false;
    bool quick = false;
};

/// The run's writes, and what replay, diff and fork must show.
struct workload {
    std::size_t writes = 0, keys = 0, runs = 0;
    std::vector<std::size_t> key_of;   ///< write i goes to keys[key_of[i]]
    std::vector<std::string> key_names;
    std::vector<Note> values;          ///< values[i] = note(i)
    std::size_t mid_write = 0;         ///< the index of the (W / 2)th write
    // The model at mid: the keys present, and the sum of the write numbers of their values.
    std::size_t mid_count = 0;
    long long mid_sum = 0;
    std::size_t changed_after_mid = 0; ///< keys whose value at the end differs from mid's

    explicit workload(const options& o) : writes(o.writes), keys(o.keys), runs(o.runs) {
        std::mt19937_64 rng(20261212);
        std::vector<std::size_t> order(keys);
        for (std::size_t i = 0; i < keys; ++i) order[i] = i;
        while (key_of.size() < writes) {
            std::shuffle(order.begin(), order.end(), rng);
            for (std::size_t k : order)
                if (key_of.size() < writes) key_of.push_back(k);
        }
        for (std::size_t k = 0; k < keys; ++k) key_names.push_back(key_name(k));
        for (std::size_t i = 0; i < writes; ++i) values.push_back(note(i));
        mid_write = writes / 2 - 1;
        std::vector<long long> at_mid(keys, -1), at_end(keys, -1);
        for (std::size_t i = 0; i < writes; ++i) {
            if (i <= mid_write) at_mid[key_of[i]] = static_cast<long long>(i);
            at_end[key_of[i]] = static_cast<long long>(i);
        }
        for (std::size_t k = 0; k < keys; ++k) {
            if (at_mid[k] >= 0) ++mid_count, mid_sum += at_mid[k];
            if (at_mid[k] != at_end[k]) ++changed_after_mid;
        }
    }
};

/// A database and the run in it, with the version of its mid write.
struct built {
    std::unique_ptr<db_type> db;
    inmem::run_id run{};
    inmem::version_t mid = 0;
    bench::timing write; ///< the run's W puts (alone only)
};

/// The run alone in a new database.
built build_alone(const workload& w) {
    built b;
    b.db = std::make_unique<db_type>();
    b.run = b.db->begin_run({.name = "replayed"});
    const auto notes = b.db->kv<Note>();
    inmem::version_t mid = 0;
    b.write = bench::time_ns([&] {
        for (std::size_t i = 0; i < w.writes; ++i) {
            const inmem::version_t v = notes.put(b.run, w.key_names[w.key_of[i]], w.values[i]);
            if (i == w.mid_write) mid = v;
        }
    });
    b.mid = mid;
    return b;
}

/// The run among runs - 1 others (see the header), in a new database.
built build_among(const workload& w) {
    built b;
    b.db = std::make_unique<db_type>();
    b.run = b.db->begin_run({.name = "replayed"});
    std::vector<inmem::run_id> others;
    for (std::size_t r = 1; r < w.runs; ++r) others.push_back(b.db->begin_run({.name = "other"}));
    const auto notes = b.db->kv<Note>();
    constexpr std::size_t other_writes = 10;
    std::vector<std::string> other_keys;
    for (std::size_t k = 0; k < other_writes; ++k) other_keys.push_back(key_name(k));
    const std::size_t total_other = others.size() * other_writes;
    std::size_t written = 0;
    auto target_write = [&] {
        const inmem::version_t v = notes.put(b.run, w.key_names[w.key_of[written]], w.values[written]);
        if (written == w.mid_write) b.mid = v;
        ++written;
    };
    for (std::size_t g = 0; g < total_other; ++g) {
        const std::size_t round = g / others.size(), r = g % others.size();
        notes.put(others[r], other_keys[round], note(1'000'000 + g));
        while (written < w.writes && written < (g + 1) * w.writes / total_other) target_write();
    }
    while (written < w.writes) target_write();
    return b;
}

/// replay at mid + list: checked against the model.
bench::timing replay_and_list(const workload& w, const built& b) {
    std::size_t count = 0;
    long long sum = 0;
    const bench::timing t = bench::time_ns([&] {
        const auto view = inmem::replay(*b.db, b.run, inmem::at_version{b.mid});
        const auto listed = b.db->kv<Note>().list(view);
        count = listed.size();
        for (const auto& e : listed) sum += e.value.n;
        bench::do_not_optimize(sum);
    });
    if (count != w.mid_count || sum != w.mid_sum)
        fail("the replay at mid listed " + std::to_string(count) + " keys (sum " + std::to_string(sum) + "), not " +
             std::to_string(w.mid_count) + " (sum " + std::to_string(w.mid_sum) + ")");
    return t;
}

bench::timing diff_once(const workload& w, const built& b) {
    std::size_t differences = 0;
    inmem::version_t a_version = 0;
    const bench::timing t = bench::time_ns([&] {
        const inmem::run_diff d = inmem::diff(*b.db, {b.run, inmem::at_version{b.mid}}, b.run);
        differences = d.kv.size();
        a_version = d.a_version;
        bench::do_not_optimize(d);
    });
    if (differences != w.changed_after_mid || a_version != b.mid)
        fail("the diff found " + std::to_string(differences) + " KV differences, not " +
             std::to_string(w.changed_after_mid));
    return t;
}

bench::timing fork_once(const workload& w, built& b) {
    inmem::run_id child{};
    const bench::timing t = bench::time_ns([&] {
        child = inmem::fork(*b.db, b.run, inmem::at_version{b.mid});
        bench::do_not_optimize(child);
    });
    const auto listed = b.db->kv<Note>().list(child);
    long long sum = 0;
    for (const auto& e : listed) sum += e.value.n;
    if (listed.size() != w.mid_count || sum != w.mid_sum) fail("the fork does not hold the run's KV at mid");
    return t;
}

struct history_figures {
    std::size_t memory = 0, values = 0, value_bytes = 0, stream = 0;
    double per_version() const {
        return values ? static_cast<double>(memory - value_bytes) / static_cast<double>(values) : 0;
    }
};

history_figures history_of(const built& b) {
    const auto h = b.db->engine().history(b.run);
    if (!h) fail("the run has no history");
    std::size_t stream = 0;
    h->stream_until(b.db->engine().last_version(), [&](std::string_view piece) { stream += piece.size(); });
    return {h->memory(), h->values(), h->value_bytes(), stream};
}

void usage(std::FILE* to) {
    std::fputs("usage: replay_bench [--writes W] [--keys K] [--runs R] [--reps N] [--cpu-time] [--quick]\n"
               "  --writes W   the run's puts, one commit each (default 10000)\n"
               "  --keys K     the keys they go to, W / K times each (default 1000)\n"
               "  --runs R     the runs of the second database, the replayed one included (default 10000)\n"
               "  --reps N     repetitions of each measurement; the median is reported (default 51)\n"
               "  --cpu-time   times from the thread's CPU time instead of wall time (for a busy machine)\n"
               "  --quick      a smoke test: W 1000, K 100, R 100, 3 repetitions\n",
               to);
}

options parse(int argc, char** argv) {
    options o;
    bench::arguments args(argc, argv);
    if (args.has("--quick")) {
        o.quick = true;
        o.writes = 1'000;
        o.keys = 100;
        o.runs = 100;
        o.reps = 3;
    }
    while (args.next()) {
        if (args.is("--quick")) {
        } else if (args.is("--writes")) {
            o.writes = args.count();
        } else if (args.is("--keys")) {
            o.keys = args.count();
        } else if (args.is("--runs")) {
            o.runs = args.count();
        } else if (args.is("--reps")) {
            o.reps = args.count();
        } else if (args.is("--cpu-time")) {
            o.cpu_time = true;
        } else if (args.is("--help") || args.is("-h")) {
            usage(stdout);
            std::exit(0);
        } else {
            args.unknown();
        }
    }
    if (o.writes < 2) throw std::invalid_argument("--writes needs at least 2");
    if (o.writes > 100'000'000 || o.runs > 10'000'000) throw std::invalid_argument("--writes or --runs is too large");
    if (o.runs < 2) throw std::invalid_argument("--runs needs at least 2");
    return o;
}

const char* verdict(bool met) { return met ? "met" : "MISSED"; }

} // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    const bench::environment env("replay_bench", opt.quick, bench::keep_freed_memory());
    env.print_header();
    std::fflush(stdout);

    const workload w(opt);
    const std::size_t reps = opt.reps;
    auto shown = [&](const bench::timing& t) { return opt.cpu_time ? t.cpu_ns : t.wall_ns; };
    auto other = [&](const bench::timing& t) { return opt.cpu_time ? t.wall_ns : t.cpu_ns; };
    double wall_sum = 0, cpu_sum = 0;
    struct series {
        std::vector<double> shown, other;
        double median() const { return bench::median(shown); }
        double median_other() const { return bench::median(other); }
    };
    auto record = [&](series& s, const bench::timing& t) {
        s.shown.push_back(shown(t));
        s.other.push_back(other(t));
        wall_sum += t.wall_ns;
        cpu_sum += t.cpu_ns;
    };

    // The run alone: N builds (the write figure), the last one kept.
    series writes, alone, among, diffs, forks;
    built solo;
    for (std::size_t rep = 0; rep < reps; ++rep) {
        built b = build_alone(w);
        record(writes, b.write);
        solo = std::move(b);
    }
    const history_figures solo_history = history_of(solo);

    // The run among the others.
    built crowd;
    const bench::timing crowd_built = bench::time_ns([&] { crowd = build_among(w); });
    const history_figures crowd_history = history_of(crowd);

    replay_and_list(w, solo); // warm-up
    replay_and_list(w, crowd);
    for (std::size_t rep = 0; rep < reps; ++rep) {
        if (rep % 2 == 0) {
            record(alone, replay_and_list(w, solo));
            record(among, replay_and_list(w, crowd));
        } else {
            record(among, replay_and_list(w, crowd));
            record(alone, replay_and_list(w, solo));
        }
    }
    diff_once(w, solo);
    for (std::size_t rep = 0; rep < reps; ++rep) record(diffs, diff_once(w, solo));
    fork_once(w, solo);
    for (std::size_t rep = 0; rep < reps; ++rep) record(forks, fork_once(w, solo));

    const double ratio = alone.median() > 0 ? among.median() / alone.median() : 0;
    const double bytes_per_version = solo_history.per_version();
    std::printf("replay: run %zu writes %.0f us, alone %.1f us, among %zu runs %.1f us (ratio %.2f), diff %.1f us, "
                "fork %.1f us, history bytes/version %.1f\n",
                w.writes, writes.median() / 1e3, alone.median() / 1e3, w.runs, among.median() / 1e3, ratio,
                diffs.median() / 1e3, forks.median() / 1e3, bytes_per_version);

    // The detail.
    const double slowest_ms = std::max(alone.median(), among.median()) / 1e6;
    std::printf("targets:    among / alone %.2f (target <= 1.2: %s); history %.1f B/version beyond the values "
                "(target <= 32: %s); replay + list of %zu writes %.2f ms alone, %.2f ms among (target < 10 ms: %s)\n",
                ratio, verdict(ratio <= 1.2), bytes_per_version, verdict(bytes_per_version <= 32), w.writes,
                alone.median() / 1e6, among.median() / 1e6, verdict(slowest_ms < 10));
    const double value_encoded = static_cast<double>(inmem::encode(w.values[w.mid_write]).size());
    std::printf("workload:   %zu puts of kv<Note> (%.0f bytes encoded), one commit each, over %zu keys (%zu rounds, "
                "each a shuffle of the keys); mid = version %llu alone, %llu among (write %zu); "
                "durability::none; median of %zu; times are %s\n",
                w.writes, value_encoded, w.keys, (w.writes + w.keys - 1) / w.keys,
                static_cast<unsigned long long>(solo.mid), static_cast<unsigned long long>(crowd.mid),
                w.mid_write + 1, reps, opt.cpu_time ? "the thread's CPU time" : "wall time (steady_clock)");
    const char* other_name = opt.cpu_time ? "wall" : "CPU";
    std::printf("write:      %.0f ns per put (%s %.0f)\n", writes.median() / static_cast<double>(w.writes),
                other_name, writes.median_other() / static_cast<double>(w.writes));
    std::printf("replay:     replay(db, run, at_version{mid}) + kv<Note>().list(view), %zu keys listed: alone %.1f us "
                "(%s %.1f), among %.1f us (%s %.1f): %.0f ns per write of the run alone\n",
                w.mid_count, alone.median() / 1e3, other_name, alone.median_other() / 1e3, among.median() / 1e3,
                other_name, among.median_other() / 1e3, alone.median() / static_cast<double>(w.writes));
    std::printf("among:      %zu runs, %zu other writes (10 each over 10 keys), built in %.2f s wall, %.2f s CPU "
                "(untimed); the database's last version %llu\n",
                w.runs, (w.runs - 1) * 10, crowd_built.wall_ns / 1e9, crowd_built.cpu_ns / 1e9,
                static_cast<unsigned long long>(crowd.db->engine().last_version()));
    std::printf("diff:       diff(db, {run, at_version{mid}}, run): %zu KV differences, %.1f us (%s %.1f)\n",
                w.changed_after_mid, diffs.median() / 1e3, other_name, diffs.median_other() / 1e3);
    std::printf("fork:       fork(db, run, at_version{mid}): a child of %zu keys, %.1f us (%s %.1f)\n", w.mid_count,
                forks.median() / 1e3, other_name, forks.median_other() / 1e3);
    auto history_line = [](const char* name, const history_figures& h) {
        const double values = std::max<double>(1, static_cast<double>(h.values));
        std::printf("history:    %s: memory() %zu bytes, values() %zu, value_bytes() %zu (%.1f per value): "
                    "(memory - value_bytes) / values = %.1f B/version; the stream itself %zu bytes, %.1f B/version "
                    "beyond the values\n",
                    name, h.memory, h.values, h.value_bytes, static_cast<double>(h.value_bytes) / values,
                    h.per_version(), h.stream, static_cast<double>(h.stream - h.value_bytes) / values);
    };
    history_line("alone", solo_history);
    history_line("among", crowd_history);
    auto range = [](const series& s) {
        const auto [lo, hi] = std::minmax_element(s.shown.begin(), s.shown.end());
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.1f-%.1f", *lo / 1e3, *hi / 1e3);
        return std::string(buf);
    };
    std::printf("samples:    us, min-max of %zu: write %s | alone %s | among %s | diff %s | fork %s\n", reps,
                range(writes).c_str(), range(alone).c_str(), range(among).c_str(), range(diffs).c_str(),
                range(forks).c_str());
    const double descheduled = wall_sum > 0 ? std::max(0.0, 1 - cpu_sum / wall_sum) : 0;
    std::printf("descheduled: %.0f%% of the timed wall time went to other processes%s; load %s at the end\n",
                100 * descheduled, descheduled > 0.05 ? " (a busy machine: use --cpu-time, or rerun)" : "",
                bench::load_average().c_str());
    return 0;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "replay_bench: %s\n", e.what());
    usage(stderr);
    return 2;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
