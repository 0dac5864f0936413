// Tests of opening a damaged database directory (inmem/durability/recovery.hpp through
// basic_database<S, durability::strict>): a WAL cut at every byte of its last records, a
// zero-filled tail, random bit flips in WAL segments and snapshots, damage in the middle of
// the log, a missing segment, a record that checks but does not decode, damaged snapshots
// (the newest, the only one, all of them), a schema that changed, a directory already open,
// and a torn commit whose value holds WAL bytes.
//
// Every case starts from a history recorded as it was written: the state after each commit
// (versions are dense, so the state after version v is states[v]) and every value ever put.
// Whatever open does with damage, it must never crash, never show a value that was not
// written, leave exactly the state of some prefix of the commits (the one its last_version
// names), say in its recovery report what it cut, and leave a directory that opens again
// cleanly and takes writes. An open that fails changes nothing on disk. The model is
// LevelDB's db/corruption_test.cc. INMEM_CORRUPTION_TRIALS=N runs N random flip trials per
// layout (300 by default) and cuts the big record more densely (see the truncation test).
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <stdlib.h> // mkdtemp

namespace {

namespace fs = std::filesystem;
using inmem::errc;

using notes_schema = inmem::schema<inmem::kv<std::string>>;
using db_t = inmem::basic_database<notes_schema, inmem::durability::strict>;

// ---- files ----

using inmem_test::temp_dir;

using file_map = std::map<std::string, std::string>; // file name -> bytes; LOCK left out

using inmem_test::read_file;
using inmem_test::write_file;

file_map read_dir(const fs::path& dir) {
    file_map files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename() != "LOCK") files[e.path().filename().string()] = read_file(e.path());
    return files;
}

/// Makes dir hold exactly files (and LOCK).
void write_dir(const fs::path& dir, const file_map& files) {
    std::vector<fs::path> old;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename() != "LOCK") old.push_back(e.path());
    for (const auto& p : old) fs::remove(p);
    for (const auto& [name, bytes] : files) write_file(dir / name, bytes);
}

std::vector<std::string> names_starting(const file_map& files, std::string_view prefix) {
    std::vector<std::string> out;
    for (const auto& [name, bytes] : files)
        if (name.starts_with(prefix)) out.push_back(name);
    return out; // sorted: the map's order, and the numbers are zero-padded
}
std::vector<std::string> segments_of(const file_map& files) { return names_starting(files, "wal-"); }
std::vector<std::string> snapshots_of(const file_map& files) { return names_starting(files, "snapshot-"); }

// The logical records of a segment: where each ends and its kind (the first byte of its
// payload: 1 header, 2 commit, 3 reserve, 4 close; wal_format.hpp), found by walking the
// physical headers the writer produced (trusting their lengths: only for undamaged files).
struct logical_record {
    std::size_t end;
    int kind;
};
std::vector<logical_record> logical_records(std::string_view data) {
    constexpr std::size_t B = inmem::detail::wal_block_size, H = inmem::detail::wal_header_size;
    std::vector<logical_record> out;
    std::size_t pos = 0;
    int kind = 0;
    while (pos < data.size()) {
        if (B - pos % B < H) {
            pos += B - pos % B;
            continue;
        }
        const auto length = static_cast<std::size_t>(static_cast<unsigned char>(data[pos + 4]) |
                                                     static_cast<unsigned char>(data[pos + 5]) << 8);
        const auto type = static_cast<inmem::detail::wal_type>(data[pos + 6]);
        if (type == inmem::detail::wal_type::full || type == inmem::detail::wal_type::first)
            kind = static_cast<unsigned char>(data[pos + H]);
        pos += H + length;
        if (type == inmem::detail::wal_type::full || type == inmem::detail::wal_type::last) out.push_back({pos, kind});
    }
    REQUIRE(pos == data.size());
    return out;
}
std::vector<std::size_t> logical_ends(std::string_view data) {
    std::vector<std::size_t> ends;
    for (const auto& r : logical_records(data)) ends.push_back(r.end);
    return ends;
}
constexpr int header_record = 1, commit_record = 2, timed_commit_record = 5; // (format 3 writes timed ones)
constexpr bool is_commit(int kind) { return kind == commit_record || kind == timed_commit_record; }
std::size_t commits_in(const std::vector<logical_record>& records, std::size_t from = 0) {
    std::size_t n = 0;
    for (std::size_t i = from; i < records.size(); ++i) n += is_commit(records[i].kind);
    return n;
}

// ---- the model ----

struct state {
    std::map<std::uint64_t, inmem::run_status> runs; // by run id
    std::map<std::pair<std::uint64_t, std::string>, std::pair<std::string, inmem::version_t>> kv;
    bool operator==(const state&) const = default;
};

std::string describe_difference(const state& actual, const state& expected) {
    std::ostringstream out;
    if (actual.runs != expected.runs) out << "runs: " << actual.runs.size() << " vs " << expected.runs.size() << "; ";
    for (const auto& [key, value] : expected.kv) {
        auto it = actual.kv.find(key);
        if (it == actual.kv.end()) out << "missing run " << key.first << " key " << key.second << "; ";
        else if (it->second != value) out << "different run " << key.first << " key " << key.second << "; ";
    }
    for (const auto& [key, value] : actual.kv)
        if (!expected.kv.count(key)) out << "extra run " << key.first << " key " << key.second << "; ";
    return out.str();
}

state read_state(db_t& db) {
    state s;
    auto notes = db.kv<std::string>();
    for (const auto& info : db.runs()) {
        REQUIRE(s.runs.emplace(info.id.value, info.status).second);
        for (const auto& e : notes.list(info.id)) s.kv[{info.id.value, e.key}] = {e.value, e.version};
    }
    return s;
}

/// What a state reads as after a crash: the runs it left active are interrupted.
state interrupted(state s) {
    for (auto& [id, status] : s.runs)
        if (status == inmem::run_status::active) status = inmem::run_status::interrupted;
    return s;
}

/// Every commit of a database's life, as it was made.
struct history {
    std::vector<state> states{state{}}; // states[v]: after the commit of version v
    std::set<std::string> values;       // every value ever put

    inmem::version_t last() const { return states.size() - 1; }

    inmem::run_id begin(db_t& db, std::string name) {
        auto id = db.begin_run({.name = std::move(name)});
        REQUIRE(db.last_version() == states.size());
        auto next = states.back();
        REQUIRE(id.value == next.runs.size() + 1); // no crash while the history is made: ids are dense
        next.runs[id.value] = inmem::run_status::active;
        states.push_back(std::move(next));
        return id;
    }
    void put(db_t& db, inmem::run_id run, const std::string& key, const std::string& value) {
        const auto v = db.kv<std::string>().put(run, key, value);
        REQUIRE(v == states.size());
        auto next = states.back();
        next.kv[{run.value, key}] = {value, v};
        states.push_back(std::move(next));
        values.insert(value);
    }
    void erase(db_t& db, inmem::run_id run, const std::string& key) {
        const bool present = states.back().kv.count({run.value, key}) > 0;
        REQUIRE(db.kv<std::string>().erase(run, key) == present);
        if (!present) return;
        REQUIRE(db.last_version() == states.size());
        auto next = states.back();
        next.kv.erase({run.value, key});
        states.push_back(std::move(next));
    }
    void end(db_t& db, inmem::run_id run, inmem::run_status status) {
        db.end_run(run, status);
        REQUIRE(db.last_version() == states.size());
        auto next = states.back();
        next.runs[run.value] = status;
        states.push_back(std::move(next));
    }

    /// Checks that db holds exactly the state of a prefix of this history, made only of
    /// values that were written (with the runs left active interrupted, when the damage took
    /// the last session's close record with it); returns how many commits that prefix has.
    inmem::version_t check_prefix(db_t& db) const {
        const auto v = db.last_version();
        REQUIRE(v <= last());
        const state actual = read_state(db);
        for (const auto& [key, value] : actual.kv) {
            INFO("run " << key.first << " key " << key.second);
            REQUIRE(values.count(value.first) == 1); // never a value that was not written
        }
        const state expected = db.recovery().clean_shutdown ? states[v] : interrupted(states[v]);
        INFO("last_version " << v << " of " << last() << (db.recovery().clean_shutdown ? "" : ", after a crash"));
        CHECK(describe_difference(actual, expected).empty());
        REQUIRE(actual == expected);
        return v;
    }
};

/// A value never written before: its version and a filler of about size bytes.
std::string fresh_value(const history& h, std::mt19937_64& rng, std::size_t size) {
    std::string v = "v" + std::to_string(h.states.size()) + ":";
    while (v.size() < size) v.push_back(static_cast<char>('a' + rng() % 26));
    return v;
}

/// Random commits: runs begin and end, keys are put, overwritten and erased.
void workload(db_t& db, history& h, std::mt19937_64& rng, int steps) {
    std::vector<inmem::run_id> active;
    for (const auto& [id, status] : h.states.back().runs)
        if (status == inmem::run_status::active) active.push_back(inmem::run_id{id});
    for (int i = 0; i < steps; ++i) {
        if (active.empty() || rng() % 12 == 0) {
            active.push_back(h.begin(db, "run" + std::to_string(h.states.size())));
            continue;
        }
        const auto run = active[rng() % active.size()];
        const std::string key = "k" + std::to_string(rng() % 12);
        switch (rng() % 10) {
        case 0:
        case 1: h.erase(db, run, key); break;
        case 2:
            if (active.size() > 1) {
                h.end(db, run, rng() % 2 ? inmem::run_status::completed : inmem::run_status::failed);
                active.erase(std::find(active.begin(), active.end(), run));
                break;
            }
            [[fallthrough]];
        default: h.put(db, run, key, fresh_value(h, rng, rng() % 8 == 0 ? 1 + rng() % 3000 : 1 + rng() % 60));
        }
    }
}

/// The real file system without its syncs. These tests model a crash by editing files, so
/// what fdatasync would make durable plays no part; skipping it keeps the thousands of opens
/// fast on a slow or busy disk. (The lock is the real one.)
class unsynced_file_system final : public inmem::file_system {
    class file final : public inmem::append_file {
    public:
        explicit file(std::unique_ptr<inmem::append_file> f) : f_(std::move(f)) {}
        void append(std::string_view bytes) override { f_->append(bytes); }
        void sync() override {}
        std::uint64_t size() const override { return f_->size(); }

    private:
        std::unique_ptr<inmem::append_file> f_;
    };

public:
    std::unique_ptr<inmem::append_file> open_append(const fs::path& path, bool truncate) override {
        return std::make_unique<file>(real_.open_append(path, truncate));
    }
    std::string read_all(const fs::path& path) override { return real_.read_all(path); }
    void truncate(const fs::path& path, std::uint64_t size) override { fs::resize_file(path, size); }
    void rename(const fs::path& from, const fs::path& to) override { real_.rename(from, to); }
    void remove(const fs::path& path) override { real_.remove(path); }
    void sync_directory(const fs::path&) override {}
    std::vector<std::string> list(const fs::path& dir) override { return real_.list(dir); }
    void create_directories(const fs::path& dir) override { real_.create_directories(dir); }
    std::unique_ptr<inmem::directory_lock> lock_directory(const fs::path& dir) override {
        return real_.lock_directory(dir);
    }

private:
    inmem::posix_file_system real_;
};

inmem::open_options quick_options() {
    static const auto unsynced = std::make_shared<unsynced_file_system>();
    inmem::open_options o;
    o.snapshot_after_bytes = 0; // snapshots only when a test asks
    o.fs = unsynced;
    return o;
}

int trials(int quick) {
    if (const char* env = std::getenv("INMEM_CORRUPTION_TRIALS")) return std::max(1, std::atoi(env));
    return quick;
}
bool thorough() { return std::getenv("INMEM_CORRUPTION_TRIALS") != nullptr; }

/// Three sessions of commits over small segments (several per session), then a fourth that
/// begins two runs, puts a value of 40 KB (split over blocks) and makes four small commits:
/// the records the truncation test cuts through.
history build_wal_layout(const fs::path& dir) {
    history h;
    std::mt19937_64 rng(1001);
    auto options = quick_options();
    options.segment_bytes = 6000;
    for (int session = 0; session < 3; ++session) {
        db_t db(dir, options);
        workload(db, h, rng, 40);
    }
    db_t db(dir, quick_options()); // the last segment holds the records below
    auto run = h.begin(db, "last");
    auto other = h.begin(db, "other");
    h.put(db, run, "big", fresh_value(h, rng, 40000));
    h.put(db, run, "a", fresh_value(h, rng, 20));
    h.erase(db, run, "big");
    h.end(db, other, inmem::run_status::cancelled);
    h.put(db, run, "b", fresh_value(h, rng, 5));
    return h;
}

/// Two snapshots, with commits before, between and after them.
history build_snapshot_layout(const fs::path& dir) {
    history h;
    std::mt19937_64 rng(2002);
    {
        db_t db(dir, quick_options());
        workload(db, h, rng, 50);
        db.snapshot();
        workload(db, h, rng, 30);
    }
    db_t db(dir, quick_options());
    workload(db, h, rng, 30);
    db.snapshot();
    workload(db, h, rng, 30);
    return h;
}

bool is_documented_open_error(errc e) { return e == errc::corruption || e == errc::schema_mismatch; }

/// After an open that failed: nothing may have changed on disk.
void check_unchanged(const fs::path& dir, const file_map& before) {
    const auto after = read_dir(dir);
    CHECK(after.size() == before.size());
    for (const auto& [name, bytes] : before) {
        INFO(name);
        auto it = after.find(name);
        REQUIRE(it != after.end());
        CHECK(it->second == bytes);
    }
}

/// After a successful open: reopening finds nothing more to cut, the same state, and
/// takes writes that survive another reopen. After a crash, the writes come after every
/// version and run id the crashed session may have handed out.
void check_reopen_clean_and_writable(const fs::path& dir, const history& h) {
    inmem::version_t v = 0;
    bool clean = true;
    inmem::version_t reserved = 0;
    std::uint64_t reserved_run = 0;
    try {
        db_t db(dir, quick_options());
        CHECK(db.recovery().bytes_dropped == 0);
        CHECK_FALSE(db.recovery().repaired);
        v = h.check_prefix(db);
        clean = db.recovery().clean_shutdown;
        reserved = db.recovery().reserved_version;
        reserved_run = db.recovery().reserved_run;
    } catch (const inmem::error& e) {
        FAIL("what a successful open left does not open again: " << e.what());
    }
    state expected = clean ? h.states[v] : interrupted(h.states[v]);
    const std::uint64_t last_run = expected.runs.empty() ? 0 : expected.runs.rbegin()->first;
    inmem::version_t written = 0;
    {
        db_t db(dir, quick_options());
        const auto run = db.begin_run({.name = "after"});
        written = db.kv<std::string>().put(run, "after", "written after recovery");
        if (clean) {
            CHECK(written == v + 2);
            CHECK(run.value == last_run + 1);
        } else {
            CHECK(written > std::max(v, reserved) + 2); // the interruptions, the run, the put
            CHECK(run.value > std::max(last_run, reserved_run));
        }
        expected.runs[run.value] = inmem::run_status::active;
        expected.kv[{run.value, "after"}] = {"written after recovery", written};
    }
    db_t db(dir, quick_options());
    CHECK(db.recovery().bytes_dropped == 0);
    CHECK(db.recovery().clean_shutdown);
    CHECK(db.last_version() == written);
    CHECK(read_state(db) == expected);
}

} // namespace

TEST_CASE("corruption: an intact directory reopens with everything and reports nothing dropped", "[corruption]") {
    temp_dir dir;
    const auto h = build_wal_layout(dir.path());
    db_t db(dir.path()); // default options: the real file system, syncs included
    const auto& r = db.recovery();
    CHECK(h.check_prefix(db) == h.last());
    CHECK(r.bytes_dropped == 0);
    CHECK(r.dropped_why.empty());
    CHECK_FALSE(r.repaired);
    CHECK(r.snapshot.empty());
    CHECK(r.snapshots_skipped.empty());
    CHECK(r.segments_read >= 5);
    CHECK(r.commits_applied == h.last());
    CHECK(r.last_version == h.last());
}

TEST_CASE("corruption: a WAL cut at every byte of its last records loses only the cut commits, and says so",
          "[corruption]") {
    temp_dir dir;
    const auto h = build_wal_layout(dir.path());
    const file_map pristine = read_dir(dir.path());
    const auto segments = segments_of(pristine);
    const std::string last = segments.back(); // the last session's segment

    const std::string& data = pristine.at(last);
    // The last session's records, at the end of the segment (it goes on from the session
    // before): its header, its reservation, one commit each of begin, begin, big, a, erase,
    // end, b, and its close.
    const auto all = logical_records(data);
    REQUIRE(all.size() >= 10);
    const std::size_t first = all.size() - 10;
    REQUIRE(all[first].kind == header_record);
    REQUIRE(commits_in(all, first) == 7);
    const std::vector<logical_record> records(all.begin() + static_cast<std::ptrdiff_t>(first), all.end());
    const std::size_t session_start = first == 0 ? 0 : all[first - 1].end;
    const inmem::version_t base = h.last() - 7;

    // Every byte offset of the last session's records, except inside the 40 KB value: there,
    // the bytes near its fragments' edges and block boundaries and every 331st (every
    // 100000/N-th with INMEM_CORRUPTION_TRIALS=N, so every byte from N = 100000 on: several
    // minutes).
    const std::size_t big_begin = records[3].end;
    const std::size_t big_end = records[4].end;
    const std::size_t stride =
        thorough() ? std::max<std::size_t>(1, 100000 / static_cast<std::size_t>(trials(1))) : 331;
    auto wanted = [&](std::size_t t) {
        if (t <= big_begin || t >= big_end) return true;
        constexpr std::size_t B = inmem::detail::wal_block_size;
        const std::size_t in_block = t % B;
        return t < big_begin + 40 || t + 40 > big_end || in_block < 40 || in_block + 40 > B || t % stride == 0;
    };

    std::size_t cuts = 0, reported = 0;
    for (std::size_t t = session_start; t <= data.size(); ++t) {
        if (!wanted(t)) continue;
        ++cuts;
        INFO("cut " << last << " at " << t << " of " << data.size());
        auto files = pristine;
        files[last].resize(t);
        write_dir(dir.path(), files);

        std::size_t whole = 0, end = session_start; // commits that survive the cut
        for (const auto& r : records)
            if (r.end <= t) whole += is_commit(r.kind), end = r.end;
        const inmem::version_t expected = base + whole;
        // A cut after a record, or inside the zero trailer that follows it, leaves a clean log.
        constexpr std::size_t B = inmem::detail::wal_block_size;
        const bool only_trailer = t > end && B - end % B < inmem::detail::wal_header_size && t - end <= B - end % B;
        const bool torn = t != end && !only_trailer;
        {
            db_t db(dir.path(), quick_options());
            const auto& r = db.recovery();
            CHECK(h.check_prefix(db) == expected);
            CHECK(r.last_version == expected);
            CHECK_FALSE(r.repaired);
            if (torn) {
                ++reported;
                CHECK(r.bytes_dropped == t - end);
                CHECK_THAT(r.dropped_why, Catch::Contains(last));
            } else {
                CHECK(r.bytes_dropped == 0);
            }
        }
        CHECK(fs::file_size(dir.path() / last) == (torn ? end : t)); // the torn bytes are gone from the file
        if (t == data.size() || t % 11 == 0) check_reopen_clean_and_writable(dir.path(), h);
    }
    CHECK(cuts > 500);
    CHECK(reported > 0);
}

TEST_CASE("corruption: a zero-filled tail (the file grew, its data never landed) is a torn tail", "[corruption]") {
    temp_dir dir;
    const auto h = build_wal_layout(dir.path());
    const file_map pristine = read_dir(dir.path());
    const std::string last = segments_of(pristine).back();
    const auto ends = logical_ends(pristine.at(last)); // ..., the last commit, the close record
    auto files = pristine;
    auto& bytes = files[last];
    const bool zeroed_record = GENERATE(false, true);
    std::size_t dropped = 0;
    inmem::version_t expected = h.last();
    if (zeroed_record) { // the last commit's bytes (and the close record's) read back as zeros
        dropped = bytes.size() - ends[ends.size() - 3];
        std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(ends[ends.size() - 3]), bytes.end(), '\0');
        expected -= 1;
    } else { // zeros appended past the last commit
        dropped = 4096 + 7;
        bytes.append(dropped, '\0');
    }
    INFO((zeroed_record ? "last record zeroed" : "zeros appended"));
    write_dir(dir.path(), files);
    {
        db_t db(dir.path(), quick_options());
        const auto& r = db.recovery();
        CHECK(h.check_prefix(db) == expected);
        CHECK(r.bytes_dropped == dropped);
        CHECK_THAT(r.dropped_why, Catch::Contains(last) && Catch::Contains("zero"));
        CHECK_FALSE(r.repaired);
    }
    check_reopen_clean_and_writable(dir.path(), h);
}

TEST_CASE("corruption: random bit flips never crash, never invent a value, and are reported", "[corruption]") {
    temp_dir dir;
    const bool with_snapshots = GENERATE(false, true);
    INFO((with_snapshots ? "two snapshots and the WAL they need" : "WAL only, several segments"));
    const auto h = with_snapshots ? build_snapshot_layout(dir.path()) : build_wal_layout(dir.path());
    const file_map pristine = read_dir(dir.path());
    std::vector<std::string> names;
    for (const auto& [name, bytes] : pristine)
        if (!bytes.empty()) names.push_back(name);
    if (with_snapshots) REQUIRE(snapshots_of(pristine).size() == 2);

    std::mt19937_64 rng(with_snapshots ? 77 : 78);
    const int n = trials(300);
    int refused = 0, shortened = 0;
    for (int trial = 0; trial < n; ++trial) {
        auto files = pristine;
        // Any file; every other trial the newest segment, where a flip may leave a torn tail.
        const std::string name = trial % 2 ? segments_of(pristine).back() : names[rng() % names.size()];
        auto& bytes = files[name];
        const int flips = 1 + static_cast<int>(rng() % 3);
        std::ostringstream what;
        for (int i = 0; i < flips; ++i) {
            const std::size_t pos = rng() % bytes.size();
            const int bit = static_cast<int>(rng() % 8);
            bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << bit));
            what << " byte " << pos << " bit " << bit;
        }
        INFO("trial " << trial << ": " << name << " (" << bytes.size() << " bytes):" << what.str());
        write_dir(dir.path(), files);

        // Default: refused with a documented error, or a prefix with the loss reported.
        std::optional<inmem::version_t> plain;
        try {
            db_t db(dir.path(), quick_options());
            plain = h.check_prefix(db);
            if (*plain < h.last()) {
                ++shortened;
                CHECK(db.recovery().bytes_dropped > 0);
                CHECK_FALSE(db.recovery().dropped_why.empty());
            }
            if (name.starts_with("snapshot-")) {
                // A damaged snapshot is passed over; the older one, or the whole WAL, has everything.
                CHECK(*plain == h.last());
                if (name == snapshots_of(pristine).back()) {
                    REQUIRE(db.recovery().snapshots_skipped.size() == 1);
                    CHECK_THAT(db.recovery().snapshots_skipped[0], Catch::Contains(name));
                } else {
                    CHECK(db.recovery().snapshots_skipped.empty());
                }
            }
        } catch (const inmem::error& e) {
            ++refused;
            const auto code = static_cast<errc>(e.code().value());
            INFO(e.what());
            CHECK(is_documented_open_error(code));
            if (code == errc::corruption) CHECK_THAT(e.what(), Catch::Contains(name));
            check_unchanged(dir.path(), files); // a refused open changes nothing
        }

        // Repair: always opens; whatever it cut, it says.
        write_dir(dir.path(), files);
        bool opened = false;
        try {
            auto options = quick_options();
            options.repair = true;
            db_t db(dir.path(), options);
            const auto v = h.check_prefix(db);
            if (plain) CHECK(v == *plain); // repair changes nothing that opened without it
            if (v < h.last()) {
                CHECK(db.recovery().bytes_dropped > 0);
                CHECK_FALSE(db.recovery().dropped_why.empty());
            }
            if (!plain) CHECK(db.recovery().repaired);
            opened = true;
        } catch (const inmem::error& e) {
            INFO(e.what());
            // Only a flip that made a whole record of another schema could refuse a repair.
            CHECK(static_cast<errc>(e.code().value()) == errc::schema_mismatch);
        }
        // What repair left opens cleanly, as it is, and takes writes.
        if (opened) check_reopen_clean_and_writable(dir.path(), h);
    }
    INFO("refused " << refused << ", shortened " << shortened << " of " << n);
    CHECK(refused + shortened > 0);
}

TEST_CASE("corruption: damage followed by valid records fails the open; repair cuts there and reports it",
          "[corruption]") {
    temp_dir dir;
    const auto h = build_wal_layout(dir.path());
    const file_map pristine = read_dir(dir.path());
    const auto segments = segments_of(pristine);
    REQUIRE(segments.size() >= 4);

    // Damage one commit in the middle of a segment; count the commits before it.
    const bool in_last = GENERATE(true, false);
    const std::string name = in_last ? segments.back() : segments[1];
    INFO("damaged: " << name << (in_last ? " (the last segment)" : " (later segments follow)"));
    const auto records = logical_records(pristine.at(name));
    REQUIRE(records.size() >= 5);
    std::size_t damaged = records.size() / 2; // a commit in the middle
    while (!is_commit(records[damaged].kind)) ++damaged;
    const std::size_t start = records[damaged - 1].end;
    std::uint64_t later_bytes = 0;
    inmem::version_t commits_after = 0; // commits of the damaged record and everything after it
    for (auto it = std::find(segments.begin(), segments.end(), name); it != segments.end(); ++it) {
        const auto r = logical_records(pristine.at(*it));
        if (*it == name) commits_after += commits_in(r, damaged);
        else commits_after += commits_in(r), later_bytes += pristine.at(*it).size();
    }
    auto files = pristine;
    files[name][start + 20] ^= 0x04; // inside the record's payload
    write_dir(dir.path(), files);

    try {
        db_t db(dir.path(), quick_options());
        FAIL("the damaged log opened without repair");
    } catch (const inmem::error& e) {
        CHECK(e.code() == errc::corruption);
        CHECK_THAT(e.what(), Catch::Contains(name) && Catch::Contains("repair"));
    }
    check_unchanged(dir.path(), files);

    inmem::version_t v;
    {
        auto options = quick_options();
        options.repair = true;
        db_t db(dir.path(), options);
        const auto& r = db.recovery();
        v = h.check_prefix(db);
        CHECK(v == h.last() - commits_after);
        CHECK(r.repaired);
        CHECK(r.bytes_dropped == pristine.at(name).size() - start + later_bytes);
        CHECK_THAT(r.dropped_why, Catch::Contains(name));
    }
    // The damaged segment ends where the damage began and later segments are gone; the
    // session that repaired wrote nothing (it goes on at the end of the damaged one).
    CHECK(fs::file_size(dir.path() / name) == start);
    const std::vector<std::string> expected(segments.begin(), std::find(segments.begin(), segments.end(), name) + 1);
    CHECK(segments_of(read_dir(dir.path())) == expected);
    check_reopen_clean_and_writable(dir.path(), h);
}

TEST_CASE("corruption: a missing segment fails the open; repair drops everything after the gap and counts it",
          "[corruption]") {
    temp_dir dir;
    const auto h = build_wal_layout(dir.path());
    const file_map pristine = read_dir(dir.path());
    const auto segments = segments_of(pristine);
    REQUIRE(segments.size() >= 4);
    const std::size_t gap = GENERATE(1, 2); // at 1, more is dropped than was read
    auto files = pristine;
    files.erase(segments[gap]);
    std::uint64_t after_gap_bytes = 0;
    inmem::version_t kept = 0;
    for (std::size_t i = 0; i < gap; ++i) kept += commits_in(logical_records(pristine.at(segments[i])));
    for (std::size_t i = gap; i < segments.size(); ++i)
        if (i > gap) after_gap_bytes += pristine.at(segments[i]).size();
    write_dir(dir.path(), files);

    try {
        db_t db(dir.path(), quick_options());
        FAIL("a log with a missing segment opened without repair");
    } catch (const inmem::error& e) {
        CHECK(e.code() == errc::corruption);
        CHECK_THAT(e.what(), Catch::Contains("missing"));
    }
    check_unchanged(dir.path(), files);

    auto options = quick_options();
    options.repair = true;
    {
        db_t db(dir.path(), options);
        const auto& r = db.recovery();
        CHECK(h.check_prefix(db) == kept);
        CHECK(r.repaired);
        CHECK_THAT(r.dropped_why, Catch::Contains("missing"));
        // Every byte of every segment after the gap was dropped, and the report says so.
        CHECK(r.bytes_dropped == after_gap_bytes);
    }
    // Segments from the gap on are gone; the session that repaired wrote nothing.
    const std::vector<std::string> expected(segments.begin(), segments.begin() + gap);
    CHECK(segments_of(read_dir(dir.path())) == expected);
    check_reopen_clean_and_writable(dir.path(), h);
}

TEST_CASE("corruption: after a repair that dropped more bytes than it read, new commits still reach the log",
          "[corruption]") {
    // Found by the recovery fuzzer: the log's position was computed as bytes read minus bytes
    // dropped, which wrapped below zero, so the next commits counted as durable and were never
    // written.
    temp_dir dir;
    write_dir(dir.path(), {{"wal-00000001.log", ""}, {"wal-00000009.log", "12345"}});
    inmem::run_id run;
    {
        auto options = quick_options();
        options.repair = true;
        db_t db(dir.path(), options);
        CHECK(db.recovery().repaired);
        CHECK(db.recovery().bytes_dropped == 5);
        run = db.begin_run();
        db.kv<std::string>().put(run, "k", "kept");
    }
    db_t db(dir.path(), quick_options());
    CHECK(db.kv<std::string>().get(run, "k") == "kept");
}

TEST_CASE("corruption: a damaged newest snapshot falls back to the older one and loses nothing", "[corruption]") {
    temp_dir dir;
    const auto h = build_snapshot_layout(dir.path());
    const file_map pristine = read_dir(dir.path());
    const auto snaps = snapshots_of(pristine);
    REQUIRE(snaps.size() == 2);

    {
        db_t db(dir.path(), quick_options());
        CHECK(db.recovery().snapshot == snaps[1]);
        CHECK(db.recovery().snapshots_skipped.empty());
        CHECK(h.check_prefix(db) == h.last());
    }
    write_dir(dir.path(), pristine);

    const int damage = GENERATE(0, 1, 2, 3);
    auto files = pristine;
    auto& newest = files[snaps[1]];
    switch (damage) {
    case 0: newest[newest.size() / 2] ^= 0x20; break;      // a record's bytes
    case 1: newest.resize(newest.size() - 1); break;        // cut short
    case 2: newest[3] ^= 0x01; break;                       // the magic
    case 3: newest.clear(); break;                          // empty
    }
    INFO("damage " << damage);
    write_dir(dir.path(), files);
    {
        db_t db(dir.path(), quick_options());
        const auto& r = db.recovery();
        CHECK(r.snapshot == snaps[0]);
        REQUIRE(r.snapshots_skipped.size() == 1);
        CHECK_THAT(r.snapshots_skipped[0], Catch::Contains(snaps[1]));
        CHECK(h.check_prefix(db) == h.last()); // the WAL after the older snapshot was kept
        CHECK(r.bytes_dropped == 0);
    }
    check_reopen_clean_and_writable(dir.path(), h);
}

TEST_CASE("corruption: every snapshot damaged and the WAL before them gone", "[corruption]") {
    temp_dir dir;
    const auto h = build_snapshot_layout(dir.path());
    auto files = read_dir(dir.path());
    const auto snaps = snapshots_of(files);
    REQUIRE(snaps.size() == 2);
    REQUIRE(files.count("wal-00000001.log") == 0); // deleted once the older snapshot covered it
    for (const auto& s : snaps) files[s][files[s].size() / 3] ^= 0x08;
    write_dir(dir.path(), files);

    // The history the snapshots held (the run index among it) cannot be rebuilt from the WAL
    // that is left, so the open is refused, with and without repair, and changes nothing.
    for (bool repair : {false, true}) {
        CAPTURE(repair);
        auto options = quick_options();
        options.repair = repair;
        try {
            db_t db(dir.path(), options);
            FAIL("opened without the data of its snapshots");
        } catch (const inmem::error& e) {
            CHECK(e.code() == errc::corruption);
            CHECK_THAT(e.what(), Catch::Contains("every snapshot is damaged") &&
                                     Catch::Contains("cannot be rebuilt"));
        }
        check_unchanged(dir.path(), files);
    }
}

TEST_CASE("corruption: a damaged only snapshot falls back to the whole WAL; a leftover .tmp is removed",
          "[corruption]") {
    temp_dir dir;
    history h;
    std::mt19937_64 rng(3003);
    {
        db_t db(dir.path(), quick_options());
        workload(db, h, rng, 40);
        db.snapshot();
        workload(db, h, rng, 20);
    }
    auto files = read_dir(dir.path());
    const auto snaps = snapshots_of(files);
    REQUIRE(snaps.size() == 1);
    REQUIRE(files.count("wal-00000001.log") == 1); // one snapshot deletes no WAL
    files[snaps[0]][files[snaps[0]].size() / 2] ^= 0x40;
    const std::string tmp = "snapshot-00000000000000ff.snap.tmp"; // a snapshot interrupted mid-write
    files[tmp] = "half a snapshot";
    write_dir(dir.path(), files);
    {
        db_t db(dir.path(), quick_options());
        const auto& r = db.recovery();
        CHECK(r.snapshot.empty());
        REQUIRE(r.snapshots_skipped.size() == 1);
        CHECK_THAT(r.snapshots_skipped[0], Catch::Contains(snaps[0]));
        CHECK(h.check_prefix(db) == h.last());
        CHECK(r.commits_applied == h.last());
    }
    CHECK_FALSE(fs::exists(dir.path() / tmp));
    check_reopen_clean_and_writable(dir.path(), h);
}

TEST_CASE("corruption: a damaged snapshot whose commits no WAL holds is refused; repair says what is lost",
          "[corruption]") {
    // The old code opened this directory as an empty database, saying so only in
    // recovery().snapshots_skipped.
    temp_dir dir;
    history h;
    std::mt19937_64 rng(4004);
    {
        auto options = quick_options();
        options.segment_bytes = 2000;
        db_t db(dir.path(), options);
        workload(db, h, rng, 40);
        db.snapshot();
    }
    auto files = read_dir(dir.path());
    const auto snaps = snapshots_of(files);
    REQUIRE(snaps.size() == 1);
    const auto snapshot_version = *inmem::detail::parse_snapshot_name(snaps[0]);
    for (const auto& segment : segments_of(files)) files.erase(segment); // the WAL it replaced is gone
    files[snaps[0]][files[snaps[0]].size() / 2] ^= 0x10;
    write_dir(dir.path(), files);
    try {
        db_t db(dir.path(), quick_options());
        FAIL("a damaged snapshot that held everything opened as a database without it");
    } catch (const inmem::error& e) {
        CHECK(e.code() == errc::corruption);
        CHECK_THAT(e.what(), Catch::Contains(snaps[0]) && Catch::Contains("lost") && Catch::Contains("repair"));
    }
    check_unchanged(dir.path(), files);
    auto options = quick_options();
    options.repair = true;
    {
        db_t db(dir.path(), options);
        const auto& r = db.recovery();
        CHECK(r.repaired);
        CHECK_THAT(r.lost, Catch::Contains(snaps[0]) && Catch::Contains("1 to " + std::to_string(snapshot_version)));
        CHECK(db.runs().empty());
        // The versions the snapshot held were seen: new commits come after them.
        const auto run = db.begin_run();
        CHECK(db.last_version() > snapshot_version);
        CHECK(run.value >= 1);
    }
}

TEST_CASE("corruption: a record whose checksum holds but whose content does not decode is corruption",
          "[corruption]") {
    temp_dir dir;
    history h;
    {
        db_t db(dir.path(), quick_options());
        auto run = h.begin(db, "r");
        for (int i = 0; i < 5; ++i) h.put(db, run, "k" + std::to_string(i), "value " + std::to_string(i));
    }
    auto files = read_dir(dir.path());
    const std::string segment = segments_of(files).back();
    auto& bytes = files[segment];
    const std::size_t size = bytes.size();
    // Well-formed physical records (valid checksums) around a payload that is no commit.
    inmem::detail::wal_formatter f(*inmem::detail::parse_wal_segment_name(segment), size);
    f.add(std::string("\x02not a commit", 13), bytes);
    const bool followed = GENERATE(false, true);
    if (followed) {
        std::vector<inmem::detail::write_op> ops{{inmem::detail::write_op::kind::put, "any", "never applied"}};
        std::string commit;
        inmem::detail::append_commit_payload(commit, h.last() + 2, ops);
        f.add(commit, bytes);
    }
    INFO((followed ? "followed by a valid commit" : "at the end of the log"));
    write_dir(dir.path(), files);
    try {
        db_t db(dir.path(), quick_options());
        FAIL("a record that does not decode was accepted");
    } catch (const inmem::error& e) {
        CHECK(e.code() == errc::corruption);
        CHECK_THAT(e.what(), Catch::Contains(segment) && Catch::Contains("decode"));
    }
    check_unchanged(dir.path(), files);
    {
        auto options = quick_options();
        options.repair = true;
        db_t db(dir.path(), options);
        const auto& r = db.recovery();
        CHECK(h.check_prefix(db) == h.last());
        CHECK(r.repaired);
        CHECK(r.bytes_dropped == bytes.size() - size);
        CHECK_THAT(r.dropped_why, Catch::Contains(segment));
    }
    CHECK(fs::file_size(dir.path() / segment) == size);
    check_reopen_clean_and_writable(dir.path(), h);
}

namespace schema_v1 {
struct Note {
    std::string text;
    int priority = 0;
};
} // namespace schema_v1
namespace schema_v2 {
struct Note { // a field added
    std::string text;
    int priority = 0;
    bool done = false;
};
} // namespace schema_v2

// (A schema that keeps some of the types migrates: tests/durability/migration.cpp.)
TEST_CASE("corruption: a directory written under a schema with no type in common is refused, naming the types",
          "[corruption]") {
    using v1_db = inmem::basic_database<inmem::schema<inmem::kv<schema_v1::Note>>, inmem::durability::strict>;
    using v2_db = inmem::basic_database<inmem::schema<inmem::kv<schema_v2::Note>>, inmem::durability::strict>;
    using int_db = inmem::basic_database<inmem::schema<inmem::kv<std::int64_t>>, inmem::durability::strict>;
    using two_db =
        inmem::basic_database<inmem::schema<inmem::kv<schema_v1::Note, std::int64_t>>, inmem::durability::strict>;
    temp_dir dir;
    const bool with_snapshot = GENERATE(false, true);
    INFO((with_snapshot ? "from a snapshot" : "from the WAL"));
    {
        v1_db db(dir.path(), quick_options());
        auto run = db.begin_run();
        db.kv<schema_v1::Note>().put(run, "n", {"plan", 2});
        if (with_snapshot) db.snapshot();
    }
    const auto before = read_dir(dir.path());
    auto refused = [&](auto open, std::string_view type) {
        try {
            open();
            FAIL("opened under another schema");
        } catch (const inmem::error& e) {
            CHECK(e.code() == errc::schema_mismatch);
            CHECK_THAT(e.what(), Catch::Contains(std::string(type)));
        }
        check_unchanged(dir.path(), before);
    };
    SECTION("the type has another name") { refused([&] { v2_db db(dir.path(), quick_options()); }, "schema_v1::Note"); }
    SECTION("the type changed") { refused([&] { int_db db(dir.path(), quick_options()); }, "long"); }
    SECTION("a slot added: not refused, migrated") {
        two_db db(dir.path(), quick_options());
        CHECK_FALSE(db.recovery().schema_changes.empty());
        CHECK(db.kv<schema_v1::Note>().get(db.runs().at(0).id, "n")->text == "plan");
    }
    SECTION("the schema that wrote it still opens it") {
        v1_db db(dir.path(), quick_options());
        auto run = db.runs().at(0).id;
        auto note = db.kv<schema_v1::Note>().get(run, "n");
        REQUIRE(note);
        CHECK(note->text == "plan");
        CHECK(note->priority == 2);
    }
}

TEST_CASE("corruption: a directory open in this process cannot be opened again until closed", "[corruption]") {
    temp_dir dir;
    history h;
    {
        db_t first(dir.path());
        auto run = h.begin(first, "r");
        h.put(first, run, "k", "v");
        try {
            db_t second(dir.path());
            FAIL("opened twice");
        } catch (const inmem::error& e) {
            CHECK(e.code() == errc::database_locked);
            CHECK_THAT(e.what(), Catch::Contains(dir.path().string()));
        }
        // The first is unaffected.
        h.put(first, run, "k2", "v2");
    }
    db_t again(dir.path());
    CHECK(h.check_prefix(again) == h.last());
}

// A crash in the middle of writing a commit leaves a torn tail, whatever the value holds.
// Here the value carries the bytes of a WAL record of the very segment it is written to (an
// agent keeping a copy of a log file, say); the crash cut the commit after that copy.
TEST_CASE("corruption: a torn commit whose value holds WAL bytes is a torn tail, not corruption", "[corruption]") {
    temp_dir dir;
    history h;
    std::string segment;
    {
        db_t db(dir.path(), quick_options());
        auto run = h.begin(db, "r");
        h.put(db, run, "before", "kept");
        const auto segs = segments_of(read_dir(dir.path()));
        segment = segs.back();
        std::string inner;
        inmem::detail::wal_formatter(*inmem::detail::parse_wal_segment_name(segment), 0).add("copied", inner);
        h.put(db, run, "file", "log bytes: " + inner + std::string(100, '.'));
    }
    auto files = read_dir(dir.path());
    const auto ends = logical_ends(files[segment]);
    files[segment].resize(files[segment].size() - 50); // the crash: the last 50 bytes never written
    write_dir(dir.path(), files);
    try {
        db_t db(dir.path(), quick_options());
        CHECK(h.check_prefix(db) == h.last() - 1);
        CHECK(db.recovery().bytes_dropped == files[segment].size() - ends[ends.size() - 3]); // the commit, the close
    } catch (const inmem::error& e) {
        FAIL("a torn tail refused as " << e.what());
    }
}
