// The database's files describe its own types (WAL format 4, snapshot format 4): every WAL
// header and every snapshot carries each slot's description, and a value read from the files
// decodes by that description alone (json/generic.hpp) into the JSON the typed decoder makes.
// Files of the formats before still open (their descriptions read as empty).
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>
#include <inmem/json.hpp>

#include "../support.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace d = inmem::detail;

namespace {
struct Note {
    std::string text;
    std::optional<int> priority;
    std::map<std::string, double> weights;
    bool operator==(const Note&) const = default;
};
struct Status {
    int step = 0;
};
using described_schema = inmem::schema<inmem::kv<Note>, inmem::states<Status>>;
using db_type = inmem::basic_database<described_schema, inmem::durability::strict>;

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::filesystem::path> files_like(const std::filesystem::path& dir, std::string_view prefix) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

// Each slot's description as the files hold it, checked to be the program's.
void check_stamp(const inmem::detail::schema_stamp& found) {
    REQUIRE(found.slots.size() == 2);
    CHECK(found.slots[0].description == inmem::describe<Note>());
    CHECK(found.slots[1].description == inmem::describe<Status>());
}
} // namespace

TEST_CASE("WAL headers and snapshots carry each slot's description, and values decode by it alone", "[recovery]") {
    inmem_test::temp_dir dir;
    inmem::run_id run;
    const Note note{"call back", 3, {{"urgency", 0.75}, {"cost", 2.5}}};
    {
        db_type db(dir.path());
        run = db.begin_run();
        db.kv<Note>().put(run, "n1", note);
    }
    // the WAL: its header's schema, then the commit's value decoded by the description found there
    std::size_t headers = 0, values = 0;
    for (const auto& segment : files_like(dir.path(), "wal-")) {
        const std::string data = read_file(segment);
        std::optional<inmem::type_description> note_type;
        const auto number = d::parse_wal_segment_name(segment.filename().string());
        REQUIRE(number);
        const auto scan = d::scan_wal_segment(data, *number, [&](std::string_view payload, std::size_t) {
            d::wal_entry entry;
            REQUIRE(d::decode_wal_entry(payload, entry));
            if (entry.kind == d::wal_record::header) {
                ++headers;
                CHECK(entry.format == d::wal_format_version);
                check_stamp(entry.schema);
                note_type = inmem::parse_type_description(entry.schema.slots[0].description);
            } else if (entry.kind == d::wal_record::commit) {
                for (const auto& op : entry.ops) {
                    const auto parts = d::parse_stored_key<described_schema>(op.key);
                    if (!parts || parts->slot != 0 || op.op != d::write_op::kind::put) continue;
                    REQUIRE(note_type);
                    CHECK(inmem::generic_to_json(*note_type, op.bytes) == inmem::to_json(note));
                    ++values;
                }
            }
            return true;
        });
        CHECK(scan.how == d::wal_scan::end::clean);
    }
    CHECK(headers >= 1);
    CHECK(values == 1);

    // a snapshot: its schema, and the record decoded the same way
    {
        db_type db(dir.path());
        db.snapshot();
    }
    const auto snapshots = files_like(dir.path(), "snapshot-");
    REQUIRE_FALSE(snapshots.empty());
    std::string why;
    const auto snap = d::read_snapshot(read_file(snapshots.back()), why, snapshots.back().filename().string());
    REQUIRE(snap);
    check_stamp(snap->head.schema);
    const auto note_type = inmem::parse_type_description(snap->head.schema.slots[0].description);
    std::size_t found = 0;
    for (const auto& rec : snap->records) {
        const auto parts = d::parse_stored_key<described_schema>(rec.key);
        if (!parts || parts->slot != 0) continue;
        CHECK(inmem::generic_to_json(note_type, rec.bytes) == inmem::to_json(note));
        ++found;
    }
    CHECK(found == 1);
    db_type again(dir.path()); // and it opens as ever
    CHECK(again.kv<Note>().get(run, "n1") == std::optional<Note>(note));
}

TEST_CASE("a WAL of format 3 (no descriptions) still opens, and the session goes on in format 4", "[recovery]") {
    inmem_test::temp_dir dir;
    inmem::run_id run;
    const Note note{"old", std::nullopt, {}};
    {
        db_type db(dir.path());
        run = db.begin_run();
        db.kv<Note>().put(run, "n1", note);
    }
    // rewrite the segment as the release before wrote it: the same records, a format 3 header
    const auto segments = files_like(dir.path(), "wal-");
    REQUIRE(segments.size() == 1);
    const std::uint32_t number = *d::parse_wal_segment_name(segments[0].filename().string());
    std::string rewritten;
    std::size_t headers = 0;
    d::scan_wal_segment(read_file(segments[0]), number, [&](std::string_view payload, std::size_t) {
        d::wal_entry entry;
        REQUIRE(d::decode_wal_entry(payload, entry));
        std::string out = std::string(payload);
        if (entry.kind == d::wal_record::header) {
            ++headers;
            out = d::wal_header_payload(entry.version, entry.schema, 3);
            d::wal_entry old;
            REQUIRE(d::decode_wal_entry(out, old));
            CHECK(old.format == 3);
            CHECK(old.schema.fingerprint == entry.schema.fingerprint);
            CHECK(old.schema.slots[0].description.empty()); // format 3 has none
        }
        d::wal_formatter(number, rewritten.size()).add(out, rewritten);
        return true;
    });
    CHECK(headers >= 1);
    {
        std::ofstream file(segments[0], std::ios::binary | std::ios::trunc);
        file << rewritten;
    }
    {
        db_type db(dir.path());
        CHECK(db.kv<Note>().get(run, "n1") == std::optional<Note>(note));
        db.kv<Note>().put(run, "n2", note);
    }
    // the old segment as it was, the session in a new one whose header describes the slots
    const auto after = files_like(dir.path(), "wal-");
    REQUIRE(after.size() == 2);
    const std::uint32_t next = *d::parse_wal_segment_name(after[1].filename().string());
    bool described = false;
    d::scan_wal_segment(read_file(after[1]), next, [&](std::string_view payload, std::size_t) {
        d::wal_entry entry;
        REQUIRE(d::decode_wal_entry(payload, entry));
        if (entry.kind == d::wal_record::header) {
            CHECK(entry.format == d::wal_format_version);
            check_stamp(entry.schema);
            described = true;
        }
        return true;
    });
    CHECK(described);
    db_type db(dir.path());
    CHECK(db.kv<Note>().get(run, "n2") == std::optional<Note>(note));
}
