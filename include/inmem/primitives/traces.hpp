// inmem/primitives/traces.hpp: the trace store, an agent's structured reasoning, per run.
//
//   using my_schema = inmem::schema<inmem::events<ToolCall>,
//                                   inmem::traces<inmem::trace::decision, inmem::trace::citation>>;
//   auto traces = db.traces();
//   inmem::trace_id why = traces.record(run, inmem::trace::decision{"search", 0.8, {"ask"}},
//                                       {.event = call_id, .tags = {"plan"}});
//   traces.record(run, inmem::trace::citation{"doc.pdf", "..."}, {.parent = why});
//   for (const auto& t : traces.subtree(why)) ...;                  // pre-order, with depths
//   for (const auto& t : traces.read<inmem::trace::decision>(run, {.tag = "plan"})) ...;
//
// Each run's traces are one sequence of all the schema's trace types, seq 0, 1, 2, ... with
// no gap, assigned at commit with the commit's time (never going back within a run), so
// records never conflict, also in transactions. A trace may link to an event of its run
// (inmem::event_id) and to a parent trace of its run, which makes trees of reasoning, and
// carries tags. Every query reads by point lookups through dense indexes (by type, event,
// parent, tag), O(log n) to find where to start plus what it looks at. Ready-made trace
// types: inmem/traces/standard.hpp. Storage layout: trace_store.hpp.
#pragma once

#include <inmem/error.hpp>
#include <inmem/primitives/context.hpp>
#include <inmem/primitives/event_chain.hpp>
#include <inmem/primitives/events.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/primitives/listing.hpp>
#include <inmem/primitives/trace_store.hpp>
#include <inmem/primitives/typed_log.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/transaction.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace inmem {

/// Names one trace: its run and its place in the run's trace sequence.
struct trace_id {
    run_id run{};
    std::uint64_t seq = 0;

    friend constexpr bool operator==(const trace_id&, const trace_id&) = default;
    friend constexpr auto operator<=>(const trace_id&, const trace_id&) = default;
};

template <class Engine, class Schema>
class trace_store;

/// What record() in a transaction returns: the trace's id once the transaction committed.
/// It may also be the parent of a trace recorded later in the same transaction.
class trace_ticket : private detail::append_ticket {
public:
    using detail::append_ticket::append_ticket;

    /// Whether the transaction committed the trace.
    using detail::append_ticket::committed;
    /// The trace's id. Throws invalid_argument before the transaction committed (or when it failed).
    trace_id id() const { return {run_, seq_or_throw("a trace recorded")}; }

private:
    template <class Engine, class Schema>
    friend class trace_store;
};

/// The parent named when recording a trace: a committed trace's id, or (in a transaction)
/// the ticket of a trace recorded earlier in the same transaction or already committed.
class trace_parent {
public:
    /// The committed trace id (implicit, so that `.parent = id` reads as it should).
    trace_parent(trace_id id) noexcept : of_(id) {}
    /// The trace of ticket (implicit, so that `.parent = ticket` reads as it should).
    trace_parent(const trace_ticket& ticket) noexcept : of_(ticket) {}

private:
    template <class Engine, class Schema>
    friend class trace_store;

    std::variant<trace_id, trace_ticket> of_;
};

/// What a recorded trace links to. event: an event of the same run, already committed.
/// parent: a trace of the same run, already committed (or, in a transaction, recorded
/// earlier in it: its ticket; not one of an earlier attempt of transact()). tags: each 1 to max_trace_tag_size bytes, at most max_trace_tags, kept
/// once each in the order given. Links that do not exist throw invalid_argument.
struct trace_options {
    std::optional<event_id> event{};
    std::optional<trace_parent> parent{};
    std::vector<std::string_view> tags{};
};

/// One trace as read back: T is its type, or the std::variant of the schema's trace types.
template <class T>
struct trace_entry {
    trace_id id{};
    version_t version = 0;                        ///< the commit that recorded it
    std::chrono::system_clock::time_point time{}; ///< by the database's clock, at commit
    std::string_view type;                        ///< its type's name
    std::optional<event_id> event{};              ///< the event it is linked to
    std::optional<trace_id> parent{};             ///< the trace it hangs under
    std::uint32_t depth = 0;                      ///< how many ancestors it has (0: a root)
    std::vector<std::string> tags{};              ///< its tags, in the order recorded
    T value{};
};

/// Which traces of a run read() returns; every filter combines with the others. A read
/// costs O(log n) to find where to start plus the traces it looks at: with no filter, the
/// ones it returns; with filters, the traces of the smallest matching index in the range
/// (the type's, the event's, the parent's children or the tag's).
struct trace_query {
    std::uint64_t from = 0;                                        ///< the first seq
    std::uint64_t to = std::numeric_limits<std::uint64_t>::max();  ///< past the last seq
    std::optional<std::chrono::system_clock::time_point> since{};  ///< times at or after
    std::optional<std::chrono::system_clock::time_point> until{};  ///< times before
    std::optional<event_id> event{};                               ///< only traces linked to it
    std::optional<trace_id> parent{};                              ///< only its children
    std::optional<std::string_view> tag{};                         ///< only traces with this tag
    bool reverse = false;                                          ///< newest first
    std::size_t limit = std::numeric_limits<std::size_t>::max();   ///< at most this many (with reverse: the last ones)
};

/// What subtree() walks: how deep below its root, and how many traces at most.
struct subtree_options {
    std::uint32_t max_depth = std::numeric_limits<std::uint32_t>::max(); ///< levels below the root (0: the root alone)
    std::size_t limit = std::numeric_limits<std::size_t>::max();         ///< at most this many traces
};

/// The trace store of every run, from db.traces(): the schema's inmem::traces<...> types,
/// recorded and read per run. Cheap to copy; valid while the database lives. Reads take a
/// run (the latest commit) or a transaction (its snapshot: its own records are not read
/// back, having no seq before the commit).
/// Throws inmem::error: unknown_run, run_not_active (records), invalid_argument, corruption.
template <class Engine, class Schema>
class trace_store {
public:
    using transaction = basic_transaction<Engine>;
    /// The schema's trace types, as a std::tuple.
    using trace_types = decltype(detail::types_of_kind<primitive::trace>(typename Schema::slots{}));
    /// What the untyped reads hold: any of the schema's trace types.
    using any_trace = typename detail::tuple_to_variant<trace_types>::type;
    static constexpr std::size_t type_count = std::tuple_size_v<trace_types>;
    static_assert(type_count > 0, "inmem: db.traces() needs trace types in the schema: inmem::traces<Decision, ...> "
                                  "(ready-made ones: inmem/traces/standard.hpp)");

    /// Whether T is one of the schema's trace types.
    template <class T>
    static constexpr bool is_trace = detail::index_in_tuple<T, trace_types>::value < type_count;

    explicit trace_store(Engine& engine) noexcept : engine_(&engine) {}

    /// Records trace in run as one commit; returns its id. Throws unknown_run, run_not_active,
    /// invalid_argument (a link of another run or that does not exist, an uncommitted ticket
    /// as parent, bad tags).
    template <class T>
    trace_id record(run_id run, const T& trace, const trace_options& options = {}) const {
        check_trace<T>();
        engine_->check_known(run);
        std::uint64_t seq = 0;
        auto ops = record_ops(run, trace, options, nullptr, &seq);
        engine_->commit(run, std::span(ops.data(), ops.size()));
        return {run, seq};
    }

    /// In tx: records trace in tx's run at tx's commit, after what tx recorded before; the
    /// ticket gives its id once tx committed. Its parent may be the ticket of a trace recorded
    /// earlier in tx. Links are checked now, against the latest commit.
    template <class T>
    trace_ticket record(transaction& tx, const T& trace, const trace_options& options = {}) const {
        check_trace<T>();
        auto ops = record_ops(tx.run(), trace, options, &tx, nullptr);
        const std::size_t index = detail::append_to(tx, std::span(ops), &is_head_finalizer);
        return trace_ticket(tx.run(), tx.appended(), index);
    }

    /// The traces of a run (or of a transaction's snapshot) that q selects, in seq order
    /// (reversed with q.reverse), of any type. Throws invalid_argument for a q.event or
    /// q.parent of another run.
    template <context_of<Engine> At>
    [[nodiscard]] entry_range<trace_entry<any_trace>> read(At&& at, const trace_query& q = {}) const {
        return collect<void>(at, q);
    }

    /// The traces of type T that q selects.
    template <class T, context_of<Engine> At>
    [[nodiscard]] entry_range<trace_entry<T>> read(At&& at, const trace_query& q = {}) const {
        check_trace<T>();
        return collect<T>(at, q);
    }

    /// The trace id names, or nullopt if its run has no such seq. O(1).
    [[nodiscard]] std::optional<trace_entry<any_trace>> get(trace_id id) const { return get_one<void>(id); }

    /// The trace id names if it is of type T; nullopt if there is none or it is of another type.
    template <class T>
    [[nodiscard]] std::optional<trace_entry<T>> get(trace_id id) const {
        check_trace<T>();
        return get_one<T>(id);
    }

    /// How many traces run holds. O(1).
    template <context_of<Engine> At>
    [[nodiscard]] std::uint64_t count(At&& at) const {
        return detail::with_reader(*engine_, at, [&](auto& find) { return head_of(detail::run_of(at), find).next; });
    }

    /// How many traces of type T run holds. O(1).
    template <class T, context_of<Engine> At>
    [[nodiscard]] std::uint64_t count(At&& at) const {
        check_trace<T>();
        return detail::with_reader(*engine_, at,
                                   [&](auto& find) { return type_count_of<T>(detail::run_of(at), find); });
    }

    /// The traces linked to event, in seq order (q narrows them further).
    [[nodiscard]] entry_range<trace_entry<any_trace>> linked(event_id event, trace_query q = {}) const {
        q.event = event;
        return collect<void>(event.run, q);
    }

    /// The traces of run (or of a transaction's snapshot) tagged tag, in seq order.
    template <context_of<Engine> At>
    [[nodiscard]] entry_range<trace_entry<any_trace>> tagged(At&& at, std::string_view tag, trace_query q = {}) const {
        q.tag = tag;
        return collect<void>(at, q);
    }

    /// The children of parent, in seq order (q narrows them further).
    [[nodiscard]] entry_range<trace_entry<any_trace>> children(trace_id parent, trace_query q = {}) const {
        q.parent = parent;
        return collect<void>(parent.run, q);
    }

    /// The subtree of root, depth first in pre-order (a trace, then each child's subtree in
    /// seq order), root first; each entry's depth is its depth in the run (root.depth + its
    /// levels below root). Empty when root does not exist. O(traces walked), no recursion.
    template <context_of<Engine> At>
    [[nodiscard]] entry_range<trace_entry<any_trace>> subtree(At&& at, trace_id root, const subtree_options& o = {}) const {
        return walk<void>(at, root, o);
    }
    [[nodiscard]] entry_range<trace_entry<any_trace>> subtree(trace_id root, const subtree_options& o = {}) const {
        return walk<void>(root.run, root, o);
    }
    /// The traces of type T in the subtree of root (walked through traces of every type), in
    /// the same order; o.limit counts what is returned.
    template <class T>
    [[nodiscard]] entry_range<trace_entry<T>> subtree(trace_id root, const subtree_options& o = {}) const {
        check_trace<T>();
        return walk<T>(root.run, root, o);
    }

    /// The ancestors of id and id itself, from its root down to it; empty when id does not
    /// exist. O(depth).
    [[nodiscard]] entry_range<trace_entry<any_trace>> path(trace_id id) const {
        std::vector<trace_entry<any_trace>> out;
        detail::with_reader(*engine_, id.run, [&](auto& find) {
            if (id.seq >= head_of(id.run, find).next) return;
            std::string key;
            std::optional<std::uint64_t> at = id.seq;
            while (at) {
                auto [rec, f] = trace_at(id.run, find, key, *at);
                out.push_back(make_entry<any_trace>(id.run, *at, *rec, f));
                at = (f.links & detail::trace_has_parent) ? std::optional(f.parent) : std::nullopt;
                if (at && *at >= out.back().id.seq) throw corrupt(id.run, "trace " + std::to_string(out.back().id.seq) +
                                                                             " has a parent recorded after it");
            }
        });
        std::reverse(out.begin(), out.end());
        return entry_range<trace_entry<any_trace>>(std::move(out));
    }

private:
    static constexpr auto trace_slots = detail::slots_of_kind<Schema, primitive::trace, type_count>();
    static constexpr std::uint16_t log_slot = trace_slots[0];
    // The event log's slot (the schema's first event type), when the schema has events.
    static constexpr std::optional<std::uint16_t> event_log_slot = []() -> std::optional<std::uint16_t> {
        for (std::size_t i = 0; i < Schema::size; ++i)
            if (Schema::slot_infos[i].kind == primitive::event) return static_cast<std::uint16_t>(i);
        return std::nullopt;
    }();

    template <class T>
    static constexpr void check_trace() {
        static_assert(is_trace<T>, "inmem: this type is not one of the schema's trace types; list it in "
                                   "inmem::traces<...> of the schema to record or read it");
    }

    static constexpr std::size_t ordinal_of_slot(std::uint16_t slot) noexcept {
        return detail::ordinal_in(trace_slots, slot);
    }

    static bool is_head_finalizer(detail::finalizer f) noexcept {
        return f == &detail::finalize_head || f == &detail::finalize_pending_child_head;
    }

    static error corrupt(run_id run, const std::string& what) {
        return error(errc::corruption, "inmem: the traces of run " + std::to_string(run.value) + ": " + what);
    }
    static error invalid(const std::string& what) { return error(errc::invalid_argument, "inmem: " + what); }

    // The stored trace at key (latest commit), or nullopt.
    std::optional<detail::trace_fields> latest_trace(run_id run, std::uint64_t seq, std::string& holder) const {
        std::string key;
        detail::trace_key_into(key, run, log_slot, seq);
        return engine_->read_latest(key, [&](const detail::stored_record* rec) -> std::optional<detail::trace_fields> {
            if (!rec) return std::nullopt;
            holder = rec->bytes;
            auto f = detail::parse_trace(holder);
            if (!f) throw corrupt(run, "trace " + std::to_string(seq) + " is damaged");
            return f;
        });
    }

    // What options link to, checked against the latest commit; tx: the transaction recording.
    detail::trace_links links_of(run_id run, const trace_options& options, const transaction* tx) const {
        detail::trace_links links;
        if (options.event) {
            const event_id e = *options.event;
            if (e.run != run)
                throw invalid("a trace of run " + std::to_string(run.value) + " cannot link to an event of run " +
                              std::to_string(e.run.value) + "; link events of its own run");
            if constexpr (!event_log_slot) {
                throw invalid("a trace cannot link to an event: the schema has no event types");
            } else {
                std::string key;
                detail::event_key_into(key, run, *event_log_slot, e.seq);
                if (!engine_->read_latest(key, [](const detail::stored_record* rec) { return rec != nullptr; }))
                    throw invalid("a trace links to event " + std::to_string(e.seq) + " of run " +
                                  std::to_string(run.value) + ", which does not exist (or is not committed yet)");
            }
            links.links |= detail::trace_has_event;
            links.event = e.seq;
        }
        if (options.parent) {
            std::optional<trace_id> parent;
            if (const auto* id = std::get_if<trace_id>(&options.parent->of_)) parent = *id;
            else {
                const trace_ticket& t = std::get<trace_ticket>(options.parent->of_);
                if (t.committed()) parent = trace_id{t.run_, (*t.seqs_)[t.index_]};
                else if (tx && t.seqs_ && t.seqs_ == tx->appended()) {
                    links.links |= detail::trace_has_parent | detail::trace_parent_pending;
                    links.parent = t.index_;
                    return links;
                } else
                    throw invalid("a trace's parent is the ticket of a trace that is not committed and not of the "
                                  "transaction recording it; record it in that transaction or after it committed");
            }
            if (parent->run != run)
                throw invalid("a trace of run " + std::to_string(run.value) + " cannot have a parent of run " +
                              std::to_string(parent->run.value) + "; trees of traces stay within a run");
            std::string bytes;
            const auto f = latest_trace(run, parent->seq, bytes);
            if (!f)
                throw invalid("a trace's parent, trace " + std::to_string(parent->seq) + " of run " +
                              std::to_string(run.value) + ", does not exist (or is not committed yet)");
            links.links |= detail::trace_has_parent;
            links.parent = parent->seq;
            links.depth = f->depth + 1;
        }
        return links;
    }

    // The ops of one record: the trace, its index entries (type, event, parent, tags), then
    // the heads (finalize_head) written once per commit.
    template <class T>
    std::vector<detail::write_op> record_ops(run_id run, const T& trace, const trace_options& options,
                                             const transaction* tx, std::uint64_t* seq) const {
        using detail::write_op;
        if constexpr (!is_trace<T>) return {}; // (check_trace said why: no more errors after its)
        constexpr std::size_t ordinal = std::min(detail::index_in_tuple<T, trace_types>::value, type_count - 1);
        constexpr std::uint16_t slot = trace_slots[ordinal];
        detail::check_trace_tags(options.tags);
        std::vector<std::string_view> tags;
        tags.reserve(options.tags.size());
        for (std::string_view tag : options.tags)
            if (std::find(tags.begin(), tags.end(), tag) == tags.end()) tags.push_back(tag);
        const detail::trace_links links = links_of(run, options, tx);
        const std::uint64_t local = tx ? (tx->appended() ? tx->appended()->size() : 0) + 1 : 0;

        std::vector<write_op> ops;
        ops.reserve(3 + 2 * (2 + tags.size()) + (type_count > 1));
        std::string head_key = detail::trace_head_key(run, log_slot);
        ops.push_back(write_op{write_op::kind::put, head_key,
                               detail::unfinished_trace(slot, local, links, tags, encode(trace)),
                               &detail::finalize_trace<type_count, ordinal>, seq});
        if constexpr (type_count > 1)
            ops.push_back(write_op{write_op::kind::put, detail::trace_type_index_prefix(run, slot), {},
                                   &detail::finalize_trace_type_index<log_slot, type_count, ordinal>});
        std::vector<write_op> heads;
        heads.reserve(ops.capacity());
        heads.push_back(write_op{write_op::kind::put, std::move(head_key), {}, &detail::finalize_head});
        auto index = [&](std::string key, detail::finalizer entry, detail::finalizer head) {
            ops.push_back(write_op{write_op::kind::put, key, {}, entry});
            heads.push_back(write_op{write_op::kind::put, std::move(key), {}, head});
        };
        if (links.links & detail::trace_has_event)
            index(detail::trace_link_head_key(run, log_slot, detail::trace_event_marker, links.event),
                  &detail::finalize_index_entry, &detail::finalize_head);
        if (links.links & detail::trace_parent_pending)
            index(detail::trace_link_head_key(run, log_slot, detail::trace_pending_child_marker, links.parent),
                  &detail::finalize_pending_child_entry, &detail::finalize_pending_child_head);
        else if (links.links & detail::trace_has_parent)
            index(detail::trace_link_head_key(run, log_slot, detail::trace_child_marker, links.parent),
                  &detail::finalize_index_entry, &detail::finalize_head);
        for (std::string_view tag : tags)
            index(detail::trace_tag_head_key(run, log_slot, tag), &detail::finalize_index_entry, &detail::finalize_head);
        for (write_op& h : heads) ops.push_back(std::move(h));
        return ops;
    }

    template <class Find>
    detail::stored_trace_head head_of(run_id run, Find& find) const {
        const detail::stored_record* rec = find(detail::trace_head_key(run, log_slot));
        if (!rec) return {};
        const auto h = detail::parse_trace_head(rec->bytes, type_count);
        if (!h) throw corrupt(run, "its head is damaged");
        return *h;
    }

    template <class T, class Find>
    std::uint64_t type_count_of(run_id run, Find& find) const {
        const detail::stored_record* rec = find(detail::trace_head_key(run, log_slot));
        if (!rec) return 0;
        if (!detail::parse_trace_head(rec->bytes, type_count)) throw corrupt(run, "its head is damaged");
        return detail::trace_head_count(rec->bytes, type_count, detail::index_in_tuple<T, trace_types>::value);
    }

    // The count an index head holds (0 when it was never written).
    template <class Find>
    static std::uint64_t index_size(run_id run, Find& find, const std::string& head_key) {
        const detail::stored_record* rec = find(head_key);
        if (!rec) return 0;
        if (rec->bytes.size() != 8) throw corrupt(run, "an index head is damaged");
        return detail::load_big_endian<std::uint64_t>(rec->bytes.data());
    }

    // The i-th seq of the index whose head key is prefix (key: a buffer).
    template <class Find>
    static std::uint64_t index_seq(run_id run, Find& find, std::string& key, const std::string& prefix, std::uint64_t i) {
        key = prefix;
        detail::append_big_endian(key, i);
        const detail::stored_record* rec = find(key);
        if (!rec || rec->bytes.size() != 8)
            throw corrupt(run, "its index entry " + std::to_string(i) + " is missing or damaged");
        return detail::load_big_endian<std::uint64_t>(rec->bytes.data());
    }

    // The stored record and fields of trace seq, which the head counts.
    template <class Find>
    std::pair<const detail::stored_record*, detail::trace_fields> trace_at(run_id run, Find& find, std::string& key,
                                                                           std::uint64_t seq) const {
        detail::trace_key_into(key, run, log_slot, seq);
        const detail::stored_record* rec = find(key);
        if (!rec) throw corrupt(run, "trace " + std::to_string(seq) + " is missing");
        auto f = detail::parse_trace(rec->bytes);
        if (!f || ordinal_of_slot(f->slot) == type_count) throw corrupt(run, "trace " + std::to_string(seq) + " is damaged");
        return {rec, *f};
    }

    template <class V>
    static trace_entry<V> make_entry(run_id run, std::uint64_t seq, const detail::stored_record& rec,
                                     const detail::trace_fields& f) {
        trace_entry<V> e{trace_id{run, seq}, rec.version, detail::from_nanoseconds(f.time_ns),
                         Schema::slot_infos[f.slot].type_name};
        if (f.links & detail::trace_has_event) e.event = event_id{run, f.event};
        if (f.links & detail::trace_has_parent) e.parent = trace_id{run, f.parent};
        e.depth = f.depth;
        e.tags.reserve(f.tag_count);
        detail::for_each_trace_tag(f.tags, [&](std::string_view tag) {
            e.tags.emplace_back(tag);
            return true;
        });
        auto undecodable = [&](const std::string& what) { throw corrupt(run, "trace " + std::to_string(seq) + " " + what); };
        e.value = detail::decode_typed<V, trace_types>(ordinal_of_slot(f.slot), f.payload, undecodable);
        return e;
    }

    template <class T>
    static constexpr bool of_type(std::uint16_t slot) noexcept {
        if constexpr (std::is_void_v<T>) return true;
        else return ordinal_of_slot(slot) == detail::index_in_tuple<T, trace_types>::value;
    }

    template <class T>
    std::optional<trace_entry<std::conditional_t<std::is_void_v<T>, any_trace, T>>> get_one(trace_id id) const {
        using value_type = std::conditional_t<std::is_void_v<T>, any_trace, T>;
        return detail::with_reader(*engine_, id.run, [&](auto& find) -> std::optional<trace_entry<value_type>> {
            std::string key;
            detail::trace_key_into(key, id.run, log_slot, id.seq);
            const detail::stored_record* rec = find(key);
            if (!rec) return std::nullopt;
            const auto f = detail::parse_trace(rec->bytes);
            if (!f || ordinal_of_slot(f->slot) == type_count)
                throw corrupt(id.run, "trace " + std::to_string(id.seq) + " is damaged");
            if (!of_type<T>(f->slot)) return std::nullopt;
            return make_entry<value_type>(id.run, id.seq, *rec, *f);
        });
    }

    template <class T, class At>
    auto collect(At& at, const trace_query& q) const {
        using value_type = std::conditional_t<std::is_void_v<T>, any_trace, T>;
        using entry = trace_entry<value_type>;
        const run_id run = detail::run_of(at);
        if (q.event && q.event->run != run)
            throw invalid("a read of the traces of run " + std::to_string(run.value) + " by an event of run " +
                          std::to_string(q.event->run.value));
        if (q.parent && q.parent->run != run)
            throw invalid("a read of the traces of run " + std::to_string(run.value) + " by a parent of run " +
                          std::to_string(q.parent->run.value));
        std::vector<entry> out;
        if (q.limit == 0) {
            detail::check_in(*engine_, at);
            return entry_range<entry>(std::move(out));
        }
        detail::with_reader(*engine_, at, [&](auto& find) {
            const detail::stored_trace_head head = head_of(run, find);
            std::uint64_t lo = q.from, hi = std::min(q.to, head.next);
            if (lo >= hi) return;
            std::string key;
            if (q.since) {
                const std::int64_t t = detail::to_nanoseconds(*q.since);
                lo = detail::first_not_before(
                    lo, hi, [&](std::uint64_t s) { return trace_at(run, find, key, s).second.time_ns < t; });
            }
            if (q.until) {
                const std::int64_t t = detail::to_nanoseconds(*q.until);
                hi = detail::first_not_before(
                    lo, hi, [&](std::uint64_t s) { return trace_at(run, find, key, s).second.time_ns < t; });
            }
            if (lo >= hi) return;

            // Where candidates come from: the smallest of the indexes the query names, else the seqs.
            std::string prefix;
            std::uint64_t size = std::numeric_limits<std::uint64_t>::max();
            auto consider = [&](std::string head_key, std::uint64_t n) {
                if (n < size) {
                    size = n;
                    prefix = std::move(head_key);
                }
            };
            if (q.event) {
                std::string k = detail::trace_link_head_key(run, log_slot, detail::trace_event_marker, q.event->seq);
                consider(k, index_size(run, find, k));
            }
            if (q.parent) {
                std::string k = detail::trace_link_head_key(run, log_slot, detail::trace_child_marker, q.parent->seq);
                consider(k, index_size(run, find, k));
            }
            if (q.tag) {
                if (q.tag->empty() || q.tag->size() > detail::max_trace_tag_size) return; // no trace has it
                std::string k = detail::trace_tag_head_key(run, log_slot, *q.tag);
                consider(k, index_size(run, find, k));
            }
            if constexpr (!std::is_void_v<T> && type_count > 1)
                consider(detail::trace_type_index_prefix(run, trace_slots[detail::index_in_tuple<T, trace_types>::value]),
                         type_count_of<T>(run, find));
            if (size == 0) return;
            std::string index_key;
            auto seq_of = [&](std::uint64_t i) { return prefix.empty() ? i : index_seq(run, find, index_key, prefix, i); };
            std::uint64_t first = lo, last = hi;
            if (!prefix.empty()) {
                first = detail::first_not_before(0, size, [&](std::uint64_t i) { return seq_of(i) < lo; });
                last = detail::first_not_before(first, size, [&](std::uint64_t i) { return seq_of(i) < hi; });
            }
            auto take = [&](std::uint64_t i) {
                const std::uint64_t seq = seq_of(i);
                auto [rec, f] = trace_at(run, find, key, seq);
                if (!of_type<T>(f.slot)) return;
                if (q.event && (!(f.links & detail::trace_has_event) || f.event != q.event->seq)) return;
                if (q.parent && (!(f.links & detail::trace_has_parent) || f.parent != q.parent->seq)) return;
                if (q.tag && detail::for_each_trace_tag(f.tags, [&](std::string_view tag) { return tag != *q.tag; }))
                    return;
                out.push_back(make_entry<value_type>(run, seq, *rec, f));
            };
            if (!q.reverse)
                for (std::uint64_t i = first; i < last && out.size() < q.limit; ++i) take(i);
            else
                for (std::uint64_t i = last; i > first && out.size() < q.limit; --i) take(i - 1);
        });
        return entry_range<entry>(std::move(out));
    }

    template <class T, class At>
    auto walk(At& at, trace_id root, const subtree_options& o) const {
        using value_type = std::conditional_t<std::is_void_v<T>, any_trace, T>;
        using entry = trace_entry<value_type>;
        const run_id run = detail::run_of(at);
        if (root.run != run)
            throw invalid("a subtree of a trace of run " + std::to_string(root.run.value) + " read in run " +
                          std::to_string(run.value));
        std::vector<entry> out;
        detail::with_reader(*engine_, at, [&](auto& find) {
            if (o.limit == 0 || root.seq >= head_of(run, find).next) return;
            std::string key, index_key;
            struct frame {
                std::string children; // the head key of its children's index
                std::uint64_t next = 0, count = 0;
            };
            std::vector<frame> stack; // one frame per trace whose children are listed: the path to the top
            auto visit = [&](std::uint64_t seq) { // at stack.size() levels below root
                auto [rec, f] = trace_at(run, find, key, seq);
                if (of_type<T>(f.slot)) out.push_back(make_entry<value_type>(run, seq, *rec, f));
                if (stack.size() < o.max_depth) {
                    std::string k = detail::trace_link_head_key(run, log_slot, detail::trace_child_marker, seq);
                    const std::uint64_t n = index_size(run, find, k);
                    stack.push_back(frame{std::move(k), 0, n});
                }
            };
            visit(root.seq);
            while (!stack.empty() && out.size() < o.limit) {
                frame& top = stack.back();
                if (top.next == top.count) {
                    stack.pop_back();
                    continue;
                }
                visit(index_seq(run, find, index_key, top.children, top.next++));
            }
        });
        return entry_range<entry>(std::move(out));
    }

    Engine* engine_;
};

/// The trace store as a primitive family (primitives/family.hpp); its keys: trace_store.hpp.
struct trace_family {
    static constexpr primitive id = primitive::trace;
    static constexpr std::string_view name = "trace";
    /// The handle of all the schema's trace types: db.traces().
    template <class Engine, class Schema>
    using schema_handle = trace_store<Engine, Schema>;

    /// Splits a key of the trace store: a trace (sequence: its seq), the head, or an index's
    /// head or entry (key: its marker and what it is of; sequence: the entry's ordinal).
    static std::optional<key_parts> parse(std::string_view key) noexcept {
        const auto at = detail::address_of(key);
        if (!at || at->space != detail::key_space::run || at->primitive != static_cast<std::uint8_t>(id))
            return std::nullopt;
        const std::string_view rest = at->rest;
        key_parts parts{id, at->slot, run_id{at->run}, {}, std::nullopt, false};
        if (rest.empty()) return parts; // the head
        if (rest.size() == 8 && rest[0] == '\0') { // a trace (a seq below 2^56: not a marker)
            parts.sequence = detail::load_big_endian<std::uint64_t>(rest.data());
            return parts;
        }
        switch (rest[0]) {
        case detail::trace_type_marker:
            if (rest.size() != 9) return std::nullopt;
            parts.key = rest.substr(0, 1);
            parts.sequence = detail::load_big_endian<std::uint64_t>(rest.data() + 1);
            return parts;
        case detail::trace_event_marker:
        case detail::trace_child_marker:
            if (rest.size() != 9 && rest.size() != 17) return std::nullopt;
            parts.key = rest.substr(0, 9);
            if (rest.size() == 17) parts.sequence = detail::load_big_endian<std::uint64_t>(rest.data() + 9);
            return parts;
        case detail::trace_tag_marker: {
            if (rest.size() < 3) return std::nullopt;
            const std::size_t size = detail::load_big_endian<std::uint16_t>(rest.data() + 1);
            if (rest.size() != 3 + size && rest.size() != 11 + size) return std::nullopt;
            parts.key = rest.substr(0, 3 + size);
            if (rest.size() == 11 + size) parts.sequence = detail::load_big_endian<std::uint64_t>(rest.data() + 3 + size);
            return parts;
        }
        default: return std::nullopt;
        }
    }

    /// For opening files written under another schema (durability/migration.hpp): a
    /// trace's type is its slot in its framing.
    static void set_value_slot(std::string& bytes, std::uint16_t slot) noexcept {
        detail::store_big_endian(bytes.data() + detail::trace_slot_at, slot);
    }
    /// Where a head's counts per type begin (trace_store.hpp), as for the event log.
    static constexpr std::size_t log_head_counts_at = detail::trace_head_counts_at;
    static constexpr char log_type_index_marker = detail::trace_type_marker;

    /// A trace's payload with its type's slot; heads and indexes as derived; nullopt for
    /// bytes of no shape the store writes.
    static std::optional<value_parts> value_of(const key_parts& parts, std::string_view bytes) noexcept {
        if (parts.key.empty() && parts.sequence) { // a trace
            const auto f = detail::parse_trace(bytes);
            if (!f) return std::nullopt;
            return value_parts{f->payload, parts.run, f->slot, false};
        }
        if (parts.key.empty()) { // the head
            if (bytes.size() < detail::trace_head_counts_at || (bytes.size() - detail::trace_head_counts_at) % 8 != 0 ||
                bytes[0] != detail::trace_format)
                return std::nullopt;
        } else if (bytes.size() != 8) {
            return std::nullopt; // an index's head or entry holds a count or a seq
        }
        return value_parts{std::nullopt, parts.run, std::nullopt, true};
    }

    /// A key as a person reads it: "trace #3 of run 1", "trace tag 'plan' index #0 of run 1".
    static std::string describe(const key_parts& parts) {
        std::string out;
        const auto number = [&] { return std::to_string(detail::load_big_endian<std::uint64_t>(parts.key.data() + 1)); };
        const std::string index = parts.sequence ? " index #" + std::to_string(*parts.sequence) : " head";
        if (parts.key.empty()) out = parts.sequence ? "trace #" + std::to_string(*parts.sequence) : "trace head";
        else if (parts.key[0] == detail::trace_type_marker) out = "trace type index #" + std::to_string(parts.sequence.value_or(0));
        else if (parts.key[0] == detail::trace_event_marker) out = "trace event #" + number() + " link" + index;
        else if (parts.key[0] == detail::trace_child_marker) out = "trace #" + number() + " children" + index;
        else {
            out = "trace tag '";
            detail::append_printable(out, parts.key.substr(3));
            out += "'" + index;
        }
        return out + " of run " + std::to_string(parts.run.value);
    }
};

/// Types of the run's structured reasoning traces (db.traces()); ready-made ones in
/// inmem/traces/standard.hpp.
template <class... T>
struct traces : family_entry<trace_family, T...> {};

} // namespace inmem
