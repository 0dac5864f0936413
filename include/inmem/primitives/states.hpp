// inmem/primitives/states.hpp: state records, the coordination primitive.
//
// A state record is a named value of type T shared by every run (a task's claim, a leader
// lease, a budget). Each write gives it a new version; cas() writes only if the version is
// still the one the caller saw, so two runs racing to claim the same task cannot both win.
// Every write is attributed: the record keeps the run that wrote it, and the writing run's
// own data gets a journal entry (name, version, value), so writes(run) lists what one run
// did in O(what it did).
//
// Storage (see storage/key.hpp):
//   record  space 2: ns primitive=3 slot name                 -> writer:u64 value
//   journal space 1: ns run primitive=3 slot name version:u64 -> writer:u64 value
//                                                              | (writer | 2^63):u64   (an erase)
#pragma once

#include <inmem/error.hpp>
#include <inmem/primitives/context.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/primitives/listing.hpp>
#include <inmem/primitives/runs.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/reflect.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/transaction.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace inmem {

/// A state record as read: its value, the version of the write that made it, and the run
/// that wrote it.
template <class T>
struct state_entry {
    T value;
    version_t version = 0;
    run_id writer{};
};

/// One write a run made to a state record (see state_handle::writes).
template <class T>
struct state_write {
    std::string name;
    T value;              ///< T{} for an erase
    version_t version = 0;
    bool erased = false;  ///< the write erased the record
};

/// A state record as list() returns it: its name, value, version and writer.
template <class T>
struct state_item {
    std::string name;
    T value;
    version_t version = 0;
    run_id writer{};
};

/// What cas() and init() return. On success, version is the new version (0 inside a
/// transaction: known at commit). On mismatch, version is the record's actual version (0
/// when it does not exist), to retry with.
struct cas_result {
    bool succeeded = false;
    version_t version = 0;
    explicit operator bool() const noexcept { return succeeded; }
};

/// A lease: held by one run until it expires. List it in the schema's states<> to use the
/// lease helpers: db.states<inmem::lease>().acquire(run, "leader", 30s).
struct lease {
    std::uint64_t holder = 0;     ///< the holding run's id; 0 when released
    std::int64_t expires_ms = 0;  ///< system_clock time, in ms since the epoch
};

/// Proof of holding a lease. token increases with every acquire and renew (it is the lease
/// record's version): pass it to the resources the lease guards, to fence off a holder
/// whose lease expired without it noticing.
struct lease_grant {
    version_t token = 0;
    std::chrono::system_clock::time_point expires{};
};

/// A counter. List it in the schema's states<> to use add() and value().
struct counter {
    std::int64_t value = 0;
};

namespace detail {
/// Set in a state journal entry's writer when the entry records an erase.
inline constexpr std::uint64_t state_erased_bit = std::uint64_t{1} << 63;
} // namespace detail

/// State records of one value type T, from db.states<T>(). Cheap to copy; valid while the
/// database lives. Names are arbitrary bytes up to inmem::max_key_size. Writes take the
/// writing run (or a transaction, whose run writes) and throw unknown_run, run_not_active,
/// key_too_large, and the durability errors; reads throw corruption on undecodable bytes.
template <class Engine, class T>
class state_handle {
    static constexpr auto prim = static_cast<std::uint8_t>(primitive::state);

public:
    using transaction = basic_transaction<Engine>;

    state_handle(Engine& engine, std::uint16_t slot) noexcept : engine_(&engine), slot_(slot) {}

    /// The record's latest value, version and writer, or nullopt if it does not exist.
    [[nodiscard]] std::optional<state_entry<T>> read(std::string_view name) const {
        detail::check_user_key(name);
        return engine_->read_latest(lookup_key(name), [&](const detail::stored_record* rec) { return entry_of(name, rec); });
    }

    /// The record as tx sees it (its snapshot, or tx's own write with version 0).
    [[nodiscard]] std::optional<state_entry<T>> read(transaction& tx, std::string_view name) const {
        detail::check_user_key(name);
        return tx.read(lookup_key(name), [&](const detail::stored_record* rec) { return entry_of(name, rec); });
    }

    /// Creates the record with value if it does not exist; if it does, changes nothing and
    /// returns a mismatch with its version.
    [[nodiscard]] cas_result init(run_id run, std::string_view name, const T& value) const {
        return cas(run, name, 0, value);
    }

    /// Writes value if the record's version is still expected (0: if it does not exist).
    [[nodiscard]] cas_result cas(run_id run, std::string_view name, version_t expected, const T& value) const {
        // A stale expectation fails here, before anything is encoded: the read is as good a
        // moment for the mismatch as any inside the commit would be. A match is checked
        // again under the writers' lock.
        if (const version_t now = latest_version(name); now != expected) {
            engine_->check_known(run);
            return cas_result{false, now};
        }
        auto ops = write_ops(run, name, value);
        version_t actual = 0;
        const auto version = engine_->commit_if(run, ops, [&](const typename Engine::backend_type& store) {
            const detail::stored_record* rec = store.find(ops[0].key);
            actual = rec ? rec->version : 0;
            return actual == expected;
        });
        return version ? cas_result{true, *version} : cas_result{false, actual};
    }

    /// Writes value whatever the record holds; returns the new version.
    version_t set(run_id run, std::string_view name, const T& value) const {
        auto ops = write_ops(run, name, value);
        return engine_->commit(run, ops);
    }

    /// Erases the record (a later init creates it anew, with a newer version); true if it
    /// existed. The erase is attributed like a write: it appears in writes(run).
    bool erase(run_id run, std::string_view name) const {
        auto ops = erase_ops(run, name);
        return engine_
            ->commit_if(run, ops,
                        [&](const typename Engine::backend_type& store) { return store.find(ops[0].key) != nullptr; })
            .has_value();
    }

    /// The records whose name starts with prefix, in name order, as of now; options.after
    /// and options.limit return one page of them, at the cost of that page.
    [[nodiscard]] entry_range<state_item<T>> list(std::string_view prefix = {}, list_options options = {}) const {
        detail::check_user_key(prefix);
        detail::check_user_key(options.after);
        std::vector<state_item<T>> out;
        if (options.limit > 0) engine_->scan(run_id{}, shared_key(prefix), append_to(out, options.limit), after_key(options));
        return entry_range<state_item<T>>(std::move(out));
    }

    /// Reads the record, computes fn(value) and writes it with cas; when another write came
    /// first, reads again and re-runs fn, until one succeeds. Returns what was written.
    /// Throws not_found if the record does not exist (init it first).
    template <class Fn>
    state_entry<T> transition(run_id run, std::string_view name, Fn&& fn) const {
        static_assert(std::is_invocable_r_v<T, Fn&, const T&>,
                      "inmem: transition(run, name, fn) needs fn(const T&) returning the new T");
        for (unsigned attempt = 0;; ++attempt) {
            auto current = read(name);
            if (!current)
                throw error(errc::not_found, "inmem: transition: the state record '" + std::string(name) +
                                                 "' does not exist; create it with init() first");
            T next = fn(std::as_const(current->value));
            if (const cas_result r = cas(run, name, current->version, next))
                return state_entry<T>{std::move(next), r.version, run};
            if (attempt >= 8) std::this_thread::yield(); // heavy contention: let the winners run
        }
    }

    /// In tx: creates the record with value if tx sees none.
    [[nodiscard]] cas_result init(transaction& tx, std::string_view name, const T& value) const {
        return cas(tx, name, 0, value);
    }

    /// In tx: writes value if tx sees the record at version expected; the commit then fails
    /// with conflict if another commit changed it after tx's snapshot.
    [[nodiscard]] cas_result cas(transaction& tx, std::string_view name, version_t expected, const T& value) const {
        const auto seen = read(tx, name);
        const version_t actual = seen ? seen->version : 0;
        if (seen && actual == 0) // tx wrote it already: its version is not known yet
            throw error(errc::invalid_argument, "inmem: cas in a transaction on a record the transaction "
                                                "already wrote; use set()");
        if (actual != expected) return cas_result{false, actual};
        set(tx, name, value);
        return cas_result{true, 0};
    }

    /// In tx: writes value whatever the record holds.
    void set(transaction& tx, std::string_view name, const T& value) const {
        auto ops = write_ops(tx.run(), name, value);
        tx.put(std::move(ops[0].key), std::move(ops[0].bytes));
        tx.put(std::move(ops[1].key), std::move(ops[1].bytes), ops[1].finalize);
    }

    /// In tx: buffers the erasure of the record; true if tx saw it.
    bool erase(transaction& tx, std::string_view name) const {
        auto ops = erase_ops(tx.run(), name);
        const bool present = tx.read(ops[0].key, [](const detail::stored_record* rec) { return rec != nullptr; });
        tx.erase(std::move(ops[0].key));
        tx.put(std::move(ops[1].key), std::move(ops[1].bytes), ops[1].finalize);
        return present;
    }

    /// In tx: the records under prefix as tx sees them, in name order (options: a page).
    [[nodiscard]] entry_range<state_item<T>> list(transaction& tx, std::string_view prefix = {}, list_options options = {}) const {
        detail::check_user_key(prefix);
        detail::check_user_key(options.after);
        std::vector<state_item<T>> out;
        if (options.limit > 0) tx.scan(shared_key(prefix), append_to(out, options.limit), after_key(options));
        return entry_range<state_item<T>>(std::move(out));
    }

    /// Every write run made to records of this type, oldest first (in a transaction, as of
    /// its snapshot; in a replay, those made by its point). Throws unknown_run.
    template <context_of<Engine> At>
    [[nodiscard]] std::vector<state_write<T>> writes(At&& at) const {
        std::vector<state_write<T>> out;
        const run_id run = detail::run_of(at);
        const std::string prefix = detail::run_data_key(detail::default_namespace, run.value, prim, slot_, {});
        detail::scan_in(*engine_, at, prefix, [&](std::string_view key, const detail::stored_record& rec) {
            const std::string_view name = key.substr(prefix.size(), key.size() - prefix.size() - 8);
            const version_t version = detail::read_big_endian<version_t>(key, key.size() - 8);
            const bool erased = rec.bytes.size() >= 8 &&
                                (detail::read_big_endian<std::uint64_t>(rec.bytes, 0) & detail::state_erased_bit);
            if (erased)
                out.push_back(state_write<T>{std::string(name), T{}, version, true});
            else out.push_back(state_write<T>{std::string(name), decode_value(name, rec.bytes), version});
        }, {});
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
        return out;
    }

    // ---- Leases (T = inmem::lease)

    /// Takes the lease for run for ttl if it is free, expired, or already run's. Returns the
    /// grant, or nullopt while another run holds it. Times are the database's clock's.
    [[nodiscard]] std::optional<lease_grant> acquire(run_id run, std::string_view name, std::chrono::milliseconds ttl) const
        requires std::is_same_v<T, lease>
    {
        for (;;) {
            const auto now = engine_->now(); // the database's clock (clock.hpp)
            const auto current = read(name);
            if (current && current->value.holder != 0 && current->value.holder != run.value &&
                current->value.expires_ms > to_ms(now))
                return std::nullopt;
            const lease next{run.value, to_ms(now + ttl)};
            if (const cas_result r = cas(run, name, current ? current->version : 0, next))
                return lease_grant{r.version, from_ms(next.expires_ms)};
        }
    }

    /// Extends a lease run holds by grant to now + ttl; nullopt if it was taken meanwhile.
    [[nodiscard]] std::optional<lease_grant> renew(run_id run, std::string_view name, const lease_grant& grant,
                                     std::chrono::milliseconds ttl) const
        requires std::is_same_v<T, lease>
    {
        const lease next{run.value, to_ms(engine_->now() + ttl)};
        if (const cas_result r = cas(run, name, grant.token, next))
            return lease_grant{r.version, from_ms(next.expires_ms)};
        return std::nullopt;
    }

    /// Gives the lease back; false if it was no longer held by grant.
    [[nodiscard]] bool release(run_id run, std::string_view name, const lease_grant& grant) const
        requires std::is_same_v<T, lease>
    {
        return static_cast<bool>(cas(run, name, grant.token, lease{}));
    }

    // ---- Counters (T = inmem::counter)

    /// Adds delta to the counter (created at 0) and returns the new value.
    std::int64_t add(run_id run, std::string_view name, std::int64_t delta) const
        requires std::is_same_v<T, counter>
    {
        for (;;) {
            const auto current = read(name);
            const std::int64_t next = (current ? current->value.value : 0) + delta;
            if (cas(run, name, current ? current->version : 0, counter{next})) return next;
        }
    }

    /// The counter's value (0 if it was never written).
    [[nodiscard]] std::int64_t value(std::string_view name) const
        requires std::is_same_v<T, counter>
    {
        const auto current = read(name);
        return current ? current->value.value : 0;
    }

private:

    // The record's erasure and the run's journal entry of it, ready to commit.
    std::array<detail::write_op, 2> erase_ops(run_id run, std::string_view name) const {
        detail::check_user_key(name);
        std::string bytes(8, '\0');
        detail::store_big_endian(bytes.data(), run.value | detail::state_erased_bit);
        return {detail::write_op{detail::write_op::kind::erase, shared_key(name), {}, nullptr},
                detail::write_op{detail::write_op::kind::put,
                                 detail::run_data_key(detail::default_namespace, run.value, prim, slot_, name),
                                 std::move(bytes), &detail::append_commit_version}};
    }

    std::string shared_key(std::string_view name) const {
        std::string key;
        detail::shared_key_into(key, detail::default_namespace, prim, slot_, name);
        return key;
    }

    std::string after_key(const list_options& options) const {
        return options.after.empty() ? std::string() : shared_key(options.after);
    }

    auto append_to(std::vector<state_item<T>>& out, std::size_t limit) const {
        return [&out, limit, this](std::string_view key, const detail::stored_record& rec) {
            const std::string_view name = key.substr(8);
            auto entry = entry_of(name, &rec);
            out.push_back(state_item<T>{std::string(name), std::move(entry->value), entry->version, entry->writer});
            return out.size() < limit;
        };
    }

    // The record's put and the run's journal entry, ready to commit.
    std::array<detail::write_op, 2> write_ops(run_id run, std::string_view name, const T& value) const {
        detail::check_user_key(name);
        std::string bytes;
        bytes.resize(8);
        detail::store_big_endian(bytes.data(), run.value);
        encode_to(value, bytes);
        std::string key;
        detail::shared_key_into(key, detail::default_namespace, prim, slot_, name);
        std::array<detail::write_op, 2> ops{
            detail::write_op{detail::write_op::kind::put, std::move(key), bytes, nullptr},
            detail::write_op{detail::write_op::kind::put,
                             detail::run_data_key(detail::default_namespace, run.value, prim, slot_, name),
                             std::move(bytes), &detail::append_commit_version}};
        return ops;
    }

    version_t latest_version(std::string_view name) const {
        detail::check_user_key(name);
        return engine_->read_latest(lookup_key(name),
                                    [](const detail::stored_record* rec) { return rec ? rec->version : version_t{0}; });
    }

    std::string_view lookup_key(std::string_view name) const {
        thread_local std::string buffer;
        detail::shared_key_into(buffer, detail::default_namespace, prim, slot_, name);
        return buffer;
    }

    std::optional<state_entry<T>> entry_of(std::string_view name, const detail::stored_record* rec) const {
        if (!rec) return std::nullopt;
        return state_entry<T>{decode_value(name, rec->bytes), rec->version,
                              run_id{detail::read_big_endian<std::uint64_t>(rec->bytes, 0)}};
    }

    static T decode_value(std::string_view name, std::string_view bytes) {
        auto value = bytes.size() >= 8 ? decode<T>(bytes.substr(8)) : result<T>(make_error_code(errc::decode_truncated));
        if (!value)
            throw error(errc::corruption, "inmem: the state record '" + std::string(name) + "' does not decode as " +
                                              std::string(detail::type_name<T>()) + ": " + value.error().message());
        return std::move(value).value();
    }

    static std::int64_t to_ms(std::chrono::system_clock::time_point t) noexcept {
        return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    }
    static std::chrono::system_clock::time_point from_ms(std::int64_t ms) noexcept {
        return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
    }

    Engine* engine_;
    std::uint16_t slot_;
};

/// State records as a primitive family (primitives/family.hpp). A record is shared, its
/// journal entries are run data whose key ends in the writing commit's version:
///   record  ns primitive=3 slot name                  -> writer:u64 value
///   journal ns run primitive=3 slot name version:u64  -> writer:u64 value | (writer | 2^63):u64
struct state_family {
    static constexpr primitive id = primitive::state;
    static constexpr std::string_view name = "state";
    template <class Engine, class T>
    using handle = state_handle<Engine, T>;

    static std::optional<key_parts> parse(std::string_view key) noexcept {
        const auto at = detail::address_of(key);
        if (!at || at->primitive != static_cast<std::uint8_t>(id)) return std::nullopt;
        if (at->space == detail::key_space::shared) return key_parts{id, at->slot, run_id{}, at->rest, std::nullopt, true};
        if (at->rest.size() < 8) return std::nullopt;
        return key_parts{id, at->slot, run_id{at->run}, at->rest.substr(0, at->rest.size() - 8),
                         detail::load_big_endian<std::uint64_t>(at->rest.data() + at->rest.size() - 8), false};
    }
    static std::optional<value_parts> value_of(const key_parts&, std::string_view bytes) noexcept {
        if (bytes.size() < 8) return std::nullopt;
        const auto writer = detail::load_big_endian<std::uint64_t>(bytes.data());
        if (writer & detail::state_erased_bit)
            return value_parts{std::nullopt, run_id{writer & ~detail::state_erased_bit}};
        return value_parts{bytes.substr(8), run_id{writer}};
    }
    static std::string describe(const key_parts& parts) {
        std::string out = "state record '";
        detail::append_printable(out, parts.key);
        out += "'";
        if (!parts.shared) out += " as run " + std::to_string(parts.run.value) + " wrote it at version " +
                                  std::to_string(parts.sequence.value_or(0));
        return out;
    }
};

/// Types of state-machine records, shared across runs and updated by compare-and-swap.
template <class... T>
struct states : family_entry<state_family, T...> {};

} // namespace inmem
