// inmem/schema/reflect.hpp: names of types and fields, without macros.
//
// Fields are reached with Boost.PFR. Names come from schema_traits<T> when the user declares
// them, otherwise from the compiler: the text of __PRETTY_FUNCTION__ for a template whose
// argument points at the field of an object that is declared but never defined. gcc 12 and
// clang 14 both print the member's name there (clang only when the pointer is wrapped in a
// class-type argument, hence ptr_holder). The derived names are checked at compile time: a
// compiler that prints something else makes the fallback (declared names) necessary.
#pragma once

#include <inmem/schema/customize.hpp>

#include <boost/pfr/core.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>

namespace inmem::detail {

template <class T>
consteval std::string_view raw_type_name() {
    return __PRETTY_FUNCTION__;
}

// "... [with T = ns::Plan; std::string_view = ...]" (gcc) or "... [T = ns::Plan]" (clang).
constexpr std::string_view parse_type_name(std::string_view s) {
    auto start = s.find("T = ");
    if (start == std::string_view::npos) return s;
    start += 4;
    auto stop = s.find(';', start);
    if (stop == std::string_view::npos) stop = s.rfind(']');
    return s.substr(start, stop - start);
}

template <class T>
concept declares_name = requires { std::string_view{schema_traits<T>::name}; };

template <class T>
concept declares_field_names = requires {
    { schema_traits<T>::field_names.size() } -> std::convertible_to<std::size_t>;
};

/// A readable name of T: declared through schema_traits<T>::name, else the compiler's.
template <class T>
consteval std::string_view type_name() {
    if constexpr (declares_name<T>) return schema_traits<T>::name;
    else return parse_type_name(raw_type_name<T>());
}

template <class T>
struct fake_holder {
    const T value;
};
// Declared, never defined: only the addresses of its members are taken, at compile time.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wundefined-var-template"
#pragma clang diagnostic ignored "-Wundefined-internal"
#endif
template <class T>
extern const fake_holder<T> fake_object;

template <class P>
struct ptr_holder {
    const P* ptr;
};

template <auto Holder>
consteval std::string_view raw_field_name() {
    return __PRETTY_FUNCTION__;
}

constexpr bool is_identifier_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The member's name is the identifier that closes the template argument: gcc prints
// "(& fake_object<P>.<...>::value.Plan::budget)}", clang "{&fake_object.value.budget}]".
// Searching for that closing pair and walking back over identifier characters copes with
// qualifiers such as "{anonymous}::" or "main()::Local::" in front of the member.
constexpr std::string_view parse_field_name(std::string_view s) {
    auto dot = s.rfind('.');
    if (dot == std::string_view::npos) return {};
    s.remove_prefix(dot + 1);
    auto end = std::min(s.find(")}"), s.find("}]"));
    if (end == std::string_view::npos) return {};
    auto begin = end;
    while (begin > 0 && is_identifier_char(s[begin - 1])) --begin;
    return s.substr(begin, end - begin);
}

constexpr bool is_identifier(std::string_view s) {
    if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
    for (char c : s)
        if (!is_identifier_char(c)) return false;
    return true;
}

template <std::size_t N>
constexpr bool all_identifiers(const std::array<std::string_view, N>& names) {
    for (auto name : names)
        if (!is_identifier(name)) return false;
    return true;
}

template <class T, std::size_t I>
consteval std::string_view derived_field_name() {
    constexpr const auto& field = boost::pfr::get<I>(fake_object<T>.value);
    using field_type = std::remove_cvref_t<decltype(field)>;
    return parse_field_name(raw_field_name<ptr_holder<field_type>{&field}>());
}
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

template <class T, std::size_t... I>
consteval std::array<std::string_view, sizeof...(I)> derived_field_names(std::index_sequence<I...>) {
    return {derived_field_name<T, I>()...};
}

/// The names of T's fields, in declaration order.
template <class T>
consteval auto field_names() {
    constexpr std::size_t n = boost::pfr::tuple_size_v<T>;
    if constexpr (declares_field_names<T>) {
        static_assert(schema_traits<T>::field_names.size() == n,
                      "inmem: schema_traits<T>::field_names must name every field of T, in order");
        std::array<std::string_view, n> names{};
        for (std::size_t i = 0; i < n; ++i) names[i] = schema_traits<T>::field_names[i];
        return names;
    } else {
        constexpr auto names = derived_field_names<T>(std::make_index_sequence<n>{});
        static_assert(all_identifiers(names), "inmem: this compiler does not reveal field names; declare them with "
             "inmem::schema_traits<T>::field_names");
        return names;
    }
}

} // namespace inmem::detail
