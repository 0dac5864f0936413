// Prints describe<T>() and fingerprint_v<T> for a set of types, and a schema's fingerprint.
// fingerprint_portable.sh builds this with g++ and with clang++ and requires equal output:
// a fingerprint is written into files, so it must not depend on the compiler.
// (Not part of unit_tests: it is compiled by the script only.)
#include <inmem/schema/fingerprint.hpp>
#include <inmem/primitives/events.hpp>
#include <inmem/primitives/kv.hpp>
#include <inmem/primitives/states.hpp>
#include <inmem/schema/schema.hpp>

#include <array>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace probe {
enum class Status : std::uint8_t { idle, running };
struct Step {
    std::string name;
    std::optional<std::int32_t> retries;
};
template <class T>
struct Box {
    T value;
    std::vector<T> more;
};
struct Plan {
    std::string goal;
    std::vector<Step> steps;
    std::map<std::string, double> budget;
    std::unordered_map<std::int64_t, Box<std::string>> boxes;
    std::variant<std::monostate, Status, Box<Step>> choice;
    std::array<std::uint16_t, 3> ids;
    std::pair<char, char32_t> tag;
    std::tuple<bool, float, char8_t, char16_t> misc;
    std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds> created;
    std::chrono::duration<double, std::ratio<1, 3>> thirds;
};
// A clock of the user's, in a named namespace.
struct tick_clock {
    using rep = std::int64_t;
    using period = std::milli;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<tick_clock>;
    [[maybe_unused]] static constexpr bool is_steady = true;
};
struct Ticked {
    tick_clock::time_point at;
};
} // namespace probe

namespace {
struct Anon {
    int x;
    probe::Box<int> inner;
};
// A clock of the user's, in an unnamed namespace: gcc and clang spell its name differently
// ("{anonymous}::..." and "(anonymous namespace)::..."), so only its declared name may count.
struct anon_clock {
    using rep = std::int64_t;
    using period = std::milli;
    using duration = std::chrono::duration<rep, period>;
    using time_point = std::chrono::time_point<anon_clock>;
    [[maybe_unused]] static constexpr bool is_steady = true;
};
struct AnonTicked {
    anon_clock::time_point at;
};
} // namespace

// User clocks must declare a portable name (the storable check requires it).
template <>
struct inmem::schema_traits<probe::tick_clock> {
    static constexpr std::string_view name = "tick";
};
template <>
struct inmem::schema_traits<anon_clock> {
    static constexpr std::string_view name = "anon_tick";
};

template <class T>
void show(const char* label) {
    std::printf("%s\n  %s\n  %016" PRIx64 "\n", label, inmem::describe<T>().c_str(), inmem::fingerprint_v<T>);
}

int main() {
    show<std::int32_t>("int32_t");
    show<probe::Status>("Status");
    show<probe::Step>("Step");
    show<probe::Box<std::string>>("Box<string>");
    show<probe::Box<probe::Box<std::map<std::string, std::vector<int>>>>>("Box<Box<map>>");
    show<probe::Plan>("Plan");
    show<Anon>("Anon");
    show<probe::Ticked>("Ticked (user clock, named namespace)");
    show<AnonTicked>("AnonTicked (user clock, unnamed namespace)");

    using S = inmem::schema<inmem::kv<probe::Plan, std::string>, inmem::events<probe::Step, Anon>,
                            inmem::states<probe::Box<int>>>;
    std::printf("schema\n  %016" PRIx64 "\n", S::fingerprint);
    for (const auto& s : S::slot_infos)
        std::printf("  slot %s %016" PRIx64 "\n", std::string(inmem::to_string(s.kind)).c_str(), s.fingerprint);
    return 0;
}
