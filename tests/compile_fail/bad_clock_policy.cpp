// A clock policy whose now() does not give a std::chrono::system_clock::time_point (here: a
// steady_clock one, which has no calendar meaning) fails at basic_database, naming the concept.
// expect: inmem: this clock policy does not meet inmem::clock_policy
#include <inmem/inmem.hpp>

#include <chrono>
#include <string>

struct Plan {
    std::string goal;
};

struct uptime_clock {
    using policy_kind = inmem::clock_kind;
#ifdef INMEM_EXPECT_FAIL
    std::chrono::steady_clock::time_point now() const noexcept { return std::chrono::steady_clock::now(); }
#else
    std::chrono::system_clock::time_point now() const noexcept { return std::chrono::system_clock::now(); }
#endif
};

int main() {
    inmem::basic_database<inmem::schema<inmem::kv<Plan>>, uptime_clock, inmem::durability::none> db;
    auto run = db.begin_run();
    db.kv<Plan>().put(run, "p", Plan{"x"});
}
