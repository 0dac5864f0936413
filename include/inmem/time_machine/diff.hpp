// inmem/time_machine/diff.hpp: what differs between two runs, or one run at two points.
//
//   inmem::run_diff d = inmem::diff(db, run, what_if);              // both at their ends
//   inmem::run_diff e = inmem::diff(db, {run, inmem::at_event{3}}, run);
//   if (d.events.first_divergence) ...;  std::cout << inmem::to_string<my_schema>(d);  (print.hpp)
//
// Each side is read as a replay (replay.hpp). KV keys are compared per type: added (only in
// b), removed (only in a), changed (both, other values). State records compare by what each
// side last wrote to them (its journal). Event logs, and trace stores, are aligned: a common
// prefix and suffix by position, and between them a longest common subsequence on type and
// payload, so that one inserted event does not make everything after it differ; entries
// left over are only in a or only in b, and the first of them is the first divergence.
// diff(a, a) is empty. O(size of both runs), plus the alignment of the parts between the
// common prefix and suffix (quadratic in them, up to max_aligned cells; beyond, by position).
#pragma once

#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/time_machine/replay.hpp>
#include <inmem/vocabulary.hpp>
#include <inmem/walk.hpp>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace inmem {

/// One side of a diff: a run at a point (its end by default).
struct run_point {
    run_id run{};
    replay_point at{};
    run_point(run_id r, replay_point p = {}) : run(r), at(p) {} // (implicit: a run is its end)
};

/// A key of a KV type, or a state record, that differs: a and b are the values' codec bytes
/// on each side (nullopt: absent there; for a state record, not written, or erased).
struct value_difference {
    std::string_view type;  ///< the value type's name
    std::uint16_t slot = 0; ///< its schema slot (to decode: json/records.hpp slot_value_to_json)
    std::string key;        ///< the user's key, or the record's name
    std::optional<std::string> a, b;

    bool added() const noexcept { return !a && b; }
    bool removed() const noexcept { return a && !b; }
    bool changed() const noexcept { return a && b; }
    bool operator==(const value_difference&) const = default;
};

/// An entry of an event log or a trace store, as a diff names it.
struct log_entry {
    run_id run{};           ///< the run whose log holds it (a fork's parent, for what the fork inherited)
    std::uint64_t seq = 0;  ///< its seq (events) or id (traces) there
    std::string_view type;  ///< its type's name
    std::uint16_t slot = 0; ///< its type's schema slot
    std::string value;      ///< its payload's codec bytes
    bool operator==(const log_entry&) const = default;
};

/// How two logs align: entries in both (same type and payload), then what only one side has.
struct log_difference {
    std::size_t same = 0;                    ///< entries aligned with an equal entry
    std::vector<log_entry> only_a, only_b;   ///< entries the alignment left on one side, in order
    /// The first entry, on each side, where the logs stop agreeing (nullopt on the side that
    /// has no entry there): unset when they agree.
    std::optional<log_entry> first_divergence_a, first_divergence_b;

    bool empty() const noexcept { return only_a.empty() && only_b.empty(); }
    bool diverged() const noexcept { return !empty(); }
    bool operator==(const log_difference&) const = default;
};

/// What diff() returns: a plain structure to walk (print.hpp prints it for a person).
struct run_diff {
    run_id a_run{}, b_run{};
    version_t a_version = 0, b_version = 0; ///< the points compared
    std::vector<value_difference> kv;       ///< by type (slot), then key
    std::vector<value_difference> states;   ///< by type (slot), then name
    log_difference events, traces;

    bool empty() const noexcept { return kv.empty() && states.empty() && events.empty() && traces.empty(); }
    bool operator==(const run_diff&) const = default;
};

namespace detail {

/// The most cells of the alignment table (entries of a times entries of b between their
/// common prefix and suffix); beyond it, the middles align by position.
inline constexpr std::size_t max_aligned = std::size_t{1} << 24;

// What a diff reads of one side.
struct diff_side {
    std::map<std::pair<std::uint16_t, std::string>, std::pair<std::string_view, std::string>> kv, states;
    std::vector<log_entry> events, traces;
};

template <class Schema, class View>
diff_side read_side(const View& view) {
    diff_side out;
    std::map<std::pair<std::uint16_t, std::string>, std::pair<version_t, std::optional<std::string>>> last_write;
    std::map<std::pair<std::uint16_t, std::string>, std::string_view> state_types;
    view.scan(run_range_prefix(view.run()), [&](std::string_view key, const stored_record& rec) {
        const walked_record w = walked_of<Schema>(key, rec.version, rec.bytes, "diff");
        if (w.derived) return;
        std::string value = w.value ? std::string(*w.value) : std::string();
        switch (slot_table<Schema>[w.parts.slot].id) {
        case primitive::kv: out.kv[{w.parts.slot, std::string(w.parts.key)}] = {w.type, std::move(value)}; break;
        case primitive::state: {
            auto& last = last_write[{w.parts.slot, std::string(w.parts.key)}];
            state_types[{w.parts.slot, std::string(w.parts.key)}] = w.type;
            const version_t v = w.parts.sequence.value_or(rec.version);
            if (v >= last.first) last = {v, w.value ? std::optional<std::string>(std::move(value)) : std::nullopt};
            break;
        }
        case primitive::event:
            out.events.push_back({view.run(), w.parts.sequence.value_or(0), w.type, w.parts.slot, std::move(value)});
            break;
        case primitive::trace:
            out.traces.push_back({view.run(), w.parts.sequence.value_or(0), w.type, w.parts.slot, std::move(value)});
            break;
        default: break;
        }
    });
    for (auto& [k, last] : last_write)
        if (last.second) out.states[k] = {state_types[k], std::move(*last.second)};
    return out;
}

template <class Map>
std::vector<value_difference> compare_values(const Map& a, const Map& b) {
    std::vector<value_difference> out;
    auto ia = a.begin(), ib = b.begin();
    while (ia != a.end() || ib != b.end()) {
        if (ib == b.end() || (ia != a.end() && ia->first < ib->first)) {
            out.push_back({ia->second.first, ia->first.first, ia->first.second, ia->second.second, std::nullopt});
            ++ia;
        } else if (ia == a.end() || ib->first < ia->first) {
            out.push_back({ib->second.first, ib->first.first, ib->first.second, std::nullopt, ib->second.second});
            ++ib;
        } else {
            if (ia->second.second != ib->second.second)
                out.push_back({ia->second.first, ia->first.first, ia->first.second, ia->second.second, ib->second.second});
            ++ia, ++ib;
        }
    }
    return out;
}

inline bool same_entry(const log_entry& x, const log_entry& y) noexcept { return x.slot == y.slot && x.value == y.value; }

// Aligns two logs (see the file's comment).
inline log_difference align(const std::vector<log_entry>& a, const std::vector<log_entry>& b) {
    log_difference out;
    std::size_t head = 0;
    while (head < a.size() && head < b.size() && same_entry(a[head], b[head])) ++head;
    std::size_t tail = 0;
    while (tail < a.size() - head && tail < b.size() - head && same_entry(a[a.size() - 1 - tail], b[b.size() - 1 - tail]))
        ++tail;
    const std::size_t n = a.size() - head - tail, m = b.size() - head - tail;
    out.same = head + tail;
    // The middles: a longest common subsequence (a table of (n+1)(m+1) lengths), or by position.
    std::vector<std::pair<bool, std::size_t>> left; // (in a, index) in order of the alignment
    if (n && m && (n + 1) * (m + 1) <= max_aligned) {
        std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
        auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return lcs[i * (m + 1) + j]; };
        for (std::size_t i = n; i-- > 0;)
            for (std::size_t j = m; j-- > 0;)
                at(i, j) = same_entry(a[head + i], b[head + j]) ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
        std::size_t i = 0, j = 0;
        while (i < n && j < m) {
            if (same_entry(a[head + i], b[head + j])) ++out.same, ++i, ++j;
            else if (at(i + 1, j) >= at(i, j + 1)) left.emplace_back(true, head + i++);
            else left.emplace_back(false, head + j++);
        }
        for (; i < n; ++i) left.emplace_back(true, head + i);
        for (; j < m; ++j) left.emplace_back(false, head + j);
    } else {
        for (std::size_t k = 0; k < std::max(n, m); ++k) {
            if (k < n && k < m && same_entry(a[head + k], b[head + k])) {
                ++out.same;
                continue;
            }
            if (k < n) left.emplace_back(true, head + k);
            if (k < m) left.emplace_back(false, head + k);
        }
    }
    for (const auto& [in_a, index] : left) (in_a ? out.only_a : out.only_b).push_back(in_a ? a[index] : b[index]);
    if (!left.empty()) {
        if (!out.only_a.empty()) out.first_divergence_a = out.only_a.front();
        if (!out.only_b.empty()) out.first_divergence_b = out.only_b.front();
    }
    return out;
}

// The events a fork inherited: its parent's, up to the fork point (fork.hpp's metadata),
// and theirs in turn; empty for a run that is no fork.
template <class Schema, class Db>
std::vector<log_entry> inherited_events(const Db& db, run_id run) {
    const run_info info = db.engine().run(run);
    const auto count = info.metadata.find(std::string(fork_events_metadata));
    const auto version = info.metadata.find(std::string(fork_version_metadata));
    if (!info.parent || count == info.metadata.end() || version == info.metadata.end()) return {};
    const std::uint64_t n = std::stoull(count->second);
    const auto view = make_replay(db.engine(), *info.parent, std::stoull(version->second));
    std::vector<log_entry> out = inherited_events<Schema>(db, *info.parent);
    for (log_entry& e : read_side<Schema>(view).events)
        if (e.seq < n) out.push_back(std::move(e));
    return out;
}

} // namespace detail

/// The differences between a and b (see above). A fork's events are compared after those it
/// inherited from its parent (see log_entry::run), so a fork and its parent agree up to the
/// fork point. Throws as replay() does.
template <class Db>
run_diff diff(const Db& db, const run_point& a, const run_point& b) {
    using schema = typename Db::schema_type;
    const auto va = replay(db, a.run, a.at);
    const auto vb = replay(db, b.run, b.at);
    const detail::diff_side sa = detail::read_side<schema>(va), sb = detail::read_side<schema>(vb);
    run_diff out{a.run, b.run, va.version(), vb.version(), {}, {}, {}, {}};
    out.kv = detail::compare_values(sa.kv, sb.kv);
    out.states = detail::compare_values(sa.states, sb.states);
    auto with_inherited = [&](run_id run, const std::vector<log_entry>& own) {
        std::vector<log_entry> all = detail::inherited_events<schema>(db, run);
        all.insert(all.end(), own.begin(), own.end());
        return all;
    };
    out.events = detail::align(with_inherited(a.run, sa.events), with_inherited(b.run, sb.events));
    out.traces = detail::align(sa.traces, sb.traces);
    return out;
}

} // namespace inmem
