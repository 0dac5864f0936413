// inmem/time_machine/replay.hpp: a run as it was at any point, read with the live handles.
//
//   auto then = inmem::replay(db, run, inmem::at_event{12}); // right after event 12's commit
//   auto plan = db.kv<Plan>().get(then, "plan");              // the plan as it was then
//   for (const auto& e : db.events().read(then)) ...;          // events 0..12
//
// A replay is a read-only view of one run's data (its key range: KV, events, traces, state
// journal entries) as of a commit version V: a record the run still holds is seen when it was
// written at or before V; one written after V shows what it replaced, from the run's history
// (history/run_history.hpp), when that was written at or before V. Building the view reads the
// run's history once, and reads through it cost what live reads cost: O(run size) in all,
// touching nothing of other runs. Handles take the view wherever they take a run for a read
// (inmem::read_view_of). The view holds a snapshot: what it shows never changes, whatever
// is written meanwhile, and replaying twice gives the same view.
#pragma once

#include <inmem/error.hpp>
#include <inmem/history/run_history.hpp>
#include <inmem/primitives/context.hpp>
#include <inmem/primitives/event_chain.hpp>
#include <inmem/primitives/typed_log.hpp>
#include <inmem/walk.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace inmem {

/// A point of a run: just after the commit of this version (a version before the run's first
/// commit: before it wrote anything; later than its last: its end).
struct at_version {
    version_t version = 0;
};
/// Just after the commit that appended the run's event seq.
struct at_event {
    std::uint64_t seq = 0;
};
/// Just after the run's last commit at or before this time (by the database's clock).
struct at_time {
    std::chrono::system_clock::time_point time{};
};
/// Where to replay a run: its end (the default), a version, an event or a time.
using replay_point = std::variant<std::monostate, at_version, at_event, at_time>;

/// The run metadata key of a fork (fork.hpp): the parent's commit version it starts from.
inline constexpr std::string_view fork_version_metadata = "inmem.fork.version";
/// The run metadata key of a fork: how many events the parent had at the fork point.
inline constexpr std::string_view fork_events_metadata = "inmem.fork.events";

/// The data of one run as of one commit version, read through the live handles (see above).
/// Valid while the database lives; movable, not copyable.
template <class Engine>
class replay_view {
public:
    using engine_type = Engine;
    static constexpr bool is_read_view = true;

    /// The run.
    run_id run() const noexcept { return run_; }
    /// The commit version the view shows the run at (its records written at or before it).
    version_t version() const noexcept { return at_; }
    /// The snapshot the view reads (the database's latest version when it was made).
    version_t snapshot() const noexcept { return pin_.version(); }

    /// Calls f(const detail::stored_record*) with key's record as of version(), or nullptr.
    template <class F>
    decltype(auto) read(std::string_view key, F&& f) const {
        if (const auto* kept = in_history(key)) return f(kept);
        return engine_->read_at(pin_.version(), key, [&](const detail::stored_record* rec) {
            return f(rec && rec->version <= at_ ? rec : nullptr);
        });
    }

    /// Calls f(key, record) for the keys under prefix (after `after`) as of version(), in key
    /// order; f may return false to stop.
    template <class F>
    void scan(std::string_view prefix, F&& f, std::string_view after = {}) const {
        auto from = std::lower_bound(kept_.begin(), kept_.end(), after.empty() ? prefix : after,
                                     [](const entry& e, std::string_view k) { return e.key < k; });
        if (!after.empty() && from != kept_.end() && from->key == after) ++from;
        bool go = true;
        auto call = [&](std::string_view key, const detail::stored_record& rec) {
            if constexpr (std::is_void_v<decltype(f(key, rec))>) f(key, rec);
            else go = static_cast<bool>(f(key, rec));
            return go;
        };
        // Merges the kept records (sorted) into the snapshot's, which show when written by V
        // (a key of both has a snapshot record written after V).
        auto kept_before = [&](std::string_view key) {
            for (; go && from != kept_.end() && std::string_view(from->key).starts_with(prefix) &&
                   (key.empty() || from->key < key);
                 ++from)
                call(from->key, from->record);
            return go;
        };
        engine_->scan_at(
            pin_.version(), prefix,
            [&](std::string_view key, const detail::stored_record& rec) {
                if (!kept_before(key)) return false;
                if (rec.version > at_) return true;
                return call(key, rec);
            },
            after);
        if (go) kept_before({});
    }

private:
    template <class E>
    friend replay_view<E> make_replay(const E& engine, run_id run, version_t at);

    // A record of the run at V that its history kept: a later commit replaced it.
    struct entry {
        std::string key;
        detail::stored_record record;
    };

    replay_view(const Engine& engine, run_id run) : engine_(&engine), run_(run), pin_(engine.pin()) {}

    // The kept record of key at V, or nullptr when the snapshot's record (if any) says.
    const detail::stored_record* in_history(std::string_view key) const noexcept {
        if (kept_.empty()) return nullptr;
        const auto it = std::lower_bound(kept_.begin(), kept_.end(), key,
                                         [](const entry& e, std::string_view k) { return e.key < k; });
        return it != kept_.end() && it->key == key ? &it->record : nullptr;
    }

    const Engine* engine_;
    run_id run_;
    typename Engine::pinned pin_;
    version_t at_ = 0;
    std::vector<entry> kept_; // sorted by key: what the run's records at V were, from its history
};

/// The view of run as of version at (see replay_view). Throws unknown_run, and invalid_argument
/// when at is before a compaction of the run's history (db.compact) and after its start.
template <class Engine>
replay_view<Engine> make_replay(const Engine& engine, run_id run, version_t at) {
    engine.check_known(run);
    replay_view<Engine> view(engine, run);
    view.at_ = std::min(at, view.pin_.version());
    const auto history = engine.history(run);
    if (!history || view.at_ == view.pin_.version()) return view; // the end: the snapshot holds it all
    std::vector<std::string_view> keys;
    const std::string prefix = detail::run_range_prefix(run);
    std::vector<typename replay_view<Engine>::entry> kept;
    version_t compacted = 0;
    history->read(view.pin_.version(), [&](const detail::history_item& item) {
        switch (item.kind) {
        case detail::history_record::key: keys.push_back(item.bytes); break;
        case detail::history_record::value:
            // The record written at `written` and replaced at item.version was the key's at V.
            if (item.written <= view.at_ && view.at_ < item.version)
                kept.push_back({prefix + std::string(keys[item.key]), {item.written, std::string(item.bytes)}});
            break;
        case detail::history_record::compacted: compacted = item.version; break;
        case detail::history_record::commit: break;
        }
    });
    if (view.at_ < compacted)
        throw error(errc::invalid_argument, "inmem: replay: the history of run " + std::to_string(run.value) +
                                                " before version " +
                                                std::to_string(compacted) +
                                                " was dropped by db.compact; it can be replayed at its end only");
    std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    view.kept_ = std::move(kept);
    return view;
}

namespace detail {

// The version of the commit that appended event seq of run; throws not_found without one.
template <class Db>
version_t version_of_event(const Db& db, run_id run, std::uint64_t seq) {
    using schema = typename Db::schema_type;
    using event_types = decltype(types_of_kind<primitive::event>(typename schema::slots{}));
    if constexpr (std::tuple_size_v<event_types> == 0) {
        throw error(errc::invalid_argument, "inmem: replay at an event: the schema has no event log");
    } else {
        constexpr std::uint16_t log_slot = slots_of_kind<schema, primitive::event, std::tuple_size_v<event_types>>()[0];
        std::string key;
        event_key_into(key, run, log_slot, seq);
        const auto version = db.engine().read(run, key, [](const stored_record* r) { return r ? r->version : 0; });
        if (!version)
            throw error(errc::not_found, "inmem: replay: run " + std::to_string(run.value) + " has no event " +
                                             std::to_string(seq));
        return version;
    }
}

// The version of run's last commit at or before t (0: none).
template <class Engine>
version_t version_at_time(const Engine& engine, run_id run, std::chrono::system_clock::time_point t) {
    const std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    version_t out = 0;
    if (const auto history = engine.history(run))
        history->read(engine.last_version(), [&](const history_item& item) {
            if (item.kind == history_record::commit && item.time <= ns) out = item.version;
        });
    return out;
}

// The commit version a point of run names.
template <class Db>
version_t resolve_point(const Db& db, run_id run, const replay_point& at) {
    return std::visit(
        [&]<class P>(const P& p) -> version_t {
            if constexpr (std::is_same_v<P, at_version>) return p.version;
            else if constexpr (std::is_same_v<P, at_event>) return version_of_event(db, run, p.seq);
            else if constexpr (std::is_same_v<P, at_time>) return version_at_time(db.engine(), run, p.time);
            else return latest_version;
        },
        at);
}

} // namespace detail

/// Replays run at a point (its end by default; see replay_point): a read-only view of its
/// data then, which handles read like a run: db.kv<Plan>().get(view, "plan"). O(run size).
/// Throws unknown_run, not_found (no such event) or invalid_argument (a point the history
/// no longer has, after db.compact).
template <class Db>
replay_view<typename Db::engine_type> replay(const Db& db, run_id run, replay_point at = {}) {
    db.engine().check_known(run);
    return make_replay(db.engine(), run, detail::resolve_point(db, run, at));
}

} // namespace inmem
