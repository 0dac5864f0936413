// Tests of what recovery refuses although every checksum holds: files that are well-formed
// but impossible, as a buggy writer, a bad copy or a crafted file makes them (issue 9, bug 6).
// Each case takes a real database directory, adds or rewrites one record with valid
// checksums (wal_formatter and write_snapshot recompute them), and checks that the open is
// refused with errc::corruption naming the file (and, in the WAL, the offset), that repair
// cuts the log there and keeps what precedes it, and that what repair leaves opens and takes
// writes. Cases the old code accepted are marked: a version of 2^64 - 1 (the version counter
// wrapped and counter::add() spun forever), records newer than their snapshot (the CAS check
// saw them, reads did not; a run record among them made db.snapshot() write a directory that
// did not reopen), a snapshot that says the log continues at segment 0 (repair then deleted
// an acknowledged run).
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace d = inmem::detail;
using inmem::errc;
using inmem_test::temp_dir;

using note_schema = inmem::schema<inmem::kv<std::string>, inmem::states<inmem::counter>>;
using db_t = inmem::basic_database<note_schema, inmem::durability::strict>;

using inmem_test::read_file;
using inmem_test::write_file;
std::vector<std::string> files_starting(const fs::path& dir, std::string_view prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

/// A database with one run holding two keys and a counter at 2: versions 1..5, closed.
inmem::run_id make_database(const fs::path& dir) {
    db_t db(dir);
    auto run = db.begin_run({.name = "r"});
    db.kv<std::string>().put(run, "a", "1");
    db.kv<std::string>().put(run, "b", "2");
    db.states<inmem::counter>().add(run, "c", 1);
    db.states<inmem::counter>().add(run, "c", 1);
    return run;
}

d::schema_stamp stamp() { return d::stamp_of<note_schema>(); }

/// Appends logical records (with valid checksums) to the last WAL segment of dir; returns
/// the segment's name and where the first of them begins.
std::pair<std::string, std::uint64_t> append_records(const fs::path& dir, const std::vector<std::string>& payloads) {
    const std::string segment = files_starting(dir, "wal-").back();
    std::string bytes = read_file(dir / segment);
    const std::uint64_t start = bytes.size();
    d::wal_formatter f(*d::parse_wal_segment_name(segment), bytes.size());
    for (const auto& p : payloads) f.add(p, bytes);
    write_file(dir / segment, bytes);
    return {segment, start};
}

std::string commit(inmem::version_t v, std::vector<d::write_op> ops) {
    std::string p;
    d::append_commit_payload(p, v, ops);
    return p;
}
std::string kv_key(std::uint64_t run, std::string_view key, std::uint16_t slot = 0) {
    return d::run_data_key(d::default_namespace, run, 1, slot, key);
}
d::write_op put(std::string key, std::string bytes = inmem::encode(std::string("x"))) {
    return {d::write_op::kind::put, std::move(key), std::move(bytes)};
}

/// The open is refused with corruption naming `what` (file, offset...); repair opens,
/// keeps the database's first five commits, and what it leaves takes writes.
void refused_then_repaired(const fs::path& dir, const std::vector<std::string>& what, inmem::run_id run,
                           inmem::version_t kept = 5) {
    try {
        db_t db(dir);
        FAIL("an impossible log opened; last_version " << db.last_version());
    } catch (const inmem::error& e) {
        INFO(e.what());
        CHECK(e.code() == errc::corruption);
        for (const auto& w : what) CHECK_THAT(e.what(), Catch::Contains(w));
    }
    {
        db_t db(dir, {.repair = true});
        CHECK(db.recovery().repaired);
        CHECK(db.last_version() == kept);
        CHECK(db.kv<std::string>().get(run, "b") == "2");
        CHECK(db.states<inmem::counter>().value("c") == 2);
        // What the cut left may end in the crafted session's header: a session that did not
        // close, whose run is interrupted.
        if (db.run(run).status == inmem::run_status::interrupted) db.resume_run(run);
        CHECK(db.states<inmem::counter>().add(run, "c", 1) == 3); // terminates: versions are sane
    }
    db_t db(dir);
    CHECK_FALSE(db.recovery().repaired);
    CHECK(db.states<inmem::counter>().value("c") == 3);
}

} // namespace

TEST_CASE("validation: a commit whose version is not the previous one plus one is refused", "[validation]") {
    const inmem::version_t bad = GENERATE(~inmem::version_t{0}, inmem::version_t{7}, inmem::version_t{5},
                                          inmem::version_t{3}, inmem::version_t{0});
    CAPTURE(bad);
    temp_dir dir;
    const auto run = make_database(dir.path());
    // A session that starts correctly (base 5, versions reserved), then commits `bad`.
    const auto [segment, at] = append_records(
        dir.path(), {d::wal_header_payload(5, stamp()), d::wal_reserve_payload(1000, 100),
                     commit(bad, {put(kv_key(run.value, "z"))})});
    refused_then_repaired(dir.path(), {segment, "offset", "commit version " + std::to_string(bad)}, run);
}

TEST_CASE("validation: a header that skips versions beyond any reservation is refused", "[validation]") {
    temp_dir dir;
    const auto run = make_database(dir.path());
    // After a clean close nothing is reserved: a session may not begin past version 5.
    const auto [segment, at] = append_records(
        dir.path(), {d::wal_header_payload(100, stamp()), d::wal_reserve_payload(2000, 100),
                     commit(101, {put(kv_key(run.value, "z"))})});
    refused_then_repaired(dir.path(), {segment, "offset " + std::to_string(at), "skips"}, run);
}

TEST_CASE("validation: commits beyond the reservation, after a close, or a reservation below them are refused",
          "[validation]") {
    temp_dir dir;
    const auto run = make_database(dir.path());
    const int which = GENERATE(0, 1, 2, 3);
    std::vector<std::string> records;
    std::string expect;
    switch (which) {
    case 0: // a commit past the session's reservation
        records = {d::wal_header_payload(5, stamp()), d::wal_reserve_payload(6, 100), commit(6, {}), commit(7, {})};
        expect = "beyond the reservation";
        break;
    case 1: // the database closed, then a commit without a new session's header
        records = {commit(6, {})};
        expect = "after its session closed";
        break;
    case 2: // a reservation below what is committed
        records = {d::wal_header_payload(5, stamp()), d::wal_reserve_payload(2, 100)};
        expect = "below what was committed";
        break;
    case 3: // a second close
        records = {d::wal_close_payload()};
        expect = "close record where none can be";
        break;
    }
    CAPTURE(which);
    const auto [segment, at] = append_records(dir.path(), records);
    refused_then_repaired(dir.path(), {segment, "offset", expect}, run, which == 0 ? 6 : 5);
}

TEST_CASE("validation: commits whose keys break the key grammar are refused", "[validation]") {
    temp_dir dir;
    const auto run = make_database(dir.path());
    const int which = GENERATE(0, 1, 2, 3, 4, 5);
    d::write_op op;
    std::string expect;
    switch (which) {
    case 0: // a run index key two bytes short (rebuilding the run index read past it)
        op = put(d::run_catalog_key(0, 2).substr(0, 12), inmem::encode(std::string("r")));
        expect = "malformed run index key";
        break;
    case 1: // a KV record of a slot the schema does not have
        op = put(kv_key(run.value, "k", 9));
        expect = "slot 9";
        break;
    case 2: // a state record without its writer
        op = put([] {
            std::string k;
            d::shared_key_into(k, 0, 3, 1, "c");
            return k;
        }(), "");
        expect = "a state record of slot 1 (inmem::counter) with a value its family refuses";
        break;
    case 3: // a state journal key too short to hold its version
        op = put(d::run_data_key(0, run.value, 3, 1, "c"), std::string(8, '\0'));
        expect = "a state record of slot 1 (inmem::counter) with a key its family cannot parse";
        break;
    case 4: // data of run 0
        op = put(kv_key(0, "k"));
        expect = "run 0";
        break;
    case 5: // a key of no space at all
        op = put(std::string("\0\0\0\0\x09zzzz", 9));
        expect = "unknown space";
        break;
    }
    CAPTURE(which);
    const auto [segment, at] = append_records(
        dir.path(), {d::wal_header_payload(5, stamp()), d::wal_reserve_payload(1000, 100), commit(6, {op})});
    refused_then_repaired(dir.path(), {segment, expect}, run);
}

TEST_CASE("validation: a segment number that leaves no room for the next one is refused", "[validation]") {
    temp_dir dir;
    make_database(dir.path());
    const auto segment = files_starting(dir.path(), "wal-").back();
    fs::copy_file(dir.path() / segment, dir.path() / "wal-4294967295.log");
    for (bool repair : {false, true}) {
        try {
            db_t db(dir.path(), {.repair = repair});
            FAIL("opened with segment 2^32 - 1");
        } catch (const inmem::error& e) {
            CHECK(e.code() == errc::corruption);
            CHECK_THAT(e.what(), Catch::Contains("wal-4294967295.log"));
        }
    }
}

// ---- snapshots -------------------------------------------------------------------------

namespace {

/// Replaces the database's only snapshot (taken at version 5) by one rewritten by edit, and
/// deletes the WAL it replaced, so that nothing else holds its commits.
template <class Edit>
void rewrite_snapshot(const fs::path& dir, Edit&& edit) {
    {
        db_t db(dir);
        db.snapshot();
    }
    const auto snaps = files_starting(dir, "snapshot-");
    REQUIRE(snaps.size() == 1);
    std::string why;
    auto data = d::read_snapshot(read_file(dir / snaps[0]), why, snaps[0]);
    REQUIRE(data);
    fs::remove(dir / snaps[0]);
    for (const auto& segment : files_starting(dir, "wal-")) fs::remove(dir / segment);
    edit(data->head, data->records);
    inmem::posix_file_system real;
    d::write_snapshot(real, dir, data->head, [&](const d::snapshot_emit& emit) {
        for (const auto& r : data->records) emit(r.key, r.version, r.bytes);
    });
}

/// The snapshot is passed over as impossible (saying why); since nothing else holds its
/// commits, the open is refused, with repair too unless allowed to lose them.
void snapshot_refused(const fs::path& dir, std::string_view why) {
    const auto snap = files_starting(dir, "snapshot-").at(0);
    try {
        db_t db(dir);
        FAIL("an impossible snapshot was loaded");
    } catch (const inmem::error& e) {
        INFO(e.what());
        CHECK(e.code() == errc::corruption);
        CHECK_THAT(e.what(), Catch::Contains(snap) && Catch::Contains(std::string(why)));
    }
    db_t db(dir, {.repair = true});
    CHECK(db.recovery().snapshot.empty());
    REQUIRE(db.recovery().snapshots_skipped.size() == 1);
    CHECK_THAT(db.recovery().snapshots_skipped[0], Catch::Contains(std::string(why)));
    CHECK_FALSE(db.recovery().lost.empty());
    db.begin_run(); // and what is left takes writes
}

} // namespace

TEST_CASE("validation: a snapshot holding records newer than itself is impossible", "[validation]") {
    temp_dir dir;
    make_database(dir.path());
    const bool run_record = GENERATE(false, true);
    CAPTURE(run_record);
    rewrite_snapshot(dir.path(), [&](d::snapshot_header& head, std::vector<d::snapshot_record>& records) {
        for (auto& r : records) {
            const bool is_run = r.key.size() == 14 && r.key[4] == 0;
            if (is_run == run_record) {
                r.version = head.version + 10;
                break;
            }
        }
    });
    snapshot_refused(dir.path(), "outside [1, 5]");
}

TEST_CASE("validation: a snapshot that continues at segment 0, or names another version, is impossible",
          "[validation]") {
    temp_dir dir;
    make_database(dir.path());
    const int which = GENERATE(0, 1, 2, 3);
    CAPTURE(which);
    std::string why;
    rewrite_snapshot(dir.path(), [&](d::snapshot_header& head, std::vector<d::snapshot_record>& records) {
        switch (which) {
        case 0: head.next_segment = 0, why = "segment 0"; break;
        case 1: head.reserved_versions = 2, why = "reservation"; break;
        case 2: records[0].version = 0, why = "version 0"; break;
        case 3: std::swap(records[0], records[1]), why = "key order"; break;
        }
    });
    if (which == 3) why = "not after the one before it in key order";
    snapshot_refused(dir.path(), why);
}

TEST_CASE("validation: a snapshot whose header names another version than its file is impossible",
          "[validation]") {
    temp_dir dir;
    make_database(dir.path());
    rewrite_snapshot(dir.path(), [](d::snapshot_header&, std::vector<d::snapshot_record>&) {});
    const auto snap = files_starting(dir.path(), "snapshot-").at(0);
    fs::rename(dir.path() / snap, dir.path() / d::snapshot_name(4));
    snapshot_refused(dir.path(), "not the one in its name");
}

TEST_CASE("validation: a run index that skips, overlaps a gap or names a later parent is refused",
          "[validation]") {
    temp_dir dir;
    const auto run = make_database(dir.path());
    const int which = GENERATE(0, 1, 2);
    CAPTURE(which);
    inmem::run_info info{.id = inmem::run_id{2}, .name = "crafted"};
    std::vector<d::write_op> ops;
    std::string expect;
    switch (which) {
    case 0: // run 3 without a run 2
        info.id = inmem::run_id{3};
        ops = {put(d::run_catalog_key(0, 3), inmem::encode(info))};
        expect = "skips from run 1 to run 3";
        break;
    case 1: { // a gap over run 1
        std::string last;
        d::append_big_endian(last, std::uint64_t{1});
        ops = {put(d::run_gap_key(0, 1), last)};
        expect = "gap";
        break;
    }
    case 2: // a parent that comes after the run
        info.parent = inmem::run_id{7};
        ops = {put(d::run_catalog_key(0, 2), inmem::encode(info))};
        expect = "not an earlier run";
        break;
    }
    append_records(dir.path(), {d::wal_header_payload(5, stamp()), d::wal_reserve_payload(1000, 100), commit(6, ops)});
    for (bool repair : {false, true}) { // the log itself is whole: repair has nothing to cut
        try {
            db_t db(dir.path(), {.repair = repair});
            FAIL("an impossible run index opened");
        } catch (const inmem::error& e) {
            INFO(e.what());
            CHECK(e.code() == errc::corruption);
            CHECK_THAT(e.what(), Catch::Contains("run index") && Catch::Contains(expect));
        }
    }
    (void)run;
}
