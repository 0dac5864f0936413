// Tests of inmem/concurrency/run_statuses.hpp: run ids dense from 1 but for gaps, looked up
// without a lock while one writer adds runs and gaps (the stress suite runs the concurrent
// case under ThreadSanitizer).
#include <catch2/catch.hpp>
#include <inmem/concurrency/run_statuses.hpp>

#include <atomic>
#include <thread>
#include <vector>

using inmem::run_id;
using inmem::run_status;
using inmem::detail::run_statuses;

TEST_CASE("run_statuses: runs and gaps, looked up by id", "[statuses]") {
    run_statuses s;
    CHECK(s.next_id() == 1);
    CHECK_FALSE(s.get(run_id{0}));
    CHECK_FALSE(s.get(run_id{1}));
    for (int i = 0; i < 3; ++i) s.reserve(), s.push_back(run_status::active); // 1, 2, 3
    s.add_gap(10);                                                            // 4..10
    s.reserve(), s.push_back(run_status::completed);                          // 11
    s.add_gap(std::uint64_t{1} << 40);                                        // a huge gap costs nothing
    s.reserve(), s.push_back(run_status::failed);                             // 2^40 + 1
    CHECK(s.size() == 5);
    CHECK(s.next_id() == (std::uint64_t{1} << 40) + 2);
    CHECK(s.get(run_id{3}) == run_status::active);
    CHECK_FALSE(s.get(run_id{4}));
    CHECK(s.in_gap(run_id{4}));
    CHECK(s.in_gap(run_id{10}));
    CHECK(s.get(run_id{11}) == run_status::completed);
    CHECK_FALSE(s.in_gap(run_id{11}));
    CHECK(s.in_gap(run_id{12}));
    CHECK(s.get(run_id{(std::uint64_t{1} << 40) + 1}) == run_status::failed);
    CHECK_FALSE(s.get(run_id{(std::uint64_t{1} << 40) + 2}));
    CHECK_FALSE(s.in_gap(run_id{(std::uint64_t{1} << 40) + 2}));
    s.set(run_id{11}, run_status::interrupted);
    CHECK(s.get(run_id{11}) == run_status::interrupted);
    std::vector<std::uint64_t> ids;
    s.for_each([&](run_id id, run_status) { ids.push_back(id.value); });
    CHECK(ids == std::vector<std::uint64_t>{1, 2, 3, 11, (std::uint64_t{1} << 40) + 1});
    s.add_gap(5); // a gap that ends before next_id() adds nothing
    CHECK(s.next_id() == (std::uint64_t{1} << 40) + 2);
}

TEST_CASE("run_statuses: readers see every run with its gaps while the writer adds them", "[statuses][stress]") {
    run_statuses s;
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> problems{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t)
        readers.emplace_back([&] {
            while (!done.load(std::memory_order_acquire)) {
                const std::uint64_t next = s.next_id();
                // Run k is at id 1 + 11 * (k - 1): each run follows a gap of 10 ids.
                for (std::uint64_t id = 1; id < next; ++id) {
                    const bool run = (id - 1) % 11 == 0;
                    const auto status = s.get(run_id{id});
                    if (run != status.has_value() || (!run && !s.in_gap(run_id{id})) ||
                        (status && *status != run_status::active))
                        problems.fetch_add(1);
                }
            }
        });
    for (int k = 0; k < 2000; ++k) {
        s.reserve();
        s.push_back(run_status::active);
        s.add_gap(s.next_id() + 9);
    }
    done = true;
    for (auto& r : readers) r.join();
    CHECK(problems == 0);
    CHECK(s.size() == 2000);
}
