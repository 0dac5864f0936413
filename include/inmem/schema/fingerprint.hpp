// inmem/schema/fingerprint.hpp: a stable hash of a type's stored layout.
//
// describe<T>() writes a canonical text of T's structure; fingerprint_v<T> is its 64-bit
// FNV-1a hash, computed at compile time. The text names field types in order and field
// names; it uses our own tokens for standard types (never the compiler's spelling) and leaves
// out a struct's own name, so it is the same under gcc and clang and survives renaming a
// type. Types that encode identically describe identically (map and unordered_map, pair and
// tuple), so switching between them keeps old data readable.
//
//   int32_t                       -> i32
//   std::vector<std::string>      -> vector<string>
//   struct Plan{goal, steps, n}   -> struct{goal:string;steps:vector<string>;n:i32;}
#pragma once

#include <inmem/schema/reflect.hpp>
#include <inmem/schema/storable.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace inmem::detail {

/// FNV-1a, 64 bit: tiny, constexpr, and stable forever (it is written into files).
struct fnv1a_sink {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    constexpr void add(std::string_view s) {
        for (char c : s) {
            hash ^= static_cast<unsigned char>(c);
            hash *= 0x100000001b3ull;
        }
    }
};

struct string_sink {
    std::string text;
    void add(std::string_view s) { text.append(s); }
};

template <class Sink>
constexpr void add_number(Sink& sink, std::uint64_t n) {
    char buf[20];
    std::size_t i = sizeof buf;
    do {
        buf[--i] = static_cast<char>('0' + n % 10);
        n /= 10;
    } while (n);
    sink.add(std::string_view(buf + i, sizeof buf - i));
}

template <class T, class Sink>
constexpr void describe_to(Sink& sink);

template <class Sink, class... A>
constexpr void describe_list(Sink& sink, std::type_identity<std::tuple<A...>>) {
    bool first = true;
    ((sink.add(first ? "" : ","), first = false, describe_to<A>(sink)), ...);
}

template <class T, class Sink>
constexpr void describe_to(Sink& sink) {
    using U = std::remove_cv_t<T>;
    constexpr value_kind kind = value_kind_v<U>;
    if constexpr (kind == value_kind::adapted) {
        describe_to<typename adapt<U>::stored_type>(sink);
    } else if constexpr (kind == value_kind::boolean) {
        sink.add("bool");
    } else if constexpr (kind == value_kind::integer) {
        if constexpr (std::is_same_v<U, char>) sink.add("char");
        else {
            sink.add(std::is_signed_v<U> ? "i" : "u");
            add_number(sink, sizeof(U) * 8);
        }
    } else if constexpr (kind == value_kind::floating) {
        sink.add(sizeof(U) == 4 ? "f32" : "f64");
    } else if constexpr (kind == value_kind::enumeration) {
        sink.add("enum<");
        describe_to<std::underlying_type_t<U>>(sink);
        sink.add(">");
    } else if constexpr (kind == value_kind::string) {
        sink.add("string");
    } else if constexpr (kind == value_kind::vector || kind == value_kind::optional) {
        sink.add(kind == value_kind::vector ? "vector<" : "optional<");
        describe_to<typename U::value_type>(sink);
        sink.add(">");
    } else if constexpr (kind == value_kind::array) {
        sink.add("array<");
        describe_to<typename U::value_type>(sink);
        sink.add(",");
        add_number(sink, std::tuple_size_v<U>);
        sink.add(">");
    } else if constexpr (kind == value_kind::variant) {
        sink.add("variant<");
        describe_list(sink, std::type_identity<type_args_t<U>>{});
        sink.add(">");
    } else if constexpr (kind == value_kind::map) {
        sink.add("map<");
        describe_to<typename U::key_type>(sink);
        sink.add(",");
        describe_to<typename U::mapped_type>(sink);
        sink.add(">");
    } else if constexpr (kind == value_kind::pair) {
        sink.add("tuple<");
        describe_list(sink, std::type_identity<std::tuple<typename U::first_type, typename U::second_type>>{});
        sink.add(">");
    } else if constexpr (kind == value_kind::tuple) {
        sink.add("tuple<");
        describe_list(sink, std::type_identity<type_args_t<U>>{});
        sink.add(">");
    } else if constexpr (kind == value_kind::duration) {
        sink.add("duration<");
        describe_to<typename U::rep>(sink);
        sink.add(",");
        add_number(sink, static_cast<std::uint64_t>(U::period::num));
        sink.add("/");
        add_number(sink, static_cast<std::uint64_t>(U::period::den));
        sink.add(">");
    } else if constexpr (kind == value_kind::time_point) {
        using clock = typename U::clock;
        sink.add("time_point<");
        if constexpr (std::is_same_v<clock, std::chrono::system_clock>) sink.add("system");
        else if constexpr (std::is_same_v<clock, std::chrono::steady_clock>) sink.add("steady");
        else sink.add(schema_traits<clock>::name); // required by check_storable: portable
        sink.add(",");
        describe_to<typename U::duration>(sink);
        sink.add(">");
    } else if constexpr (kind == value_kind::aggregate) {
        constexpr auto names = field_names<U>();
        sink.add("struct{");
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((sink.add(names[I]), sink.add(":"), describe_to<boost::pfr::tuple_element_t<I, U>>(sink),
              sink.add(";")),
             ...);
        }(std::make_index_sequence<names.size()>{});
        sink.add("}");
    }
}

} // namespace inmem::detail

namespace inmem {

/// The canonical description of T's stored layout (what fingerprint_v<T> hashes).
template <class T>
std::string describe() {
    static_assert(detail::storable_v<T>);
    detail::string_sink sink;
    detail::describe_to<T>(sink);
    return std::move(sink.text);
}

/// A stable 64-bit hash of T's stored layout: field types in order and field names.
template <class T>
inline constexpr std::uint64_t fingerprint_v = [] {
    detail::fnv1a_sink sink;
    if constexpr (detail::storable_v<T>) detail::describe_to<T>(sink); // else the check said why
    return sink.hash;
}();

} // namespace inmem
