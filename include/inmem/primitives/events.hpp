// inmem/primitives/events.hpp: the event log, what an agent did, per run, hash-chained.
//
//   using my_schema = inmem::schema<inmem::events<ToolCall, ToolResult>>;
//   auto log = db.events();
//   inmem::event_id id = log.append(run, ToolCall{"search", "flights"}, {.agent = "planner"});
//   for (const auto& e : log.read<ToolCall>(run, {.limit = 10})) ...;   // typed entries
//   for (const auto& e : log.read(run, {.reverse = true, .limit = 5})) ...; // the last 5, any type
//   if (auto report = log.verify(run); !report) std::cerr << report.message;
//
// Each run's log is one sequence of all the schema's event types, seq 0, 1, 2, ... with no
// gap: seqs, times and hashes are assigned at commit, under the writers' lock, so appends
// never conflict, also in transactions, and an append costs the same however long the log.
// Each event's hash covers the previous event's hash, so changing, removing or reordering
// events breaks the chain where it happened; verify() finds it, and head() hands out the
// last hash to keep elsewhere. Storage layout and hash: event_chain.hpp. Linking: the
// hashes come from OpenSSL's libcrypto (pkg-config libcrypto), which inmem's meson and CMake
// targets bring.
#pragma once

#include <inmem/crypto/sha256.hpp>
#include <inmem/error.hpp>
#include <inmem/primitives/context.hpp>
#include <inmem/primitives/event_chain.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/primitives/listing.hpp>
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
#include <cstring>
#include <limits>
#include <map>
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

/// Names one event: its run and its place in the run's log.
struct event_id {
    run_id run{};
    std::uint64_t seq = 0;

    friend constexpr bool operator==(const event_id&, const event_id&) = default;
    friend constexpr auto operator<=>(const event_id&, const event_id&) = default;
};

/// The optional labels of an appended event: the thread and the agent it belongs to within
/// its run (each at most max_event_label_size bytes; "": none). Reads filter by them.
struct event_labels {
    std::string_view thread{};
    std::string_view agent{};
};

/// One event as read back: T is its type, or the std::variant of the schema's event types.
template <class T>
struct event_entry {
    event_id id{};
    version_t version = 0;                        ///< the commit that appended it
    std::chrono::system_clock::time_point time{}; ///< by the database's clock, at commit
    std::string_view type;                        ///< its type's name
    std::string thread{}, agent{};                ///< its labels ("": none)
    sha256_digest prev_hash{};                    ///< the previous event's hash (zeros for seq 0)
    sha256_digest hash{};                         ///< SHA-256 of prev_hash and this event (event_chain.hpp)
    T value{};
};

/// The last event of a run's log as the run's chain head records it: how many events the
/// log holds and the hash of the last (zeros while empty). Keep it outside the database (a
/// ticket, a signed log) to show later that nothing was changed or cut off since.
struct event_head {
    run_id run{};
    std::uint64_t count = 0;
    sha256_digest hash{};
    std::optional<std::chrono::system_clock::time_point> time{}; ///< of the last event

    friend bool operator==(const event_head&, const event_head&) = default;
};

/// Which events of a run read() returns; every filter combines with the others. A read costs
/// O(log n) to find where to start plus the events it looks at: with no filter, the ones it
/// returns; with a type or a label, the events of that type or label in the range.
struct event_query {
    std::uint64_t from = 0;                                        ///< the first seq
    std::uint64_t to = std::numeric_limits<std::uint64_t>::max();  ///< past the last seq
    std::optional<std::chrono::system_clock::time_point> since{};  ///< times at or after
    std::optional<std::chrono::system_clock::time_point> until{};  ///< times before
    std::optional<std::string_view> thread{};                      ///< only this thread label (not "")
    std::optional<std::string_view> agent{};                       ///< only this agent label (not "")
    bool reverse = false;                                          ///< newest first
    std::size_t limit = std::numeric_limits<std::size_t>::max();   ///< at most this many (with reverse: the last ones)
};

/// What verify() found wrong first.
enum class chain_problem : std::uint8_t {
    none,          ///< the chain holds
    gap,           ///< an event the head counts is missing
    malformed,     ///< an event's framing is damaged
    broken_link,   ///< an event's prev_hash is not the previous event's hash
    hash_mismatch, ///< an event's hash does not match its content
    head_mismatch, ///< the chain head does not name the last event (events cut off or added after it)
    index_mismatch, ///< a type's or a label's index does not list exactly its events, in order
};

constexpr std::string_view to_string(chain_problem p) noexcept {
    switch (p) {
    case chain_problem::none: return "none";
    case chain_problem::gap: return "gap";
    case chain_problem::malformed: return "malformed";
    case chain_problem::broken_link: return "broken link";
    case chain_problem::hash_mismatch: return "hash mismatch";
    case chain_problem::head_mismatch: return "head mismatch";
    case chain_problem::index_mismatch: return "index mismatch";
    }
    return "?";
}

/// What verify(run) found: valid, or the first invalid seq and why.
struct chain_report {
    run_id run{};
    std::uint64_t checked = 0;                 ///< events whose hash was checked and held
    std::uint64_t bytes = 0;                   ///< bytes hashed
    chain_problem problem = chain_problem::none;
    std::optional<std::uint64_t> first_invalid{}; ///< the seq where it fails
    std::string message{};                     ///< what is wrong, for a person ("" when valid)

    bool valid() const noexcept { return problem == chain_problem::none; }
    explicit operator bool() const noexcept { return valid(); }
};

/// What append() in a transaction returns: the event's id once the transaction committed.
class event_ticket : private detail::append_ticket {
public:
    using detail::append_ticket::append_ticket;

    /// Whether the transaction committed the event.
    using detail::append_ticket::committed;
    /// The event's id. Throws invalid_argument before the transaction committed (or when it failed).
    event_id id() const { return {run_, seq_or_throw("an event appended")}; }
};

/// The event log of every run, from db.events(): the schema's inmem::events<...> types,
/// appended and read per run. Cheap to copy; valid while the database lives. Reads take a
/// run (the latest commit) or a transaction (its snapshot: its own appends are not read
/// back, having no seq before the commit).
/// Throws inmem::error: unknown_run, run_not_active (appends), invalid_argument, corruption.
template <class Engine, class Schema>
class event_log {
public:
    using transaction = basic_transaction<Engine>;
    /// The schema's event types, as a std::tuple.
    using event_types = decltype(detail::types_of_kind<primitive::event>(typename Schema::slots{}));
    /// What the untyped reads hold: any of the schema's event types.
    using any_event = typename detail::tuple_to_variant<event_types>::type;
    static constexpr std::size_t type_count = std::tuple_size_v<event_types>;
    static_assert(type_count > 0, "inmem: db.events() needs event types in the schema: inmem::events<ToolCall, ...>");

    /// Whether E is one of the schema's event types.
    template <class E>
    static constexpr bool is_event = detail::index_in_tuple<E, event_types>::value < type_count;

    explicit event_log(Engine& engine) noexcept : engine_(&engine) {}

    /// Appends event to run's log as one commit; returns its id.
    template <class E>
    event_id append(run_id run, const E& event, event_labels labels = {}) const {
        check_event<E>();
        std::uint64_t seq = 0;
        std::array<detail::write_op, 7> ops;
        const std::size_t n = append_ops(run, event, labels, ops, &seq);
        engine_->commit(run, std::span(ops.data(), n));
        return {run, seq};
    }

    /// In tx: appends event to tx's run at tx's commit, after what tx appended before; the
    /// ticket gives its id once tx committed.
    template <class E>
    event_ticket append(transaction& tx, const E& event, event_labels labels = {}) const {
        check_event<E>();
        std::array<detail::write_op, 7> ops;
        const std::size_t n = append_ops(tx.run(), event, labels, ops, nullptr);
        const std::size_t index = detail::append_to(tx, std::span(ops.data(), n),
                                                    [](detail::finalizer f) { return f == &detail::finalize_head; });
        return event_ticket(tx.run(), tx.appended(), index);
    }

    /// The events of a run (or of a transaction's snapshot) that q selects, in seq order
    /// (reversed with q.reverse), of any type.
    template <context_of<Engine> At>
    [[nodiscard]] entry_range<event_entry<any_event>> read(At&& at, const event_query& q = {}) const {
        return collect<void>(at, q);
    }

    /// The events of type E that q selects.
    template <class E, context_of<Engine> At>
    [[nodiscard]] entry_range<event_entry<E>> read(At&& at, const event_query& q = {}) const {
        check_event<E>();
        return collect<E>(at, q);
    }

    /// The event id names, or nullopt if its run's log has no such seq.
    [[nodiscard]] std::optional<event_entry<any_event>> get(event_id id) const {
        auto found = collect<void>(id.run, event_query{.from = id.seq, .to = id.seq + 1});
        if (found.empty()) return std::nullopt;
        return found[0];
    }

    /// The event id names if it is of type E; nullopt if there is none or it is of another type.
    template <class E>
    [[nodiscard]] std::optional<event_entry<E>> get(event_id id) const {
        check_event<E>();
        auto found = collect<E>(id.run, event_query{.from = id.seq, .to = id.seq + 1});
        if (found.empty()) return std::nullopt;
        return found[0];
    }

    /// How many events run's log holds. O(1).
    template <context_of<Engine> At>
    [[nodiscard]] std::uint64_t count(At&& at) const {
        return detail::with_reader(*engine_, at, [&](auto& find) { return head_of(detail::run_of(at), find).next; });
    }

    /// How many events of type E run's log holds. O(1).
    template <class E, context_of<Engine> At>
    [[nodiscard]] std::uint64_t count(At&& at) const {
        check_event<E>();
        return detail::with_reader(*engine_, at,
                                   [&](auto& find) { return type_count_of<E>(detail::run_of(at), find); });
    }

    /// The chain head of run (or as a transaction or a replay sees it): its event count and
    /// its last event's hash and time.
    template <context_of<Engine> At>
    [[nodiscard]] event_head head(At&& at) const {
        const run_id run = detail::run_of(at);
        return detail::with_reader(*engine_, at, [&](auto& find) {
            event_head out{run};
            const detail::stored_record* rec = find(detail::event_head_key(run, log_slot));
            if (!rec) return out;
            const auto h = detail::parse_head(rec->bytes, type_count);
            if (!h) throw corrupt(run, "its chain head is damaged");
            out.count = h->next;
            std::memcpy(out.hash.data(), h->hash.data(), 32);
            if (h->next) out.time = detail::from_nanoseconds(h->time_ns);
            return out;
        });
    }

    /// Checks run's hash chain from its first event to its head: each event present, its
    /// prev_hash the hash before it, its hash that of its content, and the head naming the
    /// last one; and that the type and label indexes reads use list exactly those events
    /// (they are derived, outside the chain). O(events) and the bytes hashed; readers and
    /// writers go on meanwhile (it checks one snapshot).
    [[nodiscard]] chain_report verify(run_id run) const {
        engine_->check_known(run);
        const auto pin = engine_->pin();
        auto find = [&](std::string_view key) {
            return engine_->read_at(pin.version(), key, [](const detail::stored_record* r) { return r; });
        };
        chain_report report{run};
        const auto head = head_of(run, find);
        sha256_digest previous{}; // what the first event links to: zeros, or a fork's parent chain
        const auto info = engine_->run(run);
        if (const auto link = info.metadata.find(std::string(detail::chain_link_metadata)); link != info.metadata.end()) {
            const auto hash = detail::hash_from_hex(link->second);
            if (!hash) {
                report.problem = chain_problem::malformed;
                report.message = "inmem: the event chain of run " + std::to_string(run.value) +
                                 " has a malformed fork link in its run record (" + std::string(detail::chain_link_metadata) + ")";
                return report;
            }
            previous = *hash;
        }
        index_tally seen(run);
        auto fail = [&](std::uint64_t seq, chain_problem problem, std::string why) {
            report.problem = problem;
            report.first_invalid = seq;
            report.message = "inmem: the event chain of run " + std::to_string(run.value) + " fails at event " +
                             std::to_string(seq) + ": " + std::move(why);
        };
        // The events in key order, which is seq order (one pass over the run's log, not a
        // lookup per event); past them come the label keys, which end the walk.
        const std::string head_key = detail::event_head_key(run, log_slot);
        std::uint64_t seq = 0;
        engine_->scan_at(
            pin.version(), head_key,
            [&](std::string_view key, const detail::stored_record& rec) {
                if (key.size() != detail::run_key_prefix_size + 8 || key[detail::run_key_prefix_size] != 0 ||
                    seq >= head.next)
                    return false; // past the events: a label's key
                if (detail::load_big_endian<std::uint64_t>(key.data() + detail::run_key_prefix_size) != seq) {
                    fail(seq, chain_problem::gap, "it is missing, and the head counts " + std::to_string(head.next) +
                                                      " events");
                    return false;
                }
                const auto f = detail::parse_event(rec.bytes);
                const std::size_t ordinal = f ? ordinal_of_slot(f->slot) : type_count;
                if (!f || ordinal == type_count) {
                    fail(seq, chain_problem::malformed, "its stored framing is damaged");
                    return false;
                }
                if (std::memcmp(f->prev_hash.data(), previous.data(), 32) != 0) {
                    fail(seq, chain_problem::broken_link, "its prev_hash is not the hash of the event before it");
                    return false;
                }
                const sha256_digest hash =
                    detail::event_hash(f->prev_hash, run.value, seq, f->time_ns, fingerprints[ordinal], f->hashed);
                report.bytes += 64 + f->hashed.size();
                if (std::memcmp(hash.data(), f->hash.data(), 32) != 0) {
                    fail(seq, chain_problem::hash_mismatch,
                         "its content does not match its hash (changed after it was appended)");
                    return false;
                }
                previous = hash;
                if (!indexed(find, seq, ordinal, *f, seen)) {
                    fail(seq, chain_problem::index_mismatch, "an index entry of its type or of its labels does not name it");
                    return false;
                }
                ++report.checked;
                ++seq;
                return true;
            },
            head_key);
        if (!report.valid()) return report;
        if (seq < head.next) {
            fail(seq, chain_problem::gap, "it is missing, and the head counts " + std::to_string(head.next) + " events");
            return report;
        }
        if (!index_ends_match(find, run, seen)) {
            fail(head.next, chain_problem::index_mismatch,
                 "a type's or a label's index counts other events than the log holds");
            return report;
        }
        std::string key;
        detail::event_key_into(key, run, log_slot, head.next);
        if (find(key))
            fail(head.next, chain_problem::head_mismatch,
                 "the log holds this event but the chain head counts only " + std::to_string(head.next));
        else if (head.next && std::memcmp(head.hash.data(), previous.data(), 32) != 0)
            fail(head.next - 1, chain_problem::head_mismatch, "the chain head's hash is not this last event's hash");
        return report;
    }

private:
    static constexpr auto event_slots = detail::slots_of_kind<Schema, primitive::event, type_count>();
    static constexpr auto fingerprints = [] {
        std::array<std::uint64_t, type_count> out{};
        for (std::size_t i = 0; i < type_count; ++i) out[i] = Schema::slot_infos[event_slots[i]].fingerprint;
        return out;
    }();
    static constexpr std::uint16_t log_slot = event_slots[0];

    template <class E>
    static constexpr void check_event() {
        static_assert(is_event<E>, "inmem: this type is not one of the schema's event types; list it in "
                                   "inmem::events<...> of the schema to append or read it");
    }

    static constexpr std::size_t ordinal_of_slot(std::uint16_t slot) noexcept {
        return detail::ordinal_in(event_slots, slot);
    }

    static error corrupt(run_id run, const std::string& what) {
        return error(errc::corruption, "inmem: the event log of run " + std::to_string(run.value) + ": " + what);
    }

    // The ops of one append, into ops: the event, its type and label index entries, then the
    // heads (finalize_head) written once per commit; returns how many.
    template <class E>
    std::size_t append_ops(run_id run, const E& event, const event_labels& labels, std::array<detail::write_op, 7>& ops, std::uint64_t* seq) const {
        constexpr std::size_t ordinal = detail::index_in_tuple<E, event_types>::value;
        constexpr std::uint16_t slot = event_slots[ordinal];
        using detail::write_op;
        std::string head_key = detail::event_head_key(run, log_slot);
        std::string event_key;
        event_key.reserve(detail::run_key_prefix_size + 8); // the finalizer appends the seq
        event_key = head_key;
        std::size_t n = 0;
        ops[n++] = write_op{write_op::kind::put, std::move(event_key),
                            detail::unfinished_event(slot, labels.thread, labels.agent,
                                                     [&](std::string& out) { encode_to(event, out); }),
                            &detail::finalize_event<fingerprints[ordinal], type_count, ordinal>, seq};
        if constexpr (type_count > 1)
            ops[n++] = write_op{write_op::kind::put, detail::type_index_prefix(run, slot), {},
                                &detail::finalize_type_index<log_slot, type_count, ordinal>};
        std::string thread_key, agent_key;
        if (!labels.thread.empty()) {
            thread_key = detail::label_head_key(run, log_slot, detail::thread_label, labels.thread);
            ops[n++] = write_op{write_op::kind::put, thread_key, {}, &detail::finalize_index_entry};
        }
        if (!labels.agent.empty()) {
            agent_key = detail::label_head_key(run, log_slot, detail::agent_label, labels.agent);
            ops[n++] = write_op{write_op::kind::put, agent_key, {}, &detail::finalize_index_entry};
        }
        ops[n++] = write_op{write_op::kind::put, std::move(head_key), {}, &detail::finalize_head};
        if (!thread_key.empty()) ops[n++] = write_op{write_op::kind::put, std::move(thread_key), {}, &detail::finalize_head};
        if (!agent_key.empty()) ops[n++] = write_op{write_op::kind::put, std::move(agent_key), {}, &detail::finalize_head};
        return n;
    }

    // What verify() counted of the indexes so far: each type's and each label's events.
    struct index_tally {
        explicit index_tally(run_id r) : run(r) {
            for (std::size_t i = 0; i < type_count; ++i) type_prefixes[i] = detail::type_index_prefix(r, event_slots[i]);
        }
        run_id run;
        std::array<std::string, type_count> type_prefixes;
        std::array<std::uint64_t, type_count> types{};
        std::map<std::string, std::uint64_t, std::less<>> labels; // by the label's head key
        std::string key;
    };

    // Whether the index entries of event seq (its type's, its labels') name it.
    template <class Find>
    static bool indexed(Find& find, std::uint64_t seq, std::size_t ordinal, const detail::event_fields& f,
                        index_tally& seen) {
        auto names_seq = [&](const std::string& key) {
            const detail::stored_record* rec = find(key);
            return rec && rec->bytes.size() == 8 && detail::load_big_endian<std::uint64_t>(rec->bytes.data()) == seq;
        };
        if constexpr (type_count > 1) {
            seen.key = seen.type_prefixes[ordinal];
            detail::append_big_endian(seen.key, seen.types[ordinal]++);
            if (!names_seq(seen.key)) return false;
        }
        for (const auto& [kind, label] : {std::pair(detail::thread_label, f.thread), std::pair(detail::agent_label, f.agent)}) {
            if (label.empty()) continue;
            seen.key = detail::label_head_key(seen.run, log_slot, kind, label);
            auto it = seen.labels.find(seen.key);
            if (it == seen.labels.end()) it = seen.labels.emplace(seen.key, 0).first;
            detail::append_big_endian(seen.key, it->second++);
            if (!names_seq(seen.key)) return false;
        }
        return true;
    }

    // Whether the counts of the head (per type) and of the label heads are what verify saw.
    template <class Find>
    bool index_ends_match(Find& find, run_id run, const index_tally& seen) const {
        if constexpr (type_count > 1) {
            const detail::stored_record* rec = find(detail::event_head_key(run, log_slot));
            for (std::size_t i = 0; i < type_count; ++i)
                if ((rec ? detail::head_count(rec->bytes, type_count, i) : 0) != seen.types[i]) return false;
        }
        for (const auto& [head_key, count] : seen.labels) {
            const detail::stored_record* rec = find(head_key);
            if (!rec || rec->bytes.size() != 8 || detail::load_big_endian<std::uint64_t>(rec->bytes.data()) != count)
                return false;
        }
        return true;
    }

    template <class Find>
    detail::stored_head head_of(run_id run, Find& find) const {
        const detail::stored_record* rec = find(detail::event_head_key(run, log_slot));
        if (!rec) return {};
        const auto h = detail::parse_head(rec->bytes, type_count);
        if (!h) throw corrupt(run, "its chain head is damaged");
        return *h;
    }

    template <class E, class Find>
    std::uint64_t type_count_of(run_id run, Find& find) const {
        const detail::stored_record* rec = find(detail::event_head_key(run, log_slot));
        if (!rec) return 0;
        if (!detail::parse_head(rec->bytes, type_count)) throw corrupt(run, "its chain head is damaged");
        return detail::head_count(rec->bytes, type_count, detail::index_in_tuple<E, event_types>::value);
    }

    template <class E, class At>
    auto collect(At& at, const event_query& q) const {
        using value_type = std::conditional_t<std::is_void_v<E>, any_event, E>;
        using entry = event_entry<value_type>;
        const run_id run = detail::run_of(at);
        if ((q.thread && q.thread->empty()) || (q.agent && q.agent->empty()))
            throw error(errc::invalid_argument, "inmem: an event query's thread or agent label is \"\", which no "
                                                "event has (unlabelled events are not indexed); leave the filter out");
        std::vector<entry> out;
        if (q.limit == 0) {
            detail::check_in(*engine_, at);
            return entry_range<entry>(std::move(out));
        }
        detail::with_reader(*engine_, at, [&](auto& find) {
            const detail::stored_head head = head_of(run, find);
            std::uint64_t lo = q.from, hi = std::min(q.to, head.next);
            if (lo >= hi) return;
            std::string key;
            auto event_at = [&](std::uint64_t seq) {
                detail::event_key_into(key, run, log_slot, seq);
                const detail::stored_record* rec = find(key);
                if (!rec) throw corrupt(run, "event " + std::to_string(seq) + " is missing (verify() says more)");
                auto f = detail::parse_event(rec->bytes);
                if (!f) throw corrupt(run, "event " + std::to_string(seq) + " is damaged (verify() says more)");
                return std::pair(rec, *f);
            };
            if (q.since) {
                const std::int64_t t = detail::to_nanoseconds(*q.since);
                lo = detail::first_not_before(lo, hi, [&](std::uint64_t s) { return event_at(s).second.time_ns < t; });
            }
            if (q.until) {
                const std::int64_t t = detail::to_nanoseconds(*q.until);
                hi = detail::first_not_before(lo, hi, [&](std::uint64_t s) { return event_at(s).second.time_ns < t; });
            }
            if (lo >= hi) return;

            // Where candidates come from: a label's index, the type's index, or the seqs.
            std::string index_prefix;
            std::uint64_t index_size = 0;
            if (q.thread || q.agent) {
                const bool by_thread = q.thread.has_value();
                index_prefix = detail::label_head_key(run, log_slot, by_thread ? detail::thread_label : detail::agent_label,
                                                      by_thread ? *q.thread : *q.agent);
                if (const detail::stored_record* rec = find(index_prefix); rec && rec->bytes.size() == 8)
                    index_size = detail::load_big_endian<std::uint64_t>(rec->bytes.data());
                if (index_size == 0) return;
            } else if constexpr (!std::is_void_v<E> && type_count > 1) {
                index_prefix = detail::type_index_prefix(run, event_slots[detail::index_in_tuple<E, event_types>::value]);
                index_size = type_count_of<E>(run, find);
                if (index_size == 0) return;
            }
            std::string index_key;
            auto seq_of = [&](std::uint64_t i) -> std::uint64_t {
                if (index_prefix.empty()) return i;
                index_key = index_prefix;
                detail::append_big_endian(index_key, i);
                const detail::stored_record* rec = find(index_key);
                if (!rec || rec->bytes.size() != 8)
                    throw corrupt(run, "its index entry " + std::to_string(i) + " is missing or damaged");
                return detail::load_big_endian<std::uint64_t>(rec->bytes.data());
            };
            std::uint64_t first = lo, last = hi;
            if (!index_prefix.empty()) {
                first = detail::first_not_before(0, index_size, [&](std::uint64_t i) { return seq_of(i) < lo; });
                last = detail::first_not_before(first, index_size, [&](std::uint64_t i) { return seq_of(i) < hi; });
            }
            std::optional<std::uint64_t> previous; // the seq taken before, from an index
            auto take = [&](std::uint64_t i) {
                const std::uint64_t seq = seq_of(i);
                auto [rec, f] = event_at(seq);
                const std::size_t ordinal = ordinal_of_slot(f.slot);
                if (ordinal == type_count) throw corrupt(run, "event " + std::to_string(seq) + " has no event type of the schema");
                bool matches = true;
                if constexpr (!std::is_void_v<E>) matches = ordinal == detail::index_in_tuple<E, event_types>::value;
                if (q.thread && f.thread != *q.thread) matches = false;
                if (q.agent && f.agent != *q.agent) matches = false;
                if (!index_prefix.empty()) { // what an index lists must be in order, and of its kind
                    const bool in_order = !previous || (q.reverse ? seq < *previous : seq > *previous);
                    previous = seq;
                    const bool by_label = q.thread || q.agent;
                    const bool of_its_kind =
                        by_label ? (q.thread ? f.thread == *q.thread : f.agent == *q.agent) : matches;
                    if (!in_order || !of_its_kind)
                        throw corrupt(run, "its index entry " + std::to_string(i) + " names event " + std::to_string(seq) +
                                               ", which it should not (verify() says more)");
                }
                if (!matches) return;
                auto undecodable = [&](const std::string& what) {
                    throw corrupt(run, "event " + std::to_string(seq) + " " + what);
                };
                entry e{event_id{run, seq}, rec->version, detail::from_nanoseconds(f.time_ns),
                        Schema::slot_infos[f.slot].type_name, std::string(f.thread), std::string(f.agent), {}, {},
                        detail::decode_typed<value_type, event_types>(ordinal, f.payload, undecodable)};
                std::memcpy(e.prev_hash.data(), f.prev_hash.data(), 32);
                std::memcpy(e.hash.data(), f.hash.data(), 32);
                out.push_back(std::move(e));
            };
            if (!q.reverse)
                for (std::uint64_t i = first; i < last && out.size() < q.limit; ++i) take(i);
            else
                for (std::uint64_t i = last; i > first && out.size() < q.limit; --i) take(i - 1);
        });
        return entry_range<entry>(std::move(out));
    }

    Engine* engine_;
};

/// The event log as a primitive family (primitives/family.hpp); its keys: event_chain.hpp.
struct event_family {
    static constexpr primitive id = primitive::event;
    static constexpr std::string_view name = "event";
    /// The handle of all the schema's event types: db.events().
    template <class Engine, class Schema>
    using schema_handle = event_log<Engine, Schema>;

    static std::optional<key_parts> parse(std::string_view key) noexcept {
        const auto at = detail::address_of(key);
        if (!at || at->space != detail::key_space::run || at->primitive != static_cast<std::uint8_t>(id))
            return std::nullopt;
        const std::string_view rest = at->rest;
        key_parts parts{id, at->slot, run_id{at->run}, {}, std::nullopt, false};
        if (rest.empty()) return parts; // the chain head
        if (rest.size() == 8 && rest[0] == 0) { // an event (seqs stay below 2^56; a label key can be 8 bytes too)
            parts.sequence = detail::load_big_endian<std::uint64_t>(rest.data());
            return parts;
        }
        if (rest.size() == 9 && rest[0] == detail::type_index_marker) {
            parts.key = rest.substr(0, 1);
            parts.sequence = detail::load_big_endian<std::uint64_t>(rest.data() + 1);
            return parts;
        }
        if (rest.size() >= 4 && rest[0] == detail::label_marker &&
            (rest[1] == detail::thread_label || rest[1] == detail::agent_label)) {
            const std::size_t size = detail::load_big_endian<std::uint16_t>(rest.data() + 2);
            parts.key = rest.substr(0, std::min(rest.size(), 4 + size));
            if (rest.size() == 4 + size) return parts; // a label's head
            if (rest.size() == 12 + size) {            // a label's index entry
                parts.sequence = detail::load_big_endian<std::uint64_t>(rest.data() + 4 + size);
                return parts;
            }
        }
        return std::nullopt;
    }

    static std::optional<value_parts> value_of(const key_parts& parts, std::string_view bytes) noexcept {
        if (parts.key.empty() && parts.sequence) { // an event: a damaged one is verify()'s to report
            const auto f = detail::parse_event(bytes);
            if (!f) return value_parts{std::nullopt, parts.run, std::nullopt, false};
            return value_parts{f->payload, parts.run, f->slot, false};
        }
        if (bytes.empty() || (!parts.key.empty() && bytes.size() != 8)) return std::nullopt;
        return value_parts{std::nullopt, parts.run, std::nullopt, true}; // a head or an index entry
    }

    /// For opening files written under another schema (durability/migration.hpp): an
    /// event's type is its slot in its framing, and its payload is hashed into the chain, so
    /// a changed event type's events cannot be rewritten.
    static void set_value_slot(std::string& bytes, std::uint16_t slot) noexcept {
        detail::store_big_endian(bytes.data() + detail::event_slot_at, slot);
    }
    static constexpr bool hashed_values = true;
    /// Where a chain head's counts per type begin (event_chain.hpp): a migration that gives
    /// the log more types widens the heads, and indexes the events of a log of one type.
    static constexpr std::size_t log_head_counts_at = detail::head_counts_at;
    static constexpr char log_type_index_marker = detail::type_index_marker;

    static std::string describe(const key_parts& parts) {
        std::string out;
        if (parts.key.empty()) out = parts.sequence ? "event #" + std::to_string(*parts.sequence) : "event chain head";
        else if (parts.key[0] == detail::type_index_marker) out = "event type index #" + std::to_string(parts.sequence.value_or(0));
        else {
            out = std::string(parts.key[1] == detail::thread_label ? "event thread '" : "event agent '");
            detail::append_printable(out, parts.key.substr(4));
            out += parts.sequence ? "' index #" + std::to_string(*parts.sequence) : "' head";
        }
        return out + " of run " + std::to_string(parts.run.value);
    }
};

/// Event types of the run's append-only, hash-chained event log (db.events()).
template <class... T>
struct events : family_entry<event_family, T...> {};

} // namespace inmem
