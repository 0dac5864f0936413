// inmem/json/value.hpp: stored values to and from nlohmann::json, with field names.
//
// The one header of inmem that includes nlohmann/json (3.11); the core never does. It walks
// a type exactly as the codec does (value_kind_v<T>, adapt<T>::stored_type, Boost.PFR), so
// every storable type has a JSON form, and every JSON form reads back to the same value:
// from_json<T>(to_json(v)) == v, also after dump() and parse().
//
// Mapping:
//   bool                      := true | false
//   integer, char             := integer. Read back: an integer in T's range, or a float with
//                                an integral value (3.0, 1e3) within T's range and within
//                                +-2^53 (beyond that a float is not exact: write the digits)
//   float, double             := number (the shortest text that reads back to the same bits;
//                                -0.0 stays -0.0) | "NaN" | "Infinity" | "-Infinity"
//                                (NaN's sign and payload are not kept). Read back: any number
//                                (a float refuses one beyond its range) or one of those strings
//   enum                      := its underlying integer (range-checked against that type)
//   string                    := string, when the bytes are valid UTF-8 (nlohmann cannot dump
//                                anything else) | {"base64": "<RFC 4648, padded>"} otherwise,
//                                so any bytes survive dump() and parse()
//   vector<T>                 := [T, ...]
//   array<T, N>               := [T, ...] of exactly N
//   optional<T>               := null | T; when T's own JSON can be null (T is an optional, or
//                                adapted to one), null | [T], so the levels stay apart
//   variant<T...>             := {"index": i, "value": T[i]}
//   map<string, V>            := {"key": V, ...}, unless a key is not valid UTF-8: then the
//                                pair form below (both forms are read back)
//   map<K, V>, unordered_map  := [[K, V], ...] in key order (unordered_map: sorted by encoded
//                                key, as the codec does, so equal maps give equal JSON); a key
//                                given twice is refused
//   pair<A, B>, tuple<A...>   := [A, B, ...] of exactly their size
//   duration                  := its count of ticks, as its rep
//   time_point                := the count of its duration since the clock's epoch
//   struct                    := {"field": value, ...}, named by detail::field_names<T>();
//                                a missing field and an unknown field are both refused
//   adapt<T>                  := the JSON of adapt<T>::stored_type
// nlohmann::json keeps an object's keys sorted, so dump() lists fields by name.
//
// Reading assumes nothing about its input: JSON that does not fit T throws inmem::error
// (errc::invalid_argument) whose message names the place, as a path from $ (the value), and
// what was expected there: "inmem: JSON does not fit Plan at $.steps[2]: expected a string,
// found a number". An exception from adapt<T>::from_stored becomes such an error too.
//
// Names: to_json(const T&) and from_json<T>(const json&) take one argument, nlohmann's ADL
// hooks two (to_json(json&, const T&), from_json(const json&, T&)), so nlohmann never picks
// ours for a type of namespace inmem. Call them qualified (inmem::to_json): with both
// `using namespace inmem;` and `using namespace nlohmann;` the unqualified name is ambiguous.
#pragma once

#include <inmem/error.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/reflect.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace inmem::detail {

using json = nlohmann::json;

// A place in the JSON being read: a chain up to the root, rendered only when reading fails.
struct json_path {
    const json_path* parent; // null at the root
    std::string_view key;    // a field or string key; at the root, the name of the type read
    std::size_t index;
    bool is_index;
};

inline json_path json_root(std::string_view type) noexcept { return {nullptr, type, 0, false}; }
inline json_path json_child(const json_path& at, std::string_view key) noexcept { return {&at, key, 0, false}; }
inline json_path json_child(const json_path& at, std::size_t index) noexcept { return {&at, {}, index, true}; }

// A string as JSON text, whatever its bytes (invalid UTF-8 becomes U+FFFD).
inline std::string json_quoted(std::string_view s) {
    return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// 'goal' for a name that reads as an identifier, else the JSON string.
inline std::string json_name(std::string_view s) {
    return is_identifier(s) ? "'" + std::string(s) + "'" : json_quoted(s);
}

inline std::string json_path_text(const json_path& at) {
    std::vector<const json_path*> chain;
    for (const json_path* p = &at; p->parent; p = p->parent) chain.push_back(p);
    std::string out = "$";
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        const json_path& p = **it;
        if (p.is_index) out += "[" + std::to_string(p.index) + "]";
        else if (is_identifier(p.key)) out += "." + std::string(p.key);
        else out += "[" + json_quoted(p.key) + "]";
    }
    return out;
}

/// Throws errc::invalid_argument: "inmem: JSON does not fit <type> at <path>: <what>".
[[noreturn]] inline void json_fail(const json_path& at, std::string_view what) {
    const json_path* root = &at;
    while (root->parent) root = root->parent;
    std::string msg = "inmem: JSON does not fit ";
    msg += root->key;
    msg += " at ";
    msg += json_path_text(at);
    msg += ": ";
    msg += what;
    throw error(errc::invalid_argument, msg);
}

inline std::string_view json_kind(const json& j) noexcept {
    switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    case json::value_t::binary: return "binary data";
    case json::value_t::discarded: break;
    }
    return "a discarded value";
}

[[noreturn]] inline void json_expected(const json_path& at, std::string_view expected, const json& found) {
    json_fail(at, "expected " + std::string(expected) + ", found " + std::string(json_kind(found)));
}

// Requires an array of exactly n elements (the fixed-size families).
inline void json_require_size(const json& j, std::size_t n, const json_path& at) {
    const std::string expected = "an array of " + std::to_string(n) + (n == 1 ? " element" : " elements");
    if (!j.is_array()) json_expected(at, expected, j);
    if (j.size() != n)
        json_fail(at, "expected " + expected + ", found an array of " + std::to_string(j.size()));
}

// Requires an object whose keys are exactly names: the unknown key first (a typo shows
// there), then the missing one.
template <std::size_t N>
void json_require_fields(const json& j, const std::array<std::string_view, N>& names, const json_path& at) {
    if (!j.is_object()) json_expected(at, "an object", j);
    for (auto it = j.begin(); it != j.end(); ++it) {
        if (std::find(names.begin(), names.end(), std::string_view(it.key())) != names.end()) continue;
        std::string list;
        for (auto name : names) list += (list.empty() ? "" : ", ") + std::string(name);
        json_fail(at, "unknown field " + json_name(it.key()) +
                          (N == 0 ? std::string(" (there are no fields)") : " (the fields are " + list + ")"));
    }
    for (auto name : names)
        if (j.find(name) == j.end()) json_fail(at, "missing field " + json_name(name));
}

// Strict UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF): what nlohmann's
// dump() accepts without an error handler.
inline bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t n;
        unsigned char lo = 0x80, hi = 0xbf; // range of the second byte
        if (c >= 0xc2 && c <= 0xdf) n = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0) lo = 0xa0;
            if (c == 0xed) hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0) lo = 0x90;
            if (c == 0xf4) hi = 0x8f;
        } else return false;
        if (s.size() - i <= n) return false;
        for (std::size_t k = 1; k <= n; ++k) {
            const auto b = static_cast<unsigned char>(s[i + k]);
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return false;
        }
        i += n + 1;
    }
    return true;
}

inline constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

inline std::string base64_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < in.size(); i += 3) {
        const std::size_t n = std::min<std::size_t>(3, in.size() - i);
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 3; ++k)
            v = (v << 8) | (k < n ? static_cast<unsigned char>(in[i + k]) : 0u);
        for (std::size_t k = 0; k < 4; ++k)
            out += k <= n ? base64_alphabet[(v >> (18 - 6 * k)) & 0x3f] : '=';
    }
    return out;
}

// Only the canonical form (padded, no whitespace, unused bits zero), so each byte string
// has one spelling. False on anything else.
inline bool base64_decode(std::string_view in, std::string& out) {
    if (in.size() % 4 != 0) return false;
    out.clear();
    out.reserve(in.size() / 4 * 3);
    for (std::size_t i = 0; i < in.size(); i += 4) {
        const bool last = i + 4 == in.size();
        std::size_t pad = 0;
        std::uint32_t v = 0;
        for (std::size_t k = 0; k < 4; ++k) {
            const char c = in[i + k];
            std::size_t d = 0;
            if (c == '=' && last && k >= 2) ++pad;
            else if (pad != 0 || (d = base64_alphabet.find(c)) == std::string_view::npos) return false;
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) return false;
        for (std::size_t k = 0; k < 3 - pad; ++k) out += static_cast<char>((v >> (16 - 8 * k)) & 0xff);
    }
    return true;
}

// True when T's JSON can be null, so optional<T> must keep its own null apart.
template <class T>
consteval bool json_may_be_null() {
    constexpr value_kind kind = value_kind_v<T>;
    if constexpr (kind == value_kind::optional) return true;
    else if constexpr (kind == value_kind::adapted) return json_may_be_null<typename adapt<T>::stored_type>();
    else return false;
}

template <class I>
std::string integer_name() {
    if constexpr (std::is_same_v<I, char>) return "char";
    else if constexpr (std::is_same_v<I, char8_t>) return "char8_t";
    else if constexpr (std::is_same_v<I, char16_t>) return "char16_t";
    else if constexpr (std::is_same_v<I, char32_t>) return "char32_t";
    else return (std::is_signed_v<I> ? "int" : "uint") + std::to_string(sizeof(I) * 8);
}

// Reads an integer of type I; label names I in messages (an enum names itself too).
template <class I>
I read_json_integer(const json& j, const json_path& at, const std::string& label) {
    // Every integer type's range fits between int64's min and uint64's max.
    constexpr auto lo = static_cast<std::int64_t>(std::numeric_limits<I>::min());
    constexpr auto hi = static_cast<std::uint64_t>(std::numeric_limits<I>::max());
    auto out_of_range = [&]() { json_fail(at, j.dump() + " is out of range for " + label); };
    if (j.is_number_unsigned()) {
        const auto u = j.get<std::uint64_t>();
        if (u > hi) out_of_range();
        return static_cast<I>(u);
    }
    if (j.is_number_integer()) {
        const auto i = j.get<std::int64_t>();
        if (i < lo || (i > 0 && static_cast<std::uint64_t>(i) > hi)) out_of_range();
        return static_cast<I>(i);
    }
    if (j.is_number_float()) {
        const double d = j.get<double>();
        if (!std::isfinite(d) || std::trunc(d) != d) json_fail(at, "expected an integer, found " + j.dump());
        // Both bounds are exact doubles: lo is 0 or -2^k, hi + 1 is 2^k (rounding hi up is fine).
        if (d < static_cast<double>(lo) || d >= static_cast<double>(hi) + 1.0) out_of_range();
        if (std::fabs(d) > 9007199254740992.0) // 2^53: beyond it, the text may have been rounded
            json_fail(at, j.dump() + " is a float beyond 2^53, where floats are not exact; write the integer's digits");
        return d < 0 ? static_cast<I>(static_cast<std::int64_t>(d)) : static_cast<I>(static_cast<std::uint64_t>(d));
    }
    json_expected(at, "an integer", j);
}

template <class T>
json write_json(const T& v);
template <class T>
void read_json(const json& j, T& v, const json_path& at);

template <class M>
json write_json_map(const M& m) {
    using K = typename M::key_type;
    if constexpr (std::is_same_v<K, std::string>) {
        if (std::all_of(m.begin(), m.end(), [](const auto& e) { return is_valid_utf8(e.first); })) {
            json out = json::object();
            for (const auto& [key, value] : m) out.emplace(key, detail::write_json(value));
            return out;
        }
    }
    std::vector<std::pair<const K*, const typename M::mapped_type*>> entries;
    entries.reserve(m.size());
    for (const auto& [key, value] : m) entries.emplace_back(&key, &value);
    if constexpr (is_specialization_v<M, std::unordered_map>) {
        // Hash order differs between builds: sort by encoded key, as the codec does.
        std::vector<std::pair<std::string, std::size_t>> order;
        order.reserve(entries.size());
        for (std::size_t i = 0; i < entries.size(); ++i) order.emplace_back(inmem::encode(*entries[i].first), i);
        std::sort(order.begin(), order.end());
        auto sorted = entries;
        for (std::size_t i = 0; i < order.size(); ++i) sorted[i] = entries[order[i].second];
        entries = std::move(sorted);
    }
    json out = json::array();
    for (const auto& [key, value] : entries)
        out.push_back(json::array({detail::write_json(*key), detail::write_json(*value)}));
    return out;
}

template <class M>
void read_json_map(const json& j, M& m, const json_path& at) {
    using K = typename M::key_type;
    using V = typename M::mapped_type;
    constexpr bool string_keys = std::is_same_v<K, std::string>;
    m.clear();
    if constexpr (string_keys) {
        if (j.is_object()) {
            for (auto it = j.begin(); it != j.end(); ++it) {
                V value{};
                detail::read_json(it.value(), value, json_child(at, std::string_view(it.key())));
                m.emplace(it.key(), std::move(value));
            }
            return;
        }
    }
    constexpr std::string_view pairs = "an array of [key, value] pairs";
    if (!j.is_array()) json_expected(at, string_keys ? "an object or " + std::string(pairs) : std::string(pairs), j);
    for (std::size_t i = 0; i < j.size(); ++i) {
        const json_path entry = json_child(at, i);
        json_require_size(j[i], 2, entry);
        K key{};
        V value{};
        detail::read_json(j[i][0], key, json_child(entry, std::size_t{0}));
        detail::read_json(j[i][1], value, json_child(entry, std::size_t{1}));
        if (!m.emplace(std::move(key), std::move(value)).second)
            json_fail(json_child(entry, std::size_t{0}), "this key is given twice");
    }
}

template <class V, std::size_t... I>
void read_json_variant(const json& j, V& v, std::size_t index, const json_path& at, std::index_sequence<I...>) {
    (void)((index == I ? (detail::read_json(j, v.template emplace<I>(), at), true) : false) || ...);
}

template <class T>
json write_json(const T& v) {
    constexpr value_kind kind = value_kind_v<T>;
    if constexpr (kind == value_kind::adapted) {
        const typename adapt<T>::stored_type stored = adapt<T>::to_stored(v);
        return detail::write_json(stored);
    } else if constexpr (kind == value_kind::boolean) {
        return json(static_cast<bool>(v));
    } else if constexpr (kind == value_kind::integer) {
        if constexpr (std::is_signed_v<T>) return json(static_cast<std::int64_t>(v));
        else return json(static_cast<std::uint64_t>(v));
    } else if constexpr (kind == value_kind::floating) {
        if (std::isnan(v)) return json("NaN");
        if (std::isinf(v)) return json(v > 0 ? "Infinity" : "-Infinity");
        return json(static_cast<double>(v)); // exact for float too; dump() prints the shortest text
    } else if constexpr (kind == value_kind::enumeration) {
        return detail::write_json(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (kind == value_kind::string) {
        if (is_valid_utf8(v)) return json(v);
        return json::object({{"base64", base64_encode(v)}});
    } else if constexpr (kind == value_kind::vector) {
        json out = json::array();
        out.get_ref<json::array_t&>().reserve(v.size());
        for (const auto& e : v) out.push_back(detail::write_json(static_cast<const typename T::value_type&>(e)));
        return out;
    } else if constexpr (kind == value_kind::array) {
        json out = json::array();
        for (const auto& e : v) out.push_back(detail::write_json(e));
        return out;
    } else if constexpr (kind == value_kind::optional) {
        if (!v) return json(nullptr);
        if constexpr (json_may_be_null<typename T::value_type>()) return json::array({detail::write_json(*v)});
        else return detail::write_json(*v);
    } else if constexpr (kind == value_kind::variant) {
        json value = std::visit([](const auto& alt) { return detail::write_json(alt); }, v);
        return json::object({{"index", static_cast<std::uint64_t>(v.index())}, {"value", std::move(value)}});
    } else if constexpr (kind == value_kind::map) {
        return detail::write_json_map(v);
    } else if constexpr (kind == value_kind::pair) {
        return json::array({detail::write_json(v.first), detail::write_json(v.second)});
    } else if constexpr (kind == value_kind::tuple) {
        json out = json::array();
        std::apply([&](const auto&... e) { (out.push_back(detail::write_json(e)), ...); }, v);
        return out;
    } else if constexpr (kind == value_kind::duration) {
        return detail::write_json(v.count());
    } else if constexpr (kind == value_kind::time_point) {
        return detail::write_json(v.time_since_epoch().count());
    } else if constexpr (kind == value_kind::aggregate) {
        static constexpr auto names = field_names<T>();
        json out = json::object();
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (out.emplace(std::string(names[I]), detail::write_json(boost::pfr::get<I>(v))), ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
        return out;
    } else {
        static_assert(always_false<T>, "inmem: unreachable: type was not checked with storable_v");
    }
}

template <class T>
void read_json(const json& j, T& v, const json_path& at) {
    constexpr value_kind kind = value_kind_v<T>;
    if constexpr (kind == value_kind::adapted) {
        typename adapt<T>::stored_type stored{};
        detail::read_json(j, stored, at); // errors in the stored form name their own place
        const std::string refused = std::string(type_name<T>()) + " refused the value";
        try {
            v = adapt<T>::from_stored(std::move(stored));
        } catch (const std::bad_alloc&) {
            throw; // out of memory is not a property of the JSON
        } catch (const std::exception& e) {
            json_fail(at, refused + ": " + e.what());
        } catch (...) {
            json_fail(at, refused);
        }
    } else if constexpr (kind == value_kind::boolean) {
        if (!j.is_boolean()) json_expected(at, "a boolean", j);
        v = j.get<bool>();
    } else if constexpr (kind == value_kind::integer) {
        v = read_json_integer<T>(j, at, integer_name<T>());
    } else if constexpr (kind == value_kind::floating) {
        if (j.is_string()) {
            const auto& s = j.get_ref<const std::string&>();
            if (s == "NaN") v = std::numeric_limits<T>::quiet_NaN();
            else if (s == "Infinity") v = std::numeric_limits<T>::infinity();
            else if (s == "-Infinity") v = -std::numeric_limits<T>::infinity();
            else
                json_fail(at, "expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", found the string " +
                                  json_quoted(s));
            return;
        }
        if (!j.is_number()) json_expected(at, "a number", j);
        const double d = j.get<double>();
        if constexpr (sizeof(T) < sizeof(double)) {
            if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<T>::max())
                json_fail(at, j.dump() + " is out of range for float");
        }
        v = static_cast<T>(d);
    } else if constexpr (kind == value_kind::enumeration) {
        using U = std::underlying_type_t<T>;
        v = static_cast<T>(read_json_integer<U>(j, at, std::string(type_name<T>()) + " (" + integer_name<U>() + ")"));
    } else if constexpr (kind == value_kind::string) {
        if (j.is_string()) {
            v = j.get_ref<const std::string&>();
            return;
        }
        // Bytes that are not UTF-8 come as {"base64": "..."}; anything else is the wrong type.
        if (!j.is_object() || j.size() != 1 || !j.contains("base64")) json_expected(at, "a string", j);
        const json& b = j.find("base64").value();
        const json_path inner = json_child(at, std::string_view("base64"));
        if (!b.is_string()) json_expected(inner, "a string of base64", b);
        if (!base64_decode(b.get_ref<const std::string&>(), v)) json_fail(inner, "expected canonical, padded base64");
    } else if constexpr (kind == value_kind::vector) {
        using E = typename T::value_type;
        if (!j.is_array()) json_expected(at, "an array", j);
        v.clear();
        v.reserve(j.size());
        for (std::size_t i = 0; i < j.size(); ++i) {
            E e{};
            detail::read_json(j[i], e, json_child(at, i));
            v.push_back(std::move(e));
        }
    } else if constexpr (kind == value_kind::array) {
        json_require_size(j, v.size(), at);
        for (std::size_t i = 0; i < v.size(); ++i) detail::read_json(j[i], v[i], json_child(at, i));
    } else if constexpr (kind == value_kind::optional) {
        if (j.is_null()) {
            v.reset();
        } else if constexpr (json_may_be_null<typename T::value_type>()) {
            json_require_size(j, 1, at);
            detail::read_json(j[0], v.emplace(), json_child(at, std::size_t{0}));
        } else {
            detail::read_json(j, v.emplace(), at);
        }
    } else if constexpr (kind == value_kind::variant) {
        static constexpr std::array<std::string_view, 2> names{"index", "value"};
        constexpr std::size_t n = std::variant_size_v<T>;
        json_require_fields(j, names, at);
        const json_path index_at = json_child(at, names[0]);
        const auto index = read_json_integer<std::uint64_t>(j.find("index").value(), index_at, "an index");
        if (index >= n)
            json_fail(index_at, "expected an alternative's index, below " + std::to_string(n) + ", found " +
                                    std::to_string(index));
        read_json_variant(j.find("value").value(), v, static_cast<std::size_t>(index), json_child(at, names[1]),
                          std::make_index_sequence<n>{});
    } else if constexpr (kind == value_kind::map) {
        detail::read_json_map(j, v, at);
    } else if constexpr (kind == value_kind::pair) {
        json_require_size(j, 2, at);
        detail::read_json(j[0], v.first, json_child(at, std::size_t{0}));
        detail::read_json(j[1], v.second, json_child(at, std::size_t{1}));
    } else if constexpr (kind == value_kind::tuple) {
        json_require_size(j, std::tuple_size_v<T>, at);
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (detail::read_json(j[I], std::get<I>(v), json_child(at, I)), ...);
        }(std::make_index_sequence<std::tuple_size_v<T>>{});
    } else if constexpr (kind == value_kind::duration) {
        typename T::rep count{};
        detail::read_json(j, count, at);
        v = T{count};
    } else if constexpr (kind == value_kind::time_point) {
        typename T::rep count{};
        detail::read_json(j, count, at);
        v = T{typename T::duration{count}};
    } else if constexpr (kind == value_kind::aggregate) {
        static constexpr auto names = field_names<T>();
        json_require_fields(j, names, at);
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (detail::read_json(j.find(names[I]).value(), boost::pfr::get<I>(v), json_child(at, names[I])), ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    } else {
        static_assert(always_false<T>, "inmem: unreachable: type was not checked with storable_v");
    }
}

} // namespace inmem::detail

namespace inmem {

/// The JSON form of value (mapping at the top of inmem/json/value.hpp). Never fails but for
/// std::bad_alloc. Cost: one pass over the value, one JSON node per value.
template <class T>
nlohmann::json to_json(const T& value) {
    static_assert(detail::storable_v<T>);
    return detail::write_json(value);
}

/// The T that j is the JSON form of. Throws inmem::error(errc::invalid_argument) when j does
/// not fit T, naming the place ("at $.steps[2]") and what was expected there.
template <class T>
T from_json(const nlohmann::json& j) {
    static_assert(detail::storable_v<T>);
    T value{};
    detail::read_json(j, value, detail::json_root(detail::type_name<T>()));
    return value;
}

/// The JSON form of the T that bytes encode (inmem::encode). Throws inmem::error
/// (errc::corruption) when the bytes do not decode as a T.
template <class T>
nlohmann::json bytes_to_json(std::string_view bytes) {
    auto decoded = inmem::decode<T>(bytes);
    if (!decoded)
        throw error(errc::corruption, "inmem: a value of " + std::to_string(bytes.size()) +
                                          " bytes does not decode as " + std::string(detail::type_name<T>()) +
                                          ": " + decoded.error().message());
    return inmem::to_json(decoded.assume_value());
}

/// The encoding (inmem::encode) of the T that j is the JSON form of. Throws as from_json does.
template <class T>
std::string json_to_bytes(const nlohmann::json& j) {
    return inmem::encode(inmem::from_json<T>(j));
}

} // namespace inmem
