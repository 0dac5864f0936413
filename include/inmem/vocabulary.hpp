// inmem/vocabulary.hpp: the words every layer shares: versions, run ids and statuses, run
// records, the key spaces and the schema stamp of a file. It includes nothing of inmem's:
// the storage, concurrency and durability layers and the engine name only these.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem {

/// The kinds of policy (policy.hpp): a policy declares `using policy_kind = inmem::storage_kind;`.
/// Kind tag of storage backends (storage::memory, ...).
struct storage_kind {};
/// Kind tag of concurrency modes (concurrency::optimistic, concurrency::single_thread).
struct concurrency_kind {};
/// Kind tag of durability modes (durability::none, ...).
struct durability_kind {};
/// Kind tag of clocks (clocks::system, clocks::manual): where the database's times come from.
struct clock_kind {};

/// A commit's sequence number. Every committed write gets a new, larger one, forever.
using version_t = std::uint64_t;

/// The largest user key (KV key, record name) in bytes.
inline constexpr std::size_t max_key_size = 4096;

/// Identifies one run (one agent execution). Never reused by a database, also across restarts.
/// The value 0 is never a run.
struct run_id {
    std::uint64_t value = 0;

    constexpr explicit operator bool() const noexcept { return value != 0; }
    friend constexpr bool operator==(run_id, run_id) = default;
    friend constexpr auto operator<=>(run_id, run_id) = default;
};

/// Where a run is in its life. Only active runs accept writes. A run is interrupted when the
/// process that wrote to the database while the run was active stopped without closing it
/// (a crash, kill -9, a power loss): set when the database is next opened, so a supervisor
/// can find such runs (db.runs(run_status::interrupted)) and resume_run or end_run them.
enum class run_status : std::uint8_t { active = 0, completed = 1, failed = 2, cancelled = 3, interrupted = 4 };

/// A readable name of a status ("active", "completed", ...).
constexpr std::string_view to_string(run_status s) noexcept {
    switch (s) {
    case run_status::active: return "active";
    case run_status::completed: return "completed";
    case run_status::failed: return "failed";
    case run_status::cancelled: return "cancelled";
    case run_status::interrupted: return "interrupted";
    }
    return "?";
}

/// What begin_run is told about a new run; every field is optional:
///   db.begin_run({.name = "triage", .tags = {"prod"}, .parent = previous});
struct run_options {
    std::string name{};
    std::vector<std::string> tags{};
    std::optional<run_id> parent{}; ///< must be a run of this database
    /// Free-form attributes (keys not empty); changed later with db.set_metadata / erase_metadata.
    std::map<std::string, std::string> metadata{};
};

/// How db.erase_run forgets a run.
struct erase_options {
    /// Also erase the run's descendants (children, their children...), which must all have
    /// ended; without it a run with a child not yet erased is refused.
    bool cascade = false;
};

/// A run's record in the run index.
struct run_info {
    run_id id{};
    std::string name{};
    std::vector<std::string> tags{};
    std::optional<run_id> parent{};
    run_status status = run_status::active;
    /// Never earlier than the start of a run begun before it: begin_run clamps a clock that
    /// went back, so start order is id order (what db.runs(query) sorts by).
    std::chrono::system_clock::time_point started{};
    /// Set by end_run; likewise never earlier than a previous end or the run's start.
    std::optional<std::chrono::system_clock::time_point> ended{};
    /// The run's attributes (run_options::metadata, then set_metadata / erase_metadata).
    /// Last in the record: a record written before metadata existed is one without any.
    std::map<std::string, std::string> metadata{};

    bool operator==(const run_info&) const = default;
};

/// A half-open time interval [from, until); an absent end is open.
struct time_range {
    std::optional<std::chrono::system_clock::time_point> from{};
    std::optional<std::chrono::system_clock::time_point> until{};

    bool contains(std::chrono::system_clock::time_point t) const noexcept {
        return (!from || t >= *from) && (!until || t < *until);
    }
    bool operator==(const time_range&) const = default;
};

/// How db.runs(query) orders runs. Start order is id order (start times are clamped never to
/// go back), ties in start time broken by id.
enum class run_order : std::uint8_t { by_id = 0, by_start = 1 };

/// Where a page of db.runs(query) stopped: pass it as the next query's `after` (with the same
/// order and direction) to get the runs after it. Runs begun meanwhile come in later pages
/// when they sort after it.
struct run_cursor {
    run_id last{};                                      ///< the last run of the page
    std::chrono::system_clock::time_point started{};    ///< its start time
    run_order order = run_order::by_id;
    bool descending = false;

    bool operator==(const run_cursor&) const = default;
};

/// A query of the run index (db.runs(query)); every filter is optional and they combine
/// (AND):
///   db.runs({.statuses = {run_status::failed}, .tags = {"prod"}, .limit = 100});
/// Answered from in-memory secondary indexes: the cost is O(log n) plus the candidates of the
/// most selective indexed filter (see docs/getting-started.md, section 4.5).
struct run_query {
    std::vector<run_status> statuses{};               ///< any of these (empty: any status)
    std::vector<std::string> tags{};                  ///< all of these
    std::string name_prefix{};                        ///< names that start so ("": any)
    std::optional<run_id> parent{};                   ///< the children of this run
    std::optional<run_id> descendant_of{};            ///< the lineage tree under this run (not itself)
    time_range started{};                             ///< started in this interval
    time_range ended{};                               ///< ended in this interval (set: ended runs only)
    std::map<std::string, std::string> metadata{};    ///< every key with exactly this value
    run_order order = run_order::by_id;
    bool descending = false;                          ///< newest first
    std::size_t limit = 0;                            ///< at most this many (0: all)
    std::optional<run_cursor> after{};                ///< resume after a previous page
};

/// A page of db.runs(query): the runs, in the query's order, and where to resume (set when
/// the limit stopped the page and more runs match).
struct run_page {
    std::vector<run_info> runs{};
    std::optional<run_cursor> next{};
};

} // namespace inmem

namespace inmem {
struct migration_plan; // schema/evolution.hpp
} // namespace inmem

namespace inmem::detail {

/// The spaces of the one ordered store (storage/key.hpp has the grammar).
enum class key_space : std::uint8_t { catalog = 0, run = 1, shared = 2 };
/// What a catalog key holds.
enum class catalog_kind : std::uint8_t { run = 0, run_gap = 1, erased_run = 2 };

/// The version to read at to see the latest of everything.
inline constexpr version_t latest_version = ~version_t{0};

/// The namespace every key uses until namespaces are exposed.
inline constexpr std::uint32_t default_namespace = 0;

/// How a record of the files is rewritten when the schema changed since they were written
/// (durability/migration.hpp implements it; a slot's family calls it on its records).
class record_rewriter {
public:
    /// The slot number the program's schema gives the type the files knew as stored_slot.
    virtual std::uint16_t slot_of(std::uint16_t stored_slot) const = 0;
    /// Writes into out what value (codec bytes of the type of stored_slot, as written)
    /// becomes under the program's type; false when it is kept as it is.
    virtual bool convert(std::uint16_t stored_slot, std::string_view value, std::string& out) const = 0;
    /// For a family that keeps its types in one log (primitive): how many types the files'
    /// schema gave it and how many the program's does (the files' first, in order).
    virtual std::pair<std::size_t, std::size_t> log_types(std::uint8_t primitive) const = 0;
    /// Adds a record the program's schema derives and the files' did not keep (a type index
    /// once a log has several types).
    virtual void add(std::string key, std::string bytes) const = 0;

protected:
    ~record_rewriter() = default;
};

/// The schema part of a file header: what the writer's types were (schema.hpp makes one
/// from a schema, stamp_of<Schema>(); the files check it at open).
struct schema_stamp {
    std::uint64_t fingerprint = 0;
    struct slot {
        std::uint8_t primitive = 0;
        std::uint64_t fingerprint = 0;
        std::string name;
        /// Not written to files, set from the program's schema (primitives/family.hpp): the
        /// slot's family name and its check of a stored key and value (nullptr: an erasure),
        /// run by recovery on every record, which returns nullptr or why the family refuses
        /// them. A null check: anything the key grammar allows.
        std::string_view family{};
        const char* (*check)(std::string_view key, const std::string_view* bytes) noexcept = nullptr;
        /// The type's structure, describe<T>()'s canonical text (schema/description.hpp reads
        /// it): written to files from format 4 of the WAL and of snapshots, empty when read
        /// from older ones.
        std::string description{};
        /// Not written, set from the program's schema, for opening files written under
        /// another one (durability/migration.hpp): how the slot's family rewrites one of its
        /// records (key already renumbered; the slot the files gave it; false: the family
        /// cannot read them), whether its values are hashed (an event chain: they cannot be
        /// rewritten), whether its types share one log counted per type (their list cannot
        /// change), and how values of an older layout become the type's (nullptr: they cannot).
        bool (*rewrite)(std::string_view key, std::uint16_t stored_slot, std::string& bytes,
                        const record_rewriter& how) = nullptr;
        bool hashed = false;
        bool one_log = false;
        migration_plan (*plan)(std::string_view old_description) = nullptr;
    };
    std::vector<slot> slots;
};

} // namespace inmem::detail

template <>
struct std::hash<inmem::run_id> {
    std::size_t operator()(inmem::run_id r) const noexcept { return std::hash<std::uint64_t>{}(r.value); }
};
