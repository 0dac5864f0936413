// inmem/exec/divergence.hpp: how a re-execution differs from its record, for a person and for
// code: the kind (as Temporal's replayer tells them apart), the step, both sides.
//
//   try { agent(ex); ex.finish(); }
//   catch (const inmem::divergence_error& e) { std::cerr << e.what(); e.report().step; }
#pragma once

#include <inmem/error.hpp>
#include <inmem/vocabulary.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem {

/// Which way a re-execution left its record.
enum class divergence_kind : std::uint8_t {
    unexpected_step, ///< the code asked for a step the record does not have (the record ended)
    missing_step,    ///< the record has a step the code never asked for (the code ended first)
    different_step,  ///< the code asked for another step here: another name, input or output type
    final_state,     ///< every step matched, but the replay's KV, events or traces differ from the run's
};

/// A readable name of a kind ("unexpected step", ...).
constexpr std::string_view to_string(divergence_kind k) noexcept {
    switch (k) {
    case divergence_kind::unexpected_step: return "unexpected step";
    case divergence_kind::missing_step: return "missing step";
    case divergence_kind::different_step: return "different step";
    case divergence_kind::final_state: return "final state differs";
    }
    return "?";
}

/// One field of a step's input that differs between the record and the code, as text.
struct field_difference {
    std::string field;           ///< the field's name
    std::string recorded, asked; ///< its value on each side

    bool operator==(const field_difference&) const = default;
};

/// The first place where a re-execution left its record.
struct divergence {
    divergence_kind kind{};
    run_id run{};            ///< the recorded run
    std::uint64_t step = 0;  ///< the step's index (final_state: how many steps ran)
    std::string recorded_name, asked_name;   ///< each side's step name ("": that side has none)
    std::string recorded_input, asked_input; ///< each side's input, as text (print.hpp's format)
    /// The fields of the input that differ, when both sides hold the asked type (a struct).
    std::vector<field_difference> fields;
    std::string state;   ///< final_state: the diff of the recorded run and the replay, printed
    std::string message; ///< all of it, for a person (what divergence_error::what() says)

    bool operator==(const divergence&) const = default;
};

/// What a re-execution throws at its first divergence: code() is errc::divergence and
/// report() says where and how.
class divergence_error : public error {
public:
    explicit divergence_error(divergence d) : error(errc::divergence, d.message), report_(std::move(d)) {}

    /// The divergence.
    const divergence& report() const noexcept { return report_; }

private:
    divergence report_;
};

/// What a replayed or resumed step throws when the recorded step had thrown: the record
/// keeps only the message (what()), so the code sees this type, not the original one.
class step_error : public std::runtime_error {
public:
    step_error(std::string step, const std::string& what) : std::runtime_error(what), step_(std::move(step)) {}

    /// The name of the step whose function threw.
    const std::string& step() const noexcept { return step_; }

private:
    std::string step_;
};

namespace detail {

// The message of a divergence, from its other fields.
inline std::string divergence_message(const divergence& d) {
    std::string out = "inmem: run " + std::to_string(d.run.value) + " diverged at step " + std::to_string(d.step) +
                      " (" + std::string(to_string(d.kind)) + "): ";
    auto side = [](const std::string& name, const std::string& input) {
        std::string s = "'" + name + "'";
        if (!input.empty()) s += " with input " + input;
        return s;
    };
    switch (d.kind) {
    case divergence_kind::unexpected_step:
        out += "the code asked for " + side(d.asked_name, d.asked_input) + ", which the record does not have (it has " +
               std::to_string(d.step) + " steps)";
        break;
    case divergence_kind::missing_step:
        out += "the record has " + side(d.recorded_name, d.recorded_input) + ", which the code never asked for";
        break;
    case divergence_kind::different_step:
        out += "the code asked for " + side(d.asked_name, d.asked_input) + ", the record has " +
               side(d.recorded_name, d.recorded_input);
        for (const auto& f : d.fields) out += "\n  field " + f.field + ": recorded " + f.recorded + ", asked " + f.asked;
        break;
    case divergence_kind::final_state:
        out += "every step matched, but the replay's state differs from the run's:\n" + d.state;
        break;
    }
    return out;
}

} // namespace detail

} // namespace inmem
