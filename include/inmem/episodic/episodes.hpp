// inmem/episodic/episodes.hpp: episodic memory over runs. An episode is a run: started with
// its task and the task's embedding, its steps logged as events, completed with an outcome
// and a score in the run's metadata; past episodes are retrieved by similarity of their
// tasks, narrowed by any run query, and the tool sequences that successful episodes share are
// mined from their events. A thin layer over runs, events and vectors: nothing here is stored
// any other way, so replay, diff, fork and erase_run treat episodes as runs.
//
//   using schema = inmem::schema<inmem::events<inmem::episode_step>,
//                                inmem::vectors<inmem::episode_tasks<384>>>;
//   inmem::episodes memory(db);
//   const auto run = memory.start("Build REST API endpoint", embed(task), {.tags = {"api"}});
//   memory.log(run, {.tool = "rustc", .action = "compile", .latency_ms = 1250});
//   memory.complete(run, {.success = true, .score = 0.9});
//   for (const auto& e : memory.similar(embed("Build REST endpoint"), 5, {.min_score = 0.5}))
//       use(e.run, e.distance, e.score);
//   for (const auto& s : memory.frequent_sequences(2, 3)) use(s.tools, s.runs);
#pragma once

#include <inmem/error.hpp>
#include <inmem/primitives/events.hpp>
#include <inmem/primitives/vectors.hpp>
#include <inmem/vectors/collection.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace inmem {

/// One step of an episode: a tool call and how it went. List it in the schema's
/// inmem::events<...>.
struct episode_step {
    std::string tool;
    std::string action{};
    bool success = true;
    std::int64_t latency_ms = 0;
    std::int64_t tokens = 0;
    std::string observation{};
};

/// What the episodic layer keeps with each run's task embedding.
struct episode_task {
    std::string task;
};

/// The collection of task embeddings, of Dimension floats, compared by cosine: list it in
/// the schema's inmem::vectors<...>.
template <std::size_t Dimension, class Index = hnsw<>>
using episode_tasks = collection<episode_task, Dimension, metric::cosine, Index>;

/// How an episode ended: success ends its run completed, else failed; the score (any finite
/// number, higher is better) and the result go to the run's metadata.
struct episode_outcome {
    bool success = true;
    double score = 0;
    std::string result{};
};

/// Which past episodes a retrieval or a mining looks at.
struct episode_filter {
    /// Status, tags, name, parent, start and end times, metadata: as db.runs(query) takes
    /// them (its order, limit and cursor are ignored).
    run_query runs{};
    /// Only episodes completed with at least this score.
    std::optional<double> min_score{};
};

/// A past episode found by similarity of its task.
struct similar_episode {
    run_info run;
    float distance = 0;           ///< between the tasks' embeddings (cosine: 1 - similarity)
    std::string task;
    std::optional<double> score{}; ///< nullopt: not completed through complete()
};

/// A tool sequence and in how many episodes it occurs (each episode counted once).
struct tool_sequence {
    std::vector<std::string> tools;
    std::size_t runs = 0;
};

/// The episodic layer over database Db, whose schema lists inmem::events<inmem::episode_step,
/// ...> and inmem::vectors<inmem::episode_tasks<D>, ...>. Cheap to copy; valid while the
/// database lives.
template <class Db>
class episodes {
public:
    /// Metadata keys of an episode's run.
    static constexpr std::string_view score_key = "episode.score";
    static constexpr std::string_view result_key = "episode.result";
    /// The id of a run's task embedding in the collection.
    static constexpr std::string_view task_id = "task";

    explicit episodes(Db& db) noexcept : db_(&db) {}

    /// Begins an episode: a run (named after the task unless options name it) and its task's
    /// embedding. The embedding is checked first: a wrong one begins no run.
    run_id start(std::string_view task, std::span<const float> embedding, run_options options = {}) const {
        auto tasks = db_->template vectors<episode_task>();
        check(embedding, tasks.dimension);
        if (options.name.empty()) options.name = std::string(task);
        const run_id run = db_->begin_run(std::move(options));
        tasks.upsert(run, task_id, embedding, episode_task{std::string(task)});
        return run;
    }

    /// Logs a step of episode run (one commit); returns its event id.
    event_id log(run_id run, const episode_step& step) const { return db_->events().append(run, step); }

    /// Completes episode run: its score and result in the run's metadata, then the run ended
    /// completed or failed. Throws inmem::error run_not_active if it has ended already,
    /// invalid_argument if the score is not finite.
    void complete(run_id run, const episode_outcome& outcome) const {
        if (!std::isfinite(outcome.score))
            throw error(errc::invalid_argument, "inmem: episodes::complete: the score is a finite number");
        if (db_->run(run).status != run_status::active)
            throw error(errc::run_not_active, "inmem: episodes::complete: run " + std::to_string(run.value) +
                                                  " has ended already");
        db_->set_metadata(run, std::string(score_key), format_score(outcome.score));
        if (!outcome.result.empty()) db_->set_metadata(run, std::string(result_key), outcome.result);
        db_->end_run(run, outcome.success ? run_status::completed : run_status::failed);
    }

    /// The k past episodes whose tasks are closest to query, best first, among those filter
    /// keeps (the collection's search: through its graph past its threshold, exactly when the
    /// filter keeps few).
    [[nodiscard]] std::vector<similar_episode> similar(std::span<const float> query, std::size_t k,
                                                       const episode_filter& filter = {}) const {
        auto tasks = db_->template vectors<episode_task>();
        std::vector<similar_episode> out;
        const auto make = [&](const auto& hit) {
            run_info info = db_->run(hit.run);
            similar_episode e{std::move(info), hit.distance, hit.meta.task, std::nullopt};
            e.score = score_of(e.run);
            return e;
        };
        if (unfiltered(filter)) {
            for (const auto& hit : tasks.search(query, k, [](const vector_info<episode_task>& v) { return v.id == task_id; }))
                out.push_back(make(hit));
            return out;
        }
        const std::unordered_set<std::uint64_t> allowed = matching(filter);
        for (const auto& hit : tasks.search(query, k, [&](const vector_info<episode_task>& v) {
                 return v.id == task_id && allowed.contains(v.run.value);
             }))
            out.push_back(make(hit));
        return out;
    }

    /// The `top` tool sequences of `length` consecutive steps that occur in the most
    /// episodes among those filter keeps (by default the completed ones), most frequent
    /// first (ties: in the order of the tools' names). O(steps of those episodes).
    [[nodiscard]] std::vector<tool_sequence> frequent_sequences(std::size_t length, std::size_t top,
                                                                episode_filter filter = successful()) const {
        if (length == 0) throw error(errc::invalid_argument, "inmem: episodes::frequent_sequences: length is at least 1");
        std::map<std::vector<std::string>, std::size_t> support;
        for (const std::uint64_t id : matching(filter)) {
            std::vector<std::string> tools;
            for (const auto& e : db_->events().template read<episode_step>(run_id{id})) tools.push_back(e.value.tool);
            std::set<std::vector<std::string>> seen; // once per episode
            for (std::size_t i = 0; i + length <= tools.size(); ++i)
                seen.emplace(tools.begin() + static_cast<std::ptrdiff_t>(i),
                             tools.begin() + static_cast<std::ptrdiff_t>(i + length));
            for (const auto& sequence : seen) ++support[sequence];
        }
        std::vector<tool_sequence> out;
        for (auto& [tools, n] : support) out.push_back({tools, n});
        std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.runs > b.runs; });
        if (out.size() > top) out.resize(top);
        return out;
    }

    /// The filter of the episodes that completed.
    static episode_filter successful() {
        episode_filter f;
        f.runs.statuses = {run_status::completed};
        return f;
    }

    /// The score complete() recorded for a run, or nullopt.
    static std::optional<double> score_of(const run_info& run) {
        const auto it = run.metadata.find(std::string(score_key));
        if (it == run.metadata.end()) return std::nullopt;
        double v = 0;
        const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
        if (ec != std::errc{} || end != it->second.data() + it->second.size()) return std::nullopt;
        return v;
    }

private:
    static bool unfiltered(const episode_filter& f) {
        const run_query& q = f.runs;
        return !f.min_score && q.statuses.empty() && q.tags.empty() && q.name_prefix.empty() && !q.parent &&
               !q.descendant_of && !q.started.from && !q.started.until && !q.ended.from && !q.ended.until &&
               q.metadata.empty();
    }

    // The ids of the runs the filter keeps.
    std::unordered_set<std::uint64_t> matching(const episode_filter& filter) const {
        run_query q = filter.runs;
        q.limit = 0;
        q.after.reset();
        std::unordered_set<std::uint64_t> out;
        for (const run_info& info : db_->runs(q).runs) {
            if (filter.min_score) {
                const auto s = score_of(info);
                if (!s || *s < *filter.min_score) continue;
            }
            out.insert(info.id.value);
        }
        return out;
    }

    static std::string format_score(double v) {
        char buf[64];
        const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v); // shortest round trip
        return std::string(buf, ec == std::errc{} ? end : buf);
    }

    static void check(std::span<const float> v, std::size_t dimension) {
        if (v.size() != dimension)
            throw error(errc::invalid_argument, "inmem: episodes::start: task embeddings have " + std::to_string(dimension) +
                                                    " floats; this one has " + std::to_string(v.size()));
        double norm = 0;
        for (const float x : v) {
            if (!std::isfinite(x))
                throw error(errc::invalid_argument, "inmem: episodes::start: the task embedding holds a NaN or an infinity");
            norm += static_cast<double>(x) * x;
        }
        if (!(norm > 0)) throw error(errc::invalid_argument, "inmem: episodes::start: the task embedding is all zeros");
    }

    Db* db_;
};

} // namespace inmem
