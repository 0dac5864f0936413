// inmem/json.hpp: stored values and a run's records as JSON (nlohmann/json). Not part of
// inmem/inmem.hpp: only code that includes this pays for JSON.
//
//   std::cout << inmem::run_to_json(db, run).dump(2);
//   inmem::generic_to_json(inmem::parse_type_description(text), bytes)   // without the type
#pragma once

#include <inmem/json/generic.hpp>
#include <inmem/json/records.hpp>
#include <inmem/json/value.hpp>
