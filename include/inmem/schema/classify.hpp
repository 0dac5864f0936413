// inmem/schema/classify.hpp: which family of the codec a C++ type belongs to.
//
// The codec, the storable checks and the fingerprint all dispatch on value_kind_v<T>, so a
// type is classified in exactly one place.
#pragma once

#include <inmem/schema/customize.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace inmem::detail {

enum class value_kind {
    boolean,
    integer,
    floating,
    enumeration,
    string,
    vector,
    array,
    optional,
    variant,
    map, // std::map and std::unordered_map share one encoding
    pair,
    tuple,
    duration,
    time_point,
    adapted,
    aggregate,
    unsupported,
};

template <class T, template <class...> class Tmpl>
inline constexpr bool is_specialization_v = false;
template <template <class...> class Tmpl, class... Args>
inline constexpr bool is_specialization_v<Tmpl<Args...>, Tmpl> = true;

template <class T>
inline constexpr bool is_std_array_v = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;

template <class T>
inline constexpr bool is_duration_v = false;
template <class Rep, class Period>
inline constexpr bool is_duration_v<std::chrono::duration<Rep, Period>> = true;

template <class T>
inline constexpr bool is_time_point_v = false;
template <class Clock, class Dur>
inline constexpr bool is_time_point_v<std::chrono::time_point<Clock, Dur>> = true;

template <class T>
concept adapted_type = requires { typename adapt<T>::stored_type; };

template <class T>
inline constexpr bool is_map_v =
    is_specialization_v<T, std::map> || is_specialization_v<T, std::unordered_map>;

template <class T>
consteval value_kind kind_of() {
    if constexpr (adapted_type<T>) return value_kind::adapted;
    else if constexpr (std::is_same_v<T, bool>) return value_kind::boolean;
    else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, wchar_t>) return value_kind::integer;
    else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) return value_kind::floating;
    else if constexpr (std::is_enum_v<T>) return value_kind::enumeration;
    else if constexpr (std::is_same_v<T, std::string>) return value_kind::string;
    else if constexpr (is_specialization_v<T, std::vector>) return value_kind::vector;
    else if constexpr (is_std_array_v<T>) return value_kind::array;
    else if constexpr (is_specialization_v<T, std::optional>) return value_kind::optional;
    else if constexpr (is_specialization_v<T, std::variant>) return value_kind::variant;
    else if constexpr (is_map_v<T>) return value_kind::map;
    else if constexpr (is_specialization_v<T, std::pair>) return value_kind::pair;
    else if constexpr (is_specialization_v<T, std::tuple>) return value_kind::tuple;
    else if constexpr (is_duration_v<T>) return value_kind::duration;
    else if constexpr (is_time_point_v<T>) return value_kind::time_point;
    else if constexpr (std::is_class_v<T> && std::is_aggregate_v<T> && !std::is_union_v<T>)
        return value_kind::aggregate;
    else return value_kind::unsupported;
}

/// The codec family of T (cv-qualifiers ignored).
template <class T>
inline constexpr value_kind value_kind_v = kind_of<std::remove_cv_t<T>>();

} // namespace inmem::detail
