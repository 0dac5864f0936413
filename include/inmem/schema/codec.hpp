// inmem/schema/codec.hpp: the binary encoding of stored values, derived from their types.
//
// Grammar (all integers little-endian; varint is unsigned LEB128, at most 10 bytes, no
// redundant trailing zero byte):
//   bool                      := u8 (0 or 1)
//   integer, char             := its bytes, sizeof(T) of them
//   float, double             := IEEE-754 bits as u32 / u64
//   enum                      := its underlying integer
//   string                    := varint(size) byte*
//   vector<T>                 := varint(count) T*
//   array<T, N>               := T{N}
//   optional<T>               := u8(0) | u8(1) T
//   variant<T...>             := varint(index) T[index]
//   map<K, V>, unordered_map  := varint(count) (K V)*   (unordered_map: sorted by encoded key)
//   pair<A, B>, tuple<A...>   := A B ...
//   duration                  := rep
//   time_point                := duration since the clock's epoch
//   struct                    := each field in declaration order (no names, no tags)
//   adapt<T>                  := adapt<T>::stored_type
// The schema fingerprint (fingerprint.hpp) guards against reading bytes with another layout.
//
// Decoding assumes nothing about its input: every length is checked against the bytes left
// before anything is read or allocated, so a hostile input yields an error, never a crash.
// Memory is bounded by the input: a count is refused unless the bytes left can hold that
// many elements at their smallest encoding, so what decoding allocates is at most the
// input's size times a constant of the type (the in-memory size of an element over its
// smallest encoding, e.g. 1 for vector<char>, 32 for vector<std::string>, sizeof(T) for
// vector<optional<T>>), multiplied through nesting. Map keys need not be in order, but a
// key given twice is refused.
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/config.hpp>
#include <inmem/error.hpp>
#include <inmem/schema/storable.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem::detail {

template <class T>
void encode_value(writer& w, const T& v);
template <class T>
bool decode_value(reader& r, T& v);

template <class T>
inline constexpr bool bulk_copyable_v =
    (value_kind_v<T> == value_kind::integer || value_kind_v<T> == value_kind::floating ||
     value_kind_v<T> == value_kind::enumeration) &&
    std::endian::native == std::endian::little;

template <class T>
void encode_value(writer& w, const T& v) {
    constexpr value_kind kind = value_kind_v<T>;
    if constexpr (kind == value_kind::adapted) {
        encode_value(w, adapt<T>::to_stored(v));
    } else if constexpr (kind == value_kind::boolean) {
        w.fixed(static_cast<std::uint8_t>(v ? 1 : 0));
    } else if constexpr (kind == value_kind::integer) {
        w.fixed(v);
    } else if constexpr (kind == value_kind::floating) {
        if constexpr (sizeof(T) == 4) w.fixed(std::bit_cast<std::uint32_t>(v));
        else w.fixed(std::bit_cast<std::uint64_t>(v));
    } else if constexpr (kind == value_kind::enumeration) {
        w.fixed(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (kind == value_kind::string) {
        w.varint(v.size());
        w.bytes(v.data(), v.size());
    } else if constexpr (kind == value_kind::vector) {
        using E = typename T::value_type;
        w.varint(v.size());
        if constexpr (bulk_copyable_v<E> && !std::is_same_v<E, bool>) {
            w.bytes(v.data(), v.size() * sizeof(E));
        } else {
            for (const auto& e : v) encode_value(w, static_cast<const E&>(e));
        }
    } else if constexpr (kind == value_kind::array) {
        for (const auto& e : v) encode_value(w, e);
    } else if constexpr (kind == value_kind::optional) {
        w.fixed(static_cast<std::uint8_t>(v.has_value()));
        if (v) encode_value(w, *v);
    } else if constexpr (kind == value_kind::variant) {
        w.varint(v.index());
        std::visit([&](const auto& alt) { encode_value(w, alt); }, v);
    } else if constexpr (kind == value_kind::map) {
        w.varint(v.size());
        if constexpr (is_specialization_v<T, std::unordered_map>) {
            // Hash order differs between builds; sort by encoded key so equal maps encode equally.
            std::vector<std::pair<std::string, const typename T::mapped_type*>> entries;
            entries.reserve(v.size());
            for (const auto& [key, value] : v) {
                std::string k;
                writer kw(k);
                encode_value(kw, key);
                entries.emplace_back(std::move(k), &value);
            }
            std::sort(entries.begin(), entries.end(),
                      [](const auto& a, const auto& b) { return a.first < b.first; });
            for (const auto& [k, value] : entries) {
                w.bytes(k.data(), k.size());
                encode_value(w, *value);
            }
        } else {
            for (const auto& [key, value] : v) {
                encode_value(w, key);
                encode_value(w, value);
            }
        }
    } else if constexpr (kind == value_kind::pair) {
        encode_value(w, v.first);
        encode_value(w, v.second);
    } else if constexpr (kind == value_kind::tuple) {
        std::apply([&](const auto&... e) { (encode_value(w, e), ...); }, v);
    } else if constexpr (kind == value_kind::duration) {
        encode_value(w, v.count());
    } else if constexpr (kind == value_kind::time_point) {
        encode_value(w, v.time_since_epoch().count());
    } else if constexpr (kind == value_kind::aggregate) {
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (encode_value(w, boost::pfr::get<I>(v)), ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    } else {
        static_assert(always_false<T>, "inmem: unreachable: type was not checked with storable_v");
    }
}

template <class V, std::size_t... I>
bool decode_variant(reader& r, V& v, std::size_t index, std::index_sequence<I...>) {
    bool ok = false;
    ((index == I ? (ok = decode_value(r, v.template emplace<I>())) : false), ...);
    return ok;
}

template <class T>
bool decode_value(reader& r, T& v) {
    constexpr value_kind kind = value_kind_v<T>;
    if constexpr (kind == value_kind::adapted) {
        typename adapt<T>::stored_type stored{};
        if (!decode_value(r, stored)) return false;
        try {
            v = adapt<T>::from_stored(std::move(stored));
        } catch (const std::bad_alloc&) {
            throw; // out of memory is not a property of the bytes
        } catch (...) {
            return r.fail(errc::decode_invalid); // from_stored rejected the value
        }
        return true;
    } else if constexpr (kind == value_kind::boolean) {
        std::uint8_t b;
        if (!r.fixed(b)) return false;
        if (b > 1) return r.fail(errc::decode_invalid);
        v = b != 0;
        return true;
    } else if constexpr (kind == value_kind::integer) {
        return r.fixed(v);
    } else if constexpr (kind == value_kind::floating) {
        using bits_t = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
        bits_t bits;
        if (!r.fixed(bits)) return false;
        v = std::bit_cast<T>(bits);
        return true;
    } else if constexpr (kind == value_kind::enumeration) {
        std::underlying_type_t<T> u;
        if (!r.fixed(u)) return false;
        v = static_cast<T>(u);
        return true;
    } else if constexpr (kind == value_kind::string) {
        std::uint64_t n;
        const char* p;
        if (!r.count(n, 1) || !r.bytes(n, p)) return false;
        v.assign(p, n);
        return true;
    } else if constexpr (kind == value_kind::vector) {
        using E = typename T::value_type;
        std::uint64_t n;
        if (!r.count(n, min_encoded_size<E>())) return false;
        v.clear();
        if constexpr (bulk_copyable_v<E> && !std::is_same_v<E, bool>) {
            const char* p;
            if (!r.bytes(n * sizeof(E), p)) return false;
            v.resize(n);
            if (n != 0) std::memcpy(v.data(), p, n * sizeof(E)); // an empty vector's data() may be null
            return true;
        } else {
            v.reserve(n);
            for (std::uint64_t i = 0; i < n; ++i) {
                E e{};
                if (!decode_value(r, e)) return false;
                v.push_back(std::move(e));
            }
            return true;
        }
    } else if constexpr (kind == value_kind::array) {
        for (auto& e : v)
            if (!decode_value(r, e)) return false;
        return true;
    } else if constexpr (kind == value_kind::optional) {
        std::uint8_t flag;
        if (!r.fixed(flag)) return false;
        if (flag > 1) return r.fail(errc::decode_invalid);
        if (!flag) {
            v.reset();
            return true;
        }
        return decode_value(r, v.emplace());
    } else if constexpr (kind == value_kind::variant) {
        std::uint64_t index;
        if (!r.varint(index)) return false;
        if (index >= std::variant_size_v<T>) return r.fail(errc::decode_invalid);
        return decode_variant(r, v, static_cast<std::size_t>(index),
                              std::make_index_sequence<std::variant_size_v<T>>{});
    } else if constexpr (kind == value_kind::map) {
        using K = typename T::key_type;
        using V = typename T::mapped_type;
        std::uint64_t n;
        if (!r.count(n, min_encoded_size<K>() + min_encoded_size<V>())) return false;
        v.clear();
        if constexpr (requires { v.reserve(n); }) v.reserve(n);
        for (std::uint64_t i = 0; i < n; ++i) {
            K key{};
            V value{};
            if (!decode_value(r, key) || !decode_value(r, value)) return false;
            if (!v.emplace(std::move(key), std::move(value)).second)
                return r.fail(errc::decode_invalid); // a key twice: not something we wrote
        }
        return true;
    } else if constexpr (kind == value_kind::pair) {
        return decode_value(r, v.first) && decode_value(r, v.second);
    } else if constexpr (kind == value_kind::tuple) {
        return std::apply([&](auto&... e) { return (decode_value(r, e) && ...); }, v);
    } else if constexpr (kind == value_kind::duration) {
        typename T::rep count;
        if (!decode_value(r, count)) return false;
        v = T{count};
        return true;
    } else if constexpr (kind == value_kind::time_point) {
        typename T::rep count;
        if (!decode_value(r, count)) return false;
        v = T{typename T::duration{count}};
        return true;
    } else if constexpr (kind == value_kind::aggregate) {
        return [&]<std::size_t... I>(std::index_sequence<I...>) {
            return (decode_value(r, boost::pfr::get<I>(v)) && ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
    } else {
        static_assert(always_false<T>, "inmem: unreachable: type was not checked with storable_v");
    }
}

} // namespace inmem::detail

namespace inmem {

/// Appends the encoding of value to out. Cost: one pass over the value.
template <class T>
void encode_to(const T& value, std::string& out) {
    static_assert(detail::storable_v<T>);
    detail::writer w(out);
    detail::encode_value(w, value);
}

/// The encoding of value, as bytes in a std::string of exactly that size.
template <class T>
std::string encode(const T& value) {
    // Encoding appends piecemeal; doing it in a reused buffer and copying once costs one
    // allocation instead of one per doubling of the string.
    thread_local std::string scratch;
    scratch.clear();
    encode_to(value, scratch);
    std::string out(scratch);
    if (scratch.capacity() > (std::size_t{1} << 20)) scratch = std::string(); // do not pin huge buffers
    return out;
}

/// Decodes a T that must fill bytes exactly. Never throws for bad input: truncated, malformed
/// or trailing bytes give errc::decode_truncated, decode_invalid or decode_trailing (also
/// when adapt<T>::from_stored throws). Only std::bad_alloc propagates.
template <class T>
result<T> decode(std::string_view bytes) {
    static_assert(detail::storable_v<T>);
    detail::reader r(bytes);
    T value{};
    if (!detail::decode_value(r, value)) return make_error_code(r.error());
    if (r.remaining() != 0) return make_error_code(errc::decode_trailing);
    return value;
}

} // namespace inmem
