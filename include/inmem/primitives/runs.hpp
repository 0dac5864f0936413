// inmem/primitives/runs.hpp: runs, the unit every write belongs to, and their index records.
// The types (run_id, run_status, run_options, run_info) are vocabulary (vocabulary.hpp):
// every layer names them. What this layer adds is how a run_info is stored: through the
// schema codec, like any user value, which keeps the engine free of the schema layer.
//
// The record's layout is the codec's of run_info's fields in order. run_info::metadata was
// added last, so a record is the layout of before (id .. ended) followed, only when the run
// has metadata, by the map: a record without metadata is byte for byte what was written
// before metadata existed, and records written then decode as runs without metadata (so
// does inmem::encode(info), the generic codec's layout, with its empty map). No
// file format version changes (the run index's records are not part of the schema stamp).
#pragma once

#include <inmem/error.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/vocabulary.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inmem::detail {

/// The fields of a run record as every file has them (the layout before metadata).
struct run_record_base {
    run_id id{};
    std::string name{};
    std::vector<std::string> tags{};
    std::optional<run_id> parent{};
    run_status status = run_status::active;
    std::chrono::system_clock::time_point started{};
    std::optional<std::chrono::system_clock::time_point> ended{};
};

/// The coding of the run index's records that the engine is given (run_record_coding).
struct run_record_codec {
    static std::string encode(const run_info& info) {
        std::string out;
        encode_to(run_record_base{info.id, info.name, info.tags, info.parent, info.status, info.started, info.ended},
                  out);
        if (!info.metadata.empty()) encode_to(info.metadata, out); // absent when empty: the old layout
        return out;
    }
    static result<run_info> decode(std::string_view bytes) {
        reader r(bytes);
        run_record_base base{};
        if (!decode_value(r, base)) return make_error_code(r.error());
        run_info info{.id = base.id,
                      .name = std::move(base.name),
                      .tags = std::move(base.tags),
                      .parent = base.parent,
                      .status = base.status,
                      .started = base.started,
                      .ended = base.ended,
                      .metadata = {}};
        if (r.remaining() != 0) {
            // (An empty map is not what encode writes, but it is the generic codec's encoding of
            // a run_info, inmem::encode(info): the same value.)
            if (!decode_value(r, info.metadata)) return make_error_code(r.error());
            if (r.remaining() != 0) return make_error_code(errc::decode_trailing);
        }
        return info;
    }
};

} // namespace inmem::detail
