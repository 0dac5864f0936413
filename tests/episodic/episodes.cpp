// Tests of inmem/episodic/episodes.hpp: episodes as runs (start, log, complete), retrieval
// by task similarity narrowed by run queries and scores, and the mining of the tool
// sequences successful episodes share; in every policy combination, and after a reopen.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include "../support.hpp"
#include "../support/configurations.hpp"

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <vector>

using inmem_test::error_of;

namespace {
constexpr std::size_t dim = 16;
using episode_schema = inmem::schema<inmem::events<inmem::episode_step>, inmem::vectors<inmem::episode_tasks<dim>>>;
using configurations = inmem_test::all_configurations<episode_schema>;

// A toy embedding of a task: one-hot-ish on its first word, plus a little of the rest, so
// tasks about the same thing are close.
std::vector<float> embed(const std::string& task) {
    std::vector<float> v(dim, 0.01f);
    const std::string first = task.substr(0, task.find(' '));
    v[std::hash<std::string>{}(first) % dim] += 1.0f;
    v[std::hash<std::string>{}(task) % dim] += 0.2f;
    return v;
}

inmem::episode_step step(std::string tool) {
    inmem::episode_step s;
    s.tool = std::move(tool);
    return s;
}
} // namespace

TEMPLATE_LIST_TEST_CASE("an episode is a run: started with its task, its steps as events, completed with a score",
                        "[episodes]", configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    inmem::episodes memory(db);
    const auto run = memory.start("build REST endpoint", embed("build REST endpoint"), {.tags = {"api"}});
    CHECK(db.run(run).name == "build REST endpoint");
    CHECK(db.run(run).tags == std::vector<std::string>{"api"});
    CHECK(db.run(run).status == inmem::run_status::active);
    memory.log(run, step("rustc"));
    memory.log(run, step("cargo-test"));
    CHECK(db.events().count(run) == 2);
    const auto task = db.template vectors<inmem::episode_task>().get(run, "task");
    REQUIRE(task);
    CHECK(task->meta.task == "build REST endpoint");

    memory.complete(run, {.success = true, .score = 0.75, .result = "endpoint created"});
    const auto info = db.run(run);
    CHECK(info.status == inmem::run_status::completed);
    CHECK(inmem::episodes<std::remove_reference_t<decltype(db)>>::score_of(info) == 0.75);
    CHECK(info.metadata.at("episode.result") == "endpoint created");
    CHECK(error_of([&] { memory.complete(run, {.success = true, .score = 1}); }) == inmem::errc::run_not_active);
    CHECK(error_of([&] { memory.log(run, step("late")); }) == inmem::errc::run_not_active);

    const auto failed = memory.start("deploy service", embed("deploy service"));
    memory.complete(failed, {.success = false, .score = 0.1});
    CHECK(db.run(failed).status == inmem::run_status::failed);

    // refusals: nothing is begun for a wrong embedding
    const auto before = db.runs().size();
    CHECK(error_of([&] { memory.start("x", std::vector<float>(dim + 1, 1.0f)); }) == inmem::errc::invalid_argument);
    CHECK(error_of([&] { memory.start("x", std::vector<float>(dim, 0.0f)); }) == inmem::errc::invalid_argument);
    std::vector<float> nan(dim, 1.0f);
    nan[3] = std::numeric_limits<float>::quiet_NaN();
    CHECK(error_of([&] { memory.start("x", nan); }) == inmem::errc::invalid_argument);
    CHECK(db.runs().size() == before);
    const auto open = memory.start("y", embed("y"));
    CHECK(error_of([&] { memory.complete(open, {.success = true, .score = std::numeric_limits<double>::infinity()}); }) ==
          inmem::errc::invalid_argument);
    CHECK(db.run(open).status == inmem::run_status::active);
}

TEMPLATE_LIST_TEST_CASE("similar episodes: by task, narrowed by status, tag, score and time", "[episodes]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    inmem::episodes memory(db);
    const auto a = memory.start("build REST endpoint", embed("build REST endpoint"), {.tags = {"api"}});
    memory.complete(a, {.success = true, .score = 0.9});
    const auto b = memory.start("build GraphQL endpoint", embed("build GraphQL endpoint"), {.tags = {"api", "graphql"}});
    memory.complete(b, {.success = true, .score = 0.4});
    const auto c = memory.start("build CLI parser", embed("build CLI parser"));
    memory.complete(c, {.success = false, .score = 0.2});
    const auto d = memory.start("deploy to staging", embed("deploy to staging"), {.tags = {"api"}});
    memory.complete(d, {.success = true, .score = 0.95});
    const auto e = memory.start("build docs site", embed("build docs site")); // still active

    const auto query = embed("build REST handler");
    const auto ids = [](const auto& found) {
        std::vector<std::uint64_t> out;
        for (const auto& x : found) out.push_back(x.run.id.value);
        return out;
    };
    const auto id_set = [](const auto& found) {
        std::set<std::uint64_t> out;
        for (const auto& x : found) out.insert(x.run.id.value);
        return out;
    };
    // every build episode comes before the deploy one
    const auto all = memory.similar(query, 5);
    REQUIRE(all.size() == 5);
    CHECK(all.back().run.id == d);
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].distance <= all[i].distance);
    CHECK(all.front().task.rfind("build", 0) == 0);

    const auto ok = memory.similar(query, 5, inmem::episodes<std::remove_reference_t<decltype(db)>>::successful());
    CHECK(id_set(ok) == std::set<std::uint64_t>{a.value, b.value, d.value});
    const auto scored = memory.similar(query, 5, {.min_score = 0.5});
    CHECK(id_set(scored) == std::set<std::uint64_t>{a.value, d.value});
    for (const auto& x : scored) CHECK(x.score >= 0.5);
    const auto graphql = memory.similar(query, 5, {.runs = {.tags = {"graphql"}}});
    CHECK(ids(graphql) == std::vector<std::uint64_t>{b.value});
    const auto active = memory.similar(query, 5, {.runs = {.statuses = {inmem::run_status::active}}});
    CHECK(ids(active) == std::vector<std::uint64_t>{e.value});
    CHECK_FALSE(active.front().score);
    const auto later = memory.similar(query, 5, {.runs = {.started = {.from = db.run(d).started}}});
    CHECK(id_set(later).count(a.value) == 0);
    CHECK(memory.similar(query, 0).empty());
    // a run's other vectors are not episodes
    db.template vectors<inmem::episode_task>().upsert(e, "note", embed("build REST endpoint"), {"a note"});
    for (const auto& x : memory.similar(query, 10)) CHECK(x.task != "a note");
}

TEMPLATE_LIST_TEST_CASE("the tool sequences successful episodes share, most frequent first", "[episodes]",
                        configurations) {
    inmem_test::test_database<TestType> holder;
    auto& db = *holder;
    inmem::episodes memory(db);
    const auto episode = [&](std::vector<std::string> tools, bool success) {
        const auto run = memory.start("task", embed("task " + std::to_string(tools.size())));
        for (const auto& t : tools) memory.log(run, step(t));
        memory.complete(run, {.success = success, .score = success ? 1.0 : 0.0});
    };
    episode({"read", "edit", "test", "edit", "test"}, true); // read-edit, edit-test (once), test-edit
    episode({"read", "edit", "test"}, true);
    episode({"search", "read", "edit"}, true);
    episode({"edit", "test", "edit", "test"}, false); // failed: not counted
    episode({"deploy"}, true);                        // too short for a pair

    const auto pairs = memory.frequent_sequences(2, 3);
    REQUIRE(pairs.size() == 3);
    CHECK(pairs[0].tools == std::vector<std::string>{"read", "edit"});
    CHECK(pairs[0].runs == 3);
    CHECK(pairs[1].tools == std::vector<std::string>{"edit", "test"});
    CHECK(pairs[1].runs == 2);
    CHECK(pairs[2].tools == std::vector<std::string>{"search", "read"}); // ties: by the tools' names
    CHECK(pairs[2].runs == 1);
    const auto triples = memory.frequent_sequences(3, 10);
    REQUIRE_FALSE(triples.empty());
    CHECK(triples[0].tools == std::vector<std::string>{"read", "edit", "test"});
    CHECK(triples[0].runs == 2);
    // the failed ones, when asked for
    const auto failed = memory.frequent_sequences(2, 1, {.runs = {.statuses = {inmem::run_status::failed}}});
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].tools == std::vector<std::string>{"edit", "test"});
    CHECK(failed[0].runs == 1);
    CHECK(error_of([&] { (void)memory.frequent_sequences(0, 1); }) == inmem::errc::invalid_argument);

    if constexpr (inmem_test::test_database<TestType>::persistent) { // all of it is runs, events and vectors
        db.sync();
        holder.reopen();
        inmem::episodes again(*holder);
        CHECK(again.frequent_sequences(2, 3)[0].runs == 3);
        CHECK(again.similar(embed("task 3"), 10).size() == 5);
    }
}
