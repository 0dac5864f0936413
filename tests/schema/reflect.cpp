// Tests of inmem/schema/reflect.hpp: type names and field names, derived from the compiler
// or declared through inmem::schema_traits<T>.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// A plain struct at global scope (a name unlikely to clash with other test files).
struct ReflectTestPlain {
    std::string goal;
    std::int32_t budget;
    bool done;
};

namespace reflect_test::deep::er {
struct Named {
    double alpha;
    std::vector<std::string> beta_values;
    std::int64_t _gamma3;
};

template <class T>
struct Box {
    T value;
    std::uint32_t count;
};

// (A std::array of a non-trivial type as a member makes gcc 12 crash inside Boost.PFR, so the
// extent parameter is used with a trivial element type.)
template <class K, class V, std::size_t N>
struct Table {
    std::map<K, V> entries;
    std::array<K, N> spare;
};

struct Outer {
    struct Inner {
        int inner_field;
    };
    Inner in;
    int after;
};
} // namespace reflect_test::deep::er

namespace {
struct Anon {
    int x;
    std::string why_not;
};

template <class T>
struct AnonBox {
    T held;
};

struct Empty {};

// 30 fields of mixed types; each name is distinct, so a wrong index shows.
struct Wide {
    int f00; double f01; std::string f02; bool f03; char f04; std::int64_t f05; std::uint8_t f06;
    float f07; std::vector<int> f08; int f09; int f10; int f11; int f12; int f13; int f14;
    std::string f15; int f16; int f17; int f18; int f19; int f20; int f21; int f22; int f23;
    int f24; int f25; int f26; int f27; int f28; std::array<int, 2> last_one;
};

// Declared names: field_names replaces the derived ones, name replaces the type's name.
struct Declared {
    int a;
    std::string b;
};
struct NamedOnly {
    int value;
};
struct FieldsOnly {
    int value;
    int other;
};
} // namespace

template <>
struct inmem::schema_traits<Declared> {
    static constexpr std::string_view name = "Plan";
    static constexpr std::array<std::string_view, 2> field_names = {"goal_text", "budget_cents"};
};
template <>
struct inmem::schema_traits<NamedOnly> {
    static constexpr std::string_view name = "renamed.Type";
};
template <>
struct inmem::schema_traits<FieldsOnly> {
    static constexpr std::array<std::string_view, 2> field_names = {"one", "two"};
};

namespace {
template <std::size_t N>
std::vector<std::string> as_strings(const std::array<std::string_view, N>& names) {
    return {names.begin(), names.end()};
}
using names = std::vector<std::string>;
} // namespace

TEST_CASE("field_names of a plain struct at global scope", "[reflect]") {
    constexpr auto n = inmem::detail::field_names<ReflectTestPlain>();
    STATIC_REQUIRE(n.size() == 3);
    CHECK(as_strings(n) == names{"goal", "budget", "done"});
}

TEST_CASE("field_names of structs in namespaces and nested classes", "[reflect]") {
    using namespace reflect_test::deep::er;
    CHECK(as_strings(inmem::detail::field_names<Named>()) == names{"alpha", "beta_values", "_gamma3"});
    CHECK(as_strings(inmem::detail::field_names<Outer>()) == names{"in", "after"});
    CHECK(as_strings(inmem::detail::field_names<Outer::Inner>()) == names{"inner_field"});
}

TEST_CASE("field_names of structs in an anonymous namespace", "[reflect]") {
    CHECK(as_strings(inmem::detail::field_names<Anon>()) == names{"x", "why_not"});
    CHECK(as_strings(inmem::detail::field_names<AnonBox<Anon>>()) == names{"held"});
    STATIC_REQUIRE(inmem::detail::field_names<Empty>().empty());
}

TEST_CASE("field_names of class template instances", "[reflect]") {
    using namespace reflect_test::deep::er;
    CHECK(as_strings(inmem::detail::field_names<Box<int>>()) == names{"value", "count"});
    CHECK(as_strings(inmem::detail::field_names<Box<std::string>>()) == names{"value", "count"});
    CHECK(as_strings(inmem::detail::field_names<Box<std::map<std::string, std::vector<int>>>>()) ==
          names{"value", "count"});
    CHECK(as_strings(inmem::detail::field_names<Box<Box<Anon>>>()) == names{"value", "count"});
    CHECK(as_strings(inmem::detail::field_names<Table<int, std::string, 3>>()) == names{"entries", "spare"});
    CHECK(as_strings(inmem::detail::field_names<Box<std::array<double, 4>>>()) == names{"value", "count"});
}

TEST_CASE("field_names of a struct with 30 fields", "[reflect]") {
    constexpr auto n = inmem::detail::field_names<Wide>();
    STATIC_REQUIRE(n.size() == 30);
    names expected;
    for (int i = 0; i < 29; ++i) expected.push_back((i < 10 ? "f0" : "f") + std::to_string(i));
    expected.push_back("last_one");
    CHECK(as_strings(n) == expected);
}

TEST_CASE("schema_traits declare field names and type names", "[reflect]") {
    CHECK(as_strings(inmem::detail::field_names<Declared>()) == names{"goal_text", "budget_cents"});
    CHECK(inmem::detail::type_name<Declared>() == "Plan");

    // Only a name: field names are still derived.
    CHECK(inmem::detail::type_name<NamedOnly>() == "renamed.Type");
    CHECK(as_strings(inmem::detail::field_names<NamedOnly>()) == names{"value"});

    // Only field names: the type name is still derived.
    CHECK(as_strings(inmem::detail::field_names<FieldsOnly>()) == names{"one", "two"});
    CHECK(std::string_view(inmem::detail::type_name<FieldsOnly>()).ends_with("::FieldsOnly"));
}

TEST_CASE("type_name of user types", "[reflect]") {
    using namespace reflect_test::deep::er;
    CHECK(inmem::detail::type_name<ReflectTestPlain>() == "ReflectTestPlain");
    CHECK(inmem::detail::type_name<Named>() == "reflect_test::deep::er::Named");
    CHECK(inmem::detail::type_name<Outer::Inner>() == "reflect_test::deep::er::Outer::Inner");
    CHECK(inmem::detail::type_name<Box<int>>() == "reflect_test::deep::er::Box<int>");
    CHECK(inmem::detail::type_name<Box<Named>>() ==
          "reflect_test::deep::er::Box<reflect_test::deep::er::Named>");
    // The spelling of the unnamed namespace is the compiler's ("{anonymous}" or
    // "(anonymous namespace)"); the rest is not.
    constexpr std::string_view anon = inmem::detail::type_name<Anon>();
    CHECK(anon.ends_with("::Anon"));
    CHECK(anon.find("anonymous") != std::string_view::npos);
    // Standard types keep the compiler's spelling; the name is at least non-empty and
    // free of the surrounding __PRETTY_FUNCTION__ text.
    constexpr std::string_view i = inmem::detail::type_name<int>();
    CHECK(i == "int");
    CHECK(inmem::detail::type_name<std::uint8_t>() == "unsigned char");
}

TEST_CASE("parse_type_name reads the formats of gcc and clang", "[reflect]") {
    using inmem::detail::parse_type_name;
    // Golden: what gcc 12 and clang 14 print for raw_type_name<ns::Plan>().
    CHECK(parse_type_name("consteval std::string_view inmem::detail::raw_type_name() [with T = ns::Plan; "
                          "std::string_view = std::basic_string_view<char>]") == "ns::Plan");
    CHECK(parse_type_name("std::string_view inmem::detail::raw_type_name() [T = ns::Plan]") == "ns::Plan");
    CHECK(parse_type_name("std::string_view inmem::detail::raw_type_name() [T = std::map<int, int>]") ==
          "std::map<int, int>");
}

TEST_CASE("parse_field_name reads the formats of gcc and clang", "[reflect]") {
    using inmem::detail::parse_field_name;
    // Golden: what gcc 12 and clang 14 print for raw_field_name<ptr_holder<...>{&field}>().
    CHECK(parse_field_name("consteval std::string_view inmem::detail::raw_field_name() [with auto Holder = "
                           "ptr_holder<double>{(& fake_object<ns::Plan>.fake_holder<ns::Plan>::value."
                           "ns::Plan::budget)}; std::string_view = std::basic_string_view<char>]") == "budget");
    CHECK(parse_field_name("consteval std::string_view inmem::detail::raw_field_name() [with auto Holder = "
                           "ptr_holder<int>{(& fake_object<{anonymous}::Anon>.fake_holder<{anonymous}::Anon>"
                           "::value.{anonymous}::Anon::x)}; std::string_view = std::basic_string_view<char>]") ==
          "x");
    CHECK(parse_field_name("consteval std::string_view inmem::detail::raw_field_name() [with auto Holder = "
                           "ptr_holder<int>{(& fake_object<TD<1.5e+0> >.fake_holder<TD<1.5e+0> >::value."
                           "TD<1.5e+0>::a)}; std::string_view = std::basic_string_view<char>]") == "a");
    CHECK(parse_field_name("std::string_view inmem::detail::raw_field_name() [Holder = {&fake_object.value.budget}]") ==
          "budget");
    CHECK(parse_field_name("no member here").empty());
    CHECK(parse_field_name("a.b but no closing pair").empty());
}

// gcc prints the member of a class declared inside a function as "fn()::Local::x", and of a
// template instance with a function type argument as "F<void(int)>::a": the parentheses in
// front of the member must not end the name.
namespace {
template <class F>
struct WithFunctionArg {
    int a;
    double b;
};
} // namespace

TEST_CASE("field_names of a function-local struct and of a template on a function type", "[reflect]") {
    struct Local {
        int x;
        double y;
    };
    CHECK(as_strings(inmem::detail::field_names<Local>()) == names{"x", "y"});
    CHECK(as_strings(inmem::detail::field_names<WithFunctionArg<void(int)>>()) == names{"a", "b"});
    CHECK(as_strings(inmem::detail::field_names<WithFunctionArg<Local (*)(Local)>>()) == names{"a", "b"});
    auto make = [] {
        struct InLambda {
            int p;
            std::string q;
        };
        return InLambda{};
    };
    CHECK(as_strings(inmem::detail::field_names<decltype(make())>()) == names{"p", "q"});

    // The same texts as gcc 12 prints them, whichever compiler builds this test.
    using inmem::detail::parse_field_name;
    CHECK(parse_field_name("consteval std::string_view inmem::detail::raw_field_name() [with auto Holder = "
                           "ptr_holder<int>{(& fake_object<main()::Local>.fake_holder<main()::Local>::value."
                           "main()::Local::x)}; std::string_view = std::basic_string_view<char>]") == "x");
    CHECK(parse_field_name("consteval std::string_view inmem::detail::raw_field_name() [with auto Holder = "
                           "ptr_holder<int>{(& fake_object<TF<void(int)> >.fake_holder<TF<void(int)> >::value."
                           "TF<void(int)>::a)}; std::string_view = std::basic_string_view<char>]") == "a");
}

TEST_CASE("is_identifier accepts exactly C++ identifiers", "[reflect]") {
    using inmem::detail::is_identifier;
    STATIC_REQUIRE(is_identifier("x"));
    STATIC_REQUIRE(is_identifier("_a1"));
    STATIC_REQUIRE(is_identifier("CamelCase_9"));
    STATIC_REQUIRE_FALSE(is_identifier(""));
    STATIC_REQUIRE_FALSE(is_identifier("1a"));
    STATIC_REQUIRE_FALSE(is_identifier("main("));
    STATIC_REQUIRE_FALSE(is_identifier("a::b"));
    STATIC_REQUIRE_FALSE(is_identifier("a b"));
}
