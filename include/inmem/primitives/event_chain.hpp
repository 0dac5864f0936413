// inmem/primitives/event_chain.hpp: how the event log is stored and chained, below its handle.
//
// Each run has one log of all the schema's event types, totally ordered by seq (0, 1, ...).
// Its keys are run data of primitive 2 (storage/key.hpp); L is the log slot (the schema's
// first event type), S an event type's slot, integers big-endian:
//   L  ""                      -> chain head: fmt next:u64 hash:32 time:i64 [count:u64 per type]
//   L  seq:u64                 -> event: fmt time:i64 prev_hash:32 hash:32 slot:u16
//                                        thread:(len:u16 bytes) agent:(len:u16 bytes) payload
//   L  'L' kind len:u16 label  -> label head: count:u64   (kind 't' thread, 'a' agent)
//   L  'L' kind len label i:u64 -> label index: seq:u64    (the i-th event with that label)
//   S  'T' i:u64               -> type index: seq:u64      (the i-th event of type S; only
//                                                           when the schema has several)
// Every lookup is a point lookup (O(1) in the memory backend): a seq range is read seq by
// seq, a type's or a label's events through their dense index (binary searched by seq),
// and times, which never go back within a run, by binary search over seqs.
//
// hash = SHA-256(prev_hash || run || seq || time || type fingerprint || labels || payload):
// run, seq, time and fingerprint as 8 bytes big-endian, the labels as stored (each length
// then bytes), the payload as the codec's bytes; the first event's prev_hash is all zeros.
// Appends are ops whose finalizers (record.hpp) assign seq, time and hash at commit, under
// the writers' lock, from the head as the commit's earlier appends left it (the commit's
// scratch); the head and label heads are written once per commit, after its appends.
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/crypto/sha256.hpp>
#include <inmem/error.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace inmem::detail {

inline constexpr char event_format = 1;
inline constexpr std::size_t event_time_at = 1, event_prev_at = 9, event_hash_at = 41, event_slot_at = 73,
                             event_labels_at = 75;
inline constexpr std::size_t head_next_at = 1, head_hash_at = 9, head_time_at = 41, head_counts_at = 49;
/// The longest thread or agent label, in bytes.
inline constexpr std::size_t max_event_label_size = 1024;
inline constexpr char label_marker = 'L', type_index_marker = 'T';
inline constexpr char thread_label = 't', agent_label = 'a';

/// The key of a run's chain head (and, with a seq appended, of its events).
inline std::string event_head_key(run_id run, std::uint16_t log_slot) {
    return run_data_key(default_namespace, run.value, static_cast<std::uint8_t>(2), log_slot, {});
}

/// The key of event seq of run, into out (reused by reads).
inline void event_key_into(std::string& out, run_id run, std::uint16_t log_slot, std::uint64_t seq) {
    char rest[8];
    store_big_endian(rest, seq);
    run_data_key_into(out, default_namespace, run.value, 2, log_slot, std::string_view(rest, 8));
}

/// The key of the head of a label (kind thread_label or agent_label) of run.
inline std::string label_head_key(run_id run, std::uint16_t log_slot, char kind, std::string_view label) {
    std::string key = event_head_key(run, log_slot);
    key.push_back(label_marker);
    key.push_back(kind);
    append_big_endian(key, static_cast<std::uint16_t>(label.size()));
    key += label;
    return key;
}

/// The key of the type index of slot's events (append the ordinal).
inline std::string type_index_prefix(run_id run, std::uint16_t slot) {
    std::string key = run_data_key(default_namespace, run.value, 2, slot, {});
    key.push_back(type_index_marker);
    return key;
}

/// A stored event's fields, as views into its bytes.
struct event_fields {
    std::int64_t time_ns = 0;
    std::string_view prev_hash, hash; // 32 bytes each
    std::uint16_t slot = 0;
    std::string_view thread, agent;
    std::string_view hashed;  // what the hash covers after the header: labels and payload
    std::string_view payload; // the codec bytes of the value
};

/// Splits a stored event; nullopt when its framing is damaged.
inline std::optional<event_fields> parse_event(std::string_view bytes) noexcept {
    // (Views made from pointers: every bound is checked here once, not again by substr.)
    const char* p = bytes.data();
    const std::size_t size = bytes.size();
    if (size < event_labels_at + 4 || p[0] != event_format) return std::nullopt;
    event_fields f;
    f.time_ns = static_cast<std::int64_t>(load_big_endian<std::uint64_t>(p + event_time_at));
    f.prev_hash = std::string_view(p + event_prev_at, 32);
    f.hash = std::string_view(p + event_hash_at, 32);
    f.slot = load_big_endian<std::uint16_t>(p + event_slot_at);
    std::size_t at = event_labels_at;
    for (std::string_view* label : {&f.thread, &f.agent}) {
        if (size < at + 2) return std::nullopt;
        const std::size_t length = load_big_endian<std::uint16_t>(p + at);
        if (length > max_event_label_size || size < at + 2 + length) return std::nullopt;
        *label = std::string_view(p + at + 2, length);
        at += 2 + length;
    }
    f.hashed = std::string_view(p + event_labels_at, size - event_labels_at);
    f.payload = std::string_view(p + at, size - at);
    return f;
}

/// An event's bytes before its commit: the framing with its labels and the payload that
/// append_payload(std::string&) appends, the time and the hashes left for the finalizer.
/// Built in a reused buffer and copied once, as encode() does.
template <class AppendPayload>
std::string unfinished_event(std::uint16_t slot, std::string_view thread, std::string_view agent,
                             AppendPayload&& append_payload) {
    for (std::string_view label : {thread, agent})
        if (label.size() > max_event_label_size)
            throw error(errc::invalid_argument, "inmem: an event label of " + std::to_string(label.size()) +
                                                    " bytes exceeds inmem::max_event_label_size (" +
                                                    std::to_string(max_event_label_size) + ")");
    thread_local std::string buffer;
    buffer.assign(event_labels_at + 4 + thread.size() + agent.size(), '\0');
    buffer[0] = event_format;
    store_big_endian(buffer.data() + event_slot_at, slot);
    char* at = buffer.data() + event_labels_at;
    for (std::string_view label : {thread, agent}) {
        store_big_endian(at, static_cast<std::uint16_t>(label.size()));
        if (!label.empty()) std::memcpy(at + 2, label.data(), label.size());
        at += 2 + label.size();
    }
    append_payload(buffer);
    std::string out(buffer);
    if (buffer.capacity() > (std::size_t{1} << 20)) buffer = std::string(); // do not pin huge buffers
    return out;
}

/// The hash of an event: over prev_hash, the 32-byte header (run, seq, time, fingerprint)
/// and what follows the fixed fields (labels and payload).
inline sha256_digest event_hash(std::string_view prev_hash, std::uint64_t run, std::uint64_t seq,
                                std::int64_t time_ns, std::uint64_t fingerprint, std::string_view hashed) {
    thread_local sha256 hasher;
    char start[64]; // prev_hash and the header: one update fewer
    std::memcpy(start, prev_hash.data(), 32);
    store_big_endian(start + 32, run);
    store_big_endian(start + 40, seq);
    store_big_endian(start + 48, static_cast<std::uint64_t>(time_ns));
    store_big_endian(start + 56, fingerprint);
    hasher.update(start, sizeof start).update(hashed);
    return hasher.finish();
}

/// The size of a chain head's bytes for a schema of `types` event types.
constexpr std::size_t head_size(std::size_t types) noexcept { return head_counts_at + (types > 1 ? 8 * types : 0); }

/// A chain head as stored (what event_log::head returns is built from it).
struct stored_head {
    std::uint64_t next = 0; // the next seq: the number of events
    std::string_view hash;  // the last event's hash (zeros before the first)
    std::int64_t time_ns = 0;
};

/// The run metadata key that names, in hex, the hash a run's chain begins from: its first
/// event's prev_hash, all zeros when the key is absent. A fork sets it to the parent's chain
/// head at the fork point (time_machine/fork.hpp), so the child's chain proves where it came
/// from; verify() checks the first event against it.
inline constexpr std::string_view chain_link_metadata = "inmem.fork.chain";

/// A chain head with no events yet whose chain begins from link (a fork's).
inline std::string linked_head(std::size_t types, std::string_view link) {
    std::string head(head_size(types), '\0');
    head[0] = event_format;
    std::memcpy(head.data() + head_hash_at, link.data(), 32);
    return head;
}

/// 32 bytes as 64 lowercase hex digits, and back (nullopt when s is not that).
inline std::string hash_to_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) out += {digits[c >> 4], digits[c & 15]};
    return out;
}
inline std::optional<sha256_digest> hash_from_hex(std::string_view s) noexcept {
    if (s.size() != 64) return std::nullopt;
    sha256_digest out{};
    for (std::size_t i = 0; i < 32; ++i) {
        int v = 0;
        for (char c : s.substr(2 * i, 2)) {
            v <<= 4;
            if (c >= '0' && c <= '9') v |= c - '0';
            else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
            else return std::nullopt;
        }
        out[i] = static_cast<std::uint8_t>(v);
    }
    return out;
}

/// Reads a chain head; nullopt when damaged.
inline std::optional<stored_head> parse_head(std::string_view bytes, std::size_t types) noexcept {
    if (bytes.size() != head_size(types) || bytes[0] != event_format) return std::nullopt;
    return stored_head{load_big_endian<std::uint64_t>(bytes.data() + head_next_at), bytes.substr(head_hash_at, 32),
                       static_cast<std::int64_t>(load_big_endian<std::uint64_t>(bytes.data() + head_time_at))};
}

/// How many events of the type with this ordinal the head counts.
inline std::uint64_t head_count(std::string_view head, std::size_t types, std::size_t ordinal) noexcept {
    if (types <= 1) return load_big_endian<std::uint64_t>(head.data() + head_next_at);
    return load_big_endian<std::uint64_t>(head.data() + head_counts_at + 8 * ordinal);
}

// The scratch entry of the head (or label head) at key, loaded from the store the first
// time a commit touches it; a head never written starts empty.
inline std::string& scratch_head(const commit_context& commit, std::string_view key, std::size_t size) {
    bool fresh = false;
    std::string& head = commit.scratch->at(key, fresh);
    if (fresh) {
        if (const stored_record* rec = commit.latest(key); rec && rec->bytes.size() == size) head = rec->bytes;
        else {
            head.assign(size, '\0');
            head[0] = event_format;
        }
    }
    return head;
}

/// A time as stored (the event log's and the trace store's): nanoseconds since the epoch.
inline std::int64_t to_nanoseconds(std::chrono::system_clock::time_point t) noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
/// A stored time (to_nanoseconds) as a time point.
inline std::chrono::system_clock::time_point from_nanoseconds(std::int64_t ns) noexcept {
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns)));
}

/// The finalizer of an event of the type with this fingerprint and ordinal, in a schema of
/// Types event types: its key (the run's head key until now) gets the next seq, its bytes
/// the time (the commit's, never before the previous event's), prev_hash and hash; the head
/// in the scratch moves on; op.out, when set, receives the seq.
template <std::uint64_t Fingerprint, std::size_t Types, std::size_t Ordinal>
void finalize_event(write_op& op, const commit_context& commit) {
    std::string& head = scratch_head(commit, op.key, head_size(Types));
    const std::uint64_t seq = load_big_endian<std::uint64_t>(head.data() + head_next_at);
    const std::int64_t previous_time = static_cast<std::int64_t>(load_big_endian<std::uint64_t>(head.data() + head_time_at));
    const std::int64_t time = seq == 0 ? to_nanoseconds(commit.time) : std::max(to_nanoseconds(commit.time), previous_time);
    char* bytes = op.bytes.data();
    store_big_endian(bytes + event_time_at, static_cast<std::uint64_t>(time));
    std::memcpy(bytes + event_prev_at, head.data() + head_hash_at, 32);
    const sha256_digest hash =
        event_hash(std::string_view(bytes + event_prev_at, 32), load_big_endian<std::uint64_t>(op.key.data() + 5), seq,
                   time, Fingerprint, std::string_view(op.bytes).substr(event_labels_at));
    std::memcpy(bytes + event_hash_at, hash.data(), 32);
    store_big_endian(head.data() + head_next_at, seq + 1);
    std::memcpy(head.data() + head_hash_at, hash.data(), 32);
    store_big_endian(head.data() + head_time_at, static_cast<std::uint64_t>(time));
    if constexpr (Types > 1) {
        char* count = head.data() + head_counts_at + 8 * Ordinal;
        store_big_endian(count, load_big_endian<std::uint64_t>(count) + 1);
    }
    append_big_endian(op.key, seq);
    if (op.out) *static_cast<std::uint64_t*>(op.out) = seq;
}

/// The finalizer of a type index entry of the event just finalized before it (of type
/// Ordinal, in a log whose slot is LogSlot): the type's ordinal goes into the key, the seq
/// into the bytes.
template <std::uint16_t LogSlot, std::size_t Types, std::size_t Ordinal>
void finalize_type_index(write_op& op, const commit_context& commit) {
    std::string head_key = op.key.substr(0, run_key_prefix_size);
    store_big_endian(head_key.data() + 14, LogSlot);
    const std::string& head = scratch_head(commit, head_key, head_size(Types));
    append_big_endian(op.key, head_count(head, Types, Ordinal) - 1);
    op.bytes.resize(8);
    store_big_endian(op.bytes.data(), load_big_endian<std::uint64_t>(head.data() + head_next_at) - 1);
}

/// The finalizer of an entry of a dense index (a label's: 0, 1, 2, ... -> seq) of the entry
/// just finalized before it in a log whose head key is the op key's first 16 bytes (and
/// holds the next seq at head_next_at): the op's key is the index's head key until now (its
/// count, 8 bytes, moves on in the scratch) and gets the ordinal, the bytes get the seq.
inline void finalize_index_entry(write_op& op, const commit_context& commit) {
    const std::string_view head_key = std::string_view(op.key).substr(0, run_key_prefix_size);
    bool fresh = false;
    const std::string& head = commit.scratch->at(head_key, fresh); // the event's finalizer made it
    const std::uint64_t seq = load_big_endian<std::uint64_t>(head.data() + head_next_at) - 1;
    std::string& count = commit.scratch->at(op.key, fresh);
    if (fresh) {
        const stored_record* rec = commit.latest(op.key);
        count = rec && rec->bytes.size() == 8 ? rec->bytes : std::string(8, '\0');
    }
    const std::uint64_t ordinal = load_big_endian<std::uint64_t>(count.data());
    store_big_endian(count.data(), ordinal + 1);
    append_big_endian(op.key, ordinal);
    op.bytes.resize(8);
    store_big_endian(op.bytes.data(), seq);
}

/// The finalizer of a head (the chain's or a label's), written after a commit's appends:
/// its bytes are what the scratch holds for its key.
inline void finalize_head(write_op& op, const commit_context& commit) {
    bool fresh = false;
    op.bytes = commit.scratch->at(op.key, fresh);
}

} // namespace inmem::detail
