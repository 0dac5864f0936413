// inmem/exec.hpp: deterministic re-execution: agent code's steps recorded, replayed against
// the record (divergence found at the first wrong step), resumed after a crash.
//
//   auto ex = inmem::execute(db, run);
//   auto plan = ex.step("llm:plan", prompt, [&] { return call_model(prompt); });
//   inmem::replay_report r = inmem::replay_run(db, run, agent);   // after a code change
#pragma once

#include <inmem/exec/step_record.hpp>
#include <inmem/exec/divergence.hpp>
#include <inmem/exec/execution.hpp>
#include <inmem/exec/replayer.hpp>
