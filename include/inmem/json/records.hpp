// inmem/json/records.hpp: any stored value as JSON by its schema slot, without its C++ type
// at the call site, and a run's records (inmem/walk.hpp) as JSON.
//
//   nlohmann::json plan = inmem::slot_value_to_json<my_schema>(0, bytes);    // {"goal": ...}
//   std::string bytes = inmem::slot_value_from_json<my_schema>(0, edited);   // refused if it does not fit
//   std::cout << inmem::run_to_json(db, run).dump(2);                         // what the run wrote
//
// Each slot's coders are instantiated from the schema (json/value.hpp's mapping); code that
// includes nothing of inmem/json/ compiles none of it and includes no nlohmann header.
#pragma once

#include <inmem/error.hpp>
#include <inmem/json/value.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/walk.hpp>

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace inmem {
namespace detail {

struct json_slot_coder {
    nlohmann::json (*to_json)(std::string_view bytes);
    std::string (*from_json)(const nlohmann::json& j);
};

template <class... Slots>
constexpr auto make_json_coders(slot_list<Slots...>) {
    return std::array<json_slot_coder, sizeof...(Slots)>{
        json_slot_coder{&bytes_to_json<typename Slots::type>, &json_to_bytes<typename Slots::type>}...};
}

/// The JSON coders of every slot of Schema, in slot order.
template <class Schema>
inline constexpr auto json_coders = make_json_coders(typename Schema::slots{});

template <class Schema>
const json_slot_coder& json_coder_of(std::uint16_t slot) {
    if (slot >= json_coders<Schema>.size())
        throw error(errc::invalid_argument, "inmem: the schema has " + std::to_string(json_coders<Schema>.size()) +
                                                " slots; there is no slot " + std::to_string(slot));
    return json_coders<Schema>[slot];
}

} // namespace detail

/// The value that bytes (its codec bytes) hold in schema slot `slot`, as JSON. Throws
/// invalid_argument (no such slot) and corruption (bytes that do not decode as its type).
template <class Schema>
nlohmann::json slot_value_to_json(std::uint16_t slot, std::string_view bytes) {
    return detail::json_coder_of<Schema>(slot).to_json(bytes);
}

/// The codec bytes of the value of schema slot `slot` that j is the JSON form of. Throws
/// invalid_argument: no such slot, or JSON that does not fit the slot's type (the message
/// names the field).
template <class Schema>
std::string slot_value_from_json(std::uint16_t slot, const nlohmann::json& j) {
    return detail::json_coder_of<Schema>(slot).from_json(j);
}

/// A record of the run walker as JSON:
///   {"family": "kv", "type": "Plan", "slot": 0, "run": 3, "key": "plan", "version": 12,
///    "writer": 3, "value": {...}}
/// with "sequence" where the key carries one (a state journal entry's version) and a null
/// "value" for an erasure marker. Throws corruption when the value does not decode.
template <class Schema>
nlohmann::json record_to_json(const walked_record& r) {
    nlohmann::json out = nlohmann::json::object();
    out["family"] = r.family;
    out["type"] = r.type;
    out["slot"] = r.parts.slot;
    out["run"] = r.parts.run.value;
    out["key"] = inmem::to_json(std::string(r.parts.key)); // a string, or {"base64": ...} as any string
    if (r.parts.sequence) out["sequence"] = *r.parts.sequence;
    out["version"] = r.version;
    out["writer"] = r.writer.value;
    out["value"] = r.value ? slot_value_to_json<Schema>(r.parts.slot, *r.value) : nlohmann::json(nullptr);
    return out;
}

/// Everything run wrote, as a JSON array of record_to_json objects in key order. Throws as
/// walk_run and record_to_json do.
template <class Db>
nlohmann::json run_to_json(const Db& db, run_id run) {
    nlohmann::json out = nlohmann::json::array();
    walk_run(db, run, [&](const walked_record& r) { out.push_back(record_to_json<typename Db::schema_type>(r)); });
    return out;
}

} // namespace inmem
