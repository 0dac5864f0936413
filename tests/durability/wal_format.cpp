// Tests of inmem/durability/wal_format.hpp on bytes in memory: the physical record grammar
// (golden bytes), fragmentation across 32 KiB blocks and their zero trailers, the scanner's
// verdicts (clean, torn, corrupt) under truncation, bit flips, zero fill and stale bytes of
// another segment, the logical payloads (commit and header) and the file names.
// The model is LevelDB's db/log_test.cc.
#include <catch2/catch.hpp>
#include <inmem/durability/migration.hpp>
#include <inmem/durability/snapshot.hpp>
#include <inmem/durability/wal_format.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace inmem::detail;
using inmem::version_t;

namespace {

constexpr std::size_t B = wal_block_size;
constexpr std::size_t H = wal_header_size;

// The CRC-32C definition, one bit at a time (shares nothing with the header under test).
std::uint32_t reference_crc32c(std::string_view s) {
    std::uint32_t crc = ~0u;
    for (unsigned char c : s) {
        crc ^= c;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}
std::uint32_t reference_mask(std::uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t get_le(std::string_view s, std::size_t pos, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(s[pos + i])} << (8 * i);
    return v;
}

// One physical record built by hand from the grammar, independently of wal_formatter.
std::string physical_record(wal_type type, std::uint32_t segment, std::string_view payload) {
    std::string covered;
    put_le(covered, payload.size(), 2);
    covered.push_back(static_cast<char>(type));
    put_le(covered, segment, 4);
    covered.append(payload);
    std::string out;
    put_le(out, reference_mask(reference_crc32c(covered)), 4);
    out.append(covered);
    return out;
}

// A physical record as found by walking headers (trusting their lengths): only for bytes
// the formatter wrote.
struct physical {
    std::size_t offset;
    wal_type type;
    std::size_t length;
    std::uint32_t segment;
};

std::vector<physical> walk_physical(std::string_view data) {
    std::vector<physical> out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        const std::size_t left = B - pos % B;
        if (left < H) {
            pos += left;
            continue;
        }
        REQUIRE(pos + H <= data.size());
        physical p{pos, static_cast<wal_type>(data[pos + 6]), static_cast<std::size_t>(get_le(data, pos + 4, 2)),
                   static_cast<std::uint32_t>(get_le(data, pos + 7, 4))};
        out.push_back(p);
        pos += H + p.length;
    }
    return out;
}

std::string random_payload(std::mt19937_64& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

// Logical records formatted into one segment's bytes, with where each one ends.
struct segment_bytes {
    std::uint32_t number = 1;
    std::string data;
    std::vector<std::string> payloads;
    std::vector<std::size_t> starts; // where add() began (before any padding)
    std::vector<std::size_t> ends;   // just past its last fragment
    wal_formatter formatter{1, 0};

    explicit segment_bytes(std::uint32_t n) : number(n), formatter(n, 0) {}

    void add(std::string payload) {
        starts.push_back(data.size());
        formatter.add(payload, data);
        ends.push_back(data.size());
        payloads.push_back(std::move(payload));
        REQUIRE(formatter.offset() == data.size());
    }

    // Adds records so that the next one starts at a block boundary after a trailer of
    // exactly `trailer` zero bytes (0..10).
    void end_block_with_trailer(std::size_t trailer, std::mt19937_64& rng) {
        for (;;) {
            const std::size_t left = B - data.size() % B;
            if (left >= trailer + H) {
                add(random_payload(rng, left - trailer - H));
                return;
            }
            add(random_payload(rng, 0)); // too little room: this one pads, then try again
        }
    }
};

struct scanned {
    wal_scan scan;
    std::vector<std::string> payloads;
    std::vector<std::uint64_t> starts;
};

scanned scan(std::string_view data, std::uint32_t segment) {
    scanned out;
    out.scan = scan_wal_segment(data, segment, [&](std::string_view payload, std::uint64_t start) {
        out.payloads.emplace_back(payload);
        out.starts.push_back(start);
    });
    return out;
}

// The logical ends among ends that are <= t: how many records survive a cut at t, and where
// the last of them ends.
std::pair<std::size_t, std::size_t> survivors(const std::vector<std::size_t>& ends, std::size_t t) {
    std::size_t n = 0, end = 0;
    for (std::size_t e : ends)
        if (e <= t) ++n, end = e;
    return {n, end};
}

std::vector<inmem::detail::write_op> sample_ops() {
    using k = write_op::kind;
    std::vector<write_op> ops;
    ops.push_back({k::put, "plan", "step one"});
    ops.push_back({k::erase, "old", ""});
    ops.push_back({k::put, "", ""});                                   // empty key and value
    ops.push_back({k::put, std::string("\0\xff\x80k", 4), std::string(300, '\x80')}); // binary, 2-byte varint
    ops.push_back({k::erase, std::string(200, 'e'), ""});
    ops.push_back({k::put, "big", std::string(70000, 'b')});
    return ops;
}

bool same_ops(const std::vector<write_op>& a, const std::vector<write_op>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].op != b[i].op || a[i].key != b[i].key || a[i].bytes != b[i].bytes) return false;
    return true;
}

schema_stamp sample_schema() {
    schema_stamp s;
    s.fingerprint = 0x0123456789abcdefull;
    s.slots.push_back({1, 0x1111222233334444ull, "Plan"});
    s.slots.push_back({1, 0x5555666677778888ull, "std::__cxx11::basic_string<char>"});
    s.slots.push_back({3, 0, ""});
    return s;
}

} // namespace

TEST_CASE("wal: a physical record's bytes follow the documented grammar", "[wal]") {
    std::string out;
    wal_formatter f(7, 0);
    f.add("abc", out);
    // crc:u32 length:u16 type:u8 segment:u32 payload; the crc (masked CRC-32C of everything
    // after it) is a golden value: a change to the format shows up here.
    const std::string golden{'\x52', '\x5d', '\xb0', '\x58', // masked crc, little-endian
                             '\x03', '\x00',                 // length 3
                             '\x01',                         // type full
                             '\x07', '\x00', '\x00', '\x00', // segment 7
                             'a',    'b',    'c'};
    CHECK(out == golden);
    CHECK(out == physical_record(wal_type::full, 7, "abc"));
    CHECK(out.size() == H + 3);
    CHECK(f.offset() == H + 3);
    CHECK(f.segment() == 7);
    CHECK(get_le(out, 0, 4) == reference_mask(reference_crc32c(std::string_view(out).substr(4))));
    CHECK(crc32c_unmask(static_cast<std::uint32_t>(get_le(out, 0, 4))) ==
          reference_crc32c(std::string_view(out).substr(4)));

    // An empty payload is a record of its own (length 0), distinct from zeroed bytes.
    std::string empty;
    wal_formatter(7, 0).add("", empty);
    CHECK(empty == physical_record(wal_type::full, 7, ""));
    CHECK(empty != std::string(H, '\0'));
}

TEST_CASE("wal: records of 0 to 100 KB round-trip through the formatter and the scanner", "[wal]") {
    std::mt19937_64 rng(20240611);
    segment_bytes seg(3);
    // Sizes around the block's capacity and its multiples, then random ones up to 100 KB,
    // with every trailer length 0..10 produced on purpose along the way.
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, B - H - 1, B - H, B - H + 1, 2 * (B - H), 2 * (B - H) + 1,
                          std::size_t{100} * 1024})
        seg.add(random_payload(rng, n));
    for (std::size_t trailer = 0; trailer <= 10; ++trailer) {
        seg.end_block_with_trailer(trailer, rng);
        seg.add(random_payload(rng, rng() % 2000));
    }
    for (int i = 0; i < 120; ++i) {
        const std::size_t n = i % 10 == 0 ? rng() % (100 * 1024 + 1) : i % 3 == 0 ? 0 : rng() % 600;
        seg.add(random_payload(rng, n));
    }

    SECTION("the scanner returns every payload, in order, with where it started") {
        auto s = scan(seg.data, seg.number);
        CHECK(s.scan.how == wal_scan::end::clean);
        CHECK(s.scan.why.empty());
        CHECK(s.scan.valid_bytes == seg.data.size());
        REQUIRE(s.payloads.size() == seg.payloads.size());
        for (std::size_t i = 0; i < s.payloads.size(); ++i) {
            INFO("record " << i << " of " << seg.payloads[i].size() << " bytes");
            CHECK(s.payloads[i] == seg.payloads[i]);
            CHECK(s.starts[i] == (i == 0 ? 0 : seg.ends[i - 1]));
        }
    }

    SECTION("physical records never cross a block; fragments are full, first, middle..., last") {
        const auto records = walk_physical(seg.data);
        std::size_t logical = 0;
        std::string assembled;
        bool in_fragment = false;
        std::size_t trailers_seen[11] = {};
        for (std::size_t i = 0; i < records.size(); ++i) {
            const auto& r = records[i];
            INFO("physical record " << i << " at " << r.offset);
            CHECK(r.segment == seg.number);
            CHECK(r.offset % B + H + r.length <= B); // inside one block
            const std::string_view payload = std::string_view(seg.data).substr(r.offset + H, r.length);
            switch (r.type) {
            case wal_type::full:
                REQUIRE_FALSE(in_fragment);
                CHECK(payload == seg.payloads[logical]);
                ++logical;
                break;
            case wal_type::first:
                REQUIRE_FALSE(in_fragment);
                CHECK(r.offset % B + H + r.length == B); // a fragment fills the rest of its block
                assembled.assign(payload);
                in_fragment = true;
                break;
            case wal_type::middle:
                REQUIRE(in_fragment);
                CHECK(r.offset % B == 0);
                CHECK(r.length == B - H);
                assembled.append(payload);
                break;
            case wal_type::last:
                REQUIRE(in_fragment);
                CHECK(r.offset % B == 0);
                assembled.append(payload);
                CHECK(assembled == seg.payloads[logical]);
                ++logical;
                in_fragment = false;
                break;
            default: FAIL("type " << static_cast<int>(r.type));
            }
            // Bytes between this record and the next: a zero trailer shorter than a header, or none.
            const std::size_t end = r.offset + H + r.length;
            const std::size_t next = i + 1 < records.size() ? records[i + 1].offset : seg.data.size();
            const std::size_t gap = next - end;
            if (gap > 0) {
                CHECK(gap < H);
                CHECK(next % B == 0);
                CHECK(seg.data.substr(end, gap) == std::string(gap, '\0'));
            } else if (next % B == 0 && next < seg.data.size()) {
                trailers_seen[0]++;
            }
            if (gap > 0 && gap < H) trailers_seen[gap]++;
        }
        CHECK_FALSE(in_fragment);
        CHECK(logical == seg.payloads.size());
        for (std::size_t t = 0; t <= 10; ++t) {
            INFO("trailer of " << t << " bytes");
            CHECK(trailers_seen[t] > 0);
        }
    }
}

TEST_CASE("wal: a record that does not fit its block is split, never crossing the boundary", "[wal]") {
    const std::string payload(100, 'p');
    SECTION("20 bytes left: a 9-byte first fragment, then the last in the next block") {
        std::string out(B - 20, 'x');
        wal_formatter f(1, B - 20);
        f.add(payload, out);
        CHECK(out.substr(B - 20, H + 9) == physical_record(wal_type::first, 1, payload.substr(0, 9)));
        CHECK(out.substr(B) == physical_record(wal_type::last, 1, payload.substr(9)));
    }
    SECTION("exactly a header left: an empty first fragment") {
        std::string out(B - H, 'x');
        wal_formatter f(1, B - H);
        f.add(payload, out);
        CHECK(out.substr(B - H, H) == physical_record(wal_type::first, 1, ""));
        CHECK(out.substr(B) == physical_record(wal_type::last, 1, payload));
    }
    SECTION("less than a header left: zeros to the block's end, then a full record") {
        for (std::size_t left = 1; left < H; ++left) {
            std::string out(B - left, 'x');
            wal_formatter f(1, B - left);
            f.add(payload, out);
            CHECK(out.substr(B - left, left) == std::string(left, '\0'));
            CHECK(out.substr(B) == physical_record(wal_type::full, 1, payload));
            CHECK(f.offset() == out.size());
        }
    }
    SECTION("a payload that fills the block exactly is one full record") {
        std::string out(B - 111, 'x');
        wal_formatter f(1, B - 111);
        f.add(std::string(100, 'p'), out);
        CHECK(out.size() == B);
        CHECK(out.substr(B - 111) == physical_record(wal_type::full, 1, payload));
    }
}

TEST_CASE("wal: bytes of another segment are never taken for records", "[wal]") {
    std::mt19937_64 rng(5);
    segment_bytes old_seg(5), new_seg(6);
    for (int i = 0; i < 40; ++i) old_seg.add(random_payload(rng, rng() % 3000));
    for (int i = 0; i < 6; ++i) new_seg.add(random_payload(rng, rng() % 300));

    SECTION("a whole file of segment 5 read as segment 6 yields nothing") {
        auto s = scan(old_seg.data, 6);
        CHECK(s.payloads.empty());
        CHECK(s.scan.valid_bytes == 0);
        CHECK(s.scan.how == wal_scan::end::torn);
    }
    SECTION("a recycled file: segment 6's records over the rest of segment 5's") {
        std::string data = new_seg.data + old_seg.data.substr(new_seg.data.size());
        auto s = scan(data, 6);
        CHECK(s.payloads == new_seg.payloads);
        CHECK(s.scan.valid_bytes == new_seg.data.size());
        CHECK(s.scan.how == wal_scan::end::torn); // stale bytes are cut off like a torn tail
    }
    SECTION("stale records aligned on block boundaries are still not this segment's") {
        std::string data = new_seg.data;
        data.append(B - data.size() % B, '\0');
        data += old_seg.data; // block-aligned records of segment 5, valid checksums
        auto s = scan(data, 6);
        CHECK(s.payloads == new_seg.payloads);
        CHECK(s.scan.valid_bytes == new_seg.data.size());
        CHECK(s.scan.how == wal_scan::end::torn);
    }
    SECTION("a record of segment 5 between records of segment 6 is corruption") {
        std::string data = new_seg.data.substr(0, new_seg.ends[2]) + physical_record(wal_type::full, 5, "stale") +
                           new_seg.data.substr(new_seg.ends[2]);
        auto s = scan(data, 6);
        CHECK(s.payloads.size() == 3);
        CHECK(s.scan.valid_bytes == new_seg.ends[2]);
        CHECK(s.scan.how == wal_scan::end::corrupt);
    }
}

TEST_CASE("wal: a cut at every byte of the last two records is a torn tail at the last whole record", "[wal]") {
    std::mt19937_64 rng(11);
    segment_bytes seg(2);
    for (int i = 0; i < 5; ++i) seg.add(random_payload(rng, 50 + rng() % 200));

    SECTION("the next-to-last record is split across a block boundary") {
        while (B - seg.data.size() % B < 400) seg.add(random_payload(rng, 100)); // room for a split
        const std::size_t left = B - seg.data.size() % B;
        seg.add(random_payload(rng, left - H + 300)); // first fragment fills the block, last has 300
        seg.add(random_payload(rng, 200));
    }
    SECTION("the last record has first, middle and last fragments; the one before leaves a trailer") {
        seg.end_block_with_trailer(7, rng);
        seg.add(random_payload(rng, 2 * B + 500));
    }
    SECTION("both are small and inside one block") {
        seg.add(random_payload(rng, 30));
        seg.add(random_payload(rng, 0));
    }

    const std::size_t from = seg.starts[seg.starts.size() - 2];
    const auto records = walk_physical(seg.data);
    // Every byte near a record's edges or a block boundary; every 61st byte in between.
    auto interesting = [&](std::size_t t) {
        if (seg.data.size() - from < 4000) return true;
        for (const auto& r : records)
            for (std::size_t edge : {r.offset, r.offset + H, r.offset + H + r.length})
                if (t + 40 >= edge && t <= edge + 40) return true;
        return t % 61 == 0;
    };
    std::size_t checked = 0;
    for (std::size_t t = from; t <= seg.data.size(); ++t) {
        if (!interesting(t)) continue;
        ++checked;
        INFO("cut at " << t << " of " << seg.data.size());
        const auto [n, end] = survivors(seg.ends, t);
        auto s = scan(std::string_view(seg.data).substr(0, t), seg.number);
        REQUIRE(s.payloads.size() == n);
        CHECK(std::equal(s.payloads.begin(), s.payloads.end(), seg.payloads.begin()));
        CHECK(s.scan.valid_bytes == end);
        // A cut exactly after a record, or inside the zero trailer after it, leaves a clean
        // log; anything else leaves part of a record: torn, never corrupt.
        const bool only_trailer = t > end && (B - end % B) < H && t - end <= B - end % B;
        if (t == end || only_trailer) {
            CHECK(s.scan.how == wal_scan::end::clean);
        } else {
            CHECK(s.scan.how == wal_scan::end::torn);
            CHECK_FALSE(s.scan.why.empty());
        }
    }
    CHECK(checked >= std::min<std::size_t>(seg.data.size() - from + 1, 500));
}

TEST_CASE("wal: a bit flipped in a record followed by valid ones is corruption", "[wal]") {
    std::mt19937_64 rng(12);
    segment_bytes seg(9);
    for (int i = 0; i < 8; ++i) seg.add(random_payload(rng, 20 + rng() % 60));
    seg.end_block_with_trailer(4, rng); // record 8 ends 4 bytes before the block's end
    seg.add(random_payload(rng, 40));   // record 9 starts the next block
    seg.add(random_payload(rng, 40));

    // Every bit of the header and of the payload's first and last 64 bytes; every 211th byte between.
    auto flip_every_bit = [&](std::size_t record) {
        const std::size_t begin = record == 0 ? 0 : seg.ends[record - 1];
        for (std::size_t pos = begin; pos < seg.ends[record]; ++pos)
            for (int bit = 0; bit < 8; ++bit) {
                if (pos >= begin + H + 64 && pos + 64 < seg.ends[record] && pos % 211 != 0) continue;
                std::string data = seg.data;
                data[pos] = static_cast<char>(data[pos] ^ (1 << bit));
                INFO("record " << record << ", byte " << pos << ", bit " << bit);
                auto s = scan(data, seg.number);
                REQUIRE(s.payloads.size() == record);
                CHECK(std::equal(s.payloads.begin(), s.payloads.end(), seg.payloads.begin()));
                CHECK(s.scan.valid_bytes == begin);
                CHECK(s.scan.how == wal_scan::end::corrupt);
                CHECK_FALSE(s.scan.why.empty());
            }
    };
    SECTION("a record in the middle of a block") { flip_every_bit(3); }
    SECTION("the first record") { flip_every_bit(0); }
    SECTION("the last record of a block, the next one in the next block") { flip_every_bit(8); }
    SECTION("a set bit in a block's zero trailer") {
        std::string data = seg.data;
        const std::size_t pad = seg.ends[8];
        data[pad + 2] = 1;
        auto s = scan(data, seg.number);
        CHECK(s.payloads.size() == 9);
        CHECK(s.scan.valid_bytes == pad);
        CHECK(s.scan.how == wal_scan::end::corrupt);
    }
}

TEST_CASE("wal: a bit flipped in the last record is a torn tail", "[wal]") {
    std::mt19937_64 rng(13);
    segment_bytes seg(4);
    for (int i = 0; i < 6; ++i) seg.add(random_payload(rng, 20 + rng() % 60));
    const std::size_t begin = seg.ends.back();
    seg.add(random_payload(rng, 77));
    for (std::size_t pos = begin; pos < seg.data.size(); ++pos)
        for (int bit = 0; bit < 8; ++bit) {
            std::string data = seg.data;
            data[pos] = static_cast<char>(data[pos] ^ (1 << bit));
            INFO("byte " << pos << ", bit " << bit);
            auto s = scan(data, seg.number);
            REQUIRE(s.payloads.size() == 6);
            CHECK(s.scan.valid_bytes == begin);
            CHECK(s.scan.how == wal_scan::end::torn);
        }
}

TEST_CASE("wal: a damaged fragment before a valid one of the same record is corruption", "[wal]") {
    std::mt19937_64 rng(14);
    segment_bytes seg(4);
    seg.add(random_payload(rng, 100));
    seg.add(random_payload(rng, B + 100)); // first | last
    const auto records = walk_physical(seg.data);
    REQUIRE(records.size() == 3);
    std::string data = seg.data;
    data[records[1].offset + H + 5] ^= 0x10; // inside the first fragment; the last is intact
    auto s = scan(data, seg.number);
    CHECK(s.payloads.size() == 1);
    CHECK(s.scan.valid_bytes == seg.ends[0]);
    CHECK(s.scan.how == wal_scan::end::corrupt); // a crash cannot damage what precedes valid bytes
}

TEST_CASE("wal: fragments out of sequence are corruption", "[wal]") {
    const std::string full = physical_record(wal_type::full, 1, "one");
    SECTION("a last fragment without its first") {
        auto s = scan(full + physical_record(wal_type::last, 1, "tail") + full, 1);
        CHECK(s.payloads.size() == 1);
        CHECK(s.scan.valid_bytes == full.size());
        CHECK(s.scan.how == wal_scan::end::corrupt);
    }
    SECTION("a middle fragment without its first") {
        auto s = scan(full + physical_record(wal_type::middle, 1, "mid"), 1);
        CHECK(s.payloads.size() == 1);
        CHECK(s.scan.how == wal_scan::end::corrupt);
    }
    SECTION("a first fragment followed by a full record") {
        auto s = scan(full + physical_record(wal_type::first, 1, "head") + full, 1);
        CHECK(s.payloads.size() == 1);
        CHECK(s.scan.valid_bytes == full.size());
        CHECK(s.scan.how == wal_scan::end::corrupt);
    }
    SECTION("a first and a middle fragment at the end: the last was never written") {
        auto s = scan(full + physical_record(wal_type::first, 1, "head") + physical_record(wal_type::middle, 1, "m"),
                      1);
        CHECK(s.payloads.size() == 1);
        CHECK(s.scan.valid_bytes == full.size());
        CHECK(s.scan.how == wal_scan::end::torn);
    }
    SECTION("first, middle, last assemble into one payload") {
        auto s = scan(physical_record(wal_type::first, 1, "ab") + physical_record(wal_type::middle, 1, "") +
                          physical_record(wal_type::middle, 1, "cd") + physical_record(wal_type::last, 1, "e"),
                      1);
        REQUIRE(s.payloads.size() == 1);
        CHECK(s.payloads[0] == "abcde");
        CHECK(s.scan.how == wal_scan::end::clean);
    }
    SECTION("type 0 and types above 4 are not records") {
        for (int type : {0, 5, 255}) {
            auto bad = physical_record(static_cast<wal_type>(type), 1, "x");
            auto s = scan(full + bad + full, 1);
            CHECK(s.payloads.size() == 1);
            CHECK(s.scan.how == wal_scan::end::corrupt);
            auto t = scan(full + bad, 1);
            CHECK(t.scan.how == wal_scan::end::torn);
        }
    }
}

TEST_CASE("wal: zero-filled tails are torn, zero trailers are clean", "[wal]") {
    std::mt19937_64 rng(15);
    segment_bytes seg(1);
    for (int i = 0; i < 4; ++i) seg.add(random_payload(rng, 100));

    SECTION("zeros after the last record, of any length, are a torn tail") {
        for (std::size_t zeros : {std::size_t{1}, std::size_t{4}, std::size_t{10}, H, H + 1, std::size_t{1000},
                                  B - seg.data.size() % B, B - seg.data.size() % B + 1, B, 3 * B}) {
            INFO(zeros << " zeros");
            auto s = scan(seg.data + std::string(zeros, '\0'), seg.number);
            CHECK(s.payloads == seg.payloads);
            CHECK(s.scan.valid_bytes == seg.data.size());
            CHECK(s.scan.how == wal_scan::end::torn);
            CHECK_THAT(s.scan.why, Catch::Contains("zero"));
        }
    }
    SECTION("zeros inside a block's trailer only are clean; past it, torn") {
        seg.end_block_with_trailer(6, rng);
        const std::size_t end = seg.data.size();
        for (std::size_t zeros = 1; zeros <= 6 + H + 3; ++zeros) {
            INFO(zeros << " zeros");
            auto s = scan(seg.data + std::string(zeros, '\0'), seg.number);
            CHECK(s.scan.valid_bytes == end);
            CHECK(s.payloads.size() == seg.payloads.size());
            CHECK(s.scan.how == (zeros <= 6 ? wal_scan::end::clean : wal_scan::end::torn));
        }
    }
    SECTION("zeroed bytes in the middle, valid records after them, are corruption") {
        std::string data = seg.data;
        std::fill(data.begin() + static_cast<std::ptrdiff_t>(seg.ends[0]),
                  data.begin() + static_cast<std::ptrdiff_t>(seg.ends[1]), '\0');
        auto s = scan(data, seg.number);
        CHECK(s.payloads.size() == 1);
        CHECK(s.scan.valid_bytes == seg.ends[0]);
        CHECK(s.scan.how == wal_scan::end::corrupt);
    }
    SECTION("a file of zeros (preallocated, never written) holds nothing and is torn") {
        auto s = scan(std::string(2 * B + 5, '\0'), 1);
        CHECK(s.payloads.empty());
        CHECK(s.scan.valid_bytes == 0);
        CHECK(s.scan.how == wal_scan::end::torn);
    }
    SECTION("an empty file is clean") {
        auto s = scan("", 1);
        CHECK(s.payloads.empty());
        CHECK(s.scan.valid_bytes == 0);
        CHECK(s.scan.how == wal_scan::end::clean);
    }
}

// A crash while a record is being written leaves a prefix of its bytes: that is a torn tail
// whatever the record carries. A value may hold bytes that are themselves a valid physical
// record of this segment (an agent storing a copy of a WAL file, say); the scanner must not
// take them, inside the torn record's own payload, for "a valid record after the damage".
TEST_CASE("wal: a torn record whose payload holds a valid-looking record is still a torn tail", "[wal]") {
    segment_bytes seg(1);
    seg.add("header");
    seg.add("first commit");
    const std::string inner = physical_record(wal_type::full, 1, "a record inside a value");
    seg.add("value:" + inner + std::string(50, 'v'));
    const std::size_t inner_end = seg.ends[1] + H + 6 + inner.size();
    // The crash cut the last record after its inner copy, before the record's end: every
    // such cut must read as a torn tail after the two whole records.
    std::vector<std::size_t> not_torn;
    for (std::size_t t = inner_end; t < seg.data.size(); ++t) {
        auto s = scan(std::string_view(seg.data).substr(0, t), seg.number);
        REQUIRE(s.payloads.size() == 2);
        CHECK(s.scan.valid_bytes == seg.ends[1]);
        if (s.scan.how != wal_scan::end::torn) not_torn.push_back(t);
    }
    INFO("record ends at " << seg.data.size() << "; cuts read as corruption: " << not_torn.size() << " from "
                           << (not_torn.empty() ? 0 : not_torn.front()));
    CHECK(not_torn.empty());
}

TEST_CASE("wal: commit payloads round-trip and follow the documented grammar", "[wal]") {
    SECTION("golden bytes of a small commit") {
        std::vector<write_op> ops{{write_op::kind::put, "k", "vv"}, {write_op::kind::erase, "e", ""}};
        std::string out = "prefix:"; // append_commit_payload appends
        append_commit_payload(out, 0x0102030405060708ull, ops);
        const std::string golden{'p', 'r', 'e', 'f', 'i', 'x', ':',
                                 '\x02',                                                  // commit
                                 '\x08', '\x07', '\x06', '\x05', '\x04', '\x03', '\x02', '\x01', // version
                                 '\x02',                                                  // 2 ops
                                 '\x01', '\x01', 'k', '\x02', 'v', 'v',                   // put "k" "vv"
                                 '\x02', '\x01', 'e'};                                    // erase "e"
        CHECK(out == golden);
    }
    SECTION("many ops of every shape, any version") {
        const auto ops = sample_ops();
        for (version_t v : {version_t{0}, version_t{1}, version_t{0x7fffffffffffffffull}, ~version_t{0}}) {
            std::string payload;
            append_commit_payload(payload, v, ops);
            wal_entry e;
            REQUIRE(decode_wal_entry(payload, e));
            CHECK(e.kind == wal_record::commit);
            CHECK(e.version == v);
            CHECK(same_ops(e.ops, ops));
        }
        std::string none;
        append_commit_payload(none, 9, {});
        wal_entry e;
        REQUIRE(decode_wal_entry(none, e));
        CHECK(e.version == 9);
        CHECK(e.ops.empty());
    }
    SECTION("a decode reuses the entry without keeping old ops") {
        std::string a, b;
        append_commit_payload(a, 1, sample_ops());
        std::vector<write_op> one{{write_op::kind::erase, "x", ""}};
        append_commit_payload(b, 2, one);
        wal_entry e;
        REQUIRE(decode_wal_entry(a, e));
        REQUIRE(decode_wal_entry(b, e));
        CHECK(same_ops(e.ops, one));
    }
}

TEST_CASE("wal: header payloads round-trip the base version and the schema", "[wal]") {
    const auto schema = sample_schema();
    const std::string payload = wal_header_payload(42, schema);
    CHECK(payload.substr(0, 1 + wal_magic.size()) == "\x01inmem-wal");
    CHECK(get_le(payload, 1 + wal_magic.size(), 4) == wal_format_version);
    CHECK(get_le(payload, 1 + wal_magic.size() + 4, 8) == 42);
    wal_entry e;
    REQUIRE(decode_wal_entry(payload, e));
    CHECK(e.kind == wal_record::header);
    CHECK(e.version == 42);
    CHECK(e.schema.fingerprint == schema.fingerprint);
    REQUIRE(e.schema.slots.size() == schema.slots.size());
    for (std::size_t i = 0; i < schema.slots.size(); ++i) {
        CHECK(e.schema.slots[i].primitive == schema.slots[i].primitive);
        CHECK(e.schema.slots[i].fingerprint == schema.slots[i].fingerprint);
        CHECK(e.schema.slots[i].name == schema.slots[i].name);
    }
    // A header of the program's schema needs no migration; one whose slot changed layout
    // without a description to read it by is refused, naming the type and the file.
    CHECK(schema_migration(schema, e.schema, "wal-00000001.log").identity());
    auto older = e.schema;
    older.fingerprint ^= 1;
    older.slots[0].fingerprint ^= 1;
    older.slots[0].description.clear();
    try {
        schema_migration(schema, older, "wal-00000001.log");
        FAIL("no exception");
    } catch (const inmem::error& err) {
        CHECK(err.code() == inmem::errc::schema_mismatch);
        CHECK_THAT(err.what(), Catch::Contains("Plan") && Catch::Contains("wal-00000001.log"));
    }
}

TEST_CASE("wal: malformed payloads are refused, never crash", "[wal]") {
    std::string commit;
    append_commit_payload(commit, 77, sample_ops());
    const std::string header = wal_header_payload(3, sample_schema());
    const std::vector<const std::string*> both{&commit, &header};
    wal_entry e;

    SECTION("every strict prefix of a commit or a header") {
        for (const std::string* p : both)
            for (std::size_t n = 0; n < p->size(); n += (n < 400 ? 1 : 997)) {
                INFO("prefix of " << n << " bytes");
                CHECK_FALSE(decode_wal_entry(std::string_view(*p).substr(0, n), e));
            }
    }
    SECTION("trailing bytes") {
        CHECK_FALSE(decode_wal_entry(commit + '\0', e));
        CHECK_FALSE(decode_wal_entry(header + 'x', e));
    }
    SECTION("an unknown record kind or op") {
        for (char kind : {'\0', '\x05', '\x7f', '\xff'}) {
            std::string bad = commit;
            bad[0] = kind;
            CHECK_FALSE(decode_wal_entry(bad, e));
        }
        std::vector<write_op> one{{write_op::kind::put, "k", "v"}};
        std::string p;
        append_commit_payload(p, 1, one);
        const std::size_t op_at = 1 + 8 + 1;
        REQUIRE(p[op_at] == '\x01');
        for (char op : {'\0', '\x03', '\xff'}) {
            std::string bad = p;
            bad[op_at] = op;
            CHECK_FALSE(decode_wal_entry(bad, e));
        }
    }
    SECTION("an op count or a string size larger than the bytes") {
        std::string bad{'\x02', 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff', '\xff', '\xff', '\x0f'};
        CHECK_FALSE(decode_wal_entry(bad, e));
        std::string big_key{'\x02', 1, 0, 0, 0, 0, 0, 0, 0, '\x01', '\x01', '\xff', '\xff', '\xff', '\x7f', 'k'};
        CHECK_FALSE(decode_wal_entry(big_key, e));
    }
    SECTION("a header with another magic or format version") {
        std::string bad_magic = header;
        bad_magic[3] = 'X';
        CHECK_FALSE(decode_wal_entry(bad_magic, e));
        for (char format : {'\0', static_cast<char>(wal_format_version + 1), '\x7f'}) {
            std::string bad_format = header;
            bad_format[1 + wal_magic.size()] = format;
            CHECK_FALSE(decode_wal_entry(bad_format, e));
        }
    }
    SECTION("every single-bit flip decodes to false or to something well-formed") {
        for (const std::string* p : both)
            for (std::size_t pos = 0; pos < std::min<std::size_t>(p->size(), 600); ++pos)
                for (int bit = 0; bit < 8; ++bit) {
                    std::string bad = *p;
                    bad[pos] = static_cast<char>(bad[pos] ^ (1 << bit));
                    (void)decode_wal_entry(bad, e); // under the sanitizers: no overflow, no crash
                }
    }
    SECTION("random bytes") {
        std::mt19937_64 rng(99);
        for (int i = 0; i < 20000; ++i) {
            std::string junk = random_payload(rng, rng() % 64);
            if (!junk.empty() && i % 2) junk[0] = static_cast<char>(1 + rng() % 2);
            (void)decode_wal_entry(junk, e);
        }
    }
}

TEST_CASE("wal: segment and snapshot file names format and parse", "[wal]") {
    CHECK(wal_segment_name(1) == "wal-00000001.log");
    CHECK(wal_segment_name(42) == "wal-00000042.log");
    CHECK(wal_segment_name(99999999) == "wal-99999999.log");
    for (std::uint32_t n : {0u, 1u, 42u, 12345678u, 99999999u}) CHECK(parse_wal_segment_name(wal_segment_name(n)) == n);
    for (const char* bad : {"wal-0000001.log", "wal-000000001.log", "wal-0000000a.log", "wal-00000001.lo",
                            "WAL-00000001.log", "wal_00000001.log", "wal-00000001.log.tmp", "xwal-0000001.log",
                            "wal-+0000001.log", "wal- 0000001.log", "", "LOCK", "snapshot-0000000000000001.snap"})
        CHECK_FALSE(parse_wal_segment_name(bad));

    CHECK(snapshot_name(0) == "snapshot-0000000000000000.snap");
    CHECK(snapshot_name(0xabc) == "snapshot-0000000000000abc.snap");
    for (version_t v : {version_t{0}, version_t{1}, version_t{0xabcdef}, ~version_t{0}})
        CHECK(parse_snapshot_name(snapshot_name(v)) == v);
    for (const char* bad : {"snapshot-000000000000000A.snap", "snapshot-000000000000000g.snap",
                            "snapshot-000000000000001.snap", "snapshot-0000000000000001.snap.tmp",
                            "snapshot-0000000000000001.snaq", "Snapshot-0000000000000001.snap", "wal-00000001.log"})
        CHECK_FALSE(parse_snapshot_name(bad));
}

// Segment numbers are u32 and grow by one per rotation and per open; a name that does not
// parse back is a segment recovery never sees (its commits silently lost).
TEST_CASE("wal: every segment number's file name parses back to it", "[wal]") {
    for (std::uint32_t n : {100000000u, 123456789u, 4294967295u}) {
        INFO(wal_segment_name(n));
        CHECK(parse_wal_segment_name(wal_segment_name(n)) == n);
    }
}
