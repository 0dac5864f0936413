// inmem/traces/standard.hpp: ready-made trace types for the usual kinds of reasoning.
//
//   using my_schema = inmem::schema<inmem::traces<inmem::trace::model_call, inmem::trace::tool_call,
//                                                 inmem::trace::decision, inmem::trace::citation,
//                                                 inmem::trace::assumption>>;
//   auto traces = db.traces();
//   auto call = traces.record(run, inmem::trace::model_call{.model = "m-1", .input = "...", .output = "..."});
//   traces.record(run, inmem::trace::decision{.choice = "search", .confidence = 0.7}, {.parent = call});
//
// Plain aggregates, stored by the codec like a user's own (a user's trace types work the
// same way, listed beside these). Their names are declared (schema_traits), so tools and
// JSON spell them "inmem::trace::decision" whichever compiler built the program. Changing a
// field changes the type's fingerprint, and files written with the old layout are refused:
// these layouts stay as they are; new kinds come as new types.
#pragma once

#include <inmem/schema/customize.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inmem::trace {

/// What was sent to a model: the prompt or messages, as text (e.g. JSON), and its settings.
struct model_input {
    std::string model;                     ///< the model's name and version
    std::string input;                     ///< the prompt, or the messages as JSON
    std::optional<double> temperature{};   ///< the sampling temperature, when set
    std::uint64_t tokens = 0;              ///< input tokens (0: not counted)

    friend bool operator==(const model_input&, const model_input&) = default;
};

/// What a model answered.
struct model_output {
    std::string model;                     ///< the model's name and version
    std::string output;                    ///< the completion, or the messages as JSON
    std::uint64_t tokens = 0;              ///< output tokens (0: not counted)
    std::optional<std::string> stop_reason{}; ///< why it stopped ("end_turn", "max_tokens", ...)

    friend bool operator==(const model_output&, const model_output&) = default;
};

/// One model call, input and output together, for when they are recorded at once.
struct model_call {
    std::string model;                     ///< the model's name and version
    std::string input;                     ///< the prompt, or the messages as JSON
    std::string output;                    ///< the completion, or the messages as JSON
    std::uint64_t input_tokens = 0;        ///< (0: not counted)
    std::uint64_t output_tokens = 0;       ///< (0: not counted)
    std::optional<double> latency_ms{};    ///< how long the call took, when measured

    friend bool operator==(const model_call&, const model_call&) = default;
};

/// A tool the agent called, with what came back.
struct tool_call {
    std::string tool;                      ///< the tool's name
    std::string arguments;                 ///< its arguments, as text (e.g. JSON)
    std::optional<std::string> result{};   ///< what it returned; nullopt: not (yet) known
    std::optional<std::string> error{};    ///< why it failed, when it did

    friend bool operator==(const tool_call&, const tool_call&) = default;
};

/// A choice the agent made, how sure it was and what else it weighed.
struct decision {
    std::string choice;                    ///< what was chosen
    double confidence = 0;                 ///< in [0, 1], by the agent's own estimate
    std::vector<std::string> alternatives{}; ///< the options not taken
    std::string rationale{};               ///< why, in the agent's words

    friend bool operator==(const decision&, const decision&) = default;
};

/// A source the agent relied on, and what it took from it.
struct citation {
    std::string source;                    ///< a URI, a document name, a record's key
    std::string quote{};                   ///< the passage relied on
    std::optional<std::string> locator{};  ///< where in the source (page, section, line)

    friend bool operator==(const citation&, const citation&) = default;
};

/// Something the agent took for true without checking it.
struct assumption {
    std::string statement;                 ///< what is assumed
    double confidence = 0;                 ///< in [0, 1], by the agent's own estimate
    std::string basis{};                   ///< what it rests on

    friend bool operator==(const assumption&, const assumption&) = default;
};

} // namespace inmem::trace

namespace inmem {
template <>
struct schema_traits<trace::model_input> {
    static constexpr std::string_view name = "inmem::trace::model_input";
};
template <>
struct schema_traits<trace::model_output> {
    static constexpr std::string_view name = "inmem::trace::model_output";
};
template <>
struct schema_traits<trace::model_call> {
    static constexpr std::string_view name = "inmem::trace::model_call";
};
template <>
struct schema_traits<trace::tool_call> {
    static constexpr std::string_view name = "inmem::trace::tool_call";
};
template <>
struct schema_traits<trace::decision> {
    static constexpr std::string_view name = "inmem::trace::decision";
};
template <>
struct schema_traits<trace::citation> {
    static constexpr std::string_view name = "inmem::trace::citation";
};
template <>
struct schema_traits<trace::assumption> {
    static constexpr std::string_view name = "inmem::trace::assumption";
};
} // namespace inmem
