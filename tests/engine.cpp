// Tests of inmem/engine.hpp's hooks: finalizers complete ops under the writers' lock on
// every commit path, and batch observers see the same batches live and in recovery, so a
// derived index rebuilt at open equals the one kept while writing.
#include "support.hpp"

#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <map>
#include <span>
#include <string>
#include <vector>

namespace {

namespace d = inmem::detail;
using schema = inmem::schema<inmem::kv<std::string>>;
template <class Durability>
using engine_type = d::engine<inmem::storage::memory, inmem::concurrency::optimistic, Durability, d::run_record_codec>;

// A derived index: how many live KV keys each run holds, from the batches alone.
struct key_counter final : d::batch_observer {
    std::map<std::string, bool> live; // full key -> present
    std::vector<inmem::version_t> versions;
    void loaded(std::string_view key, std::string_view, inmem::version_t) noexcept override {
        if (d::parse_stored_key<schema>(key)) live[std::string(key)] = true;
    }
    void applied(inmem::version_t version, std::span<const d::write_op> ops) noexcept override {
        versions.push_back(version);
        for (const auto& op : ops)
            if (d::parse_stored_key<schema>(op.key)) live[op.key] = op.op == d::write_op::kind::put;
    }
    std::size_t count() const {
        std::size_t n = 0;
        for (const auto& [key, present] : live) n += present;
        return n;
    }
};

d::write_op put(inmem::run_id run, std::string_view key, std::string_view value) {
    return {d::write_op::kind::put, d::run_data_key(0, run.value, 1, 0, key), inmem::encode(std::string(value))};
}

} // namespace

TEST_CASE("a finalizer completes its op under the lock, with the commit's version", "[engine]") {
    engine_type<inmem::durability::none> engine;
    const auto run = engine.begin_run({});
    d::write_op op = put(run, "journal/", "v");
    op.finalize = [](d::write_op& o, const d::commit_context& commit) {
        d::append_big_endian(o.key, commit.version);
        // It sees the store as of the commit: the key it will write is not there yet.
        if (commit.latest(o.key) != nullptr) o.bytes = "seen twice";
    };
    const auto version = engine.commit(run, std::span(&op, 1));
    std::string expected = d::run_data_key(0, run.value, 1, 0, "journal/");
    d::append_big_endian(expected, version);
    CHECK(engine.read_latest(expected, [](const d::stored_record* rec) { return rec ? rec->bytes : std::string("none"); }) ==
          inmem::encode(std::string("v")));
    CHECK(op.finalize == nullptr); // called once, then cleared

    // In a transaction the op stays unfinalized until commit: it is neither read back nor
    // checked for conflicts, and it is finalized with the transaction's commit version.
    inmem::basic_transaction<engine_type<inmem::durability::none>> tx(engine, run, {});
    tx.put(d::run_data_key(0, run.value, 1, 0, "j/"), "x", &d::append_commit_version);
    CHECK(tx.read(d::run_data_key(0, run.value, 1, 0, "j/"), [](const d::stored_record* r) { return r == nullptr; }));
    const auto committed = tx.commit();
    std::string journal = d::run_data_key(0, run.value, 1, 0, "j/");
    d::append_big_endian(journal, committed);
    CHECK(engine.read_latest(journal, [](const d::stored_record* r) { return r && r->bytes == "x"; }));
}

TEST_CASE("observers see the same batches live and in recovery", "[engine]") {
    inmem_test::temp_dir dir;
    key_counter live;
    inmem::run_id run;
    {
        engine_type<inmem::durability::strict> engine(dir.path(), {}, d::stamp_of<schema>(), {&live});
        run = engine.begin_run({});
        for (int i = 0; i < 20; ++i) {
            auto op = put(run, "k" + std::to_string(i % 7), "v");
            engine.commit(run, std::span(&op, 1));
        }
        engine.snapshot(); // what follows is replayed from the WAL, what precedes is loaded
        d::write_op erase{d::write_op::kind::erase, d::run_data_key(0, run.value, 1, 0, "k3"), {}};
        engine.commit(run, std::span(&erase, 1));
        auto op = put(run, "later", "v");
        engine.commit(run, std::span(&op, 1));
    }
    CHECK(live.count() == 7); // k0..k6, less k3, plus later
    CHECK(live.versions.size() == 1 + 20 + 2);
    for (std::size_t i = 1; i < live.versions.size(); ++i) CHECK(live.versions[i] == live.versions[i - 1] + 1);

    key_counter recovered;
    engine_type<inmem::durability::strict> engine(dir.path(), {}, d::stamp_of<schema>(), {&recovered});
    CHECK(recovered.live == live.live);
    CHECK(recovered.versions == std::vector<inmem::version_t>(live.versions.end() - 2, live.versions.end()));
    CHECK(recovered.count() == 7);
    // And it goes on observing the reopened engine's commits.
    auto op = put(run, "k3", "back");
    engine.commit(run, std::span(&op, 1));
    CHECK(recovered.count() == 8);
}
