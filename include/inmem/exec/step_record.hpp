// inmem/exec/step_record.hpp: what an execution records for each step (exec/execution.hpp),
// as an event of the run's log, committed with what the step wrote.
//
//   using agent_schema = inmem::schema<inmem::kv<Plan>, inmem::events<ToolCall, inmem::step_record>>;
//
// A step record is an ordinary event: it is hash-chained, replayed, diffed and forked with
// the run's other events, and a fork inherits the records of the steps before its point.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace inmem {

/// One step of an executed run (see exec/execution.hpp): what the code asked for, and what
/// came back. The schema lists it among its events: inmem::events<..., inmem::step_record>.
struct step_record {
    std::uint64_t index = 0;          ///< the step's place in the run's execution: 0, 1, ...
    std::string name;                 ///< what the code called it ("llm:plan"; built-ins start "inmem.")
    std::uint64_t input_hash = 0;     ///< 64-bit FNV-1a of the input's type fingerprint and bytes
    std::uint64_t input_type = 0;     ///< the input type's fingerprint_v (0: a step without input)
    std::string input;                ///< the input's codec bytes
    std::uint64_t output_type = 0;    ///< the output type's fingerprint_v (0: void)
    std::string output;               ///< the output's codec bytes ("" when the step threw)
    std::int64_t duration_ns = 0;     ///< how long the step's function ran
    std::optional<std::string> error; ///< what the function threw (its what()), if it did

    bool operator==(const step_record&) const = default;
};

/// The run metadata key of an executed run: the database version when its execution began
/// (a replay re-executes it from the run as it was then).
inline constexpr std::string_view exec_began_metadata = "inmem.exec.began";
/// The run metadata key counting how often a run was resumed (exec_mode::resume).
inline constexpr std::string_view exec_resumes_metadata = "inmem.exec.resumes";
/// The run metadata key of a replay's scratch run: the run it re-executed.
inline constexpr std::string_view exec_replay_of_metadata = "inmem.exec.replay_of";
/// The tag of a replay's scratch runs (replay_all skips them).
inline constexpr std::string_view exec_replay_tag = "inmem.replay";

/// The names of the steps an execution records itself.
inline constexpr std::string_view now_step = "inmem.now";
inline constexpr std::string_view random_step = "inmem.random";
inline constexpr std::string_view sleep_step = "inmem.sleep";
inline constexpr std::string_view patch_step = "inmem.patched";

} // namespace inmem
