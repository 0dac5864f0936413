// inmem/time_machine.hpp: runs as commits: replay any point, the timeline, diff, fork and
// rollback. Opt-in: include it where you use them.
//
//   auto then = inmem::replay(db, run, inmem::at_event{12});  // the run as it was then
//   db.kv<Plan>().get(then, "plan");                            // read with the live handles
#pragma once

#include <inmem/time_machine/replay.hpp>
#include <inmem/time_machine/timeline.hpp>
#include <inmem/time_machine/diff.hpp>
#include <inmem/time_machine/fork.hpp>
#include <inmem/time_machine/print.hpp>
