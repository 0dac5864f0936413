// Tests of inmem/transaction.hpp: snapshots, atomic commits, conflicts, retries and
// isolation levels, over every concurrency x durability combination; atomicity across
// primitives through a crash.
#include "support.hpp"
#include "support/configurations.hpp"

#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <csignal>
#include <memory>
#include <random>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace {

struct Note {
    std::string text;
    int n = 0;
    bool operator==(const Note&) const = default;
};
struct Claim {
    std::string owner;
    int step = 0;
    bool operator==(const Claim&) const = default;
};
using tx_schema = inmem::schema<inmem::kv<Note>, inmem::states<Claim>>;

using all_modes = inmem_test::all_configurations<tx_schema>;

using inmem_test::test_database;
using inmem_test::error_of;

} // namespace

TEMPLATE_LIST_TEST_CASE("a transaction reads one snapshot and its own writes; its writes appear together at commit",
                        "[transactions]", all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run({.name = "t"});
    auto notes = db->template kv<Note>();
    notes.put(run, "a", Note{"a0", 0});
    const auto before = db->last_version();

    auto tx = db->begin(run);
    CHECK(tx.active());
    CHECK(tx.snapshot_version() == before);
    notes.put(run, "a", Note{"a1", 1}); // committed after the snapshot: tx does not see it
    notes.put(run, "b", Note{"b1", 1});
    CHECK(notes.get(tx, "a") == Note{"a0", 0});
    CHECK_FALSE(notes.get(tx, "b"));
    notes.put(tx, "c", Note{"c-tx", 2});
    notes.put(tx, "d", Note{"d-tx", 3});
    CHECK(notes.get(tx, "c") == Note{"c-tx", 2});   // its own write
    CHECK(notes.entry(tx, "c")->version == 0);      // not committed yet
    CHECK_FALSE(notes.get(run, "c"));               // nobody else sees it yet
    const auto at = tx.commit();
    CHECK_FALSE(tx.active());
    CHECK(tx.committed_version() == at);
    CHECK(at == before + 3); // one version for both writes
    CHECK(notes.entry(run, "c")->version == at);
    CHECK(notes.entry(run, "d")->version == at);
    CHECK(db->last_version() == at);

    // A read-only transaction commits at its snapshot and writes nothing.
    auto ro = db->begin(run);
    CHECK(notes.get(ro, "a") == Note{"a1", 1});
    CHECK(ro.commit() == at);
    CHECK(db->last_version() == at);

    if constexpr (test_database<TestType>::persistent) {
        db.reopen();
        auto n = db->template kv<Note>();
        CHECK(n.entry(run, "c")->version == at);
        CHECK(n.get(run, "d") == Note{"d-tx", 3});
    }
}

TEMPLATE_LIST_TEST_CASE("first committer wins: a write-write conflict fails the later commit and applies nothing",
                        "[transactions]", all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run();
    auto notes = db->template kv<Note>();
    notes.put(run, "x", Note{"x0", 0});

    auto first = db->begin(run);
    auto second = db->begin(run);
    notes.put(first, "x", Note{"first", 1});
    notes.put(second, "x", Note{"second", 2});
    notes.put(second, "y", Note{"second-y", 2});
    const auto won = first.commit();
    const auto version_after_first = db->last_version();
    CHECK(error_of([&] { second.commit(); }) == inmem::errc::conflict);
    CHECK_FALSE(second.active());
    CHECK(second.committed_version() == 0);
    CHECK(notes.get(run, "x") == Note{"first", 1});
    CHECK(notes.entry(run, "x")->version == won);
    CHECK_FALSE(notes.get(run, "y")); // nothing of the loser, not even its other key
    CHECK(db->last_version() == version_after_first);

    // A plain (non-transactional) write also counts: it came first.
    auto third = db->begin(run);
    notes.put(third, "x", Note{"third", 3});
    notes.put(run, "x", Note{"plain", 4});
    try {
        third.commit();
        FAIL("the commit should conflict");
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::conflict);
        CHECK(std::string(e.what()).find("key 'x' of run 1") != std::string::npos);
    }
    // Writes to different keys do not conflict.
    auto p = db->begin(run);
    auto q = db->begin(run);
    notes.put(p, "p", Note{"p", 1});
    notes.put(q, "q", Note{"q", 1});
    const auto pv = p.commit();
    CHECK(q.commit() > pv);

    // An erase that came first conflicts too.
    auto r = db->begin(run);
    notes.put(r, "p", Note{"r", 1});
    CHECK(notes.erase(run, "p"));
    CHECK(error_of([&] { r.commit(); }) == inmem::errc::conflict);
    CHECK_FALSE(notes.get(run, "p"));
}

TEMPLATE_LIST_TEST_CASE("an exception in transact's closure, an abort or a dropped transaction leaves no trace",
                        "[transactions]", all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run();
    auto notes = db->template kv<Note>();
    auto claims = db->template states<Claim>();
    CHECK(claims.init(run, "task", Claim{"nobody", 0}));
    const auto before = db->last_version();

    struct boom {};
    CHECK_THROWS_AS(db->transact(run,
                                 [&](auto& tx) {
                                     notes.put(tx, "k", Note{"lost", 1});
                                     claims.set(tx, "task", Claim{"lost", 1});
                                     throw boom{};
                                 }),
                    boom);
    {
        auto tx = db->begin(run);
        notes.put(tx, "k2", Note{"dropped", 1});
    } // destroyed open: aborted
    auto tx = db->begin(run);
    notes.put(tx, "k3", Note{"aborted", 1});
    tx.abort();
    CHECK_FALSE(tx.active());
    tx.abort(); // twice is fine

    auto check = [&](auto& d) {
        auto n = d.template kv<Note>();
        auto c = d.template states<Claim>();
        CHECK_FALSE(n.get(run, "k"));
        CHECK_FALSE(n.get(run, "k2"));
        CHECK_FALSE(n.get(run, "k3"));
        CHECK(c.read("task")->value == Claim{"nobody", 0});
        CHECK(c.writes(run).size() == 1); // the init only
        CHECK(d.last_version() == before);
    };
    check(*db);
    if constexpr (test_database<TestType>::persistent) {
        db.reopen();
        check(*db);
    }
}

TEMPLATE_LIST_TEST_CASE("transact retries a conflicted closure and gives up after max_attempts", "[transactions]",
                        all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run();
    auto notes = db->template kv<Note>();
    notes.put(run, "n", Note{"", 0});

    // The first attempt is overtaken by a plain write; the second succeeds.
    int calls = 0;
    const auto version = db->transact(run, [&](auto& tx) {
        ++calls;
        auto n = *notes.get(tx, "n");
        if (calls == 1) notes.put(run, "n", Note{"", 10}); // another writer gets in first
        notes.put(tx, "n", Note{"", n.n + 1});
    });
    CHECK(calls == 2);
    CHECK(notes.get(run, "n")->n == 11); // the retry read the other write
    CHECK(notes.entry(run, "n")->version == version);

    // A closure that always loses gives up with the conflict after max_attempts runs.
    calls = 0;
    inmem::transaction_options options;
    options.max_attempts = 3;
    options.first_backoff = std::chrono::microseconds(1);
    CHECK(error_of([&] {
              db->transact(
                  run,
                  [&](auto& tx) {
                      ++calls;
                      notes.put(tx, "n", Note{"tx", 0});
                      notes.put(run, "n", Note{"always first", calls});
                  },
                  options);
          }) == inmem::errc::conflict);
    CHECK(calls == 3);
    CHECK(notes.get(run, "n")->text == "always first");

    // A closure's result is transact's result.
    const int got = db->transact(run, [&](auto& tx) { return notes.get(tx, "n")->n * 2; });
    CHECK(got == 6);
}

TEMPLATE_LIST_TEST_CASE("serializable validates reads and listed ranges; snapshot isolation does not",
                        "[transactions]", all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run();
    auto notes = db->template kv<Note>();
    notes.put(run, "a", Note{"a", 1});
    notes.put(run, "t/1", Note{"t1", 1});
    const inmem::transaction_options serializable{.level = inmem::isolation::serializable};

    for (auto level : {inmem::isolation::snapshot, inmem::isolation::serializable}) {
        CAPTURE(static_cast<int>(level));
        // Read a, write b; meanwhile a changes.
        auto tx = db->begin(run, {.level = level});
        CHECK(tx.level() == level);
        CHECK(notes.get(tx, "a"));
        notes.put(tx, "b", Note{"b", 1});
        notes.put(run, "a", Note{"a", 2});
        CHECK(error_of([&] { tx.commit(); }) ==
              (level == inmem::isolation::serializable ? inmem::errc::conflict : inmem::errc::ok));

        // Read an absent key, write another; meanwhile the absent key appears.
        auto absent = db->begin(run, {.level = level});
        CHECK_FALSE(notes.get(absent, "ghost"));
        notes.put(absent, "c", Note{"c", 1});
        notes.put(run, "ghost", Note{"boo", 1});
        CHECK(error_of([&] { absent.commit(); }) ==
              (level == inmem::isolation::serializable ? inmem::errc::conflict : inmem::errc::ok));
        CHECK(notes.erase(run, "ghost"));
    }

    // Ranges: an insert, a change and an erase under a listed prefix each fail a serializable
    // commit; a change outside it does not.
    auto listed_then = [&](auto change) {
        auto tx = db->begin(run, serializable);
        CHECK(notes.list(tx, "t/").size() >= 1);
        notes.put(tx, "out", Note{"o", 1});
        change();
        return error_of([&] { tx.commit(); });
    };
    CHECK(listed_then([&] { notes.put(run, "t/2", Note{"t2", 1}); }) == inmem::errc::conflict);
    CHECK(listed_then([&] { notes.put(run, "t/1", Note{"t1", 2}); }) == inmem::errc::conflict);
    CHECK(listed_then([&] { notes.erase(run, "t/2"); }) == inmem::errc::conflict);
    CHECK(listed_then([&] { notes.put(run, "u/1", Note{"u", 1}); }) == inmem::errc::ok);
    CHECK(listed_then([&] {}) == inmem::errc::ok);
}

TEMPLATE_LIST_TEST_CASE("list in a transaction merges its writes and erasures with the snapshot, in key order",
                        "[transactions]", all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run();
    auto notes = db->template kv<Note>();
    for (const char* k : {"b", "d", "f"}) notes.put(run, k, Note{k, 0});
    auto tx = db->begin(run);
    notes.put(tx, "a", Note{"a-tx", 1});
    notes.put(tx, "d", Note{"d-tx", 1});
    CHECK(notes.erase(tx, "f"));
    CHECK_FALSE(notes.erase(tx, "zz"));
    notes.put(tx, "g", Note{"g-tx", 1});
    notes.put(run, "c", Note{"c-later", 0}); // after the snapshot: invisible
    std::vector<std::string> seen;
    for (const auto& e : notes.list(tx)) seen.push_back(e.key + "=" + e.value.text);
    CHECK(seen == std::vector<std::string>{"a=a-tx", "b=b", "d=d-tx", "g=g-tx"});
    CHECK(notes.list(tx, "d").size() == 1);
    CHECK_FALSE(notes.get(tx, "f"));
    tx.commit();
    seen.clear();
    for (const auto& e : notes.list(run)) seen.push_back(e.key + "=" + e.value.text);
    CHECK(seen == std::vector<std::string>{"a=a-tx", "b=b", "c=c-later", "d=d-tx", "g=g-tx"});
}

TEMPLATE_LIST_TEST_CASE("closed transactions, ended runs and unknown runs are refused clearly", "[transactions]",
                        all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run();
    auto notes = db->template kv<Note>();
    CHECK(error_of([&] { db->begin(inmem::run_id{99}); }) == inmem::errc::unknown_run);

    auto tx = db->begin(run);
    notes.put(tx, "k", Note{"k", 1});
    tx.commit();
    CHECK(error_of([&] { tx.commit(); }) == inmem::errc::transaction_closed);
    CHECK(error_of([&] { (void)notes.get(tx, "k"); }) == inmem::errc::transaction_closed);
    CHECK(error_of([&] { notes.put(tx, "k", Note{}); }) == inmem::errc::transaction_closed);

    // The run ends while a transaction of it is open: the commit is refused, nothing applied.
    auto late = db->begin(run);
    notes.put(late, "late", Note{"late", 1});
    db->end_run(run);
    CHECK(error_of([&] { late.commit(); }) == inmem::errc::run_not_active);
    CHECK_FALSE(notes.get(run, "late"));
    // Reading an ended run in a transaction is fine.
    auto reader = db->begin(run);
    CHECK(notes.get(reader, "k"));
    CHECK(reader.commit() == db->last_version());

    // A moved transaction carries its writes; the moved-from one is closed.
    auto other = db->begin_run();
    auto a = db->begin(other);
    notes.put(a, "m", Note{"moved", 1});
    auto b = std::move(a);
    CHECK_FALSE(a.active());
    b.commit();
    CHECK(notes.get(other, "m") == Note{"moved", 1});
}

TEMPLATE_LIST_TEST_CASE("KV writes and state records commit together or conflict together", "[transactions]",
                        all_modes) {
    test_database<TestType> db;
    auto run = db->begin_run();
    auto notes = db->template kv<Note>();
    auto claims = db->template states<Claim>();
    const auto created = claims.init(run, "job", Claim{"", 0});
    REQUIRE(created);

    // Claim the job and record it in working memory, atomically.
    auto tx = db->begin(run);
    const auto seen = claims.read(tx, "job");
    REQUIRE(seen);
    CHECK(claims.cas(tx, "job", seen->version, Claim{"me", 1}));
    notes.put(tx, "claimed", Note{"job", 1});
    CHECK(claims.read(tx, "job")->value == Claim{"me", 1}); // its own write
    CHECK(claims.read("job")->value == Claim{"", 0});        // others: not yet
    const auto v = tx.commit();
    CHECK(claims.read("job")->version == v);
    CHECK(claims.read("job")->writer == run);
    CHECK(notes.entry(run, "claimed")->version == v);

    // Two transactions claim the same record: the second commit conflicts, and its KV write
    // goes with it.
    auto one = db->begin(run);
    auto two = db->begin(run);
    const auto s1 = claims.read(one, "job");
    const auto s2 = claims.read(two, "job");
    CHECK(claims.cas(one, "job", s1->version, Claim{"one", 2}));
    CHECK(claims.cas(two, "job", s2->version, Claim{"two", 2}));
    notes.put(two, "two-was-here", Note{"two", 2});
    one.commit();
    CHECK(error_of([&] { two.commit(); }) == inmem::errc::conflict);
    CHECK(claims.read("job")->value.owner == "one");
    CHECK_FALSE(notes.get(run, "two-was-here"));
    // A cas in a transaction with a stale version reports the version the transaction sees.
    auto three = db->begin(run);
    const auto r = claims.cas(three, "job", v, Claim{"three", 3});
    CHECK_FALSE(r);
    CHECK(r.version == claims.read("job")->version);
    three.abort(); // a transaction must not outlive its database

    if constexpr (test_database<TestType>::persistent) {
        db.reopen();
        CHECK(db->template states<Claim>().read("job")->value.owner == "one");
        CHECK_FALSE(db->template kv<Note>().get(run, "two-was-here"));
        CHECK(db->template kv<Note>().get(run, "claimed"));
    }
}

// The child commits transactions that each write a KV entry and a state record, telling the
// parent after each commit returns; it is killed (SIGKILL) at a random moment, possibly in
// the middle of a commit, or while a transaction holds buffered writes. After reopening,
// every acknowledged transaction is there and every transaction is all or nothing.
TEST_CASE("a transaction over KV and state records is all or nothing through kill -9", "[transactions]") {
    using db_type = inmem::basic_database<tx_schema, inmem::durability::strict>;
    std::mt19937 rng(std::random_device{}());
    for (int round = 0; round < 12; ++round) {
        inmem_test::temp_dir dir;
        int acks[2];
        REQUIRE(::pipe(acks) == 0);
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
            ::close(acks[0]);
            db_type db(dir.path());
            auto run = db.begin_run();
            auto notes = db.kv<Note>();
            auto claims = db.states<Claim>();
            for (int i = 0;; ++i) {
                const bool hang = i == 40 + round; // this one stops with its writes buffered
                db.transact(run, [&](auto& tx) {
                    notes.put(tx, "n" + std::to_string(i), Note{"n", i});
                    claims.set(tx, "c" + std::to_string(i), Claim{"c", i});
                    notes.put(tx, "pad", Note{std::string(static_cast<std::size_t>(i % 7) * 300, 'x'), i});
                    if (hang) {
                        const char inside = 'h';
                        (void)!::write(acks[1], &inside, 1);
                        ::pause(); // killed here
                    }
                });
                const char ack = 'a';
                if (::write(acks[1], &ack, 1) != 1) ::_exit(1);
            }
        }
        ::close(acks[1]);
        int acknowledged = 0;
        const int stop_after = static_cast<int>(rng() % 60); // maybe before, maybe at the hang
        char c;
        while (acknowledged < stop_after && ::read(acks[0], &c, 1) == 1 && c == 'a') ++acknowledged;
        ::kill(child, SIGKILL);
        int status = 0;
        ::waitpid(child, &status, 0);
        ::close(acks[0]);

        db_type db(dir.path());
        auto notes = db.kv<Note>();
        auto claims = db.states<Claim>();
        const inmem::run_id run{1};
        if (db.runs().empty()) { // killed before begin_run was durable: nothing else can be there
            CHECK(acknowledged == 0);
            CHECK_FALSE(claims.read("c0"));
            continue;
        }
        int present = 0;
        for (int i = 0; i < 200; ++i) {
            const bool kv = notes.get(run, "n" + std::to_string(i)).has_value();
            const bool st = claims.read("c" + std::to_string(i)).has_value();
            CAPTURE(round, i, acknowledged);
            CHECK(kv == st); // all or nothing
            if (kv) {
                ++present;
                CHECK(i == present - 1); // a prefix: no gaps
            }
        }
        CHECK(present >= acknowledged);
        CHECK(present <= 40 + round); // the hung transaction never committed
        CHECK(claims.writes(run).size() == static_cast<std::size_t>(present));
    }
}
