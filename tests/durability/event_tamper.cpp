// Tests that the event log's hash chain finds what an attacker with file access changed:
// bytes of an event rewritten in a snapshot or WAL file, with the file's CRCs fixed.
//
// The attacker here knows the file formats (durability/snapshot.hpp, wal_format.hpp) and
// rewrites a file so that it is self-consistent: every CRC recomputed, counts adjusted. Such
// a file is sound as far as recovery can tell, so opening it must succeed (the event
// family's check of a stored event is lenient by design: a damaged event is verify()'s to
// report). What must catch the change is the chain: events().verify(run) names exactly the
// event that was changed (or the first one that was removed), and every other run still
// verifies. The property test does this for random logs (checked against a model of what
// was appended first) and a random byte anywhere in a random event's stored value.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace d = inmem::detail;
using inmem::chain_problem;
using inmem_test::error_of;
using inmem_test::read_file;
using inmem_test::temp_dir;
using inmem_test::write_file;

struct ToolCall {
    std::string tool;
    std::string args;
    bool operator==(const ToolCall&) const = default;
};
struct ToolResult {
    std::string output;
    std::int64_t code = 0;
    bool operator==(const ToolResult&) const = default;
};
struct Note {
    std::string text;
    std::uint32_t level = 0;
    bool operator==(const Note&) const = default;
};

using tamper_schema = inmem::schema<inmem::kv<int>, inmem::events<ToolCall, ToolResult, Note>>;
using strict_db = inmem::basic_database<tamper_schema, inmem::durability::strict>;
using batched_db = inmem::basic_database<tamper_schema, inmem::durability::batched>;
constexpr std::uint16_t log_slot = 1; // the schema's first event type (slot 0 is the kv)

/// Snapshots only when a test asks, so which file holds an event is the test's choice.
inmem::open_options options() {
    inmem::open_options o;
    o.snapshot_after_bytes = 0;
    return o;
}

std::string event_key(inmem::run_id run, std::uint64_t seq) {
    std::string key;
    d::event_key_into(key, run, log_slot, seq);
    return key;
}

std::vector<std::string> files_starting(const fs::path& dir, std::string_view prefix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end()); // the numbers in the names are zero-padded
    return out;
}

// ---- snapshot files (durability/snapshot.hpp, format 2) ----

/// Where one record of a snapshot file lies.
struct snapshot_entry {
    std::size_t start = 0, end = 0; // the record, from its tag to the end of its value
    std::string key;
    std::size_t value_at = 0, value_size = 0;
};
struct snapshot_layout {
    std::vector<snapshot_entry> records;
    std::size_t end_at = 0; // the end marker: 0x00 count:u64 crc:u32
};

/// The records of a snapshot file, found by reading its grammar as the format header gives it.
snapshot_layout layout_of(std::string_view file) {
    REQUIRE(file.size() > 4);
    const std::string_view body = file.substr(0, file.size() - 4);
    d::reader r(body);
    auto offset = [&] { return body.size() - r.remaining(); };
    const char* p = nullptr;
    std::uint32_t format = 0, next_segment = 0;
    std::uint64_t version = 0, reserved_versions = 0, reserved_runs = 0;
    std::uint8_t clean = 0;
    REQUIRE(r.bytes(d::snapshot_magic.size(), p));
    REQUIRE(std::string_view(p, d::snapshot_magic.size()) == d::snapshot_magic);
    REQUIRE(r.fixed(format));
    REQUIRE(format == d::snapshot_format_version);
    REQUIRE((r.fixed(version) && r.fixed(next_segment) && r.fixed(reserved_versions) && r.fixed(reserved_runs) &&
             r.fixed(clean)));
    d::schema_stamp schema;
    REQUIRE(d::read_schema(r, schema));
    snapshot_layout out;
    for (;;) {
        const std::size_t start = offset();
        std::uint8_t tag = 0;
        REQUIRE(r.fixed(tag));
        if (tag == 0) {
            out.end_at = start;
            break;
        }
        REQUIRE(tag == 1);
        snapshot_entry e;
        e.start = start;
        std::uint64_t record_version = 0, size = 0;
        REQUIRE(d::read_string(r, e.key));
        REQUIRE(r.fixed(record_version));
        REQUIRE(r.varint(size));
        e.value_at = offset();
        e.value_size = static_cast<std::size_t>(size);
        REQUIRE(r.bytes(e.value_size, p));
        e.end = offset();
        out.records.push_back(std::move(e));
    }
    std::uint64_t count = 0;
    REQUIRE(r.fixed(count));
    REQUIRE(count == out.records.size());
    REQUIRE(r.remaining() == 0);
    return out;
}

/// Rewrites the file's checksum (the masked CRC-32C of every byte before it).
void fix_snapshot_crc(std::string& file) {
    const std::uint32_t crc = d::to_little_endian(d::crc32c_mask(d::crc32c(file.data(), file.size() - 4)));
    std::memcpy(file.data() + file.size() - 4, &crc, 4);
}

/// The record of key in a snapshot layout, or nullptr.
const snapshot_entry* find_record(const snapshot_layout& layout, std::string_view key) {
    for (const auto& e : layout.records)
        if (e.key == key) return &e;
    return nullptr;
}

/// The file passes every check the snapshot reader makes: the attacker's edit is sound.
void require_sound_snapshot(const std::string& file, const std::string& name) {
    std::string why;
    const bool sound = d::read_snapshot(file, why, name).has_value();
    INFO("the rewritten snapshot does not read back: " << why);
    REQUIRE(sound);
}

/// The newest snapshot of dir: its name.
std::string newest_snapshot(const fs::path& dir) {
    const auto names = files_starting(dir, "snapshot-");
    REQUIRE_FALSE(names.empty());
    return names.back();
}

/// In dir's newest snapshot, changes byte `at` of the stored value of key to `value`, fixes
/// the checksum and checks the file is sound. Returns the byte's old value.
unsigned char rewrite_snapshot_byte(const fs::path& dir, std::string_view key, std::size_t at, unsigned char value) {
    const std::string name = newest_snapshot(dir);
    std::string file = read_file(dir / name);
    const auto layout = layout_of(file);
    const snapshot_entry* e = find_record(layout, key);
    REQUIRE(e);
    REQUIRE(at < e->value_size);
    const auto old = static_cast<unsigned char>(file[e->value_at + at]);
    file[e->value_at + at] = static_cast<char>(value);
    fix_snapshot_crc(file);
    require_sound_snapshot(file, name);
    write_file(dir / name, file);
    return old;
}

// ---- WAL segments (durability/wal_format.hpp) ----

/// One logical record of a segment: its payload and where its physical records lie.
struct wal_logical {
    std::size_t start = 0, end = 0; // from the first fragment's header to the last one's end
    std::string payload;
    std::vector<std::pair<std::size_t, std::size_t>> fragments; // file offset and size of each part of the payload
};

/// The logical records of an undamaged segment, by walking its physical headers.
std::vector<wal_logical> wal_records(std::string_view data) {
    constexpr std::size_t B = d::wal_block_size, H = d::wal_header_size;
    std::vector<wal_logical> out;
    wal_logical current;
    std::size_t pos = 0;
    while (pos < data.size()) {
        if (B - pos % B < H) { // a block's zero tail
            pos += B - pos % B;
            continue;
        }
        REQUIRE(data.size() - pos >= H);
        const auto length = static_cast<std::size_t>(static_cast<unsigned char>(data[pos + 4]) |
                                                     static_cast<unsigned char>(data[pos + 5]) << 8);
        const auto type = static_cast<d::wal_type>(data[pos + 6]);
        REQUIRE(static_cast<int>(type) >= 1);
        REQUIRE(static_cast<int>(type) <= 4);
        if (type == d::wal_type::full || type == d::wal_type::first) current = wal_logical{pos, 0, {}, {}};
        current.payload.append(data.substr(pos + H, length));
        current.fragments.emplace_back(pos + H, length);
        pos += H + length;
        if (type == d::wal_type::full || type == d::wal_type::last) {
            current.end = pos;
            out.push_back(std::move(current));
        }
    }
    REQUIRE(pos == data.size());
    return out;
}

/// Where an event's stored value lies in the WAL: its segment, its logical record and the
/// value's offset in that record's payload.
struct wal_event {
    std::string segment;
    std::size_t record = 0;
    std::size_t value_at = 0, value_size = 0;
};

/// The first WAL segment recovery replays: the newest snapshot's next_segment (segments
/// before it are kept for the older snapshot only, and never read while the newest is sound).
std::uint32_t live_wal_from(const fs::path& dir) {
    const auto names = files_starting(dir, "snapshot-");
    if (names.empty()) return 1;
    std::string why;
    const auto data = d::read_snapshot(read_file(dir / names.back()), why, names.back());
    INFO(why);
    REQUIRE(data);
    return data->head.next_segment;
}

/// Finds the put of key in the WAL segments recovery replays.
std::optional<wal_event> find_in_wal(const fs::path& dir, std::string_view key) {
    const std::uint32_t from = live_wal_from(dir);
    for (const auto& name : files_starting(dir, "wal-")) {
        const auto number = d::parse_wal_segment_name(name);
        REQUIRE(number);
        if (*number < from) continue;
        const std::string data = read_file(dir / name);
        const auto records = wal_records(data);
        for (std::size_t i = 0; i < records.size(); ++i) {
            d::wal_entry entry;
            REQUIRE(d::decode_wal_entry(records[i].payload, entry));
            if (entry.kind != d::wal_record::commit) continue;
            for (const auto& op : entry.ops) {
                if (op.key != key || op.op != d::write_op::kind::put) continue;
                // The value holds a SHA-256 hash, so it occurs in the payload once.
                const std::size_t at = records[i].payload.find(op.bytes);
                REQUIRE(at != std::string::npos);
                REQUIRE(records[i].payload.find(op.bytes, at + 1) == std::string::npos);
                return wal_event{name, i, at, op.bytes.size()};
            }
        }
    }
    return std::nullopt;
}

/// In dir's WAL, changes byte `at` of the stored value of key to `value` and rewrites the
/// physical records of its logical record with wal_formatter (the same framing, so the same
/// offsets, and fresh CRCs); checks the segment then reads back clean. Returns the old byte.
unsigned char rewrite_wal_byte(const fs::path& dir, std::string_view key, std::size_t at, unsigned char value) {
    const auto where = find_in_wal(dir, key);
    REQUIRE(where);
    REQUIRE(at < where->value_size);
    std::string data = read_file(dir / where->segment);
    const auto records = wal_records(data);
    const wal_logical& rec = records[where->record];
    std::string payload = rec.payload;
    const auto old = static_cast<unsigned char>(payload[where->value_at + at]);
    payload[where->value_at + at] = static_cast<char>(value);
    const auto segment = d::parse_wal_segment_name(where->segment);
    REQUIRE(segment);
    std::string physical;
    d::wal_formatter(*segment, rec.start).add(payload, physical);
    REQUIRE(physical.size() == rec.end - rec.start);
    data.replace(rec.start, physical.size(), physical);
    std::size_t logical = 0;
    const auto scan = d::scan_wal_segment(data, *segment, [&](std::string_view, std::uint64_t) { ++logical; });
    INFO(scan.why);
    REQUIRE(scan.how == d::wal_scan::end::clean);
    REQUIRE(logical == records.size());
    write_file(dir / where->segment, data);
    return old;
}

// ---- the model ----

/// One appended event as the model keeps it.
struct model_event {
    int type = 0; // 0 ToolCall, 1 ToolResult, 2 Note
    std::string text, more;
    std::int64_t number = 0;
    std::string thread, agent;
    bool operator==(const model_event&) const = default;
};

using any_event = std::variant<ToolCall, ToolResult, Note>;

model_event model_of(const any_event& v, std::string thread, std::string agent) {
    model_event m;
    m.type = static_cast<int>(v.index());
    if (const auto* c = std::get_if<ToolCall>(&v)) m.text = c->tool, m.more = c->args;
    else if (const auto* r = std::get_if<ToolResult>(&v)) m.text = r->output, m.number = r->code;
    else {
        const auto& n = std::get<Note>(v);
        m.text = n.text, m.number = n.level;
    }
    m.thread = std::move(thread);
    m.agent = std::move(agent);
    return m;
}

std::string describe(const model_event& m) {
    std::ostringstream out;
    out << "type " << m.type << " text(" << m.text.size() << ") more(" << m.more.size() << ") number " << m.number
        << " thread '" << m.thread << "' agent '" << m.agent << "'";
    return out.str();
}

/// Appends one event of the model's kind m, to run or in tx, through log.
template <class Log, class At>
auto append_model(Log& log, At& at, const model_event& m) {
    const inmem::event_labels labels{m.thread, m.agent};
    switch (m.type) {
    case 0: return log.append(at, ToolCall{m.text, m.more}, labels);
    case 1: return log.append(at, ToolResult{m.text, m.number}, labels);
    default: return log.append(at, Note{m.text, static_cast<std::uint32_t>(m.number)}, labels);
    }
}

using model = std::map<std::uint64_t, std::vector<model_event>>; // run id -> its events by seq

const std::vector<std::string> threads = {"", "", "main", "side", "t-3"};
const std::vector<std::string> agents = {"", "planner", "critic", "a-very-long-agent-name-" + std::string(40, 'x')};

model_event random_event(std::mt19937_64& rng) {
    model_event m;
    m.type = static_cast<int>(rng() % 3);
    auto text = [&](std::size_t max) {
        std::string s(rng() % (max + 1), '\0');
        for (auto& c : s) c = static_cast<char>(rng()); // any bytes, zeros included
        return s;
    };
    const std::size_t max = rng() % 10 == 0 ? 3000 : 40;
    m.text = text(max);
    if (m.type == 0) m.more = text(20);
    else if (m.type == 1) m.number = static_cast<std::int64_t>(rng()) >> (rng() % 64);
    else m.number = static_cast<std::uint32_t>(rng());
    m.thread = threads[rng() % threads.size()];
    m.agent = agents[rng() % agents.size()];
    return m;
}

/// Checks every read of run's log that q and a type or label filter can make against the model.
template <class Log>
void check_query(Log& log, inmem::run_id run, const std::vector<model_event>& events, const inmem::event_query& q,
                 std::optional<int> type) {
    std::vector<std::uint64_t> expected;
    for (std::uint64_t seq = q.from; seq < std::min<std::uint64_t>(q.to, events.size()); ++seq) {
        const auto& m = events[seq];
        if (type && m.type != *type) continue;
        if (q.thread && m.thread != *q.thread) continue;
        if (q.agent && m.agent != *q.agent) continue;
        expected.push_back(seq);
    }
    if (q.reverse) std::reverse(expected.begin(), expected.end());
    if (expected.size() > q.limit) expected.resize(q.limit);

    std::vector<std::uint64_t> got;
    auto take = [&](const auto& range, auto to_variant) {
        for (const auto& e : range) {
            got.push_back(e.id.seq);
            REQUIRE(e.id.run == run);
            REQUIRE(e.id.seq < events.size());
            const model_event m = model_of(to_variant(e.value), e.thread, e.agent);
            INFO("seq " << e.id.seq << ": read " << describe(m) << ", appended " << describe(events[e.id.seq]));
            REQUIRE(m == events[e.id.seq]);
        }
    };
    auto as_variant = [](const auto& v) { return any_event(v); };
    if (!type) take(log.read(run, q), [](const any_event& v) { return v; });
    else if (*type == 0) take(log.template read<ToolCall>(run, q), as_variant);
    else if (*type == 1) take(log.template read<ToolResult>(run, q), as_variant);
    else take(log.template read<Note>(run, q), as_variant);
    INFO("from " << q.from << " to " << q.to << (q.reverse ? " reversed" : "") << " limit " << q.limit << " type "
                 << (type ? std::to_string(*type) : "any") << " thread " << (q.thread ? *q.thread : "-")
                 << " agent " << (q.agent ? std::string(*q.agent).substr(0, 12) : "-"));
    REQUIRE(got == expected);
}

/// Checks run's log against the model: the whole log, counts, gets and random reads.
template <class Log>
void check_run(Log& log, inmem::run_id run, const std::vector<model_event>& events, std::mt19937_64& rng,
               int random_reads) {
    INFO("run " << run.value << ", " << events.size() << " events");
    REQUIRE(log.count(run) == events.size());
    std::uint64_t per_type[3] = {};
    for (const auto& m : events) ++per_type[m.type];
    REQUIRE(log.template count<ToolCall>(run) == per_type[0]);
    REQUIRE(log.template count<ToolResult>(run) == per_type[1]);
    REQUIRE(log.template count<Note>(run) == per_type[2]);
    REQUIRE(log.head(run).count == events.size());
    check_query(log, run, events, {}, std::nullopt);
    if (!events.empty()) {
        const std::uint64_t seq = rng() % events.size();
        const auto e = log.get(inmem::event_id{run, seq});
        REQUIRE(e);
        REQUIRE(model_of(e->value, e->thread, e->agent) == events[seq]);
    }
    REQUIRE_FALSE(log.get(inmem::event_id{run, events.size()}));
    const std::size_t n = events.size();
    for (int i = 0; i < random_reads; ++i) {
        inmem::event_query q;
        if (rng() % 2) q.from = rng() % (n + 2);
        if (rng() % 2) q.to = rng() % (n + 2);
        q.reverse = rng() % 2;
        if (rng() % 2) q.limit = rng() % 6;
        // (Not by "": the unlabelled events are in no label's index, and such a filter
        // returns nothing.)
        if (rng() % 3 == 0) q.thread = threads[2 + rng() % (threads.size() - 2)];
        // (q.agent is a string_view: it must view a string that outlives the query.)
        static const std::string nobody = "nobody";
        if (rng() % 3 == 0) q.agent = rng() % 5 ? agents[1 + rng() % (agents.size() - 1)] : nobody;
        std::optional<int> type;
        if (rng() % 2) type = static_cast<int>(rng() % 3);
        check_query(log, run, events, q, type);
    }
    const auto report = log.verify(run);
    INFO(report.message);
    REQUIRE(report.valid());
    REQUIRE(report.checked == events.size());
}

/// Random appends to runs (some in transactions, some with a kv write), recorded in m.
template <class Db>
void workload(Db& db, const std::vector<inmem::run_id>& runs, model& m, std::mt19937_64& rng, int steps) {
    auto log = db.events();
    for (int i = 0; i < steps; ++i) {
        const inmem::run_id run = runs[rng() % runs.size()];
        auto& events = m[run.value];
        if (rng() % 4 == 0) { // a transaction of 1..4 appends
            const std::size_t n = 1 + rng() % 4;
            std::vector<model_event> batch;
            for (std::size_t k = 0; k < n; ++k) batch.push_back(random_event(rng));
            const bool with_kv = rng() % 2;
            std::vector<inmem::event_ticket> tickets;
            db.transact(run, [&](auto& tx) {
                tickets.clear();
                for (const auto& e : batch) tickets.push_back(append_model(log, tx, e));
                if (with_kv) db.template kv<int>().put(tx, "k" + std::to_string(i), i);
            });
            for (std::size_t k = 0; k < n; ++k) {
                REQUIRE(tickets[k].id() == inmem::event_id{run, events.size()});
                events.push_back(batch[k]);
            }
        } else {
            const model_event e = random_event(rng);
            REQUIRE(append_model(log, run, e) == inmem::event_id{run, events.size()});
            events.push_back(e);
        }
    }
}

/// Which part of a stored event (event_chain.hpp) byte `at` of its value is in.
std::string region_of(std::string_view stored, std::size_t at) {
    if (at == 0) return "format";
    if (at < d::event_prev_at) return "time";
    if (at < d::event_hash_at) return "prev_hash";
    if (at < d::event_slot_at) return "hash";
    if (at < d::event_labels_at) return "slot";
    const auto f = d::parse_event(stored);
    REQUIRE(f);
    const std::size_t labels_end = stored.size() - f->payload.size();
    if (at < labels_end) return "labels";
    return "payload";
}

/// What verify may say of an event whose byte in region changed: parse_event fails
/// (malformed), the link to the previous hash breaks, or the hash (over the time, the type's
/// fingerprint, labels and payload) does not hold.
bool problem_fits(const std::string& region, chain_problem p) {
    if (region == "format") return p == chain_problem::malformed;
    if (region == "prev_hash") return p == chain_problem::broken_link;
    if (region == "slot" || region == "labels")
        return p == chain_problem::malformed || p == chain_problem::hash_mismatch;
    return p == chain_problem::hash_mismatch; // time, hash, payload
}

/// The stored value of an event, as the database holds it.
template <class Db>
std::string stored_value(Db& db, inmem::run_id run, std::uint64_t seq) {
    return db.engine().read(run, event_key(run, seq),
                            [](const d::stored_record* r) { return r ? r->bytes : std::string(); });
}

/// The number in environment variable name, or fallback.
std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

/// Opens dir, failing the test with the error when recovery refuses it.
template <class Db>
std::unique_ptr<Db> reopen(const fs::path& dir) {
    std::unique_ptr<Db> db;
    std::string why;
    try {
        db = std::make_unique<Db>(dir, options());
    } catch (const inmem::error& e) {
        why = e.what();
    }
    INFO("reopen failed: " << why);
    REQUIRE(db);
    return db;
}

/// A database with three runs of labelled events of every type, written in commits and a
/// transaction, then snapshotted; returns the runs and the model.
template <class Db>
std::pair<std::vector<inmem::run_id>, model> snapshotted_database(const fs::path& dir) {
    Db db(dir, options());
    auto log = db.events();
    std::vector<inmem::run_id> runs = {db.begin_run({.name = "a"}), db.begin_run({.name = "b"}),
                                       db.begin_run({.name = "c"})};
    model m;
    for (int i = 0; i < 12; ++i) {
        const inmem::run_id run = runs[static_cast<std::size_t>(i) % 3];
        model_event e;
        e.type = i % 3;
        e.text = "event " + std::to_string(i) + " of run " + std::to_string(run.value);
        e.more = e.type == 0 ? "args-" + std::to_string(i) : "";
        e.number = e.type == 0 ? 0 : i * 7;
        e.thread = i % 2 ? "main" : "";
        e.agent = i % 4 == 1 ? "planner" : i % 4 == 3 ? "critic" : "";
        REQUIRE(append_model(log, run, e).seq == m[run.value].size());
        m[run.value].push_back(e);
    }
    db.transact(runs[1], [&](auto& tx) {
        for (int k = 0; k < 3; ++k)
            append_model(log, tx, model_event{2, "in a transaction " + std::to_string(k), "", k, "tx", "critic"});
        db.template kv<int>().put(tx, "k", 1);
    });
    for (int k = 0; k < 3; ++k)
        m[runs[1].value].push_back(model_event{2, "in a transaction " + std::to_string(k), "", k, "tx", "critic"});
    db.end_run(runs[2]); // an ended run keeps its log
    db.snapshot();
    return {runs, m};
}

} // namespace

TEMPLATE_TEST_CASE("a payload byte of an event rewritten in a snapshot, CRC fixed, is found by verify", "[events]",
                   strict_db, batched_db) {
    temp_dir dir;
    const auto [runs, m] = snapshotted_database<TestType>(dir.path());
    const inmem::run_id run = runs[1];
    const std::uint64_t seq = 2; // "event 7 of run 2", labelled main/critic, a ToolResult
    REQUIRE(m.at(run.value)[seq].text == "event 7 of run " + std::to_string(run.value));
    std::size_t at = 0;
    {
        // The byte to change: one of the payload's, as the stored framing places it.
        TestType db(dir.path(), options());
        const std::string stored = stored_value(db, run, seq);
        const auto f = d::parse_event(stored);
        REQUIRE(f);
        REQUIRE(f->thread == "main");
        REQUIRE(f->agent == "critic");
        const std::size_t payload_at = stored.size() - f->payload.size();
        const std::size_t in_text = f->payload.find("event 7");
        REQUIRE(in_text != std::string::npos);
        at = payload_at + in_text + 6; // '7' becomes '9'
        REQUIRE(stored[at] == '7');
    }
    REQUIRE(rewrite_snapshot_byte(dir.path(), event_key(run, seq), at, '9') == '7');

    auto db = reopen<TestType>(dir.path());
    auto log = db->events();
    // The change reads back: nothing else stands between the attacker and the reader...
    const auto changed = log.template get<ToolResult>(inmem::event_id{run, seq});
    REQUIRE(changed);
    CHECK(changed->value.output == "event 9 of run " + std::to_string(run.value));
    // ...but the chain names it.
    const auto report = log.verify(run);
    CHECK(report.problem == chain_problem::hash_mismatch);
    CHECK(report.first_invalid == seq);
    CHECK(report.checked == seq);
    CHECK_THAT(report.message, Catch::Contains("event 2"));
    for (const auto other : {runs[0], runs[2]}) {
        INFO("run " << other.value);
        CHECK(log.verify(other).valid());
        CHECK(log.count(other) == m.at(other.value).size());
    }
}

TEMPLATE_TEST_CASE("a payload byte of an event rewritten in the WAL, CRCs fixed, is found by verify", "[events]",
                   strict_db, batched_db) {
    temp_dir dir;
    const auto [runs, m] = snapshotted_database<TestType>(dir.path());
    const inmem::run_id run = runs[0];
    std::uint64_t seq = 0;
    const std::string big(40000, 'b'); // its commit spans two WAL blocks: the byte is in the second fragment
    {
        TestType db(dir.path(), options());
        auto log = db.events();
        log.append(run, ToolCall{"after the snapshot", "1"}, {.agent = "planner"});
        seq = log.append(run, Note{big, 3}, {.thread = "main"}).seq;
        db.transact(run, [&](auto& tx) {
            log.append(tx, ToolResult{"in a transaction", 1});
            log.append(tx, ToolCall{"in a transaction", "2"}, {.thread = "side"});
        });
        log.append(runs[1], ToolResult{"another run", 0});
        REQUIRE(log.count(run) == m.at(run.value).size() + 4);
        REQUIRE(log.verify(run).valid());
        db.sync();
    }
    REQUIRE(seq == m.at(run.value).size() + 1);
    // The event is in the WAL only, its commit in fragments: change the payload's last 'b'.
    const auto where = find_in_wal(dir.path(), event_key(run, seq));
    REQUIRE(where);
    REQUIRE_FALSE(find_record(layout_of(read_file(dir.path() / newest_snapshot(dir.path()))), event_key(run, seq)));
    const std::size_t at = where->value_size - 5; // the payload ends with the text, then the level (u32)
    REQUIRE(rewrite_wal_byte(dir.path(), event_key(run, seq), at, 'X') == 'b');
    {
        const std::string data = read_file(dir.path() / where->segment);
        const auto records = wal_records(data);
        REQUIRE(records[where->record].fragments.size() >= 2);
        std::size_t in_payload = where->value_at + at;
        std::size_t fragment = 0;
        while (in_payload >= records[where->record].fragments[fragment].second)
            in_payload -= records[where->record].fragments[fragment++].second;
        CHECK(fragment >= 1); // the CRC fixed is not the first fragment's
    }

    auto db = reopen<TestType>(dir.path());
    auto log = db->events();
    CHECK(db->recovery().bytes_dropped == 0);
    const auto changed = log.template get<Note>(inmem::event_id{run, seq});
    REQUIRE(changed);
    CHECK(changed->value.text == big.substr(0, big.size() - 1) + "X");
    const auto report = log.verify(run);
    CHECK(report.problem == chain_problem::hash_mismatch);
    CHECK(report.first_invalid == seq);
    CHECK(report.checked == seq);
    for (const auto other : {runs[1], runs[2]}) {
        INFO("run " << other.value);
        CHECK(log.verify(other).valid());
    }
}

TEST_CASE("the last events removed from a snapshot, count and CRC fixed, leave a gap the head counts", "[events]") {
    temp_dir dir;
    const auto [runs, m] = snapshotted_database<strict_db>(dir.path());
    const inmem::run_id run = runs[1];
    const std::uint64_t count = m.at(run.value).size();
    REQUIRE(count == 7);
    const std::size_t removed = GENERATE(1, 2);
    const inmem::event_head head_before = [&] {
        strict_db db(dir.path(), options());
        return db.events().head(run);
    }();
    {
        const std::string name = newest_snapshot(dir.path());
        std::string file = read_file(dir.path() / name);
        const auto layout = layout_of(file);
        // The last `removed` events of the run: their records, cut from the file back to front.
        std::vector<const snapshot_entry*> cut;
        for (std::uint64_t seq = count - removed; seq < count; ++seq) {
            const snapshot_entry* e = find_record(layout, event_key(run, seq));
            REQUIRE(e);
            cut.push_back(e);
        }
        for (auto it = cut.rbegin(); it != cut.rend(); ++it) file.erase((*it)->start, (*it)->end - (*it)->start);
        std::size_t end_at = layout.end_at;
        for (const auto* e : cut) end_at -= e->end - e->start;
        REQUIRE(file[end_at] == 0);
        const std::uint64_t records = d::to_little_endian(static_cast<std::uint64_t>(layout.records.size() - removed));
        std::memcpy(file.data() + end_at + 1, &records, 8);
        fix_snapshot_crc(file);
        require_sound_snapshot(file, name);
        REQUIRE(layout_of(file).records.size() == layout.records.size() - removed);
        write_file(dir.path() / name, file);
    }
    auto db = reopen<strict_db>(dir.path());
    auto log = db->events();
    CHECK(log.head(run) == head_before); // the head still counts them
    const auto report = log.verify(run);
    CHECK(report.problem == chain_problem::gap);
    CHECK(report.first_invalid == count - removed);
    CHECK(report.checked == count - removed);
    CHECK_THAT(report.message, Catch::Contains("missing"));
    // Reads that reach the missing events say the log is damaged; those before them work.
    CHECK(error_of([&] { (void)log.read(run); }) == inmem::errc::corruption);
    CHECK(log.read(run, {.to = count - removed}).size() == count - removed);
    for (const auto other : {runs[0], runs[2]}) {
        INFO("run " << other.value);
        CHECK(log.verify(other).valid());
    }
}

TEST_CASE("property: any byte of any event's stored value changed in a snapshot or the WAL is named by verify",
          "[events]") {
    const int trials = static_cast<int>(env_number("INMEM_EVENT_TAMPER_TRIALS", 40));
    const std::uint64_t seed = env_number("INMEM_EVENT_TAMPER_SEED", 0x5eed0e7e);
    INFO("seed " << seed << " (INMEM_EVENT_TAMPER_SEED), " << trials << " trials (INMEM_EVENT_TAMPER_TRIALS)");
    std::mt19937_64 rng(seed);
    std::map<std::string, std::map<std::string, int>> seen; // region -> problem -> trials
    for (int trial = 0; trial < trials; ++trial) {
        INFO("trial " << trial);
        temp_dir dir(temp_dir::in_memory);
        model m;
        std::vector<inmem::run_id> runs;
        std::uint64_t in_snapshot = 0; // events a snapshot holds (the rest are in the WAL only)
        const bool target_in_wal = trial % 3 == 2;
        {
            strict_db db(dir.path(), options());
            const std::size_t n_runs = 1 + rng() % 4;
            for (std::size_t r = 0; r < n_runs; ++r) runs.push_back(db.begin_run());
            workload(db, runs, m, rng, 5 + static_cast<int>(rng() % 30));
            auto log = db.events();
            for (const auto run : runs) check_run(log, run, m[run.value], rng, 8);
            if (rng() % 3 == 0 && runs.size() > 1) db.end_run(runs.back()); // ended, still readable
            db.snapshot();
            for (const auto& [run, events] : m) in_snapshot += events.size();
            if (target_in_wal) {
                std::vector<inmem::run_id> active = runs;
                if (db.run(runs.back()).status != inmem::run_status::active) active.pop_back();
                workload(db, active, m, rng, 1 + static_cast<int>(rng() % 10));
            }
        }
        {
            // Untouched, it reopens to what was appended.
            auto db = reopen<strict_db>(dir.path());
            auto log = db->events();
            for (const auto run : runs) check_run(log, run, m[run.value], rng, 4);
        }

        // The target: an event in the snapshot, or one appended after it (WAL only).
        std::vector<std::pair<inmem::run_id, std::uint64_t>> candidates;
        for (const auto run : runs)
            for (std::uint64_t seq = 0; seq < m[run.value].size(); ++seq) candidates.emplace_back(run, seq);
        if (target_in_wal) {
            std::erase_if(candidates, [&](const auto& c) {
                return find_in_wal(dir.path(), event_key(c.first, c.second)) == std::nullopt;
            });
        }
        if (candidates.empty()) continue; // no event at all: nothing to tamper with
        const auto [run, seq] = candidates[rng() % candidates.size()];
        std::string stored;
        {
            auto db = reopen<strict_db>(dir.path());
            stored = stored_value(*db, run, seq);
        }
        REQUIRE(stored.size() >= d::event_labels_at + 4);
        // Anywhere in the value, but a quarter of the trials at a byte of the framing (its
        // format, type slot or a label's length), which a uniform choice rarely hits.
        std::size_t at = rng() % stored.size();
        if (rng() % 4 == 0) {
            const auto f = d::parse_event(stored);
            REQUIRE(f);
            const std::size_t agent_at = d::event_labels_at + 2 + f->thread.size();
            const std::size_t framing[] = {0, d::event_slot_at, d::event_slot_at + 1, d::event_labels_at,
                                           d::event_labels_at + 1, agent_at, agent_at + 1};
            at = framing[rng() % std::size(framing)];
        }
        const auto old = static_cast<unsigned char>(stored[at]);
        const auto value = static_cast<unsigned char>(old ^ (1 + rng() % 255));
        const std::string region = region_of(stored, at);
        const std::string key = event_key(run, seq);
        const bool wal = find_in_wal(dir.path(), key).has_value();
        REQUIRE(wal == target_in_wal);
        INFO("run " << run.value << " event " << seq << " of " << m[run.value].size() << ", " << stored.size()
                    << "-byte value, byte " << at << " (" << region << ") " << int(old) << " -> " << int(value)
                    << (wal ? ", in the WAL" : ", in the snapshot") << "; " << in_snapshot
                    << " events in the snapshot");
        if (wal) REQUIRE(rewrite_wal_byte(dir.path(), key, at, value) == old);
        else REQUIRE(rewrite_snapshot_byte(dir.path(), key, at, value) == old);

        auto db = reopen<strict_db>(dir.path()); // recovery accepts a self-consistent file
        auto log = db->events();
        REQUIRE(stored_value(*db, run, seq) != stored);
        const auto report = log.verify(run);
        INFO("verify: " << to_string(report.problem) << " at " << report.first_invalid.value_or(999999) << ": "
                        << report.message);
        REQUIRE_FALSE(report.valid());
        REQUIRE(report.first_invalid == seq);
        REQUIRE(report.checked == seq);
        CHECK(problem_fits(region, report.problem));
        ++seen[region][std::string(to_string(report.problem))];
        // The damage stays where it is: the events before it, and every other run, read as appended.
        check_query(log, run, m[run.value], {.to = seq}, std::nullopt);
        for (const auto other : runs)
            if (other != run) check_run(log, other, m[other.value], rng, 4);
    }
    std::ostringstream summary;
    for (const auto& [region, problems] : seen) {
        summary << region << ":";
        for (const auto& [problem, n] : problems) summary << " " << problem << " x" << n;
        summary << "; ";
    }
    INFO("regions hit and what verify said: " << summary.str());
    CHECK(!seen.empty());
}
