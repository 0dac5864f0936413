// A time_point of a user clock needs a portable name, or gcc and clang would fingerprint it
// differently.
// expect: inmem: a time_point of a clock other than system_clock or steady_clock needs a portable name
#include <inmem/inmem.hpp>

#include <chrono>

struct tick_clock {
    using rep = std::int64_t;
    using period = std::milli;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<tick_clock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept { return time_point{}; }
};

#ifndef INMEM_EXPECT_FAIL
template <>
struct inmem::schema_traits<tick_clock> {
    static constexpr std::string_view name = "tick_clock";
};
#endif

struct Deadline {
    tick_clock::time_point at;
};

int main() {
    inmem::database<inmem::schema<inmem::kv<Deadline>>> db;
    (void)db.begin_run();
}
