// crash_suite: kills a committing process at random moments and checks what survives.
//
//   crash_suite --mode strict|batched [--kills N] [--seed S] [--dir D] [--keep] [--verbose]
//               [--window-ms W] [--fixed-window] [--max-delay-ms M] [--rate OPS_PER_MS]
//
// The parent re-executes itself (/proc/self/exe --child) with a pipe. The child opens the
// database directory (recovering it), works out from the recovered version where the commit
// sequence stands, and goes on committing it, writing one line to the pipe per acknowledged
// operation (after the call returned, with an unbuffered write(), stamped with
// CLOCK_MONOTONIC). The parent SIGKILLs it:
//   - 15% of kills while the child is still opening, so recovery itself is interrupted;
//   - 25% aimed at a long write: at a learnt delay after the acknowledgment that a snapshot,
//     a batched db.sync() or a strict commit of a big value follows (torn log tails and
//     interrupted snapshots come from there);
//   - the rest 2..40 ms or 40..120 ms (strict) / 40..400 ms (batched) after it is ready.
// Then the parent opens the directory itself and checks:
//   - history: the open run and the one before it, replayed at each of their commits (the
//     time machine, inmem/time_machine.hpp), go through exactly the states their
//     acknowledged operations made;
//   - the state is exactly the state after a prefix of the commit sequence: every run record
//     (count, name, parent, status, end time), every key of the open run (value, payload,
//     version), no other keys, the version counter; the prefix is read off last_version();
//   - that prefix is never shorter than what was durable before the child started, and the
//     child recovered exactly what the parent left behind;
//   - every run's event log is exactly the events of the prefix's operations, in order:
//     seqs 0..k-1 with the values, types and labels appended, its chain verifies, and an
//     acknowledged append has the seq it was acknowledged with;
//   - strict: every acknowledged operation is in the prefix (lost must be 0), so every
//     acknowledged event is there, with its seq and value;
//   - batched: an acknowledged operation may be missing only if it was acknowledged after
//     the last acknowledged db.sync() and within the loss window before the kill: 3 x the
//     20 ms interval + 50 ms, plus twice the slowest fdatasync of the last second (measured
//     all along by a probe thread: a flush waits for the previous one's fdatasync);
//   - the log keeps working: the parent commits the next three operations and closes; the
//     next child must recover them.
// Loss and violations are counted per kill. A state that is no prefix, or a failed open,
// ends the run (the sequence cannot go on from it). It ends with one line:
//   crash: <kills> kills, <acked> acknowledged, <lost> lost, <violations> prefix violations
// ("prefix violations" counts every violation above; each is printed as it happens) and
// exits non-zero on any violation, or on any loss in strict mode. On failure the directory
// is kept: db/ as the parent left it, evidence/ as the last kill left it.
//
// The commit sequence is deterministic: operation i belongs to run i / 200 + 1, at position
// j = i % 200 in it: j = 0 begins the run (its parent the run before), j = 199 ends it
// (completed, failed or cancelled in turn), the 31 operations before that erase the run's 31
// keys, and the others put Entry{i, payload(i)} under a key or erase a key (an erase of an
// absent key commits nothing), or, in one run in three (has_events), append events to the
// run's log: one append, or three in a transaction, or one in a transaction with a put. Such
// a run's log gets 12 events, Step or Observation, with or without thread and agent labels,
// of 0..59 bytes, a few of 8..24 KB. Payloads are 8..207 bytes, every 61st 20..50 KB
// (batched) or 256 KB..1 MB (strict), so records cross WAL blocks and writes last long
// enough to be torn. Runs have one of two shapes (with events or without), so the number of
// commits per run is fixed and each operation's version is known in advance. Batched
// children commit at most 5 operations per millisecond, so the flusher, not the syncs of
// automatic snapshots, is what makes most commits durable.
#include <inmem/inmem.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

struct Entry {
    std::int64_t seq = 0;
    std::string payload;
};
// The events of operation i: part k of it is a Step or an Observation (event_at).
struct Step {
    std::int64_t op = 0;
    std::int32_t part = 0;
    std::string text;
};
struct Observation {
    std::int64_t op = 0;
    std::int32_t part = 0;
    std::string data;
};
using crash_schema = inmem::schema<inmem::kv<Entry>, inmem::events<Step, Observation>>;

constexpr std::uint32_t batch_interval_ms = 20;
using strict_db = inmem::basic_database<crash_schema, inmem::durability::strict>;
// (The options named, not braced: clang 14 takes no braced list as a template argument.)
using batched_db = inmem::basic_database<
    crash_schema, inmem::durability::basic_batched<inmem::durability::batch_options{.interval_ms = batch_interval_ms}>>;

enum class mode { strict, batched };

std::int64_t now_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Small segments and snapshot thresholds, so rotation and automatic snapshots happen under
// kills too. (Strict writes a 256 KB..1 MB value every 61 operations, so it snapshots after
// 2 MB rather than after each of them; batched snapshots, which sync the log, are kept rarer
// than the flushes whose loss is measured.)
inmem::open_options options_for(mode m) {
    inmem::open_options o;
    o.segment_bytes = m == mode::strict ? 64 << 10 : 128 << 10;
    o.snapshot_after_bytes = m == mode::strict ? 2 << 20 : 1 << 20;
    return o;
}

// ---------------------------------------------------------------------------------------
// The commit sequence.

constexpr std::int64_t ops_per_run = 200;
constexpr int keys_per_run = 31;
constexpr std::int64_t cleanup_from = ops_per_run - 1 - keys_per_run; // first erase of the cleanup
constexpr int marker_key = keys_per_run; // put just before the cleanup, and kept: a run's state never repeats

enum class op_kind { begin, put, erase, end, event };
struct op_desc {
    op_kind kind;
    int key = -1;
    int events = 0;     // events it appends (put: in one transaction with the put)
    bool in_tx = false; // in a transaction (db.transact)
};

/// Whether logical run r appends events. Events are never erased, so a run keeps its log
/// after it ended, and what recovery loads grows with every run that has one: one run in
/// three does, so that the suite takes about as long as without them.
bool has_events(std::uint64_t r) { return r % 3 == 1; }

/// Operation j of logical run r.
op_desc op_at(std::uint64_t r, std::int64_t j) {
    if (j == 0) return {op_kind::begin};
    if (j == ops_per_run - 1) return {op_kind::end};
    if (j == cleanup_from - 1) return {op_kind::put, marker_key};
    if (j >= cleanup_from) return {op_kind::erase, static_cast<int>(j - cleanup_from)};
    if (j % 4 == 3) return {op_kind::erase, static_cast<int>((j * 13 + 5) % keys_per_run)};
    if (has_events(r)) { // 12 events: 4 single appends, 2 transactions of 3, 2 with a put
        if (j % 48 == 5) return {op_kind::event, -1, 1, false};
        if (j % 96 == 29) return {op_kind::event, -1, 3, true};
        if (j % 96 == 14) return {op_kind::put, static_cast<int>((j * 7) % keys_per_run), 1, true};
    }
    return {op_kind::put, static_cast<int>((j * 7) % keys_per_run)};
}
/// Operation i of the sequence.
op_desc op_at(std::int64_t i) { return op_at(static_cast<std::uint64_t>(i / ops_per_run) + 1, i % ops_per_run); }

/// events_before(r)[j]: the events of logical run r's positions before j, so the seq its
/// position j appends first; [ops_per_run] is all of them.
const std::vector<std::int64_t>& events_before(std::uint64_t r) {
    static const auto table = [](bool events) {
        const std::uint64_t run = events ? 1 : 2;
        std::vector<std::int64_t> out(ops_per_run + 1, 0);
        for (std::int64_t j = 0; j < ops_per_run; ++j) out[j + 1] = out[j] + op_at(run, j).events;
        return out;
    };
    static const std::vector<std::int64_t> with = table(true), without = table(false);
    return has_events(r) ? with : without;
}
/// The position and part of the event each seq of logical run r's log is.
const std::vector<std::pair<std::int64_t, int>>& event_origins(std::uint64_t r) {
    static const auto table = [](bool events) {
        const std::uint64_t run = events ? 1 : 2;
        std::vector<std::pair<std::int64_t, int>> out;
        for (std::int64_t j = 0; j < ops_per_run; ++j)
            for (int k = 0; k < op_at(run, j).events; ++k) out.emplace_back(j, k);
        return out;
    };
    static const std::vector<std::pair<std::int64_t, int>> with = table(true), without = table(false);
    return has_events(r) ? with : without;
}

std::uint64_t mix(std::uint64_t x) { // splitmix64
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

bool big_payload(std::int64_t i) { return i % 61 == 17; }

// The value of operation i. Big ones are 20..50 KB in batched mode and 256 KB..1 MB in
// strict mode, whose commits are written one by one: a write that long is where a kill tears
// the log's tail (the 4 KB blocks after the first are copies, each stamped, to be quick).
std::string payload(std::int64_t i, mode m) {
    const std::uint64_t h = mix(static_cast<std::uint64_t>(i));
    const std::size_t n = !big_payload(i)        ? 8 + h % 200
                          : m == mode::batched ? 20000 + h % 30000
                                               : (256 << 10) + h % (768 << 10);
    std::string s(n, '\0');
    std::uint64_t x = h;
    for (std::size_t k = 0; k < std::min<std::size_t>(n, 4096); ++k) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        s[k] = static_cast<char>('!' + (x >> 33) % 94);
    }
    for (std::size_t at = 4096; at < n; at += 4096) {
        std::memcpy(s.data() + at, s.data(), std::min<std::size_t>(4096, n - at));
        const std::uint64_t stamp = mix(h + at);
        std::memcpy(s.data() + at, &stamp, std::min<std::size_t>(sizeof stamp, n - at));
    }
    return s;
}

/// Event part k of operation i as appended: its type, labels and text (or data).
struct event_desc {
    bool observation = false;
    std::string thread, agent, text;
};
event_desc event_at(std::int64_t i, int k) {
    static constexpr const char* threads[] = {"", "main", "", "tools", "", ""};
    static constexpr const char* agents[] = {"", "planner", "", "critic", "", ""};
    const std::uint64_t h = mix(static_cast<std::uint64_t>(i) * 8 + static_cast<std::uint64_t>(k) + 0x5bd1e995);
    event_desc e;
    e.observation = h & 1;
    e.thread = threads[(h >> 1) % 6];
    e.agent = agents[(h >> 4) % 6];
    const std::size_t n = k == 0 && i % (48 * ops_per_run) == 29 ? 8000 + (h >> 8) % 16000 : (h >> 8) % 60;
    e.text.resize(n);
    std::uint64_t x = h;
    for (std::size_t at = 0; at < std::min<std::size_t>(n, 4096); ++at) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        e.text[at] = static_cast<char>('!' + (x >> 33) % 94);
    }
    for (std::size_t at = 4096; at < n; at += 4096) {
        std::memcpy(e.text.data() + at, e.text.data(), std::min<std::size_t>(4096, n - at));
        e.text[at] = static_cast<char>('A' + at / 4096 % 26);
    }
    return e;
}

std::string key_name(int k) { return "k" + std::to_string(k); }
std::string run_name(std::uint64_t id) { return "crash-run-" + std::to_string(id); }
inmem::run_status end_status(std::uint64_t id) {
    static constexpr inmem::run_status s[] = {inmem::run_status::completed, inmem::run_status::failed,
                                              inmem::run_status::cancelled};
    return s[id % 3];
}
std::uint64_t run_of(std::int64_t i) { return static_cast<std::uint64_t>(i / ops_per_run) + 1; }

/// The keys of run r's data after its operations up to position j (0..199), with the
/// operation that put each.
std::map<std::string, std::int64_t> run_contents(std::uint64_t r, std::int64_t j) {
    std::map<std::string, std::int64_t> out;
    const std::int64_t base = static_cast<std::int64_t>(r - 1) * ops_per_run;
    for (std::int64_t p = 0; p <= j; ++p) {
        const op_desc op = op_at(r, p);
        if (op.kind == op_kind::put) out[key_name(op.key)] = base + p;
        else if (op.kind == op_kind::erase) out.erase(key_name(op.key));
    }
    return out;
}

/// The state of a run's data (its keys and how many events its log holds) after position j
/// names j, but for erases of absent keys (which change nothing): the prefix is read off the
/// state. Checked once at start.
void check_positions_are_distinct() {
    for (const std::uint64_t r : {1, 2}) { // a run with events and one without
        std::vector<std::pair<std::map<std::string, std::int64_t>, std::int64_t>> after; // keys, events
        for (std::int64_t j = 0; j < ops_per_run - 1; ++j)
            after.emplace_back(run_contents(r, j), events_before(r)[j + 1]);
        for (std::int64_t a = 0; a < ops_per_run - 1; ++a)
            for (std::int64_t b = a + 1; b < ops_per_run - 1; ++b)
                if (after[a] == after[b] && after[b - 1] != after[b]) {
                    std::fprintf(stderr, "crash_suite: positions %lld and %lld of run %llu leave the same state\n",
                                 static_cast<long long>(a), static_cast<long long>(b),
                                 static_cast<unsigned long long>(r));
                    std::exit(2);
                }
    }
}

// What a child does after operation i besides committing it.
bool snapshot_after(mode m, std::int64_t i) { return m == mode::strict ? i % 101 == 50 : i % 1999 == 1000; }
// (Syncs are rare: most kills find batched commits waiting for the flusher.)
bool sync_after(mode m, std::int64_t i) { return m == mode::batched && i % 1499 == 700; }
// The long write a child makes right after acknowledging operation i, if any: kills aimed
// into it are where torn log tails and interrupted snapshots come from.
enum class heavy { none, sync, snapshot, big_put };
heavy heavy_write_after(mode m, std::int64_t i) {
    if (sync_after(m, i)) return heavy::sync;
    if (snapshot_after(m, i)) return heavy::snapshot;
    if (m == mode::strict && big_payload(i + 1) && op_at(i + 1).kind == op_kind::put)
        return heavy::big_put;
    return heavy::none;
}

std::string snapshot_file_name(inmem::version_t v) { // as the library names them
    char name[48];
    std::snprintf(name, sizeof name, "snapshot-%016llx.snap", static_cast<unsigned long long>(v));
    return name;
}

template <class Db>
constexpr mode mode_of = Db::durability_policy::sync_each_commit ? mode::strict : mode::batched;

/// What an operation was acknowledged with: the version of its commit (0: it committed
/// nothing, an erase of an absent key), for a begin the run id, for appends the first seq.
struct op_result {
    inmem::version_t version = 0;
    std::uint64_t run = 0;
    std::int64_t event_seq = -1; // the seq of its first event, if it appends any
};

/// The id of the run that logical run r (1, 2, ...) is in db: its r-th run. Ids are not r:
/// after a crash, ids a crashed session may have handed out are skipped.
template <class Db>
inmem::run_id run_id_of(Db& db, std::uint64_t r) {
    const auto runs = db.runs();
    if (r == 0 || r > runs.size()) throw std::runtime_error("logical run " + std::to_string(r) + " is not there");
    return runs[r - 1].id;
}

/// Performs operation i on db, whose runs are those of the operations before i; throws
/// std::runtime_error when the database's answer is not the one the sequence predicts.
template <class Db>
op_result apply_op(Db& db, std::int64_t i) {
    const std::uint64_t r = run_of(i);
    const op_desc op = op_at(i);
    auto kv = db.template kv<Entry>();
    auto log = db.events();
    op_result out;
    // The op's events, appended to the run or in a transaction of it (tickets then).
    auto append = [&](auto& at, int k) {
        const event_desc e = event_at(i, k);
        const inmem::event_labels labels{e.thread, e.agent};
        return e.observation ? log.append(at, Observation{i, k, e.text}, labels)
                             : log.append(at, Step{i, k, e.text}, labels);
    };
    auto in_transaction = [&](bool with_put) {
        const inmem::run_id run = run_id_of(db, r);
        std::vector<inmem::event_ticket> tickets;
        out.version = db.transact(run, [&](auto& tx) {
            tickets.clear();
            for (int k = 0; k < op.events; ++k) tickets.push_back(append(tx, k));
            if (with_put) kv.put(tx, key_name(op.key), Entry{i, payload(i, mode_of<Db>)});
        });
        for (std::size_t k = 0; k < tickets.size(); ++k)
            if (tickets[k].id().seq != tickets[0].id().seq + k)
                throw std::runtime_error("operation " + std::to_string(i) + "'s appends got seqs out of order");
        out.event_seq = static_cast<std::int64_t>(tickets[0].id().seq);
    };
    switch (op.kind) {
    case op_kind::begin: {
        inmem::run_options o{.name = run_name(r)};
        if (r > 1) o.parent = run_id_of(db, r - 1);
        out.run = db.begin_run(std::move(o)).value;
        out.version = db.last_version();
        break;
    }
    case op_kind::put:
        if (op.in_tx) in_transaction(true);
        else out.version = kv.put(run_id_of(db, r), key_name(op.key), Entry{i, payload(i, mode_of<Db>)});
        break;
    case op_kind::event:
        if (op.in_tx) in_transaction(false);
        else { // one append, one commit
            const inmem::run_id run = run_id_of(db, r);
            out.event_seq = static_cast<std::int64_t>(append(run, 0).seq);
            out.version = db.last_version();
        }
        break;
    case op_kind::erase:
        if (kv.erase(run_id_of(db, r), key_name(op.key))) out.version = db.last_version();
        break;
    case op_kind::end:
        db.end_run(run_id_of(db, r), end_status(r));
        out.version = db.last_version();
        break;
    }
    return out;
}

/// Whether an event read back (an event_entry of the schema's events) is part `part` of
/// operation op as appended (want: event_at(op, part)): its type, labels and value.
template <class E>
bool is_event_of(const E& e, std::int64_t op, int part, const event_desc& want) {
    if (e.thread != want.thread || e.agent != want.agent) return false;
    if (const auto* o = std::get_if<Observation>(&e.value))
        return want.observation && o->op == op && o->part == part && o->data == want.text;
    const auto& st = std::get<Step>(e.value);
    return !want.observation && st.op == op && st.part == part && st.text == want.text;
}

struct check_result {
    std::int64_t last_op = -1; // the prefix: operations 0..last_op
    std::string problem;       // empty when the state is that prefix exactly
};

/// What is wrong with the event log of logical run `logical` (id in db) if the prefix holds
/// its positions before `positions` ("" when nothing): it must hold exactly their events,
/// seqs 0..k-1 in order, each with the type, labels and value appended, with a valid chain
/// whose head counts k, and every acknowledged append must have the seq it was acknowledged
/// with. Reads the whole log.
template <class Db>
std::string event_log_problem(Db& db, inmem::run_id id, std::uint64_t logical, std::int64_t positions,
                              const std::map<std::int64_t, op_result>& acked) {
    auto log = db.events();
    const std::int64_t base = static_cast<std::int64_t>(logical - 1) * ops_per_run;
    const auto count = static_cast<std::uint64_t>(events_before(logical)[static_cast<std::size_t>(positions)]);
    const std::string which = "the event log of run " + std::to_string(id.value) + " (logical run " +
                              std::to_string(logical) + ")";
    if (log.count(id) != count)
        return which + " counts " + std::to_string(log.count(id)) + " events, the prefix appended " +
               std::to_string(count);
    const auto all = log.read(id);
    if (all.size() != count)
        return which + " reads back " + std::to_string(all.size()) + " events of " + std::to_string(count);
    std::uint64_t observations = 0, planner = 0;
    for (std::uint64_t seq = 0; seq < count; ++seq) {
        const auto& e = all[seq];
        const auto [position, part] = event_origins(logical)[seq];
        const std::int64_t op = base + position;
        const std::string at = which + ": event " + std::to_string(seq) + " (operation " + std::to_string(op) +
                               ", part " + std::to_string(part) + ")";
        if (e.id.seq != seq) return at + " reads back as seq " + std::to_string(e.id.seq);
        const event_desc want = event_at(op, part);
        if (!is_event_of(e, op, part, want)) return at + " is not the event appended there (type, labels or value)";
        observations += want.observation;
        planner += want.agent == "planner";
        if (const op_result* a = [&]() -> const op_result* {
                const auto it = acked.find(op);
                return it == acked.end() ? nullptr : &it->second;
            }();
            a && part == 0 && a->event_seq != static_cast<std::int64_t>(seq))
            return at + " was acknowledged with seq " + std::to_string(a->event_seq);
    }
    if (log.template count<Observation>(id) != observations || log.template count<Step>(id) != count - observations)
        return which + ": its counts by type are not those of its events";
    if (log.read(id, {.agent = "planner"}).size() != planner)
        return which + ": a read by agent label finds another number of events than the log holds";
    const auto report = log.verify(id);
    if (!report.valid()) return which + ": verify fails: " + report.message;
    if (report.checked != count) return which + ": verify checked " + std::to_string(report.checked) + " events";
    return {};
}

/// Whether db's whole state is the state after a prefix of the sequence, and which (the
/// longest: erases of absent keys change nothing). The runs a crash left active read as
/// interrupted. acked: the versions, run ids and event seqs operations were acknowledged
/// with, checked where they are known (the parent's; the child passes none).
/// just_opened: nothing was written since the open (the interrupted run not resumed yet).
/// every_log: check the event log of every run (else only the open run's, which is all the
/// commits since the last check of every log can have changed).
/// What is wrong with the history of logical run `logical` (id), whose operations up to
/// position last_position are in the state: replayed just before its first commit and at
/// each of its commits, its keys must go through exactly the states those operations made,
/// in order ("" when they do).
template <class Db>
std::string history_problem(Db& db, inmem::run_id id, std::uint64_t logical, std::int64_t last_position) {
    auto kv = db.template kv<Entry>();
    std::vector<std::map<std::string, std::int64_t>> expected, replayed;
    for (std::int64_t k = 0; k <= last_position; ++k)
        if (auto c = run_contents(logical, k); expected.empty() || expected.back() != c) expected.push_back(std::move(c));
    const auto steps = inmem::timeline(db, id);
    // Just before its first commit, then at each of its commits (between them nothing of the
    // run changes; versions jump by a reservation at each crash, so not every version).
    // (A run just begun has no commits in its range: it is replayed at the end, empty.)
    std::vector<inmem::version_t> points{steps.empty() ? db.last_version() : steps.front().version - 1};
    for (const auto& step : steps) points.push_back(step.version);
    for (const inmem::version_t v : points) {
        std::map<std::string, std::int64_t> state;
        for (const auto& e : kv.list(inmem::replay(db, id, inmem::at_version{v}))) state[e.key] = e.value.seq;
        if (replayed.empty() || replayed.back() != state) replayed.push_back(std::move(state));
    }
    if (replayed != expected)
        return "run " + std::to_string(id.value) + " (logical run " + std::to_string(logical) +
               "), replayed at each version of its life, goes through " + std::to_string(replayed.size()) +
               " states, not the " + std::to_string(expected.size()) + " its operations made";
    return {};
}

template <class Db>
check_result check_state(Db& db, const std::map<std::int64_t, op_result>& acked = {}, bool just_opened = true,
                         bool every_log = false) {
    check_result r;
    auto fail = [&](std::string what) {
        r.problem = "(the prefix through operation " + std::to_string(r.last_op) + "): " + what;
        return r;
    };
    if (just_opened && db.recovery().last_version != db.last_version())
        return fail("recovery().last_version is " + std::to_string(db.recovery().last_version) + ", last_version() " +
                    std::to_string(db.last_version()));
    const bool crashed = just_opened && !db.recovery().clean_shutdown;
    const auto runs = db.runs();
    auto kv = db.template kv<Entry>();
    if (runs.empty()) {
        r.last_op = -1;
        return r;
    }
    const std::uint64_t open = runs.size(); // the logical run the prefix ends in
    const bool last_ended = runs.back().status != inmem::run_status::active &&
                            runs.back().status != inmem::run_status::interrupted;
    // The last operation: the run's end, or the last position whose contents (keys and the
    // number of events its log holds) are the run's.
    std::map<std::string, std::pair<std::int64_t, inmem::version_t>> got; // key -> seq, version
    for (const auto& e : kv.list(runs.back().id)) got[e.key] = {e.value.seq, e.version};
    std::int64_t j = ops_per_run - 1;
    if (!last_ended) {
        std::map<std::string, std::int64_t> seqs;
        for (const auto& [key, entry] : got) seqs[key] = entry.first;
        const auto events = static_cast<std::int64_t>(db.events().count(runs.back().id));
        for (j = ops_per_run - 2;
             j >= 0 && (events_before(open)[j + 1] != events || run_contents(open, j) != seqs); --j) {
        }
        if (j < 0) {
            r.last_op = static_cast<std::int64_t>(open - 1) * ops_per_run;
            return fail("the keys and the " + std::to_string(events) + " events of " + std::to_string(open) +
                        "'s run are the state after none of its operations");
        }
    }
    r.last_op = static_cast<std::int64_t>(open - 1) * ops_per_run + j;

    inmem::version_t newest = 0; // versions grow with the operations
    for (std::size_t n = 0; n < runs.size(); ++n) {
        const auto& info = runs[n];
        const std::uint64_t logical = n + 1;
        const bool ended = logical < open || last_ended;
        const auto status = ended ? end_status(logical) : crashed ? inmem::run_status::interrupted
                                                                  : inmem::run_status::active;
        const std::string which = "run " + std::to_string(info.id.value) + " (logical run " + std::to_string(logical) + ")";
        if (n > 0 && info.id.value <= runs[n - 1].id.value) return fail(which + " is listed out of order");
        if (auto a = acked.find(static_cast<std::int64_t>(logical - 1) * ops_per_run); a != acked.end() && a->second.run &&
                                                                                   a->second.run != info.id.value)
            return fail(which + ": begin_run was acknowledged with run " + std::to_string(a->second.run));
        if (info.name != run_name(logical)) return fail(which + " is named '" + info.name + "'");
        if (!info.tags.empty()) return fail(which + " has tags");
        if (info.parent.value_or(inmem::run_id{}) != (n > 0 ? runs[n - 1].id : inmem::run_id{}))
            return fail(which + " has parent " + std::to_string(info.parent.value_or(inmem::run_id{}).value));
        if (info.status != status)
            return fail(which + " is " + std::string(inmem::to_string(info.status)) + ", expected " +
                        std::string(inmem::to_string(status)));
        if (info.ended.has_value() != ended) return fail(which + (ended ? " has no end time" : " has an end time"));
        if (ended && kv.list(info.id).size() != 1) return fail(which + " ended with other keys than its marker");
        if (every_log || logical == open)
            if (auto problem = event_log_problem(db, info.id, logical, ended ? ops_per_run : j + 1, acked);
                !problem.empty())
                return fail(problem);
    }
    if (!last_ended) {
        std::map<std::int64_t, inmem::version_t> by_seq;
        for (const auto& [key, entry] : got) {
            const auto [seq, version] = entry;
            if (auto a = acked.find(seq); a != acked.end() && a->second.version != version)
                return fail("key " + key + " holds operation " + std::to_string(seq) + " at version " +
                            std::to_string(version) + ", acknowledged at version " + std::to_string(a->second.version));
            by_seq[seq] = version;
            const auto value = kv.get(runs.back().id, key);
            if (!value || value->payload != payload(seq, mode_of<Db>))
                return fail("key " + key + ": the payload of operation " + std::to_string(seq) + " differs");
        }
        for (const auto& [seq, version] : by_seq) {
            if (version <= newest) return fail("operation " + std::to_string(seq) + " has version " +
                                               std::to_string(version) + ", not above the one before it");
            newest = version;
        }
    }
    if (db.last_version() < newest) return fail("last_version() is below a version the state holds");
    // History: the open run (up to its last operation) and the run before it (all of its
    // operations), replayed at each of their commits, go through exactly the states their
    // operations made, in order.
    for (std::size_t n = runs.size() >= 2 ? runs.size() - 2 : 0; n < runs.size(); ++n) {
        const std::uint64_t logical = n + 1;
        const std::int64_t last_position = logical == open && !last_ended ? j : ops_per_run - 1;
        if (auto problem = history_problem(db, runs[n].id, logical, last_position); !problem.empty()) return fail(problem);
    }
    return r;
}

// ---------------------------------------------------------------------------------------
// The child.

void send_line(int fd, const std::string& line) {
    std::string_view rest = line;
    while (!rest.empty()) {
        const ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            std::_Exit(4); // the parent is gone
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

// Batched children commit at most rate operations per millisecond (0: as fast as they can),
// so the background flush, not the syncs of automatic snapshots, is what makes most commits
// durable, and the loss window is what is measured.
template <class Db>
int child_main(mode m, const fs::path& dir, int fd, double rate) {
    send_line(fd, "o " + std::to_string(now_ns()) + "\n");
    try {
        const auto t0 = now_ns();
        Db db(dir, options_for(m));
        const auto open_us = (now_ns() - t0) / 1000;
        const auto& rep = db.recovery();
        const check_result c = check_state(db);
        if (!c.problem.empty()) throw std::runtime_error("the child found no prefix to go on from " + c.problem);
        const std::int64_t first = c.last_op + 1;
        // A run the last crash interrupted goes on where it stopped.
        if (const auto runs = db.runs(); !runs.empty() && runs.back().status == inmem::run_status::interrupted)
            db.resume_run(runs.back().id);
        send_line(fd, "r " + std::to_string(first) + " " + std::to_string(open_us) + " " +
                          std::to_string(rep.commits_applied) + " " + std::to_string(rep.bytes_dropped) + "\n");
        const std::int64_t t_start = now_ns();
        for (std::int64_t i = first;; ++i) {
            if (rate > 0) {
                const auto due = t_start + static_cast<std::int64_t>(static_cast<double>(i - first) / rate * 1e6);
                const std::int64_t ahead = due - now_ns();
                if (ahead > 1'000'000) {
                    const timespec ts{static_cast<time_t>(ahead / 1'000'000'000),
                                      static_cast<long>(ahead % 1'000'000'000)};
                    ::nanosleep(&ts, nullptr);
                }
            }
            const op_result done = apply_op(db, i);
            send_line(fd, "a " + std::to_string(i) + " " + std::to_string(done.version) + " " +
                              std::to_string(done.run) + " " + std::to_string(done.event_seq) + " " +
                              std::to_string(now_ns()) + "\n");
            if (sync_after(m, i)) {
                db.sync();
                send_line(fd, "s " + std::to_string(i) + " " + std::to_string(now_ns()) + "\n");
            }
            if (snapshot_after(m, i)) db.snapshot();
        }
    } catch (const std::exception& e) {
        std::string what = e.what();
        std::replace(what.begin(), what.end(), '\n', ' ');
        if (what.size() > 3000) what.resize(3000);
        send_line(fd, "e " + what + "\n");
        return 3;
    }
}

// ---------------------------------------------------------------------------------------
// The parent.

struct config {
    mode m = mode::strict;
    long kills = 200;
    std::uint64_t seed = 0;
    bool seed_given = false;
    fs::path dir;
    double window_ms = 3.0 * batch_interval_ms + 50; // plus twice the slowest fdatasync of the last second
    bool probe = true;
    double max_delay_ms = 0; // 0: the mode's default
    double rate = 5;         // batched children: operations per millisecond at most
    bool keep = false;
    bool verbose = false;
};

std::string ms(double v) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", v);
    return b;
}

enum class aim { open, write, time };

// Measures how long an fdatasync takes on the database's file system, all the time, with a
// small write every 5 ms. A batched flush waits for its predecessor's fdatasync (and, at a
// segment rotation, for one more), so on a loaded machine commits wait longer than the
// interval; the loss window grows by twice the slowest recent fdatasync.
class fsync_probe {
public:
    explicit fsync_probe(const fs::path& file) {
        fd_ = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ >= 0) thread_ = std::thread([this] { loop(); });
    }
    ~fsync_probe() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
        if (fd_ >= 0) ::close(fd_);
    }

    /// The slowest fdatasync that ran in [from, to], an unfinished one counted until to.
    double slowest_ms(std::int64_t from, std::int64_t to) {
        std::lock_guard lock(mu_);
        std::int64_t worst = 0;
        for (const auto& [start, took] : samples_)
            if (start + took >= from && start <= to) worst = std::max(worst, took);
        if (current_ && *current_ <= to) worst = std::max(worst, to - *current_);
        return static_cast<double>(worst) / 1e6;
    }

private:
    void loop() {
        char block[512] = {};
        while (!stop_) {
            const std::int64_t t0 = now_ns();
            {
                std::lock_guard lock(mu_);
                current_ = t0;
            }
            const bool ok = ::pwrite(fd_, block, sizeof block, 0) == static_cast<ssize_t>(sizeof block) &&
                            ::fdatasync(fd_) == 0;
            const std::int64_t t1 = now_ns();
            {
                std::lock_guard lock(mu_);
                current_.reset();
                if (ok) samples_.push_back({t0, t1 - t0});
                while (!samples_.empty() && samples_.front().first < t1 - 5'000'000'000)
                    samples_.erase(samples_.begin());
            }
            const timespec pause{0, 5'000'000};
            ::nanosleep(&pause, nullptr);
        }
    }

    int fd_ = -1;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<std::pair<std::int64_t, std::int64_t>> samples_; // start, duration (ns)
    std::optional<std::int64_t> current_;
    std::thread thread_;
};

struct ack {
    std::int64_t op;
    op_result result;
    std::int64_t t_ns;
};

// What one child said and did.
struct session {
    std::optional<std::int64_t> t_opening, t_ready;
    std::int64_t first_op = -1;
    std::int64_t open_us = 0;
    std::vector<ack> acks;
    std::int64_t synced_through = -1; // ops <= this were acknowledged durable by db.sync()
    std::string error;
    std::string pending; // a partial line

    void feed(const char* data, std::size_t n) {
        pending.append(data, n);
        std::size_t start = 0;
        for (;;) {
            const auto nl = pending.find('\n', start);
            if (nl == std::string::npos) break;
            line(std::string_view(pending).substr(start, nl - start));
            start = nl + 1;
        }
        pending.erase(0, start);
    }

    void line(std::string_view l) {
        if (l.empty()) return;
        const std::string s(l.substr(std::min<std::size_t>(2, l.size())));
        long long a = 0, b = 0, c = 0, d = 0, e = 0;
        switch (l[0]) {
        case 'o': t_opening = now_ns(); break;
        case 'r':
            t_ready = now_ns();
            if (std::sscanf(s.c_str(), "%lld %lld %lld %lld", &a, &b, &c, &d) == 4) {
                first_op = a;
                open_us = b;
            }
            break;
        case 'a':
            if (std::sscanf(s.c_str(), "%lld %lld %lld %lld %lld", &a, &b, &c, &d, &e) == 5)
                acks.push_back({a, {static_cast<inmem::version_t>(b), static_cast<std::uint64_t>(c), d}, e});
            break;
        case 's':
            if (std::sscanf(s.c_str(), "%lld %lld", &a, &b) == 2) synced_through = a;
            break;
        case 'e': error = s; break;
        default: error = "unexpected line from the child: " + std::string(l); break;
        }
    }
};

struct totals {
    long kills = 0, during_open = 0, aimed = 0, aimed_hits = 0, acked = 0, lost = 0, violations = 0;
    long parent_ops = 0, torn_tails = 0, snapshot_tmps = 0, snapshots_loaded = 0, snapshots_skipped = 0;
    long interrupted = 0; // kills after which the open run came back interrupted
    long acked_events = 0, acked_event_tx = 0; // acknowledged appends, and transactions of them
    long losses_in_window = 0, max_lost_one_kill = 0;
    double max_loss_age_ms = 0; // batched: the oldest acknowledgment lost, before its kill
    double max_window_ms = 0;   // batched: the widest loss window allowed
    std::int64_t max_recovery_us = 0;
    std::int64_t last_op = -1;
};

int spawn_child(const config& cfg, const fs::path& dbdir, int& read_fd) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
        std::perror("crash_suite: pipe2");
        std::exit(2);
    }
    const std::string fd_arg = std::to_string(p[1]);
    const std::string mode_arg = cfg.m == mode::strict ? "strict" : "batched";
    const std::string dir_arg = dbdir.string();
    const std::string rate_arg = std::to_string(cfg.m == mode::batched ? cfg.rate : 0.0);
    const pid_t pid = ::fork();
    if (pid < 0) {
        std::perror("crash_suite: fork");
        std::exit(2);
    }
    if (pid == 0) {
        ::fcntl(p[1], F_SETFD, 0); // the write end survives exec
        const char* argv[] = {"crash_suite", "--child", "--mode",       mode_arg.c_str(), "--dir", dir_arg.c_str(),
                              "--fd",        fd_arg.c_str(), "--rate", rate_arg.c_str(),  nullptr};
        ::execv("/proc/self/exe", const_cast<char* const*>(argv));
        ::_exit(127);
    }
    ::close(p[1]);
    read_fd = p[0];
    return pid;
}

// Copies the database files as the kill left them, so a failure can be examined.
void keep_evidence(const fs::path& dbdir, const fs::path& evidence) {
    std::error_code ec;
    fs::remove_all(evidence, ec);
    std::uintmax_t total = 0;
    for (const auto& e : fs::directory_iterator(dbdir, ec)) total += e.is_regular_file(ec) ? e.file_size(ec) : 0;
    if (total > (64u << 20)) return;
    fs::copy(dbdir, evidence, fs::copy_options::recursive, ec);
}

template <class Db>
int parent_main(const config& cfg) {
    std::mt19937_64 rng(cfg.seed);
    auto uniform = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
    const char* mode_name = cfg.m == mode::strict ? "strict" : "batched";

    fs::path root = cfg.dir;
    bool made_root = false;
    if (root.empty()) {
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/inmem-crash-XXXXXX";
        if (!::mkdtemp(tmpl.data())) {
            std::perror("crash_suite: mkdtemp");
            return 2;
        }
        root = tmpl;
        made_root = true;
    }
    const fs::path dbdir = root / "db", evidence = root / "evidence";
    {
        std::error_code ec;
        fs::create_directories(root, ec);
        if (fs::exists(dbdir, ec)) {
            std::fprintf(stderr, "crash_suite: %s already exists; give an empty --dir\n", dbdir.c_str());
            return 2;
        }
    }
    std::printf("crash %s: %ld kills, seed %" PRIu64 ", %s, runs of %" PRId64 " operations%s\n",
                mode_name, cfg.kills, cfg.seed, dbdir.c_str(), ops_per_run,
                cfg.m == mode::batched ? (", loss window " + ms(cfg.window_ms) + " ms").c_str() : "");
    std::fflush(stdout);

    totals t;
    std::vector<std::string> failures; // one line per violation, printed at the end too
    auto violation = [&](long kill, const std::string& what) {
        ++t.violations;
        std::string line = "VIOLATION at kill " + std::to_string(kill) + ": " + what;
        std::printf("%s\n", line.c_str());
        std::fflush(stdout);
        if (failures.size() < 20) failures.push_back(line);
    };

    std::optional<fsync_probe> probe;
    if (cfg.m == mode::batched && cfg.probe) probe.emplace(root / "fsync-probe");

    // When, after the acknowledgment, each kind of heavy write is under way: learnt from where
    // aimed kills land (too early: nothing of it on disk; too late: all of it).
    double est_write_ms[4] = {0, 1, 4, 4};

    std::int64_t durable_next = 0; // operations before it were verified present and closed cleanly
    // What operations of the durable prefix were acknowledged with, and the highest version
    // and run id anybody was ever told (lost ones included): nothing may be handed out twice.
    std::map<std::int64_t, op_result> acked;
    inmem::version_t max_version = 0;
    std::uint64_t max_run = 0;
    auto handed_out = [&](long kill, std::int64_t op, const op_result& r, const char* who) {
        if (r.version && r.version <= max_version)
            violation(kill, std::string(who) + "'s operation " + std::to_string(op) + " got version " +
                                std::to_string(r.version) + ", which is not above one handed out before (" +
                                std::to_string(max_version) + ")");
        if (r.run && r.run <= max_run)
            violation(kill, std::string(who) + "'s operation " + std::to_string(op) + " got run id " +
                                std::to_string(r.run) + ", handed out before (up to " + std::to_string(max_run) + ")");
        max_version = std::max(max_version, r.version);
        max_run = std::max(max_run, r.run);
    };
    double est_open_ms = 2.0;     // how long a child takes to open, for kills during recovery
    const double max_delay = cfg.max_delay_ms > 0 ? cfg.max_delay_ms : cfg.m == mode::strict ? 120 : 400;
    const auto started = std::chrono::steady_clock::now();
    bool fatal = false;

    for (long k = 1; k <= cfg.kills && !fatal; ++k) {
        // When to kill: while the child opens (recovery), just after it acknowledges an
        // operation that a heavy write follows, or at a random time after it is ready.
        const double dice = uniform(0, 1);
        const aim target = dice < 0.15 ? aim::open : dice < 0.4 ? aim::write : aim::time;
        double delay_ms = target == aim::open   ? uniform(0, est_open_ms * 1.3)
                          : target == aim::write ? 3 * max_delay // unless the write comes sooner
                          : uniform(0, 1) < 0.5  ? uniform(2, 40)
                                                 : uniform(40, max_delay);
        const heavy aimed_kind = target != aim::write ? heavy::none
                                 : uniform(0, 1) < 0.5 ? heavy::snapshot
                                 : cfg.m == mode::strict ? heavy::big_put
                                                         : heavy::sync;
        std::optional<std::int64_t> aimed_at; // the kill time once the acknowledgment arrived
        std::int64_t aimed_op = -1;
        std::size_t acks_seen = 0;

        int fd = -1;
        const pid_t pid = spawn_child(cfg, dbdir, fd);
        session s;
        const std::int64_t t_spawn = now_ns();
        bool eof = false, hung = false;
        char buf[1 << 16];
        for (;;) {
            std::int64_t deadline = t_spawn + std::int64_t{30'000'000'000}; // a child that never opens hangs
            if (target == aim::write)
                for (; acks_seen < s.acks.size() && !aimed_at; ++acks_seen)
                    if (heavy_write_after(cfg.m, s.acks[acks_seen].op) == aimed_kind) {
                        aimed_op = s.acks[acks_seen].op;
                        delay_ms = est_write_ms[static_cast<int>(aimed_kind)] * uniform(0.5, 1.5);
                        aimed_at = now_ns() + static_cast<std::int64_t>(delay_ms * 1e6);
                    }
            if (target == aim::open && s.t_opening) deadline = *s.t_opening + static_cast<std::int64_t>(delay_ms * 1e6);
            else if (aimed_at)
                deadline = std::min(*aimed_at, *s.t_ready + static_cast<std::int64_t>(3 * max_delay * 1e6));
            else if (target != aim::open && s.t_ready)
                deadline = *s.t_ready + static_cast<std::int64_t>(delay_ms * 1e6);
            const std::int64_t left = deadline - now_ns();
            if (left <= 0) {
                hung = !s.t_ready && !(target == aim::open && s.t_opening);
                break;
            }
            pollfd pfd{fd, POLLIN, 0};
            const timespec ts{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
            const int n = ::ppoll(&pfd, 1, &ts, nullptr);
            if (n < 0 && errno != EINTR) {
                std::perror("crash_suite: ppoll");
                return 2;
            }
            if (n <= 0) continue;
            const ssize_t got = ::read(fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                eof = true; // the child exited on its own
                break;
            }
            s.feed(buf, static_cast<std::size_t>(got));
        }
        const std::int64_t t_kill = now_ns();
        const double window_ms =
            cfg.window_ms + (probe ? 2 * probe->slowest_ms(t_kill - 1'000'000'000, t_kill) : 0.0);
        t.max_window_ms = std::max(t.max_window_ms, window_ms);
        ::kill(pid, SIGKILL);
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        for (;;) { // every acknowledgment written before the kill is in the pipe
            const ssize_t got = ::read(fd, buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;
            s.feed(buf, static_cast<std::size_t>(got));
        }
        ::close(fd);

        ++t.kills;
        if (aimed_at) ++t.aimed;
        if (!s.t_ready) ++t.during_open;
        else est_open_ms = 0.8 * est_open_ms + 0.2 * (static_cast<double>(s.open_us) / 1000.0);
        t.acked += static_cast<long>(s.acks.size());

        if (hung) violation(k, "the child did not finish opening in 30 s (hang in recovery?)");
        if (!s.error.empty()) violation(k, "the child failed: " + s.error);
        if (eof && s.error.empty())
            violation(k, "the child exited on its own (" +
                             (WIFEXITED(status) ? "status " + std::to_string(WEXITSTATUS(status))
                              : WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                                    : std::string("?")) +
                             ")");
        if (s.t_ready && s.first_op != durable_next)
            violation(k, "the child recovered through operation " + std::to_string(s.first_op - 1) +
                             " but the parent had left the database at operation " + std::to_string(durable_next - 1));
        for (const auto& a : s.acks) handed_out(k, a.op, a.result, "the child");

        keep_evidence(dbdir, evidence);
        bool snapshot_cut = false, aimed_snapshot_done = false;
        {
            std::error_code ec;
            for (const auto& e : fs::directory_iterator(dbdir, ec))
                if (e.path().filename().string().ends_with(".snap.tmp")) snapshot_cut = true;
            if (snapshot_cut) ++t.snapshot_tmps;
            if (aimed_kind == heavy::snapshot)
                for (const auto& a : s.acks)
                    if (a.op == aimed_op)
                        aimed_snapshot_done = fs::exists(dbdir / snapshot_file_name(a.result.version), ec);
        }
        try {
            Db db(dbdir, options_for(cfg.m));
            const auto& rep = db.recovery();
            if (rep.bytes_dropped) ++t.torn_tails;
            if (!rep.snapshot.empty()) ++t.snapshots_loaded;
            t.snapshots_skipped += static_cast<long>(rep.snapshots_skipped.size());
            t.max_recovery_us = std::max<std::int64_t>(t.max_recovery_us, rep.took.count());
            if (rep.repaired) violation(k, "recovery says it repaired: " + rep.dropped_why);

            for (const auto& a : s.acks) acked[a.op] = a.result; // checked against the state where durable
            const check_result c = check_state(db, acked, true, true);
            if (!c.problem.empty()) {
                violation(k, "the state is not a prefix of the commit sequence: " + c.problem);
                fatal = true; // the sequence cannot go on from a state that is no prefix
                break;
            }
            const std::int64_t last = c.last_op;
            // Every acknowledged append the prefix holds is there with the seq it was
            // acknowledged with and its value (check_state read every log in full; this
            // looks each acknowledgment up).
            const auto runs_now = db.runs();
            for (const auto& a : s.acks) {
                if (a.result.event_seq < 0) continue;
                const op_desc op = op_at(a.op);
                t.acked_events += op.events;
                t.acked_event_tx += op.in_tx;
                if (a.op > last) continue; // lost: counted below (strict: LOST; batched: in the window)
                const inmem::run_id id = runs_now.at(run_of(a.op) - 1).id;
                for (int part = 0; part < op.events; ++part) {
                    const auto seq = static_cast<std::uint64_t>(a.result.event_seq + part);
                    const auto e = db.events().get(inmem::event_id{id, seq});
                    if (!e || !is_event_of(*e, a.op, part, event_at(a.op, part)))
                        violation(k, "operation " + std::to_string(a.op) + "'s event " + std::to_string(part) +
                                         ", acknowledged at seq " + std::to_string(seq) + " of run " +
                                         std::to_string(id.value) + ", is " + (e ? "another event" : "not there"));
                }
            }
            if (aimed_at) { // was the kill early, late, or in the write?
                const bool hit = rep.bytes_dropped > 0 || snapshot_cut;
                const bool late = aimed_kind == heavy::big_put    ? last > aimed_op
                                  : aimed_kind == heavy::snapshot ? aimed_snapshot_done
                                                                  : last >= aimed_op; // sync
                double& est = est_write_ms[static_cast<int>(aimed_kind)];
                if (hit) ++t.aimed_hits;
                else est = std::clamp(est * (late ? 0.7 : 1.4), 0.05, 100.0);
                if (cfg.verbose)
                    std::printf("  aimed at the %s after operation %" PRId64 ": %s\n",
                                aimed_kind == heavy::sync       ? "sync"
                                : aimed_kind == heavy::snapshot ? "snapshot"
                                                                : "big put",
                                aimed_op, hit ? "in it" : late ? "late" : "early");
            }
            if (last + 1 < durable_next) {
                violation(k, "operations " + std::to_string(last + 1) + ".." + std::to_string(durable_next - 1) +
                                 ", durable before the child started, are gone");
                t.lost += durable_next - 1 - last;
            }

            // Acknowledged operations of this child that are not in the prefix. Their versions
            // come after everything the state holds (what survives is a prefix in version order
            // too), and are never handed out again (checked as the next ones come).
            long lost = 0;
            std::int64_t oldest_lost_ns = -1, first_lost_op = -1;
            for (const auto& a : s.acks)
                if (a.op > last) {
                    ++lost;
                    if (oldest_lost_ns < 0 || a.t_ns < oldest_lost_ns) oldest_lost_ns = a.t_ns, first_lost_op = a.op;
                    if (a.result.version && a.result.version <= db.last_version())
                        violation(k, "operation " + std::to_string(a.op) + " is lost, but its version " +
                                         std::to_string(a.result.version) + " is not above the recovered state's " +
                                         std::to_string(db.last_version()));
                }
            for (auto it = acked.upper_bound(last); it != acked.end();) it = acked.erase(it); // done again later
            // A run left active by the killed child is interrupted, and says so.
            if (const auto runs = db.runs(); !runs.empty() && runs.back().status == inmem::run_status::interrupted) {
                if (rep.interrupted.empty() || rep.interrupted.back() != runs.back().id)
                    violation(k, "the interrupted run is not in recovery().interrupted");
                ++t.interrupted;
                db.resume_run(runs.back().id);
            }
            t.lost += lost;
            t.max_lost_one_kill = std::max(t.max_lost_one_kill, lost);
            if (lost) {
                const double age_ms = static_cast<double>(t_kill - oldest_lost_ns) / 1e6;
                t.max_loss_age_ms = std::max(t.max_loss_age_ms, age_ms);
                if (cfg.m == mode::strict) {
                    std::printf("LOST at kill %ld: %ld acknowledged operations from %" PRId64
                                " on (acknowledged %.1f ms before the kill; recovered through %" PRId64 ")\n",
                                k, lost, first_lost_op, age_ms, last);
                } else if (s.synced_through > last) {
                    violation(k, "operation " + std::to_string(last + 1) + " is lost though db.sync() returned after "
                                 "operation " + std::to_string(s.synced_through));
                } else if (age_ms > window_ms) {
                    violation(k, "operation " + std::to_string(first_lost_op) + ", acknowledged " + ms(age_ms) +
                                     " ms before the kill, is lost (window " + ms(window_ms) + " ms)");
                } else {
                    ++t.losses_in_window;
                }
            }
            if (cfg.verbose)
                std::printf("kill %ld: %s%.1f ms, %zu acks, through op %" PRId64 ", lost %ld, recovery %s%s\n", k,
                            target == aim::open ? "open+" : aimed_at ? "ack+" : "ready+", delay_ms, s.acks.size(),
                            last, lost,
                            rep.snapshot.empty() ? "wal only" : rep.snapshot.c_str(),
                            rep.bytes_dropped ? (", dropped " + std::to_string(rep.bytes_dropped) + " bytes: " +
                                                 rep.dropped_why)
                                                    .c_str()
                                              : "");

            // The log keeps working: the next operations, committed here, must be there next time.
            std::int64_t next = last + 1;
            for (int n = 0; n < 3; ++n, ++next) {
                const op_result r = apply_op(db, next);
                handed_out(k, next, r, "the parent");
                acked[next] = r;
            }
            // Where a child goes on from: read off the state, as it will (erases of absent
            // keys after the last commit may take it further).
            const check_result after = check_state(db, acked, false);
            if (!after.problem.empty() || after.last_op + 1 < next)
                violation(k, "after the parent's commits the state is not their prefix " + after.problem);
            next = std::max(next, after.last_op + 1);
            t.parent_ops += 3;
            db.sync();
            durable_next = next;
            t.last_op = next - 1;
        } catch (const std::exception& e) {
            violation(k, std::string("the parent's open, check or commits failed: ") + e.what());
            fatal = true;
        }

        if (!cfg.verbose && (k % 100 == 0 || k == cfg.kills)) {
            std::printf("  %ld/%ld kills, %ld acknowledged, %ld lost, %ld violations, %.0f s\n", k, cfg.kills,
                        t.acked, t.lost, t.violations,
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
            std::fflush(stdout);
        }
    }

    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("stats: %.1f s; %" PRId64 " operations (%" PRIu64 " runs), %ld of them by the parent; kills: %ld "
                "during open, %ld aimed at a write (%ld in it); %ld torn tails cut, %ld snapshot writes interrupted, "
                "%ld recoveries from a snapshot, %ld snapshots skipped, %ld runs interrupted and resumed, slowest "
                "recovery %.1f ms; highest version %" PRIu64 ", highest run id %" PRIu64 "; %ld acknowledged "
                "event appends (%ld transactions of them), every run's log checked and verified at each reopen",
                secs, t.last_op + 1, t.last_op < 0 ? 0 : run_of(t.last_op), t.parent_ops, t.during_open, t.aimed,
                t.aimed_hits, t.torn_tails, t.snapshot_tmps, t.snapshots_loaded, t.snapshots_skipped, t.interrupted,
                static_cast<double>(t.max_recovery_us) / 1000, max_version, max_run, t.acked_events, t.acked_event_tx);
    if (cfg.m == mode::batched)
        std::printf(", %ld kills lost commits (at most %ld, oldest acknowledged %.1f ms before its kill; window at "
                    "most %.1f ms)",
                    t.losses_in_window, t.max_lost_one_kill, t.max_loss_age_ms, t.max_window_ms);
    std::printf("\n");
    for (const auto& f : failures) std::printf("%s\n", f.c_str());

    probe.reset();
    const bool ok = t.violations == 0 && (cfg.m != mode::strict || t.lost == 0) && !fatal;
    std::error_code ec;
    if (ok && !cfg.keep) {
        if (made_root) fs::remove_all(root, ec);
        else
            for (const auto& p : {dbdir, evidence, root / "fsync-probe"}) fs::remove_all(p, ec);
    } else if (!ok) {
        std::printf("kept %s for examination (seed %" PRIu64 ")\n", root.c_str(), cfg.seed);
    }
    std::printf("crash: %ld kills, %ld acknowledged, %ld lost, %ld prefix violations\n", t.kills, t.acked, t.lost,
                t.violations);
    std::fflush(stdout);
    return ok ? 0 : 1;
}

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "crash_suite: %s\nusage: crash_suite --mode strict|batched [--kills N] [--seed S] [--dir D]\n"
                 "                   [--window-ms W] [--max-delay-ms M] [--rate OPS_PER_MS] [--keep] [--verbose]\n",
                 why);
    std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
    config cfg;
    bool child = false, mode_given = false;
    int fd = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value after " + std::string(a)).c_str());
            return argv[++i];
        };
        auto number = [&](const std::string& s) {
            char* end = nullptr;
            errno = 0;
            const unsigned long long n = std::strtoull(s.c_str(), &end, 10);
            if (s.empty() || *end || errno) usage(("not a number: " + s).c_str());
            return n;
        };
        if (a == "--child") child = true;
        else if (a == "--mode") {
            const std::string m = value();
            if (m == "strict") cfg.m = mode::strict;
            else if (m == "batched") cfg.m = mode::batched;
            else usage("--mode is strict or batched");
            mode_given = true;
        } else if (a == "--kills") cfg.kills = static_cast<long>(number(value()));
        else if (a == "--seed") cfg.seed = number(value()), cfg.seed_given = true;
        else if (a == "--dir") cfg.dir = value();
        else if (a == "--fd") fd = static_cast<int>(number(value()));
        else if (a == "--window-ms") cfg.window_ms = static_cast<double>(number(value()));
        else if (a == "--fixed-window") cfg.probe = false;
        else if (a == "--max-delay-ms") cfg.max_delay_ms = static_cast<double>(number(value()));
        else if (a == "--rate") {
            const std::string r = value();
            char* end = nullptr;
            cfg.rate = std::strtod(r.c_str(), &end);
            if (r.empty() || *end || cfg.rate < 0) usage(("not a rate: " + r).c_str());
        } else if (a == "--keep") cfg.keep = true;
        else if (a == "--verbose") cfg.verbose = true;
        else usage(("unknown argument " + std::string(a)).c_str());
    }
    if (!mode_given) usage("--mode is required");

    if (child) {
        if (fd < 0 || cfg.dir.empty()) usage("--child needs --fd and --dir");
        ::signal(SIGPIPE, SIG_DFL);
        return cfg.m == mode::strict ? child_main<strict_db>(cfg.m, cfg.dir, fd, cfg.rate)
                                     : child_main<batched_db>(cfg.m, cfg.dir, fd, cfg.rate);
    }
    check_positions_are_distinct();
    if (!cfg.seed_given) cfg.seed = static_cast<std::uint64_t>(now_ns()) ^ static_cast<std::uint64_t>(::getpid());
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    return cfg.m == mode::strict ? parent_main<strict_db>(cfg) : parent_main<batched_db>(cfg);
}
