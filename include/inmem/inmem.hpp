// inmem/inmem.hpp: everything. The state substrate for AI agents: durable memory, safe
// coordination and deterministic replay, on plain C++ structs.
//
//   struct Plan { std::string goal; std::vector<std::string> steps; int budget = 0; };
//   using my_schema = inmem::schema<inmem::kv<Plan>>;
//   inmem::database<my_schema> db;
//   auto run = db.begin_run({.name = "triage"});
//   db.kv<Plan>().put(run, "plan", Plan{"fix the bug", {"read", "patch"}, 3});
#pragma once

#include <inmem/config.hpp>
#include <inmem/database.hpp>
#include <inmem/episodic/episodes.hpp>
#include <inmem/error.hpp>
#include <inmem/exec.hpp>
#include <inmem/fwd.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/fingerprint.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/time_machine.hpp>
#include <inmem/traces/standard.hpp>
#include <inmem/walk.hpp>
