// inmem/exec/execution.hpp: deterministic re-execution. Agent code wraps everything that is
// not deterministic (model and tool calls, the clock, random numbers, timers) in steps of an
// execution; the steps are recorded, so the same code can later be replayed against the
// record, or resumed after a crash without repeating what completed.
//
//   auto ex = inmem::execute(db, run);                                   // exec_mode::record
//   Plan plan = ex.step("llm:plan", prompt, [&] { return call_model(prompt); });
//   ex.step("tool:save", plan, [&](auto& tx) { db.kv<Plan>().put(tx, "plan", plan); });
//   auto when = ex.now();
//
// Record (a live run): each step runs its function, then commits its step_record (name,
// index, input hash and bytes, output, duration, error) as an event, in the same commit as
// what the function wrote through the transaction it was given (fn(tx)): a step's effects and
// its record are all or nothing. A function that throws has its error recorded (its own
// commit, nothing it wrote) and the exception goes on.
//
// Replay (exec_mode::replay, normally through replay_run, exec/replayer.hpp): the code runs
// again against a scratch run, a fork of the recorded run as it was when its execution began,
// so nothing recorded changes. No step function is called: each step returns its recorded
// output (or throws step_error with its recorded error), after its name, input and output type
// were checked against the record, and what the step wrote in the recorded run (KV, events,
// traces; not shared state records) is written again to the scratch run. The first mismatch
// throws divergence_error (exec/divergence.hpp).
//
// Resume (exec_mode::resume: a run a crash interrupted, or a fork from fork_at_step): the
// recorded steps return their outputs, checked as in a replay, without running again, and
// execution goes on live from the first step without a record. A step whose record committed
// is never executed again, and its writes are exactly once (they committed with it); a step
// that was running when the process died has no record, so it runs again: its effects
// outside the database happen at least once.
//
// Deterministic code is the contract, as for Temporal's workflows and DBOS's steps: between
// steps the code decides only from step outputs and what it read; it writes to the database
// inside steps (a write outside one is made again by every resume and replay).
#pragma once

#include <inmem/error.hpp>
#include <inmem/exec/divergence.hpp>
#include <inmem/exec/step_record.hpp>
#include <inmem/primitives/events.hpp>
#include <inmem/primitives/traces.hpp>
#include <inmem/schema/classify.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/fingerprint.hpp>
#include <inmem/schema/reflect.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/time_machine/fork.hpp>
#include <inmem/time_machine/print.hpp>
#include <inmem/time_machine/replay.hpp>
#include <inmem/time_machine/timeline.hpp>
#include <inmem/vocabulary.hpp>

#include <chrono>
#include <charconv>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace inmem {

/// How an execution treats the run's record (see above).
enum class exec_mode : std::uint8_t {
    record, ///< a live run without steps yet: every step runs and is recorded
    replay, ///< re-run against the record, into a scratch run: no step runs; the first mismatch throws
    resume, ///< recorded steps return their outputs (checked), then it goes on live
};

namespace detail {

// One step of a run's record, where it is stored.
struct recorded_step {
    step_record record;
    run_id run{};        // the run whose log holds it (a fork's ancestor, for what it inherited)
    std::uint64_t seq = 0;
    version_t version = 0; // the commit of its record and of what the step wrote
};

// 64-bit FNV-1a over type, then bytes.
inline std::uint64_t step_input_hash(std::uint64_t type, std::string_view bytes) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 8; ++i) h = (h ^ ((type >> (8 * i)) & 0xff)) * 0x100000001b3ull;
    for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
    return h;
}

// The number a run's metadata holds at key; nullopt without the key.
inline std::optional<std::uint64_t> metadata_number(const run_info& info, std::string_view key) {
    const auto it = info.metadata.find(std::string(key));
    if (it == info.metadata.end()) return std::nullopt;
    std::uint64_t v = 0;
    const char* end = it->second.data() + it->second.size();
    const auto [p, ec] = std::from_chars(it->second.data(), end, v);
    if (ec != std::errc{} || p != end)
        throw error(errc::corruption, "inmem: run " + std::to_string(info.id.value) + "'s metadata " +
                                          std::string(key) + " is not a number: '" + it->second + "'");
    return v;
}

// Appends run's step records (those of its first `limit` events) to out, after the ones it
// inherited as a fork (its parent's, up to the fork point, recursively).
template <class Db>
void load_steps(Db& db, run_id run, std::uint64_t limit, std::vector<recorded_step>& out) {
    const run_info info = db.run(run);
    if (info.parent)
        if (const auto inherited = metadata_number(info, fork_events_metadata))
            load_steps(db, *info.parent, *inherited, out);
    for (const auto& e : db.events().template read<step_record>(run, event_query{.to = limit})) {
        if (e.value.index != out.size())
            throw error(errc::corruption, "inmem: run " + std::to_string(run.value) + " records step " +
                                              std::to_string(e.value.index) + " where step " +
                                              std::to_string(out.size()) + " was expected");
        out.push_back({e.value, run, e.id.seq, e.version});
    }
}

// The run whose execution run continues (itself, or the ancestor a fork inherited it from)
// and the version at which it began; nullopt for a run never executed.
template <class Db>
std::optional<std::pair<run_id, version_t>> execution_origin(Db& db, run_id run) {
    for (;;) {
        const run_info info = db.run(run);
        if (const auto began = metadata_number(info, exec_began_metadata)) return std::pair{run, *began};
        if (!info.parent || !info.metadata.contains(std::string(fork_version_metadata))) return std::nullopt;
        run = *info.parent;
    }
}

template <class T>
consteval std::uint64_t output_fingerprint() {
    if constexpr (std::is_void_v<T>) return 0;
    else return fingerprint_v<T>;
}

// What fn returns when a step calls it: with the transaction when it takes one.
template <class Fn, class Tx>
consteval auto step_result_type() {
    if constexpr (std::is_invocable_v<Fn&, Tx&>) return std::type_identity<std::invoke_result_t<Fn&, Tx&>>{};
    else if constexpr (std::is_invocable_v<Fn&>) return std::type_identity<std::invoke_result_t<Fn&>>{};
    else return std::type_identity<void>{};
}

template <class T>
consteval bool step_output_storable() {
    if constexpr (std::is_void_v<T>) return true;
    else return storable_v<T>;
}

} // namespace detail

template <class Db>
class execution;

template <class Db>
execution<Db> execute(Db& db, run_id run, exec_mode mode = exec_mode::record);

/// An execution of a run (see above), from inmem::execute(db, run, mode). Movable, not
/// copyable, for one thread at a time (the steps of a run are one sequence).
template <class Db>
class execution {
    using schema = typename Db::schema_type;
    static_assert(schema::template contains<primitive::event, step_record>,
                  "inmem: an execution records each step as an inmem::step_record event: list it in the "
                  "schema's events, inmem::events<..., inmem::step_record>");

public:
    using database_type = Db;
    using transaction = typename Db::transaction;

    execution(execution&&) noexcept = default;
    execution& operator=(execution&&) noexcept = default;

    /// The run the code writes to: the executed run, or a replay's scratch run.
    run_id run() const noexcept { return run_; }
    /// The run whose record the steps are checked against (run() but in a replay).
    run_id recorded_run() const noexcept { return recorded_; }
    /// The mode it was opened in.
    exec_mode mode() const noexcept { return mode_; }
    /// The database.
    Db& database() const noexcept { return *db_; }
    /// How many steps the code has asked for so far (the next step's index).
    std::uint64_t steps() const noexcept { return next_; }
    /// How many steps the record holds (in record mode, 0).
    std::uint64_t recorded_steps() const noexcept { return steps_.size(); }
    /// Whether the next step comes from the record (its function will not run).
    bool replaying() const noexcept { return next_ < steps_.size(); }

    /// A step named name with an input: returns what fn returns, fn() or fn(tx) (then what fn
    /// writes through tx commits with the step's record). Recorded, or from the record (see
    /// above). Input and output types must be storable; the output may be void. Throws what
    /// fn throws (recorded), step_error (a recorded error), divergence_error, invalid_argument
    /// (a step inside a step), and what committing throws (nothing recorded: the step may run
    /// again). fn(tx) runs again when its transaction conflicts, as in db.transact.
    template <class In, class Fn>
    auto step(std::string_view name, const In& input, Fn&& fn) {
        static_assert(detail::storable_v<In>,
                      "inmem: a step's input is recorded (and checked by replays), so its type must be "
                      "storable (see the message above)");
        using out = typename decltype(detail::step_result_type<Fn, transaction>())::type;
        check_step_function<Fn, out>();
        return step_impl<std::remove_cvref_t<out>>(name, encode(input), fingerprint_v<In>, fn,
                                                   [&](const step_record* rec, divergence& d) {
                                                       describe_inputs(rec, input, d);
                                                   });
    }

    /// A step without input (see step(name, input, fn)).
    template <class Fn>
    auto step(std::string_view name, Fn&& fn) {
        using out = typename decltype(detail::step_result_type<Fn, transaction>())::type;
        check_step_function<Fn, out>();
        return step_impl<std::remove_cvref_t<out>>(name, std::string(), 0, fn,
                                                   [&](const step_record* rec, divergence& d) {
                                                       if (rec && !rec->input.empty())
                                                           d.recorded_input =
                                                               "<" + std::to_string(rec->input.size()) + " bytes>";
                                                   });
    }

    /// The time by the database's clock, recorded: a replay or a resume sees the same.
    std::chrono::system_clock::time_point now() {
        return step(now_step, [this] { return db_->clock().now(); });
    }

    /// A random 64-bit number, recorded (not for cryptography).
    std::uint64_t random() {
        return step(random_step, [this] { return next_random(); });
    }

    /// Waits d, as a durable timer: the deadline (now + d by the database's clock) is
    /// recorded, so a resume waits only what is left of it and a replay does not wait.
    void sleep_for(std::chrono::nanoseconds d) {
        const auto deadline = step(sleep_step, d, [&] { return db_->clock().now() + d; });
        if (mode_ == exec_mode::replay) return;
        const auto left = deadline - db_->clock().now();
        if (left > std::chrono::nanoseconds::zero()) std::this_thread::sleep_for(left);
    }

    /// Whether the code may take the path of change_id (Temporal's patched()): true in a new
    /// execution (a marker step records it) and in re-executions of runs recorded with it;
    /// false where the record has no marker here (a run recorded before the change), which
    /// then takes the old path without diverging:
    ///   if (ex.patched("search-first")) ex.step("tool:search", ...); else ...;
    bool patched(std::string_view change_id) {
        std::string id(change_id);
        if (next_ < steps_.size()) {
            const step_record& rec = steps_[next_].record;
            if (rec.name != patch_step || rec.input != encode(id)) return false;
        } else if (mode_ == exec_mode::replay) {
            return false; // past the record: the old code path, the next step says more
        }
        return step(patch_step, id, [] { return true; });
    }

    /// Ends the re-execution: in a replay, throws divergence_error (missing_step) when the
    /// record holds steps the code did not ask for. Nothing to do in the other modes.
    void finish() {
        if (mode_ == exec_mode::replay && next_ < steps_.size()) {
            divergence d = base(divergence_kind::missing_step, next_);
            d.recorded_name = steps_[next_].record.name;
            if (!steps_[next_].record.input.empty())
                d.recorded_input = "<" + std::to_string(steps_[next_].record.input.size()) + " bytes>";
            throw_divergence(std::move(d));
        }
    }

private:
    template <class D>
    friend execution<D> execute(D& db, run_id run, exec_mode mode);

    execution(Db& db, run_id run, run_id recorded, exec_mode mode) : db_(&db), run_(run), recorded_(recorded), mode_(mode) {
        random_state_ = reinterpret_cast<std::uintptr_t>(this) ^
                        static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    }

    template <class Fn, class Out>
    static constexpr void check_step_function() {
        static_assert(std::is_invocable_v<Fn&, transaction&> || std::is_invocable_v<Fn&>,
                      "inmem: ex.step(name, [input,] fn) calls fn() or fn(tx) with the step's transaction "
                      "(`auto& tx`): give it a function taking nothing or the transaction");
        static_assert(detail::step_output_storable<std::remove_cvref_t<Out>>(),
                      "inmem: a step's output is recorded and returned by replays, so the type its function "
                      "returns must be storable (or void): see the message above");
    }

    template <class In>
    static void describe_inputs(const step_record* rec, const In& asked, divergence& d) {
        d.asked_input = detail::format_value(asked);
        if (!rec) return;
        if (rec->input_type != fingerprint_v<In>) {
            d.recorded_input = "<" + std::to_string(rec->input.size()) + " bytes of another type>";
            return;
        }
        const auto recorded = decode<In>(rec->input);
        if (!recorded) {
            d.recorded_input = "<undecodable " + std::to_string(rec->input.size()) + " bytes>";
            return;
        }
        const In& was = recorded.value();
        d.recorded_input = detail::format_value(was);
        if constexpr (detail::value_kind_v<In> == detail::value_kind::aggregate) {
            constexpr auto names = detail::field_names<In>();
            [&]<std::size_t... I>(std::index_sequence<I...>) {
                (
                    [&] {
                        std::string r = detail::format_value(boost::pfr::get<I>(was));
                        std::string a = detail::format_value(boost::pfr::get<I>(asked));
                        if (r != a) d.fields.push_back({std::string(names[I]), std::move(r), std::move(a)});
                    }(),
                    ...);
            }(std::make_index_sequence<names.size()>{});
        }
    }

    divergence base(divergence_kind kind, std::uint64_t step) const {
        divergence d;
        d.kind = kind;
        d.run = recorded_;
        d.step = step;
        return d;
    }

    [[noreturn]] static void throw_divergence(divergence d) {
        d.message = detail::divergence_message(d);
        throw divergence_error(std::move(d));
    }

    template <class Out, class Fn, class Describe>
    Out step_impl(std::string_view name, std::string in_bytes, std::uint64_t in_type, Fn& fn, Describe&& describe) {
        if (in_step_)
            throw error(errc::invalid_argument, "inmem: step '" + std::string(name) +
                                                    "' was asked for inside another step: steps do not nest");
        const std::uint64_t hash = detail::step_input_hash(in_type, in_bytes);
        const std::uint64_t index = next_;
        constexpr std::uint64_t out_type = detail::output_fingerprint<Out>();
        if (index < steps_.size()) {
            const detail::recorded_step& rec = steps_[index];
            const step_record& r = rec.record;
            if (r.name != name || r.input_type != in_type || r.input_hash != hash || r.input != in_bytes ||
                (!r.error && r.output_type != out_type)) {
                divergence d = base(divergence_kind::different_step, index);
                d.recorded_name = r.name;
                d.asked_name = std::string(name);
                describe(&r, d);
                if (d.recorded_name == d.asked_name && d.recorded_input == d.asked_input && d.fields.empty())
                    d.asked_input += " (the recorded output is of another type than the step returns)";
                throw_divergence(std::move(d));
            }
            if (mode_ == exec_mode::replay) write_again(rec);
            ++next_;
            if (r.error) throw step_error(r.name, *r.error);
            if constexpr (!std::is_void_v<Out>) {
                auto out = decode<Out>(r.output);
                if (!out)
                    throw error(errc::corruption, "inmem: run " + std::to_string(rec.run.value) + "'s record of step " +
                                                      std::to_string(index) + " '" + r.name +
                                                      "' does not decode as its output type: " + out.error().message());
                return std::move(out).value();
            } else {
                return;
            }
        }
        if (mode_ == exec_mode::replay) {
            divergence d = base(divergence_kind::unexpected_step, index);
            d.asked_name = std::string(name);
            describe(nullptr, d);
            throw_divergence(std::move(d));
        }
        return live<Out>(index, name, std::move(in_bytes), in_type, hash, fn);
    }

    // Runs a step and records it (see above).
    template <class Out, class Fn>
    Out live(std::uint64_t index, std::string_view name, std::string in_bytes, std::uint64_t in_type,
             std::uint64_t hash, Fn& fn) {
        step_record rec{index, std::string(name), hash, in_type, std::move(in_bytes), detail::output_fingerprint<Out>(),
                        {}, 0, std::nullopt};
        const auto started = std::chrono::steady_clock::now();
        auto elapsed = [&] {
            return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started)
                .count();
        };
        struct step_guard {
            bool& flag;
            explicit step_guard(bool& f) : flag(f) { flag = true; }
            ~step_guard() { flag = false; }
        };
        bool in_fn = false; // whether an exception comes from fn (recorded) or from committing (not)
        try {
            if constexpr (std::is_invocable_v<Fn&, transaction&>) {
                auto body = [&](transaction& tx) -> Out {
                    if constexpr (std::is_void_v<Out>) {
                        {
                            step_guard g(in_step_);
                            in_fn = true;
                            std::invoke(fn, tx);
                            in_fn = false;
                        }
                        rec.duration_ns = elapsed();
                        db_->events().append(tx, rec);
                    } else {
                        std::optional<Out> out;
                        {
                            step_guard g(in_step_);
                            in_fn = true;
                            out.emplace(std::invoke(fn, tx));
                            in_fn = false;
                        }
                        rec.duration_ns = elapsed();
                        rec.output = encode(*out);
                        db_->events().append(tx, rec);
                        return std::move(*out);
                    }
                };
                if constexpr (std::is_void_v<Out>) {
                    db_->transact(run_, body);
                    ++next_;
                } else {
                    Out out = db_->transact(run_, body);
                    ++next_;
                    return out;
                }
            } else {
                std::optional<std::conditional_t<std::is_void_v<Out>, bool, Out>> out;
                {
                    step_guard g(in_step_);
                    in_fn = true;
                    if constexpr (std::is_void_v<Out>) {
                        std::invoke(fn);
                        out.emplace(true);
                    } else {
                        out.emplace(std::invoke(fn));
                    }
                    in_fn = false;
                }
                rec.duration_ns = elapsed();
                if constexpr (!std::is_void_v<Out>) rec.output = encode(*out);
                db_->events().append(run_, rec);
                ++next_;
                if constexpr (!std::is_void_v<Out>) return std::move(*out);
            }
        } catch (const std::exception& e) {
            if (in_fn) record_failure(std::move(rec), e.what(), elapsed());
            throw;
        } catch (...) {
            if (in_fn) record_failure(std::move(rec), "an exception that is not a std::exception", elapsed());
            throw;
        }
    }

    // Records that a step's function threw (nothing it wrote is applied). If the record cannot
    // commit either, the step stays unrecorded and the function's exception goes on.
    void record_failure(step_record rec, std::string what, std::int64_t duration_ns) noexcept {
        try {
            rec.error = std::move(what);
            rec.output.clear();
            rec.output_type = 0;
            rec.duration_ns = duration_ns;
            db_->events().append(run_, rec);
            ++next_;
        } catch (...) {
        }
    }

    std::uint64_t next_random() noexcept {
        std::uint64_t z = (random_state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }

    // The changes of run's commit at version (from its timeline, built once per run).
    const std::vector<timeline_change>& changes_of(run_id run, version_t version) {
        auto it = changes_.find(run);
        if (it == changes_.end()) {
            std::map<version_t, std::vector<timeline_change>> by_version;
            for (timeline_step& s : timeline(*db_, run)) by_version.emplace(s.version, std::move(s.changes));
            it = changes_.emplace(run, std::move(by_version)).first;
        }
        static const std::vector<timeline_change> none;
        const auto found = it->second.find(version);
        return found == it->second.end() ? none : found->second;
    }

    // Replay: writes to the scratch run what the recorded step wrote (its record aside): KV
    // puts and erases, events and traces (with their links where they name what the replay
    // wrote), in one commit. Shared state records are other runs' too: never written again.
    void write_again(const detail::recorded_step& step) {
        const auto& changes = changes_of(step.run, step.version);
        constexpr std::uint16_t record_slot = schema::template slot_of<primitive::event, step_record>;
        bool any = false;
        for (const timeline_change& c : changes)
            if (c.family_id == primitive::kv || c.family_id == primitive::trace ||
                (c.family_id == primitive::event && c.slot != record_slot))
                any = true;
        if (!any) return;
        std::vector<std::pair<std::uint64_t, event_ticket>> events;
        std::vector<std::pair<std::uint64_t, trace_ticket>> traces;
        db_->transact(run_, [&](transaction& tx) {
            events.clear();
            traces.clear();
            for (const timeline_change& c : changes) {
                if (c.family_id == primitive::kv) {
                    std::string key = detail::run_data_key(detail::default_namespace, run_.value,
                                                           static_cast<std::uint8_t>(primitive::kv), c.slot, c.key);
                    if (c.after) tx.put(std::move(key), *c.after);
                    else tx.erase(std::move(key));
                } else if (c.family_id == primitive::event && c.slot != record_slot && c.sequence) {
                    const auto e = db_->events().get(event_id{step.run, *c.sequence});
                    if (!e) continue;
                    std::visit(
                        [&](const auto& v) {
                            events.emplace_back(*c.sequence,
                                                db_->events().append(tx, v, event_labels{e->thread, e->agent}));
                        },
                        e->value);
                } else if (c.family_id == primitive::trace && c.sequence) {
                    write_trace_again(tx, step.run, *c.sequence, traces);
                }
            }
        });
        for (auto& [seq, ticket] : events) events_[{step.run, seq}] = ticket.id().seq;
        for (auto& [seq, ticket] : traces) traces_[{step.run, seq}] = ticket.id().seq;
    }

    void write_trace_again(transaction& tx, run_id from, std::uint64_t seq,
                           std::vector<std::pair<std::uint64_t, trace_ticket>>& traces) {
        if constexpr (std::tuple_size_v<decltype(detail::types_of_kind<primitive::trace>(typename schema::slots{}))> >
                      0) {
            const auto t = db_->traces().get(trace_id{from, seq});
            if (!t) return;
            trace_options o;
            for (const std::string& tag : t->tags) o.tags.push_back(tag);
            if (t->event)
                if (const auto it = events_.find({t->event->run, t->event->seq}); it != events_.end())
                    o.event = event_id{run_, it->second};
            if (t->parent) {
                for (const auto& [s, ticket] : traces)
                    if (s == t->parent->seq) o.parent = trace_parent(ticket);
                if (!o.parent)
                    if (const auto it = traces_.find({t->parent->run, t->parent->seq}); it != traces_.end())
                        o.parent = trace_parent(trace_id{run_, it->second});
            }
            std::visit([&](const auto& v) { traces.emplace_back(seq, db_->traces().record(tx, v, o)); }, t->value);
        } else {
            (void)tx, (void)from, (void)seq, (void)traces;
        }
    }

    Db* db_;
    run_id run_, recorded_;
    exec_mode mode_;
    std::vector<detail::recorded_step> steps_;
    std::uint64_t next_ = 0;
    bool in_step_ = false;
    std::uint64_t random_state_ = 0;
    // Replay: the recorded runs' changes by commit, and where their events and traces went.
    std::map<run_id, std::map<version_t, std::vector<timeline_change>>> changes_;
    std::map<std::pair<run_id, std::uint64_t>, std::uint64_t> events_, traces_;
};

/// Opens an execution of run (see above). record: run must be active and have no steps
/// recorded (its own or inherited); the version it begins at is kept in the run's metadata
/// (exec_began_metadata). resume: an interrupted run is made active again (db.resume_run),
/// and exec_resumes_metadata counts the resumes of a run that had begun executing. replay:
/// makes the scratch run (a fork of the run where its execution began, tagged
/// exec_replay_tag; end it or erase it when done; replay_run does) and re-executes into it.
/// Throws unknown_run, run_not_active, invalid_argument (record mode on a run with steps,
/// replay of a run never executed), corruption (a damaged record).
template <class Db>
execution<Db> execute(Db& db, run_id run, exec_mode mode) {
    const run_info info = db.run(run);
    if (mode == exec_mode::replay) {
        const auto origin = detail::execution_origin(db, run);
        if (!origin)
            throw error(errc::invalid_argument, "inmem: run " + std::to_string(run.value) +
                                                    " was never executed (inmem::execute): there is nothing to replay");
        run_options options{.name = "replay of " + (info.name.empty() ? "run " + std::to_string(run.value) : info.name),
                            .tags = {std::string(exec_replay_tag)},
                            .parent = {},
                            .metadata = {{std::string(exec_replay_of_metadata), std::to_string(run.value)}}};
        execution<Db> ex(db, {}, run, mode);
        detail::load_steps(db, run, ~std::uint64_t{0}, ex.steps_);
        ex.run_ = fork(db, origin->first, at_version{origin->second}, std::move(options));
        return ex;
    }
    execution<Db> ex(db, run, run, mode);
    detail::load_steps(db, run, ~std::uint64_t{0}, ex.steps_);
    if (mode == exec_mode::record) {
        if (!ex.steps_.empty())
            throw error(errc::invalid_argument, "inmem: run " + std::to_string(run.value) + " already has " +
                                                    std::to_string(ex.steps_.size()) +
                                                    " recorded steps: open it with exec_mode::resume");
        db.set_metadata(run, std::string(exec_began_metadata), std::to_string(db.last_version()));
        return ex;
    }
    if (info.status == run_status::interrupted) db.resume_run(run);
    if (detail::execution_origin(db, run)) {
        const std::uint64_t resumes = detail::metadata_number(info, exec_resumes_metadata).value_or(0) + 1;
        db.set_metadata(run, std::string(exec_resumes_metadata), std::to_string(resumes));
    } else {
        db.set_metadata(run, std::string(exec_began_metadata), std::to_string(db.last_version()));
    }
    return ex;
}

/// A what-if from step k of run (DBOS's fork_workflow): a new run, a fork of run just before
/// step k committed, that inherits the record of steps 0..k-1 and nothing after (no stale
/// output, no old answer comes back); execute it with exec_mode::resume to re-run the code
/// from there, the first k steps from the record and step k on live (with another input,
/// another tool result). k may be the number of steps (a fork at the run's end). options as
/// in fork(). Throws unknown_run, invalid_argument (k past the record).
template <class Db>
run_id fork_at_step(Db& db, run_id run, std::uint64_t k, run_options options = {}) {
    std::vector<detail::recorded_step> steps;
    detail::load_steps(db, run, ~std::uint64_t{0}, steps);
    if (k > steps.size())
        throw error(errc::invalid_argument, "inmem: fork_at_step: run " + std::to_string(run.value) + " has " +
                                                std::to_string(steps.size()) + " recorded steps, not " +
                                                std::to_string(k));
    if (k == steps.size()) return fork(db, run, {}, std::move(options));
    // Just before step k's commit, in the run that holds its record (a fork's ancestor when it
    // inherited it); then the new run is a fork of that run.
    return fork(db, steps[k].run, at_version{steps[k].version - 1}, std::move(options));
}

} // namespace inmem
