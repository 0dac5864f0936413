// The stress suite (meson test --suite stress; built with ThreadSanitizer by
// -Dstress_sanitizer=thread): real threads racing on one database under
// concurrency::optimistic. Every test checks an invariant that a lost update, a torn
// snapshot or a non-atomic commit would break.
#include "../support/linearizability.hpp"

#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <atomic>
#include <barrier>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Account {
    std::int64_t balance = 0;
};
struct OnCall {
    bool on = true;
};
struct Reg {
    std::int64_t v = 0;
};
struct Note {
    std::string text;
};
using stress_schema =
    inmem::schema<inmem::kv<Note>, inmem::states<Account, OnCall, Reg, inmem::counter>>;
using db_type = inmem::basic_database<stress_schema, inmem::durability::none>; // optimistic: the default
static_assert(std::is_same_v<db_type::concurrency_policy, inmem::concurrency::optimistic>);

// Sanitizers slow everything down ten times: the same races with fewer rounds.
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
constexpr int scale = 1;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
constexpr int scale = 1;
#else
constexpr int scale = 4;
#endif
#else
constexpr int scale = 4;
#endif

template <class F>
void run_threads(int n, F&& body) {
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) threads.emplace_back([&body, i] { body(i); });
    for (auto& t : threads) t.join();
}

} // namespace

TEST_CASE("N threads doing M compare-and-swap increments of one counter end at exactly N*M", "[stress]") {
    db_type db;
    const auto run = db.begin_run();
    auto counters = db.states<inmem::counter>();
    auto regs = db.states<Reg>();
    REQUIRE(regs.init(run, "r", Reg{0}));
    constexpr int threads = 8;
    const int per_thread = 1000 * scale;
    std::atomic<std::int64_t> cas_failures{0};
    run_threads(threads, [&](int) {
        for (int i = 0; i < per_thread; ++i) {
            counters.add(run, "hits", 1); // the helper: a cas loop
            // The same by hand, counting the lost races.
            for (;;) {
                const auto seen = regs.read("r");
                if (regs.cas(run, "r", seen->version, Reg{seen->value.v + 1})) break;
                cas_failures.fetch_add(1, std::memory_order_relaxed);
            }
        }
    });
    CHECK(counters.value("hits") == threads * per_thread);
    CHECK(regs.read("r")->value.v == threads * per_thread);
    CHECK(counters.writes(run).size() == static_cast<std::size_t>(threads * per_thread));
    INFO("lost cas races: " << cas_failures.load());
}

TEST_CASE("10 threads cas the same expected version: exactly one wins, the others see its version", "[stress]") {
    db_type db;
    const auto run = db.begin_run();
    auto regs = db.states<Reg>();
    constexpr int threads = 10;
    for (int round = 0; round < 50 * scale; ++round) {
        const std::string name = "r" + std::to_string(round);
        const auto start = regs.init(run, name, Reg{-1});
        REQUIRE(start);
        std::vector<inmem::cas_result> results(threads);
        std::barrier sync(threads);
        run_threads(threads, [&](int t) {
            sync.arrive_and_wait(); // all at once
            results[static_cast<std::size_t>(t)] = regs.cas(run, name, start.version, Reg{t});
        });
        int winners = 0;
        int winner = -1;
        for (int t = 0; t < threads; ++t)
            if (results[static_cast<std::size_t>(t)]) ++winners, winner = t;
        REQUIRE(winners == 1);
        const auto now = regs.read(name);
        CHECK(now->value.v == winner);
        CHECK(now->version == results[static_cast<std::size_t>(winner)].version);
        for (int t = 0; t < threads; ++t)
            if (t != winner) CHECK(results[static_cast<std::size_t>(t)].version == now->version);
    }
}

TEST_CASE("concurrent transfers keep the total constant in every snapshot", "[stress]") {
    db_type db;
    const auto run = db.begin_run();
    auto accounts = db.states<Account>();
    auto notes = db.kv<Note>();
    constexpr int n = 8;
    constexpr std::int64_t each = 1000;
    for (int i = 0; i < n; ++i) REQUIRE(accounts.init(run, "acct" + std::to_string(i), Account{each}));
    std::atomic<bool> stop{false};
    std::atomic<int> audits{0};
    std::atomic<int> bad_audits{0};
    std::atomic<int> transfers{0};
    const int per_thread = 300 * scale;
    std::vector<std::thread> auditors;
    for (int a = 0; a < 2; ++a)
        auditors.emplace_back([&] {
            while (!stop.load()) {
                db.transact(run, [&](auto& tx) {
                    std::int64_t total = 0;
                    for (int i = 0; i < n; ++i) total += accounts.read(tx, "acct" + std::to_string(i))->value.balance;
                    if (total != n * each) bad_audits.fetch_add(1);
                    audits.fetch_add(1);
                });
            }
        });
    run_threads(4, [&](int t) {
        std::mt19937 rng(static_cast<unsigned>(t));
        for (int i = 0; i < per_thread; ++i) {
            const int from = static_cast<int>(rng() % n);
            const int to = (from + 1 + static_cast<int>(rng() % (n - 1))) % n;
            const std::int64_t amount = static_cast<std::int64_t>(rng() % 50);
            db.transact(run, [&](auto& tx) {
                const auto a = accounts.read(tx, "acct" + std::to_string(from));
                const auto b = accounts.read(tx, "acct" + std::to_string(to));
                accounts.set(tx, "acct" + std::to_string(from), Account{a->value.balance - amount});
                accounts.set(tx, "acct" + std::to_string(to), Account{b->value.balance + amount});
                notes.put(tx, "last-" + std::to_string(t), Note{std::to_string(i)}); // KV rides along
            }, {.max_attempts = 1000});
            transfers.fetch_add(1);
        }
    });
    stop = true;
    for (auto& a : auditors) a.join();
    std::int64_t total = 0;
    for (int i = 0; i < n; ++i) total += accounts.read("acct" + std::to_string(i))->value.balance;
    CHECK(total == n * each);
    CHECK(transfers.load() == 4 * per_thread);
    CHECK(bad_audits.load() == 0);
    CHECK(audits.load() > 0);
    for (int t = 0; t < 4; ++t) CHECK(notes.get(run, "last-" + std::to_string(t))->text == std::to_string(per_thread - 1));
}

// Two doctors are on call; each may go off call if the other is still on. Both check, both
// go off: under snapshot isolation both commits succeed (they write different records) and
// nobody is left on call: write skew. Under serializable the second commit fails, because a
// record it read changed.
TEST_CASE("write skew: both doctors go off call under snapshot isolation, one under serializable", "[stress]") {
    for (auto level : {inmem::isolation::snapshot, inmem::isolation::serializable}) {
        CAPTURE(static_cast<int>(level));
        db_type db;
        const auto run = db.begin_run();
        auto doctors = db.states<OnCall>();
        REQUIRE(doctors.init(run, "alice", OnCall{true}));
        REQUIRE(doctors.init(run, "bob", OnCall{true}));
        auto go_off = [&](auto& tx, const char* me) {
            const int on = doctors.read(tx, "alice")->value.on + doctors.read(tx, "bob")->value.on;
            if (on >= 2) doctors.set(tx, me, OnCall{false});
        };
        auto alice = db.begin(run, {.level = level});
        auto bob = db.begin(run, {.level = level});
        go_off(alice, "alice");
        go_off(bob, "bob");
        alice.commit();
        int committed = 1;
        try {
            bob.commit();
            ++committed;
        } catch (const inmem::error& e) {
            CHECK(e.code() == inmem::errc::conflict);
        }
        const int on_call = doctors.read("alice")->value.on + doctors.read("bob")->value.on;
        if (level == inmem::isolation::snapshot) {
            CHECK(committed == 2); // the anomaly snapshot isolation allows
            CHECK(on_call == 0);
        } else {
            CHECK(committed == 1);
            CHECK(on_call == 1);
        }
    }

    // The same with threads and transact's retries: serializable never leaves nobody on call.
    for (int round = 0; round < 30 * scale; ++round) {
        db_type db;
        const auto run = db.begin_run();
        auto doctors = db.states<OnCall>();
        REQUIRE(doctors.init(run, "alice", OnCall{true}));
        REQUIRE(doctors.init(run, "bob", OnCall{true}));
        std::barrier sync(2);
        run_threads(2, [&](int t) {
            const char* me = t == 0 ? "alice" : "bob";
            sync.arrive_and_wait();
            db.transact(run, [&](auto& tx) {
                const int on = doctors.read(tx, "alice")->value.on + doctors.read(tx, "bob")->value.on;
                if (on >= 2) doctors.set(tx, me, OnCall{false});
            }, {.level = inmem::isolation::serializable});
        });
        CHECK(doctors.read("alice")->value.on + doctors.read("bob")->value.on == 1);
    }
}

namespace {

// Records a history of reads, writes (set) and CASes on `keys` registers by `threads`
// threads, through cas_fn (the real cas, or a broken one), and returns it for the checker.
// Every written value is unique, so a version identifies the value that write made.
using cas_fn = std::function<inmem::cas_result(inmem::state_handle<db_type::engine_type, Reg>&, inmem::run_id,
                                               const std::string&, inmem::version_t, Reg)>;

std::vector<inmem_test::lin::operation> record_history(int threads, int ops_per_thread, int keys, const cas_fn& cas) {
    using inmem_test::lin::operation;
    db_type db;
    const auto run = db.begin_run();
    auto regs = db.states<Reg>();
    std::map<inmem::version_t, std::int64_t> value_of; // what each version holds
    for (int k = 0; k < keys; ++k) value_of[regs.init(run, "k" + std::to_string(k), Reg{0}).version] = 0;
    inmem_test::lin::recorder rec(static_cast<std::size_t>(threads));
    // Per thread: (version, value) of its successful writes; (desired value, version found)
    // of its failed CASes (desired values are unique, so they name the op).
    std::vector<std::vector<std::pair<inmem::version_t, std::int64_t>>> written(static_cast<std::size_t>(threads));
    std::vector<std::vector<std::pair<std::int64_t, inmem::version_t>>> failed(static_cast<std::size_t>(threads));
    run_threads(threads, [&](int t) {
        auto& my_writes = written[static_cast<std::size_t>(t)];
        auto& my_failures = failed[static_cast<std::size_t>(t)];
        std::mt19937 rng(static_cast<unsigned>(t) * 7919u + 1);
        std::int64_t next_value = (static_cast<std::int64_t>(t) + 1) * 1'000'000;
        for (int i = 0; i < ops_per_thread; ++i) {
            const int k = static_cast<int>(rng() % static_cast<unsigned>(keys));
            const std::string name = "k" + std::to_string(k);
            operation op;
            op.key = static_cast<std::uint64_t>(k);
            op.thread = t;
            const unsigned dice = rng() % 10;
            if (dice < 3) { // read
                const auto ts = rec.invoke();
                const auto e = regs.read(name);
                op.op = operation::kind::read;
                op.value = e->value.v;
                rec.complete(op, ts);
            } else if (dice < 5) { // write
                const std::int64_t v = ++next_value;
                const auto ts = rec.invoke();
                const auto version = regs.set(run, name, Reg{v});
                op.op = operation::kind::write;
                op.value = v;
                rec.complete(op, ts);
                my_writes.emplace_back(version, v);
            } else { // read, then cas on what was read
                auto ts = rec.invoke();
                const auto seen = regs.read(name);
                op.op = operation::kind::read;
                op.value = seen->value.v;
                rec.complete(op, ts);
                const std::int64_t v = ++next_value;
                ts = rec.invoke();
                const auto r = cas(regs, run, name, seen->version, Reg{v});
                operation c = op;
                c.op = operation::kind::cas;
                c.expected = seen->value.v;
                c.value = v;
                c.ok = static_cast<bool>(r);
                rec.complete(c, ts);
                if (r) my_writes.emplace_back(r.version, v);
                else my_failures.emplace_back(v, r.version);
            }
        }
    });
    for (const auto& w : written)
        for (const auto& [version, v] : w) value_of[version] = v;
    std::map<std::int64_t, inmem::version_t> found_by; // failed cas (by desired value) -> version found
    for (const auto& f : failed)
        for (const auto& [desired, version] : f) found_by[desired] = version;
    auto history = rec.history();
    // A failed cas reports the version it found: the checker verifies the value it stands for.
    for (auto& op : history)
        if (op.op == operation::kind::cas && !op.ok) {
            const auto it = value_of.find(found_by.at(op.value));
            REQUIRE(it != value_of.end());
            op.observed = it->second;
        }
    return history;
}

} // namespace

TEST_CASE("a concurrent history of reads, writes and CAS on state records is linearizable per key", "[stress]") {
    const cas_fn real = [](auto& regs, inmem::run_id run, const std::string& name, inmem::version_t expected, Reg v) {
        return regs.cas(run, name, expected, v);
    };
    for (int round = 0; round < scale; ++round) {
        const auto history = record_history(6, 2000, 4, real);
        const auto verdict = inmem_test::lin::check(history);
        INFO(verdict.explanation);
        CHECK(verdict.outcome == inmem_test::lin::verdict::linearizable);
        CHECK(history.size() > 12000);
    }
}

TEST_CASE("the same checker catches a CAS made of a read and a separate write", "[stress]") {
    // Broken on purpose: check the version, then write unconditionally. Between the two another
    // write can land, and this one overwrites it while reporting success: a lost update.
    const cas_fn broken = [](auto& regs, inmem::run_id run, const std::string& name, inmem::version_t expected,
                             Reg v) -> inmem::cas_result {
        const auto now = regs.read(name);
        if (now->version != expected) return {false, now->version};
        std::this_thread::yield(); // widen the window
        return {true, regs.set(run, name, v)};
    };
    bool caught = false;
    for (int round = 0; round < 20 && !caught; ++round) {
        const auto verdict = inmem_test::lin::check(record_history(6, 400, 2, broken));
        caught = verdict.outcome == inmem_test::lin::verdict::not_linearizable;
        if (caught) INFO(verdict.explanation);
    }
    CHECK(caught);
}

TEST_CASE("scans and point reads see whole snapshots while the index and the groups grow", "[stress]") {
    db_type db;
    const auto run = db.begin_run();
    auto notes = db.kv<Note>();
    const int total = 3000 * scale;
    std::atomic<int> written{0};
    std::atomic<bool> done{false};
    auto key = [](int i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "k%08d", i);
        return std::string(buf);
    };
    std::vector<std::thread> readers;
    std::atomic<int> bad{0};
    for (int r = 0; r < 3; ++r)
        readers.emplace_back([&, r] {
            std::mt19937 rng(static_cast<unsigned>(r));
            std::size_t last = 0;
            while (!done.load()) {
                if (r == 0) { // each put is its own commit: a snapshot holds keys 0..n-1, no gaps
                    const auto listed = notes.list(run);
                    if (listed.size() < last) bad.fetch_add(1);
                    last = listed.size();
                    for (std::size_t i = 0; i < listed.size(); ++i)
                        if (listed[i].key != key(static_cast<int>(i))) {
                            bad.fetch_add(1);
                            break;
                        }
                } else { // every key written before is found
                    const int n = written.load();
                    if (n == 0) continue;
                    const int i = static_cast<int>(rng() % static_cast<unsigned>(n));
                    const auto got = notes.get(run, key(i));
                    if (!got || got->text != std::to_string(i)) bad.fetch_add(1);
                }
            }
        });
    for (int i = 0; i < total; ++i) {
        notes.put(run, key(i), Note{std::to_string(i)});
        written.store(i + 1);
    }
    done = true;
    for (auto& t : readers) t.join();
    CHECK(bad.load() == 0);
    CHECK(notes.list(run).size() == static_cast<std::size_t>(total));
}

TEST_CASE("a long transaction keeps its snapshot while writers overwrite everything", "[stress]") {
    db_type db;
    const auto run = db.begin_run();
    auto notes = db.kv<Note>();
    for (int i = 0; i < 100; ++i) notes.put(run, "k" + std::to_string(i), Note{"old"});
    auto reader = db.begin(run);
    std::atomic<bool> done{false};
    std::thread writer([&] {
        for (int round = 0; round < 20 * scale; ++round)
            for (int i = 0; i < 100; ++i) notes.put(run, "k" + std::to_string(i), Note{std::to_string(round)});
        done = true;
    });
    int checks = 0;
    while (!done.load() || checks == 0) {
        for (const auto& e : notes.list(reader)) CHECK(e.value.text == "old");
        ++checks;
    }
    writer.join();
    CHECK(notes.get(reader, "k5")->text == "old");
    reader.commit();
    CHECK(notes.get(run, "k5")->text == std::to_string(20 * scale - 1));
}
