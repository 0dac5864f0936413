// inmem/primitives/context.hpp: what a handle's operation runs in, so that it is written once.
//
// Every handle operation takes a run id (the call is alone: a read at the latest version, a
// write that commits at once) or a transaction of the same engine (the call joins it: reads
// see its snapshot and its own writes, writes wait for its commit). The reads are the same
// code either way, through read_in, scan_in and with_reader; writes differ in what they
// return (a version now, or nothing until the commit) and keep one overload each.
#pragma once

#include <inmem/storage/record.hpp>
#include <inmem/transaction.hpp>
#include <inmem/vocabulary.hpp>

#include <concepts>
#include <string_view>
#include <type_traits>

namespace inmem {

/// A read-only view of Engine's data that handle reads accept in place of a run: it reads
/// one run's data as of a point (a replay, inmem/time_machine/replay.hpp) through
/// read(key, f), scan(prefix, f, after) and run().
template <class At, class Engine>
concept read_view_of = std::remove_cvref_t<At>::is_read_view &&
                       std::same_as<typename std::remove_cvref_t<At>::engine_type, Engine>;

/// A place a handle operation of Engine runs in: a run_id or a basic_transaction<Engine>,
/// and for reads, a read view (read_view_of).
template <class At, class Engine>
concept context_of = std::same_as<std::remove_cvref_t<At>, run_id> ||
                     std::same_as<std::remove_cvref_t<At>, basic_transaction<Engine>> || read_view_of<At, Engine>;

namespace detail {

/// The run a context writes for.
inline run_id run_of(run_id run) noexcept { return run; }
template <class Engine>
run_id run_of(const basic_transaction<Engine>& tx) noexcept {
    return tx.run();
}

template <class View>
    requires std::remove_cvref_t<View>::is_read_view
run_id run_of(const View& view) noexcept {
    return view.run();
}

/// Calls f(const stored_record*) for key as the context sees it (run must exist).
template <class Engine, class F>
decltype(auto) read_in(Engine& engine, run_id run, std::string_view key, F&& f) {
    return engine.read(run, key, std::forward<F>(f));
}
template <class Engine, class F>
decltype(auto) read_in(Engine&, basic_transaction<Engine>& tx, std::string_view key, F&& f) {
    return tx.read(key, std::forward<F>(f));
}

template <class Engine, class View, class F>
    requires read_view_of<View, Engine>
decltype(auto) read_in(Engine&, const View& view, std::string_view key, F&& f) {
    return view.read(key, std::forward<F>(f));
}

/// Calls f(find), find(key) -> const stored_record*, at one snapshot of the context (run: checked).
template <class Engine, class F>
decltype(auto) with_reader(Engine& engine, run_id run, F&& f) {
    engine.check_known(run);
    const auto pin = engine.pin();
    auto find = [&](std::string_view key) {
        return engine.read_at(pin.version(), key, [](const stored_record* r) { return r; });
    };
    return f(find);
}
template <class Engine, class F>
decltype(auto) with_reader(Engine&, basic_transaction<Engine>& tx, F&& f) {
    auto find = [&](std::string_view key) { return tx.read(key, [](const stored_record* r) { return r; }); };
    return f(find);
}

template <class Engine, class View, class F>
    requires read_view_of<View, Engine>
decltype(auto) with_reader(Engine&, const View& view, F&& f) {
    auto find = [&](std::string_view key) { return view.read(key, [](const stored_record* r) { return r; }); };
    return f(find);
}

/// Calls f(key, record) for the keys under prefix after `after` as the context sees them, in
/// key order; f may return false to stop. A run of 0 lists shared records for no run.
template <class Engine, class F>
void scan_in(Engine& engine, run_id run, std::string_view prefix, F&& f, std::string_view after) {
    engine.scan(run, prefix, std::forward<F>(f), after);
}
template <class Engine, class F>
void scan_in(Engine&, basic_transaction<Engine>& tx, std::string_view prefix, F&& f, std::string_view after) {
    tx.scan(prefix, std::forward<F>(f), after);
}

template <class Engine, class View, class F>
    requires read_view_of<View, Engine>
void scan_in(Engine&, const View& view, std::string_view prefix, F&& f, std::string_view after) {
    view.scan(prefix, std::forward<F>(f), after);
}

/// What a call that reads nothing still checks: that the run exists (a transaction's did
/// when it began).
template <class Engine>
void check_in(Engine& engine, run_id run) {
    engine.check_known(run);
}
template <class Engine>
void check_in(Engine&, const basic_transaction<Engine>&) noexcept {}
template <class Engine, class View>
    requires read_view_of<View, Engine>
void check_in(Engine&, const View&) noexcept {}

} // namespace detail
} // namespace inmem
