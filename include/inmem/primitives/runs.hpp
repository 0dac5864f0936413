// inmem/primitives/runs.hpp: runs, the unit every write belongs to, and their index records.
// The types (run_id, run_status, run_options, run_info) are vocabulary (vocabulary.hpp):
// every layer names them. What this layer adds is how a run_info is stored: through the
// schema codec, like any user value, which keeps the engine free of the schema layer.
#pragma once

#include <inmem/error.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/vocabulary.hpp>

#include <string>
#include <string_view>

namespace inmem::detail {

/// The coding of the run index's records that the engine is given (run_record_coding).
struct run_record_codec {
    static std::string encode(const run_info& info) { return inmem::encode(info); }
    static result<run_info> decode(std::string_view bytes) { return inmem::decode<run_info>(bytes); }
};

} // namespace inmem::detail
