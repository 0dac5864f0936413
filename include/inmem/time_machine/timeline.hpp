// inmem/time_machine/timeline.hpp: a run's commits, one step each, with what each changed.
//
//   for (const inmem::timeline_step& step : inmem::timeline(db, run))
//       for (const inmem::timeline_change& c : step.changes)
//           std::cout << step.version << " " << c.family << " " << c.key << "\n";
//
// Built from the run's records (what it holds now) and its history (what later commits
// overwrote or erased, history/run_history.hpp): O(run size log run size), touching nothing
// of other runs. Values are the codec bytes of the change's type (decode<T>(bytes), or
// json/records.hpp's slot_value_to_json by slot); the families' bookkeeping records (chain
// heads, indexes) are not changes.
#pragma once

#include <inmem/history/run_history.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/vocabulary.hpp>
#include <inmem/walk.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace inmem {

/// One change of a timeline step: a record of the run put (after set) or erased (after
/// nullopt), with the value it replaced (before; nullopt when there was none).
struct timeline_change {
    primitive family_id{};                 ///< which family (kv, event, state, trace)
    std::string_view family;               ///< its name ("kv", "events", ...)
    std::string_view type;                 ///< the value type's name
    std::uint16_t slot = 0;                ///< the value type's schema slot
    std::string key;                       ///< the user's key, or a state record's name
    std::optional<std::uint64_t> sequence; ///< an event's seq, a state write's version, ...
    std::optional<std::string> before;     ///< the value's codec bytes before the commit
    std::optional<std::string> after;      ///< after it; nullopt: erased

    bool operator==(const timeline_change&) const = default;
};

/// One commit of the run: its version, its time by the database's clock, and its changes in
/// key order (by family, slot, key).
struct timeline_step {
    version_t version = 0;
    std::chrono::system_clock::time_point time{};
    std::vector<timeline_change> changes;

    bool operator==(const timeline_step&) const = default;
};

namespace detail {

// A record of the run at some version: one the store holds, or one its history kept.
struct timeline_record {
    version_t version = 0;     // the commit that put it, or (replaced) the one that replaced it
    std::string_view rest;     // the key after the run prefix
    bool replaced = false;     // a value a commit overwrote or erased
    std::string_view bytes;
};

} // namespace detail

/// The run's timeline as of now (see above), oldest commit first. Throws unknown_run, and
/// corruption for a record no family of the schema owns.
template <class Db>
std::vector<timeline_step> timeline(const Db& db, run_id run) {
    using schema = typename Db::schema_type;
    const auto& engine = db.engine();
    engine.check_known(run);
    const auto pin = engine.pin();
    const std::string prefix = detail::run_range_prefix(run);
    std::vector<detail::timeline_record> records;
    engine.scan_at(pin.version(), prefix, [&](std::string_view key, const detail::stored_record& rec) {
        records.push_back({rec.version, key.substr(prefix.size()), false, rec.bytes});
    });
    std::vector<std::pair<version_t, std::int64_t>> commits; // from the history: every commit's time
    const auto history = engine.history(run);
    if (history) {
        std::vector<std::string_view> keys;
        history->read(pin.version(), [&](const detail::history_item& item) {
            switch (item.kind) {
            case detail::history_record::commit: commits.emplace_back(item.version, item.time); break;
            case detail::history_record::key: keys.push_back(item.bytes); break;
            case detail::history_record::value:
                records.push_back({item.written, keys[item.key], false, item.bytes});
                records.push_back({item.version, keys[item.key], true, item.bytes});
                break;
            case detail::history_record::compacted: break;
            }
        });
    }
    // By version, then key; a replaced value before the put that replaced it.
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
        return std::tie(a.version, a.rest, b.replaced) < std::tie(b.version, b.rest, a.replaced);
    });
    // One step per commit: those the history recorded (with their times), and those of the
    // records (a history compacted or older than histories).
    std::vector<version_t> versions;
    versions.reserve(commits.size() + records.size());
    for (const auto& c : commits) versions.push_back(c.first);
    for (const auto& r : records) versions.push_back(r.version);
    std::sort(versions.begin(), versions.end());
    versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
    std::vector<timeline_step> out;
    out.reserve(versions.size());
    for (const version_t v : versions) {
        const auto c = std::lower_bound(commits.begin(), commits.end(), v,
                                        [](const auto& commit, version_t x) { return commit.first < x; });
        const std::int64_t ns = c != commits.end() && c->first == v ? c->second : 0;
        out.push_back({v,
                       std::chrono::system_clock::time_point(
                           std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(ns))),
                       {}});
    }
    std::string key = prefix;
    std::size_t s = 0;
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        key.resize(prefix.size());
        key += r.rest;
        const walked_record w = detail::walked_of<schema>(key, r.version, r.bytes, "timeline");
        while (out[s].version < r.version) ++s;
        timeline_step& step = out[s];
        if (w.derived) continue;
        timeline_change change{detail::slot_table<schema>[w.parts.slot].id, w.family, w.type, w.parts.slot,
                               std::string(w.parts.key), w.parts.sequence, std::nullopt, std::nullopt};
        if (r.replaced) {
            change.before = w.value ? std::optional<std::string>(*w.value) : std::nullopt;
            // Replaced by a put of the same commit (the next record), or erased.
            if (i + 1 < records.size() && records[i + 1].version == r.version && records[i + 1].rest == r.rest &&
                !records[i + 1].replaced) {
                const auto& n = records[++i];
                const walked_record put = detail::walked_of<schema>(key, n.version, n.bytes, "timeline");
                change.after = put.value ? std::optional<std::string>(*put.value) : std::nullopt;
            }
        } else {
            change.after = w.value ? std::optional<std::string>(*w.value) : std::nullopt;
        }
        step.changes.push_back(std::move(change));
    }
    return out;
}

} // namespace inmem
