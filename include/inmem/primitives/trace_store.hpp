// inmem/primitives/trace_store.hpp: how the trace store is laid out, below its handle.
//
// Each run has one log of all the schema's trace types, totally ordered by seq (0, 1, ...).
// Its keys are run data of primitive 4 (storage/key.hpp); L is the log slot (the schema's
// first trace type), S a trace type's slot, integers big-endian:
//   L  ""                       -> head: fmt next:u64 time:i64 [count:u64 per type]
//   L  seq:u64                  -> trace: fmt time:i64 slot:u16 links:u8 event:u64 parent:u64
//                                         depth:u32 tags:u16 (len:u16 tag)* payload
//   S  'T' i:u64                -> type index: seq:u64  (the i-th trace of type S; only when
//                                                        the schema has several)
//   L  'E' event:u64            -> event link head: count:u64
//   L  'E' event:u64 i:u64      -> event link index: seq:u64  (the i-th trace linked to event)
//   L  'C' parent:u64           -> children head: count:u64
//   L  'C' parent:u64 i:u64     -> children index: seq:u64    (the i-th child of parent)
//   L  'G' len:u16 tag          -> tag head: count:u64
//   L  'G' len:u16 tag i:u64    -> tag index: seq:u64         (the i-th trace with that tag)
// A trace's key is told from an index's by its first byte: 0 for a trace (seqs stay below
// 2^56), a marker letter for an index ('G' 0 5 "three" is as long as a seq).
// links: bit 0, event holds the linked event's seq; bit 1, parent holds the parent's seq
// (both 0 otherwise). depth: how many ancestors the trace has (0 without a parent).
// Every lookup is a point lookup: a seq range is read seq by seq, an index binary searched
// by seq, times (which never go back within a run) by binary search over seqs, a subtree
// child by child through the children indexes.
//
// Records are ops whose finalizers (record.hpp) assign seq and time at commit, under the
// writers' lock, from the head as the commit's earlier records left it (the commit's
// scratch); the heads are written once per commit, after its records. A trace recorded in
// a transaction may name as its parent a trace recorded earlier in the same transaction:
// until the commit, its parent field holds that trace's position among the transaction's
// appends (links bit 2), and its children entries are under 'c' instead of 'C'; every trace
// of a transaction leaves (position, seq, depth) in the scratch (under L 'p', a key that is
// never stored) for the finalizers of its children to complete theirs. Before the commit,
// a trace's time field holds its position + 1 in a transaction (0 outside one).
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/error.hpp>
#include <inmem/primitives/event_chain.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace inmem::detail {

inline constexpr std::uint8_t trace_primitive = 4; // primitive::trace
inline constexpr char trace_format = 1;
inline constexpr std::size_t trace_time_at = 1, trace_slot_at = 9, trace_links_at = 11, trace_event_at = 12,
                             trace_parent_at = 20, trace_depth_at = 28, trace_tags_at = 32, trace_tag_list_at = 34;
inline constexpr std::size_t trace_head_next_at = 1, trace_head_time_at = 9, trace_head_counts_at = 17;
// finalize_index_entry (event_chain.hpp) reads the next seq of the head at head_next_at.
static_assert(trace_head_next_at == head_next_at && trace_format == event_format);

inline constexpr std::uint8_t trace_has_event = 1, trace_has_parent = 2, trace_parent_pending = 4;
inline constexpr char trace_type_marker = 'T', trace_event_marker = 'E', trace_child_marker = 'C',
                      trace_pending_child_marker = 'c', trace_tag_marker = 'G', trace_local_marker = 'p';

/// The longest tag of a trace, in bytes.
inline constexpr std::size_t max_trace_tag_size = 1024;
/// The most tags one trace carries.
inline constexpr std::size_t max_trace_tags = 64;

/// The key of a run's trace head (and, with a seq appended, of its traces).
inline std::string trace_head_key(run_id run, std::uint16_t log_slot) {
    return run_data_key(default_namespace, run.value, trace_primitive, log_slot, {});
}

/// The key of trace seq of run, into out (reused by reads).
inline void trace_key_into(std::string& out, run_id run, std::uint16_t log_slot, std::uint64_t seq) {
    char rest[8];
    store_big_endian(rest, seq);
    run_data_key_into(out, default_namespace, run.value, trace_primitive, log_slot, std::string_view(rest, 8));
}

/// The key of the type index of slot's traces (append the ordinal).
inline std::string trace_type_index_prefix(run_id run, std::uint16_t slot) {
    std::string key = run_data_key(default_namespace, run.value, trace_primitive, slot, {});
    key.push_back(trace_type_marker);
    return key;
}

/// The head key of an index keyed by a number (marker 'E': an event's links, 'C': a trace's
/// children, 'c': before the commit, the children of a trace of the same transaction).
inline std::string trace_link_head_key(run_id run, std::uint16_t log_slot, char marker, std::uint64_t of) {
    std::string key = trace_head_key(run, log_slot);
    key.push_back(marker);
    append_big_endian(key, of);
    return key;
}

/// The head key of a tag's index.
inline std::string trace_tag_head_key(run_id run, std::uint16_t log_slot, std::string_view tag) {
    std::string key = trace_head_key(run, log_slot);
    key.push_back(trace_tag_marker);
    append_big_endian(key, static_cast<std::uint16_t>(tag.size()));
    key += tag;
    return key;
}

/// A stored trace's fields, as views into its bytes.
struct trace_fields {
    std::int64_t time_ns = 0;
    std::uint16_t slot = 0;
    std::uint8_t links = 0;
    std::uint64_t event = 0, parent = 0; // valid with their links bit
    std::uint32_t depth = 0;
    std::uint16_t tag_count = 0;
    std::string_view tags;    // the tags as stored: (len:u16 tag)*
    std::string_view payload; // the codec bytes of the value
};

/// Splits a stored trace; nullopt when its framing is damaged.
inline std::optional<trace_fields> parse_trace(std::string_view bytes) noexcept {
    if (bytes.size() < trace_tag_list_at || bytes[0] != trace_format) return std::nullopt;
    trace_fields f;
    f.time_ns = static_cast<std::int64_t>(load_big_endian<std::uint64_t>(bytes.data() + trace_time_at));
    f.slot = load_big_endian<std::uint16_t>(bytes.data() + trace_slot_at);
    f.links = static_cast<std::uint8_t>(bytes[trace_links_at]);
    if (f.links & ~(trace_has_event | trace_has_parent)) return std::nullopt;
    f.event = load_big_endian<std::uint64_t>(bytes.data() + trace_event_at);
    f.parent = load_big_endian<std::uint64_t>(bytes.data() + trace_parent_at);
    f.depth = load_big_endian<std::uint32_t>(bytes.data() + trace_depth_at);
    f.tag_count = load_big_endian<std::uint16_t>(bytes.data() + trace_tags_at);
    if (f.tag_count > max_trace_tags) return std::nullopt;
    std::size_t at = trace_tag_list_at;
    for (std::uint16_t i = 0; i < f.tag_count; ++i) {
        if (bytes.size() < at + 2) return std::nullopt;
        const std::size_t size = load_big_endian<std::uint16_t>(bytes.data() + at);
        if (size == 0 || size > max_trace_tag_size || bytes.size() < at + 2 + size) return std::nullopt;
        at += 2 + size;
    }
    f.tags = bytes.substr(trace_tag_list_at, at - trace_tag_list_at);
    f.payload = bytes.substr(at);
    return f;
}

/// Calls f(std::string_view tag) for each tag of tags as stored (trace_fields::tags); f may
/// return false to stop. Returns whether it went through them all.
template <class F>
bool for_each_trace_tag(std::string_view tags, F&& f) {
    for (std::size_t at = 0; at + 2 <= tags.size();) {
        const std::size_t size = load_big_endian<std::uint16_t>(tags.data() + at);
        if (!f(tags.substr(at + 2, size))) return false;
        at += 2 + size;
    }
    return true;
}

/// Throws invalid_argument unless tags are each 1..max_trace_tag_size bytes and at most
/// max_trace_tags of them.
inline void check_trace_tags(std::span<const std::string_view> tags) {
    if (tags.size() > max_trace_tags)
        throw error(errc::invalid_argument, "inmem: a trace carries at most inmem::detail::max_trace_tags (" +
                                                std::to_string(max_trace_tags) + ") tags, not " +
                                                std::to_string(tags.size()));
    for (std::string_view tag : tags)
        if (tag.empty() || tag.size() > max_trace_tag_size)
            throw error(errc::invalid_argument, "inmem: a trace tag of " + std::to_string(tag.size()) +
                                                    " bytes; tags are 1 to " + std::to_string(max_trace_tag_size) +
                                                    " bytes");
}

/// What a trace links to, for unfinished_trace.
struct trace_links {
    std::uint8_t links = 0;   // trace_has_event, trace_has_parent, trace_parent_pending
    std::uint64_t event = 0;  // the event's seq
    std::uint64_t parent = 0; // the parent's seq, or (pending) its position in the transaction
    std::uint32_t depth = 0;  // (pending: completed at commit)
};

/// A trace's bytes before its commit: the framing with its links, tags (distinct, checked)
/// and payload; the time field holds position + 1 in a transaction (0: outside one).
inline std::string unfinished_trace(std::uint16_t slot, std::uint64_t local, const trace_links& links,
                                    std::span<const std::string_view> tags, std::string_view payload) {
    std::size_t size = trace_tag_list_at + payload.size();
    for (std::string_view tag : tags) size += 2 + tag.size();
    std::string out(size, '\0');
    out[0] = trace_format;
    char* b = out.data();
    store_big_endian(b + trace_time_at, local);
    store_big_endian(b + trace_slot_at, slot);
    out[trace_links_at] = static_cast<char>(links.links);
    store_big_endian(b + trace_event_at, links.event);
    store_big_endian(b + trace_parent_at, links.parent);
    store_big_endian(b + trace_depth_at, links.depth);
    store_big_endian(b + trace_tags_at, static_cast<std::uint16_t>(tags.size()));
    char* at = b + trace_tag_list_at;
    for (std::string_view tag : tags) {
        store_big_endian(at, static_cast<std::uint16_t>(tag.size()));
        std::memcpy(at + 2, tag.data(), tag.size());
        at += 2 + tag.size();
    }
    if (!payload.empty()) std::memcpy(at, payload.data(), payload.size());
    return out;
}

/// The size of a trace head's bytes for a schema of `types` trace types.
constexpr std::size_t trace_head_size(std::size_t types) noexcept {
    return trace_head_counts_at + (types > 1 ? 8 * types : 0);
}

/// A trace head as stored.
struct stored_trace_head {
    std::uint64_t next = 0; // the next seq: the number of traces
    std::int64_t time_ns = 0;
};

/// Reads a trace head; nullopt when damaged.
inline std::optional<stored_trace_head> parse_trace_head(std::string_view bytes, std::size_t types) noexcept {
    if (bytes.size() != trace_head_size(types) || bytes[0] != trace_format) return std::nullopt;
    return stored_trace_head{load_big_endian<std::uint64_t>(bytes.data() + trace_head_next_at),
                             static_cast<std::int64_t>(load_big_endian<std::uint64_t>(bytes.data() + trace_head_time_at))};
}

/// How many traces of the type with this ordinal the head counts.
inline std::uint64_t trace_head_count(std::string_view head, std::size_t types, std::size_t ordinal) noexcept {
    if (types <= 1) return load_big_endian<std::uint64_t>(head.data() + trace_head_next_at);
    return load_big_endian<std::uint64_t>(head.data() + trace_head_counts_at + 8 * ordinal);
}

// The scratch entry of the (position, seq, depth) of the transaction's traces in a log.
inline std::string& trace_locals(const commit_context& commit, std::string_view head_key) {
    std::string key(head_key.substr(0, run_key_prefix_size));
    key.push_back(trace_local_marker);
    bool fresh = false;
    return commit.scratch->at(key, fresh);
}

inline constexpr std::size_t trace_local_size = 20;

// The seq and depth of the trace at position `local` of the commit's transaction.
inline std::pair<std::uint64_t, std::uint32_t> trace_local(const commit_context& commit, std::string_view head_key,
                                                           std::uint64_t local) {
    const std::string& all = trace_locals(commit, head_key);
    std::size_t lo = 0, hi = all.size() / trace_local_size;
    while (lo < hi) { // positions grow in call order
        const std::size_t mid = lo + (hi - lo) / 2;
        if (load_big_endian<std::uint64_t>(all.data() + mid * trace_local_size) < local) lo = mid + 1;
        else hi = mid;
    }
    const char* at = all.data() + lo * trace_local_size;
    if (lo == all.size() / trace_local_size || load_big_endian<std::uint64_t>(at) != local)
        throw error(errc::invalid_argument, "inmem: a trace's parent is a ticket of its transaction that records "
                                            "no trace before it");
    return {load_big_endian<std::uint64_t>(at + 8), load_big_endian<std::uint32_t>(at + 16)};
}

/// The finalizer of a trace of the type with this ordinal, in a schema of Types trace types:
/// its key (the run's head key until now) gets the next seq, its bytes the time (the
/// commit's, never before the previous trace's) and, for a parent of the same transaction,
/// the parent's seq and the depth below it; the head in the scratch moves on; op.out, when
/// set, receives the seq.
template <std::size_t Types, std::size_t Ordinal>
void finalize_trace(write_op& op, const commit_context& commit) {
    // (A scratch entry's reference lasts until the next entry is made: the head is taken
    // after the parent's lookup, and let go before the position is left.)
    char* bytes = op.bytes.data();
    const std::uint64_t local = load_big_endian<std::uint64_t>(bytes + trace_time_at);
    if (bytes[trace_links_at] & trace_parent_pending) {
        const auto [parent, depth] =
            trace_local(commit, op.key, load_big_endian<std::uint64_t>(bytes + trace_parent_at));
        store_big_endian(bytes + trace_parent_at, parent);
        store_big_endian(bytes + trace_depth_at, depth + 1);
        bytes[trace_links_at] = static_cast<char>(bytes[trace_links_at] & ~trace_parent_pending);
    }
    std::string& head = scratch_head(commit, op.key, trace_head_size(Types));
    const std::uint64_t seq = load_big_endian<std::uint64_t>(head.data() + trace_head_next_at);
    const auto previous_time = static_cast<std::int64_t>(load_big_endian<std::uint64_t>(head.data() + trace_head_time_at));
    const std::int64_t time = seq == 0 ? to_nanoseconds(commit.time) : std::max(to_nanoseconds(commit.time), previous_time);
    store_big_endian(bytes + trace_time_at, static_cast<std::uint64_t>(time));
    store_big_endian(head.data() + trace_head_next_at, seq + 1);
    store_big_endian(head.data() + trace_head_time_at, static_cast<std::uint64_t>(time));
    if constexpr (Types > 1) {
        char* count = head.data() + trace_head_counts_at + 8 * Ordinal;
        store_big_endian(count, load_big_endian<std::uint64_t>(count) + 1);
    }
    if (local) { // in a transaction: for the children recorded after it
        std::string& locals = trace_locals(commit, op.key);
        append_big_endian(locals, local - 1);
        append_big_endian(locals, seq);
        append_big_endian(locals, load_big_endian<std::uint32_t>(bytes + trace_depth_at));
    }
    append_big_endian(op.key, seq);
    if (op.out) *static_cast<std::uint64_t*>(op.out) = seq;
}

/// The finalizer of a type index entry of the trace just finalized before it (of type
/// Ordinal, in a log whose slot is LogSlot): the type's ordinal goes into the key, the seq
/// into the bytes.
template <std::uint16_t LogSlot, std::size_t Types, std::size_t Ordinal>
void finalize_trace_type_index(write_op& op, const commit_context& commit) {
    std::string head_key = op.key.substr(0, run_key_prefix_size);
    store_big_endian(head_key.data() + 14, LogSlot);
    const std::string& head = scratch_head(commit, head_key, trace_head_size(Types));
    append_big_endian(op.key, trace_head_count(head, Types, Ordinal) - 1);
    op.bytes.resize(8);
    store_big_endian(op.bytes.data(), load_big_endian<std::uint64_t>(head.data() + trace_head_next_at) - 1);
}

// A key under L 'c' position (a pending parent's children) becomes L 'C' seq.
inline void complete_pending_child_key(write_op& op, const commit_context& commit) {
    const std::uint64_t local = load_big_endian<std::uint64_t>(op.key.data() + run_key_prefix_size + 1);
    const std::uint64_t parent = trace_local(commit, op.key, local).first;
    op.key[run_key_prefix_size] = trace_child_marker;
    store_big_endian(op.key.data() + run_key_prefix_size + 1, parent);
}

/// The finalizer of a children index entry whose parent was recorded earlier in the same
/// transaction: its key gets the parent's seq, then it is an index entry like the others.
inline void finalize_pending_child_entry(write_op& op, const commit_context& commit) {
    complete_pending_child_key(op, commit);
    finalize_index_entry(op, commit);
}

/// The finalizer of the children head of a parent recorded in the same transaction.
inline void finalize_pending_child_head(write_op& op, const commit_context& commit) {
    complete_pending_child_key(op, commit);
    finalize_head(op, commit);
}

} // namespace inmem::detail
