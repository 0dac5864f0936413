// Tests of inmem/concurrency/snapshots.hpp: the registries of pinned snapshots, shared_snapshots
// (concurrency::optimistic) and local_snapshots (concurrency::single_thread). pin, pin_at,
// unpin and oldest() against a model; and the shared registry's claim: a writer that frees
// only what is older than oldest() never frees what a pinned reader can still read, while
// readers pin and unpin concurrently (tagged [stress] too, for the ThreadSanitizer stress suite).
#include <catch2/catch.hpp>
#include <inmem/concurrency/optimistic.hpp>
#include <inmem/concurrency/single_thread.hpp>
#include <inmem/concurrency/snapshots.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

using inmem::version_t;
using inmem::detail::local_snapshots;
using inmem::detail::shared_snapshots;

TEST_CASE("snapshots: each concurrency policy has its registry", "[snapshots]") {
    STATIC_REQUIRE(std::is_same_v<inmem::concurrency::optimistic::snapshots_type, shared_snapshots>);
    STATIC_REQUIRE(std::is_same_v<inmem::concurrency::single_thread::snapshots_type, local_snapshots>);
    STATIC_REQUIRE(shared_snapshots::point_reads_pin);  // a concurrent writer may free at any time
    STATIC_REQUIRE_FALSE(local_snapshots::point_reads_pin);
}

TEMPLATE_TEST_CASE("snapshots: oldest is the oldest pin, or the visible version", "[snapshots]", shared_snapshots,
                   local_snapshots) {
    TestType s;
    std::atomic<version_t> visible{5};
    CHECK(s.oldest(visible) == 5); // nothing pinned
    typename TestType::pin_type a{}, b{}, c{}, d{};
    CHECK(s.pin(visible, a) == 5);
    visible = 9;
    CHECK(s.oldest(visible) == 5); // the pin holds it back
    CHECK(s.pin(visible, b) == 9);
    CHECK(s.pin(visible, c) == 9); // two readers at one version
    visible = 12;
    CHECK(s.oldest(visible) == 5);
    s.pin_at(3, d); // older than every other pin
    CHECK(s.oldest(visible) == 3);
    s.unpin(d);
    CHECK(s.oldest(visible) == 5);
    s.unpin(a);
    CHECK(s.oldest(visible) == 9); // released: oldest advances
    s.unpin(b);
    CHECK(s.oldest(visible) == 9); // c still holds 9
    s.unpin(c);
    CHECK(s.oldest(visible) == 12);
    visible = 20;
    CHECK(s.oldest(visible) == 20);
    s.pin_at(20, a); // the latest version, as a writer under its lock does
    visible = 21;
    CHECK(s.oldest(visible) == 20);
    s.unpin(a);
    CHECK(s.oldest(visible) == 21);
}

TEMPLATE_TEST_CASE("snapshots: random pins and unpins match a model", "[snapshots]", shared_snapshots,
                   local_snapshots) {
    TestType s;
    std::atomic<version_t> visible{1};
    std::vector<std::pair<typename TestType::pin_type, version_t>> held; // 300 at most: several chunks
    std::mt19937_64 rng(11);
    for (int step = 0; step < 20000; ++step) {
        const auto op = rng() % 8;
        if (op < 3 && held.size() < 300) {
            typename TestType::pin_type p{};
            const version_t at = s.pin(visible, p);
            REQUIRE(at == visible.load());
            held.emplace_back(p, at);
        } else if (op == 3 && held.size() < 300) {
            typename TestType::pin_type p{};
            const version_t at = visible - rng() % visible; // any version up to the visible one
            s.pin_at(at, p);
            held.emplace_back(p, at);
        } else if (op < 7 && !held.empty()) {
            const std::size_t i = rng() % held.size();
            s.unpin(held[i].first);
            held.erase(held.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
            visible += rng() % 4;
        }
        version_t expected = visible;
        for (const auto& h : held) expected = std::min(expected, h.second);
        REQUIRE(s.oldest(visible) == expected);
    }
    for (const auto& h : held) s.unpin(h.first);
    CHECK(s.oldest(visible) == visible.load());
}

TEST_CASE("snapshots: shared registries are independent and reuse their slots", "[snapshots]") {
    shared_snapshots one, two;
    std::atomic<version_t> visible{7};
    shared_snapshots::pin_type p{};
    one.pin_at(2, p);
    CHECK(one.oldest(visible) == 2);
    CHECK(two.oldest(visible) == 7);
    shared_snapshots::unpin(p);
    for (int i = 0; i < 10000; ++i) { // a slot freed is claimed again: this does not grow
        shared_snapshots::pin_type q{};
        CHECK(two.pin(visible, q) == 7);
        shared_snapshots::unpin(q);
    }
    CHECK(one.oldest(visible) == 7);
    CHECK(two.oldest(visible) == 7);
}

TEST_CASE("snapshots: a reader's pin is never below an oldest() the writer computed while it was held",
          "[snapshots][stress]") {
    // Readers pin, check the writer has not already passed them, and unpin; the writer advances
    // visible and calls oldest() after each step, publishing the largest result in max_oldest
    // (what it would free below). A pin at `at` is safe iff every oldest() that finished before
    // the unpin is <= at: those computed before the pin are <= the visible version then <= at.
    constexpr int readers_n = 3, rounds = 20000;
    shared_snapshots s;
    std::atomic<version_t> visible{1}, max_oldest{0};
    std::atomic<int> readers_left{readers_n};
    std::atomic<std::uint64_t> busy{0};
    std::atomic<std::uint64_t> unsafe{0}, future{0}, out_of_order{0}, above_visible{0}, went_back{0}, writer_pin{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < readers_n; ++t)
        readers.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                shared_snapshots::pin_type p{}, q{};
                const version_t at = s.pin(visible, p);
                if (at > visible.load()) future.fetch_add(1);
                const bool nested = (r + t) % 4 == 0; // sometimes a second reader on this thread
                const version_t at2 = nested ? s.pin(visible, q) : at;
                if (at2 < at) out_of_order.fetch_add(1);
                if (r % 64 == 0) std::this_thread::yield(); // hold the pin across the writer's steps
                if (max_oldest.load() > at) unsafe.fetch_add(1); // the writer would have freed our version
                if (nested) {
                    if (max_oldest.load() > at2) unsafe.fetch_add(1);
                    shared_snapshots::unpin(q);
                }
                shared_snapshots::unpin(p);
                if (r % 64 == 32) std::this_thread::yield(); // and let it step with no pin held
                // Time unpinned, so that the writer often finds no older pin than one it is racing
                // with: a pin that skipped the claiming protocol would then be passed, and caught.
                for (int k = 0; k < 64; ++k) busy.fetch_add(1, std::memory_order_relaxed);
            }
            readers_left.fetch_sub(1);
        });
    version_t v = 1, last_nonzero = 0;
    auto step = [&] {
        visible.store(++v);
        const version_t o = s.oldest(visible);
        if (o > v) above_visible.fetch_add(1);
        if (o == 0) return o; // a reader between claiming and pinning: free nothing this time
        if (o < last_nonzero) went_back.fetch_add(1); // would have freed what it now says is live
        last_nonzero = o;
        if (o > max_oldest.load(std::memory_order_relaxed)) max_oldest.store(o);
        return o;
    };
    for (int i = 0; readers_left.load() > 0 || i < 2000; ++i) {
        step();
        if (i % 64 == 0) { // the writer pins the latest version under its lock, as commits do
            shared_snapshots::pin_type w{};
            const version_t at = v;
            s.pin_at(at, w);
            for (int k = 0; k < 3; ++k)
                if (step() > at) writer_pin.fetch_add(1);
            shared_snapshots::unpin(w);
        }
    }
    for (auto& r : readers) r.join();
    CHECK(unsafe == 0);
    CHECK(future == 0);
    CHECK(out_of_order == 0);
    CHECK(above_visible == 0);
    CHECK(went_back == 0);
    CHECK(writer_pin == 0);
    CHECK(max_oldest > 1); // the writer did advance past the first version
    CHECK(s.oldest(visible) == v); // every pin released
}
