// inmem/portable/export.hpp: runs as a self-contained file of JSON Lines, readable without
// the program's types (the first part of portable runs, issue 15: import and validate read
// this format).
//
//   std::ofstream out("run-17.jsonl");
//   inmem::export_report r = inmem::export_runs(db, {run}, out, {.progress = show});
//
// The file, one JSON document per line (families by their names: kv, event, state, trace,
// vector):
//   {"inmem":"export","format":1,"schema":{"fingerprint":"<16 hex>","slots":[
//       {"slot":0,"family":"kv","type":"Note","fingerprint":"<16 hex>",
//        "description":"struct{text:string;...}"},...]}}
//   {"run":{"id":1,"name":"...","tags":[...],"parent":null,"status":"completed",
//       "started":<ns>,"ended":<ns>|null,"metadata":{...}}}
//   {"commit":{"run":1,"version":3,"time":<ns>,"changes":[
//       {"family":"kv","type":"Note","slot":0,"key":"plan","value":{...}},
//       {"family":"kv","type":"Note","slot":0,"key":"old","erased":true},
//       {"family":"event","type":"Said","slot":3,"key":"","seq":0,"value":{...},
//        "event":{"time":<ns>,"thread":"","agent":"","prev_hash":"<hex>","hash":"<hex>"}}, ...]}}
//   ... a run line, then its commits oldest first (the time machine's timeline: every commit
//   that wrote to the run, with every value it wrote, overwrote values included), per run ...
//   {"end":{"runs":R,"commits":C,"changes":N}}
// (Members in any order: a reader goes by name. A key that is not valid UTF-8 is written
// {"base64": "..."}, as json/value.hpp writes such strings.)
// Values are the JSON of json/value.hpp (field names as keys), which the descriptions in the
// header read back without the C++ types (json/generic.hpp). Times are nanoseconds since the
// epoch by the database's clock. An event's hash (event_chain.hpp) is computed from what its
// line and the header carry: its prev_hash, run, seq, time, type fingerprint, labels and
// the value's codec bytes. The last line tells a whole file from a cut one.
#pragma once

#include <inmem/error.hpp>
#include <inmem/json/records.hpp>
#include <inmem/primitives/event_chain.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/time_machine/timeline.hpp>
#include <inmem/vocabulary.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace inmem {

/// The version of the export format export_runs writes.
inline constexpr int export_format_version = 1;

/// How far an export is (export_options::progress).
struct export_progress {
    std::size_t runs_done = 0, runs_total = 0;
    std::uint64_t commits = 0; ///< commits written so far
    std::uint64_t bytes = 0;   ///< bytes written so far
};

/// How runs are exported.
struct export_options {
    /// Called after each commit written, and once at the end (a progress bar).
    std::function<void(const export_progress&)> progress{};
};

/// What an export wrote.
struct export_report {
    std::uint64_t runs = 0, commits = 0, changes = 0, bytes = 0;
};

namespace detail {

inline std::int64_t export_ns(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

template <class Schema>
nlohmann::json export_header() {
    const schema_stamp stamp = stamp_of<Schema>();
    auto hex = [](std::uint64_t v) {
        char text[17];
        std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
        return std::string(text);
    };
    nlohmann::json slots = nlohmann::json::array();
    for (std::size_t i = 0; i < stamp.slots.size(); ++i)
        slots.push_back({{"slot", i},
                         {"family", stamp.slots[i].family},
                         {"type", stamp.slots[i].name},
                         {"fingerprint", hex(stamp.slots[i].fingerprint)},
                         {"description", stamp.slots[i].description}});
    return {{"inmem", "export"},
            {"format", export_format_version},
            {"schema", {{"fingerprint", hex(stamp.fingerprint)}, {"slots", slots}}}};
}

inline nlohmann::json export_run_line(const run_info& info) {
    nlohmann::json run = {{"id", info.id.value},
                          {"name", info.name},
                          {"tags", info.tags},
                          {"parent", info.parent ? nlohmann::json(info.parent->value) : nlohmann::json()},
                          {"status", to_string(info.status)},
                          {"started", export_ns(info.started)},
                          {"ended", info.ended ? nlohmann::json(export_ns(*info.ended)) : nlohmann::json()},
                          {"metadata", info.metadata}};
    return {{"run", std::move(run)}};
}

template <class Schema>
constexpr bool has_events() {
    for (const auto& s : Schema::slot_infos)
        if (s.kind == primitive::event) return true;
    return false;
}

} // namespace detail

/// Writes runs (in the order given) to out as the JSON Lines above, each run with its
/// metadata and every commit it made; reads at one consistent point per run. Throws
/// unknown_run (before writing anything) for a run the database does not have, io_error
/// when out fails, and what the timeline throws on a damaged record.
template <class Db>
export_report export_runs(Db& db, std::span<const run_id> runs, std::ostream& out, const export_options& options = {}) {
    using schema = typename Db::schema_type;
    for (const run_id run : runs) db.engine().check_known(run);
    export_report report;
    export_progress progress{0, runs.size(), 0, 0};
    auto write_text = [&](std::string_view text) {
        out.write(text.data(), static_cast<std::streamsize>(text.size()));
        if (!out) throw error(errc::io_error, "inmem: export_runs: writing the export failed");
        report.bytes += text.size();
    };
    auto write = [&](const nlohmann::json& line) {
        write_text(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    };
    write(detail::export_header<schema>());
    for (const run_id run : runs) {
        write(detail::export_run_line(db.run(run)));
        ++report.runs;
        // The event chain of the run, by seq: what the timeline's event changes do not carry.
        std::map<std::uint64_t, nlohmann::json> chain;
        if constexpr (detail::has_events<schema>())
            for (const auto& e : db.events().read(run))
                chain[e.id.seq] = {{"time", detail::export_ns(e.time)},
                                   {"thread", e.thread},
                                   {"agent", e.agent},
                                   {"prev_hash", detail::hash_to_hex({reinterpret_cast<const char*>(e.prev_hash.data()), 32})},
                                   {"hash", detail::hash_to_hex({reinterpret_cast<const char*>(e.hash.data()), 32})}};
        // A commit's line is written as text (the same JSON the objects would dump, in the
        // same key order), the values by nlohmann: building an object per change cost
        // two thirds of the export.
        std::string line;
        for (const timeline_step& step : timeline(db, run)) {
            line.assign("{\"commit\":{\"changes\":[");
            bool first = true;
            for (const timeline_change& c : step.changes) {
                line += first ? "{" : ",{";
                first = false;
                if (!c.after) line += "\"erased\":true,";
                if (c.family_id == primitive::event && c.sequence)
                    if (const auto it = chain.find(*c.sequence); it != chain.end()) line += "\"event\":" + it->second.dump() + ",";
                line += "\"family\":";
                line += detail::json_quoted(c.family);
                line += ",\"key\":";
                line += detail::is_valid_utf8(c.key) ? detail::json_quoted(c.key)
                                                     : "{\"base64\":\"" + detail::base64_encode(c.key) + "\"}";
                if (c.sequence) line += ",\"seq\":" + std::to_string(*c.sequence);
                line += ",\"slot\":" + std::to_string(c.slot) + ",\"type\":";
                line += detail::json_quoted(c.type);
                if (c.after) {
                    line += ",\"value\":";
                    line += slot_value_to_json<schema>(c.slot, *c.after).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                }
                line += "}";
                ++report.changes;
            }
            line += "],\"run\":" + std::to_string(run.value) + ",\"time\":" + std::to_string(detail::export_ns(step.time)) +
                    ",\"version\":" + std::to_string(step.version) + "}}\n";
            write_text(line);
            ++report.commits;
            if (options.progress) {
                progress.commits = report.commits;
                progress.bytes = report.bytes;
                options.progress(progress);
            }
        }
        ++progress.runs_done;
    }
    write({{"end", {{"runs", report.runs}, {"commits", report.commits}, {"changes", report.changes}}}});
    out.flush();
    if (!out) throw error(errc::io_error, "inmem: export_runs: writing the export failed");
    if (options.progress) {
        progress.bytes = report.bytes;
        options.progress(progress);
    }
    return report;
}

/// export_runs of one run.
template <class Db>
export_report export_run(Db& db, run_id run, std::ostream& out, const export_options& options = {}) {
    return export_runs(db, std::span<const run_id>(&run, 1), out, options);
}

} // namespace inmem
