// inmem/schema/storable.hpp: the compile-time check that a type can be stored.
//
// check_storable<T>() walks T's structure once. The first thing it cannot store stops the
// build with a static_assert that says why and what to do; the compiler's "required from"
// lines name the offending type (T = ...) and the types that contain it (Path = {...}).
// Two mistakes are caught by Boost.PFR before us, with its own words: a struct with a base
// class ("Inherited types are not supported") and a C-array member (a structured binding
// error); flatten the base into members, and use std::array.
// A compiler limit, not ours: gcc 12 crashes ("internal compiler error" in
// check_noexcept_r) counting the fields of a struct with a member std::array of a
// non-trivial type (std::array<std::string, N>); clang 14 is fine. Use std::vector there.
#pragma once

#include <inmem/schema/classify.hpp>

#include <boost/pfr/core.hpp>

#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

namespace inmem::detail {

template <class...>
inline constexpr bool always_false = false;

template <class T, class... Ts>
inline constexpr bool one_of_v = (std::is_same_v<T, Ts> || ...);

template <class T, class... Path>
consteval bool check_storable();

template <class T>
inline constexpr bool is_span_v = false;
template <class T, std::size_t N>
inline constexpr bool is_span_v<std::span<T, N>> = true;

// The template arguments of a variant or tuple, as a std::tuple of types.
template <class T>
struct type_args;
template <template <class...> class Tmpl, class... A>
struct type_args<Tmpl<A...>> {
    using type = std::tuple<A...>;
};
template <class T>
using type_args_t = typename type_args<T>::type;

// Checks each field of an aggregate, or each alternative/element type of a template.
template <class Owner, class... Path, class... Members>
consteval bool check_all(std::type_identity<std::tuple<Members...>>) {
    return (check_storable<Members, Owner, Path...>() && ...);
}

template <class T, class... Path, std::size_t... I>
consteval bool check_fields(std::index_sequence<I...>) {
    return check_all<T, Path...>(std::type_identity<std::tuple<boost::pfr::tuple_element_t<I, T>...>>{});
}

// The smallest number of bytes an encoded T takes; containers use it to refuse counts that
// the input cannot hold.
template <class T>
consteval std::size_t min_encoded_size();

template <class T, class... Path>
consteval bool check_storable() {
    using U = std::remove_cv_t<T>;
    constexpr value_kind kind = value_kind_v<U>;
    if constexpr (one_of_v<U, Path...>) {
        static_assert(always_false<T>,
                      "inmem: a type that contains itself (through a vector, optional, map...) cannot be "
                      "stored; store the children in their own records and keep their keys");
        return false;
    } else if constexpr (std::is_reference_v<T>) {
        static_assert(always_false<T>,
                      "inmem: a reference member cannot be stored; hold the value itself as a member");
        return false;
    } else if constexpr (std::is_const_v<T> && kind != value_kind::unsupported) {
        static_assert(always_false<T>,
                      "inmem: a const member cannot be decoded into; remove const from the member");
        return false;
    } else if constexpr (std::is_pointer_v<U> || std::is_member_pointer_v<U> ||
                         std::is_null_pointer_v<U>) {
        static_assert(always_false<T>,
                      "inmem: a raw pointer cannot be stored (its target is gone after a restart); "
                      "store the value itself, a std::optional of it, or the key of a record that holds it");
        return false;
    } else if constexpr (std::is_union_v<U>) {
        static_assert(always_false<T>,
                      "inmem: a union cannot be stored (which member is active is not known); use std::variant");
        return false;
    } else if constexpr (std::is_same_v<U, long double>) {
        static_assert(always_false<T>,
                      "inmem: long double has no portable encoding; use double");
        return false;
    } else if constexpr (std::is_same_v<U, wchar_t>) {
        static_assert(always_false<T>,
                      "inmem: wchar_t has a different size on different platforms; use char16_t or char32_t");
        return false;
    } else if constexpr (std::is_array_v<U>) {
        static_assert(always_false<T>,
                      "inmem: a C array cannot be stored; use std::array");
        return false;
    } else if constexpr (is_specialization_v<U, std::basic_string_view> || is_span_v<U>) {
        static_assert(always_false<T>,
                      "inmem: a view (std::string_view, std::span) does not own its bytes; "
                      "store std::string or std::vector instead");
        return false;
    } else if constexpr (is_specialization_v<U, std::unique_ptr> || is_specialization_v<U, std::shared_ptr>) {
        static_assert(always_false<T>,
                      "inmem: a smart pointer cannot be stored; store the value, or std::optional for a "
                      "value that may be absent");
        return false;
    } else if constexpr (kind == value_kind::adapted) {
        using stored = typename adapt<U>::stored_type;
        static_assert(requires(const U& u, stored&& s) {
            { adapt<U>::to_stored(u) } -> std::convertible_to<stored>;
            { adapt<U>::from_stored(std::move(s)) } -> std::convertible_to<U>;
        }, "inmem: inmem::adapt<T> must declare static stored_type to_stored(const T&) and "
           "static T from_stored(stored_type&&)");
        static_assert(std::is_default_constructible_v<U> && std::is_move_assignable_v<U>,
                      "inmem: a type stored through inmem::adapt<T> must be default-constructible and "
                      "move-assignable (decoding creates a T, then assigns from_stored's result to it)");
        return check_storable<stored, U, Path...>();
    } else if constexpr (kind == value_kind::boolean || kind == value_kind::integer ||
                         kind == value_kind::floating || kind == value_kind::string) {
        return true;
    } else if constexpr (kind == value_kind::enumeration) {
        return true;
    } else if constexpr (kind == value_kind::vector || kind == value_kind::array ||
                         kind == value_kind::optional) {
        using E = typename U::value_type;
        constexpr bool ok = check_storable<E, U, Path...>();
        if constexpr (ok && kind == value_kind::vector) {
            static_assert(min_encoded_size<E>() > 0,
                          "inmem: a std::vector of a type that encodes to no bytes (an empty struct) "
                          "cannot be stored; store its size instead");
        }
        return ok;
    } else if constexpr (kind == value_kind::map) {
        using K = typename U::key_type;
        using V = typename U::mapped_type;
        constexpr bool ok = check_storable<K, U, Path...>() && check_storable<V, U, Path...>();
        if constexpr (ok) {
            static_assert(min_encoded_size<K>() + min_encoded_size<V>() > 0,
                          "inmem: a map whose keys and values encode to no bytes cannot be stored");
        }
        return ok;
    } else if constexpr (kind == value_kind::variant || kind == value_kind::tuple) {
        return check_all<U, Path...>(std::type_identity<type_args_t<U>>{});
    } else if constexpr (kind == value_kind::pair) {
        return check_storable<typename U::first_type, U, Path...>() &&
               check_storable<typename U::second_type, U, Path...>();
    } else if constexpr (kind == value_kind::duration) {
        return check_storable<typename U::rep, U, Path...>();
    } else if constexpr (kind == value_kind::time_point) {
        using clock = typename U::clock;
        constexpr bool named_clock = std::is_same_v<clock, std::chrono::system_clock> ||
                                     std::is_same_v<clock, std::chrono::steady_clock> ||
                                     requires { std::string_view{schema_traits<clock>::name}; };
        static_assert(named_clock,
                      "inmem: a time_point of a clock other than system_clock or steady_clock needs a "
                      "portable name for the schema fingerprint: specialize inmem::schema_traits<Clock> "
                      "with static constexpr std::string_view name = \"...\"");
        return named_clock && check_storable<typename U::duration, U, Path...>();
    } else if constexpr (kind == value_kind::aggregate) {
        constexpr bool fields_ok = check_fields<U, Path...>(std::make_index_sequence<boost::pfr::tuple_size_v<U>>{});
        // PFR sees a reference member as the type it refers to, so such a member shows up
        // here: decoding default-constructs the struct and assigns each field, which a
        // reference member, a const member or a member without a default constructor prevents.
        constexpr bool fillable = std::is_default_constructible_v<U> && std::is_move_assignable_v<U>;
        if constexpr (fields_ok) {
            static_assert(fillable,
                          "inmem: a reference member cannot be stored, nor a const member or one that is not "
                          "default-constructible (decoding default-constructs the struct and assigns each "
                          "field); hold the value itself as a plain member, or specialize inmem::adapt<T>");
        }
        return fields_ok && fillable;
    } else {
        static_assert(always_false<T>,
                      "inmem: this type cannot be stored: it is not an aggregate (it has constructors, "
                      "private members or virtual functions) and it is not a supported standard type; "
                      "make it a plain struct, or specialize inmem::adapt<T> to store it through a "
                      "type that can be stored");
        return false;
    }
}

template <class T>
consteval std::size_t min_encoded_size() {
    using U = std::remove_cv_t<T>;
    constexpr value_kind kind = value_kind_v<U>;
    if constexpr (kind == value_kind::adapted) return min_encoded_size<typename adapt<U>::stored_type>();
    else if constexpr (kind == value_kind::boolean || kind == value_kind::integer ||
                       kind == value_kind::floating || kind == value_kind::enumeration)
        return sizeof(U);
    else if constexpr (kind == value_kind::string || kind == value_kind::vector ||
                       kind == value_kind::map || kind == value_kind::optional ||
                       kind == value_kind::variant)
        return 1; // a length, count, flag or index
    else if constexpr (kind == value_kind::array)
        return std::tuple_size_v<U> * min_encoded_size<typename U::value_type>();
    else if constexpr (kind == value_kind::pair)
        return min_encoded_size<typename U::first_type>() + min_encoded_size<typename U::second_type>();
    else if constexpr (kind == value_kind::tuple)
        return []<class... A>(std::type_identity<std::tuple<A...>>) {
            return (std::size_t{0} + ... + min_encoded_size<A>());
        }(std::type_identity<type_args_t<U>>{});
    else if constexpr (kind == value_kind::duration) return sizeof(typename U::rep);
    else if constexpr (kind == value_kind::time_point) return sizeof(typename U::rep);
    else if constexpr (kind == value_kind::aggregate)
        return []<std::size_t... I>(std::index_sequence<I...>) {
            return (std::size_t{0} + ... + min_encoded_size<boost::pfr::tuple_element_t<I, U>>());
        }(std::make_index_sequence<boost::pfr::tuple_size_v<U>>{});
    else return 0;
}

/// True when T can be stored; otherwise the build stops with a message saying why.
template <class T>
inline constexpr bool storable_v = check_storable<T>();

} // namespace inmem::detail
