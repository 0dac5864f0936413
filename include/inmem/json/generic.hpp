// inmem/json/generic.hpp: any stored value as JSON from its type's description alone,
// without the C++ type: what tools that were not compiled with a user's schema (the command,
// the server, the viewer, export) read databases with.
//
//   const auto d = inmem::parse_type_description(text_from_the_database);
//   nlohmann::json j = inmem::generic_to_json(d, bytes);   // == inmem::bytes_to_json<T>(bytes)
//
// The JSON is the typed mapping of json/value.hpp, value for value, so a tool's output and a
// program's are the same document. Decoding assumes nothing about its input, as the typed
// decoder (schema/codec.hpp): lengths are checked before anything is read or allocated,
// counts are bounded by the bytes left, and truncated, malformed or trailing bytes are refused.
// Two differences, both beyond what the typed encoder writes or a description can show: a map
// key given twice is recognised by its bytes (the typed decoder compares keys as values: -0.0
// and 0.0 are one key there), and a map whose key type is adapted to a string is written as
// an object here (json/value.hpp writes objects only for std::string keys; the description
// of an adapted type is its stored type's).
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/error.hpp>
#include <inmem/json/value.hpp>
#include <inmem/schema/description.hpp>

#include <nlohmann/json.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem::detail {

class generic_decoder {
    using k = type_description::kind;

public:
    explicit generic_decoder(std::string_view bytes) noexcept : r_(bytes), bytes_(bytes) {}

    bool value(const type_description& d, json& out) {
        switch (d.what) {
        case k::boolean: {
            std::uint8_t b;
            if (!r_.fixed(b)) return false;
            if (b > 1) return r_.fail(errc::decode_invalid);
            out = b != 0;
            return true;
        }
        case k::character:
            if constexpr (std::is_signed_v<char>) return integer<std::int8_t>(out);
            else return integer<std::uint8_t>(out);
        case k::integer:
            switch (d.bits) {
            case 8: return d.is_signed ? integer<std::int8_t>(out) : integer<std::uint8_t>(out);
            case 16: return d.is_signed ? integer<std::int16_t>(out) : integer<std::uint16_t>(out);
            case 32: return d.is_signed ? integer<std::int32_t>(out) : integer<std::uint32_t>(out);
            default: return d.is_signed ? integer<std::int64_t>(out) : integer<std::uint64_t>(out);
            }
        case k::floating:
            if (d.bits == 32) {
                std::uint32_t bits;
                if (!r_.fixed(bits)) return false;
                out = floating(static_cast<double>(std::bit_cast<float>(bits)));
            } else {
                std::uint64_t bits;
                if (!r_.fixed(bits)) return false;
                out = floating(std::bit_cast<double>(bits));
            }
            return true;
        case k::enumeration:
        case k::duration:
        case k::time_point: return value(d.children[0], out);
        case k::string: {
            std::string s;
            if (!string(s)) return false;
            out = is_valid_utf8(s) ? json(std::move(s)) : json::object({{"base64", base64_encode(s)}});
            return true;
        }
        case k::vector: {
            std::uint64_t n;
            if (!r_.count(n, min_encoded_size(d.children[0]))) return false;
            out = json::array();
            for (std::uint64_t i = 0; i < n; ++i) {
                json e;
                if (!value(d.children[0], e)) return false;
                out.push_back(std::move(e));
            }
            return true;
        }
        case k::array: {
            out = json::array();
            const std::size_t each = min_encoded_size(d.children[0]);
            if (each == 0 ? d.size > (std::uint64_t{1} << 20) : d.size > r_.remaining() / each) // (a hostile description)
                return r_.fail(errc::decode_truncated);
            for (std::uint64_t i = 0; i < d.size; ++i) {
                json e;
                if (!value(d.children[0], e)) return false;
                out.push_back(std::move(e));
            }
            return true;
        }
        case k::optional: {
            std::uint8_t flag;
            if (!r_.fixed(flag)) return false;
            if (flag > 1) return r_.fail(errc::decode_invalid);
            if (!flag) {
                out = nullptr;
                return true;
            }
            json inner;
            if (!value(d.children[0], inner)) return false;
            // As json/value.hpp: when the value's own JSON can be null, [value] keeps the levels apart.
            out = d.children[0].what == k::optional ? json::array({std::move(inner)}) : std::move(inner);
            return true;
        }
        case k::variant: {
            std::uint64_t index;
            if (!r_.varint(index)) return false;
            if (index >= d.children.size()) return r_.fail(errc::decode_invalid);
            json inner;
            if (!value(d.children[static_cast<std::size_t>(index)], inner)) return false;
            out = json::object({{"index", index}, {"value", std::move(inner)}});
            return true;
        }
        case k::map: return map(d, out);
        case k::tuple: {
            out = json::array();
            for (const auto& c : d.children) {
                json e;
                if (!value(c, e)) return false;
                out.push_back(std::move(e));
            }
            return true;
        }
        case k::structure: {
            out = json::object();
            for (std::size_t i = 0; i < d.children.size(); ++i) {
                json e;
                if (!value(d.children[i], e)) return false;
                out.emplace(d.fields[i], std::move(e));
            }
            return true;
        }
        }
        return r_.fail(errc::decode_invalid);
    }

    std::size_t remaining() const noexcept { return r_.remaining(); }
    errc error() const noexcept { return r_.error(); }

private:
    template <class I>
    bool integer(json& out) {
        I v;
        if (!r_.fixed(v)) return false;
        if constexpr (std::is_signed_v<I>) out = static_cast<std::int64_t>(v);
        else out = static_cast<std::uint64_t>(v);
        return true;
    }
    static json floating(double v) {
        if (std::isnan(v)) return json("NaN");
        if (std::isinf(v)) return json(v > 0 ? "Infinity" : "-Infinity");
        return json(v);
    }
    bool string(std::string& s) {
        std::uint64_t n;
        const char* p;
        if (!r_.count(n, 1) || !r_.bytes(static_cast<std::size_t>(n), p)) return false;
        s.assign(p, static_cast<std::size_t>(n));
        return true;
    }

    bool map(const type_description& d, json& out) {
        const type_description& key = d.children[0];
        const type_description& val = d.children[1];
        std::uint64_t n;
        if (!r_.count(n, min_encoded_size(key) + min_encoded_size(val))) return false;
        std::vector<std::pair<json, json>> entries;
        std::vector<std::string> text_keys; // string keys, for the object form
        std::set<std::string_view> seen;    // each key's bytes
        bool all_text = key.what == k::string;
        for (std::uint64_t i = 0; i < n; ++i) {
            const std::size_t from = bytes_.size() - r_.remaining();
            json kj, vj;
            if (key.what == k::string) {
                std::string s;
                if (!string(s)) return false;
                all_text = all_text && is_valid_utf8(s);
                kj = is_valid_utf8(s) ? json(s) : json::object({{"base64", base64_encode(s)}});
                text_keys.push_back(std::move(s));
            } else if (!value(key, kj)) {
                return false;
            }
            const std::size_t to = bytes_.size() - r_.remaining();
            if (!seen.insert(bytes_.substr(from, to - from)).second) return r_.fail(errc::decode_invalid); // a key twice
            if (!value(val, vj)) return false;
            entries.emplace_back(std::move(kj), std::move(vj));
        }
        if (all_text) {
            out = json::object();
            for (std::size_t i = 0; i < entries.size(); ++i) out.emplace(text_keys[i], std::move(entries[i].second));
        } else {
            out = json::array();
            for (auto& [kj, vj] : entries) out.push_back(json::array({std::move(kj), std::move(vj)}));
        }
        return true;
    }

    reader r_;
    std::string_view bytes_;
};

} // namespace inmem::detail

namespace inmem {

/// The JSON form (json/value.hpp's mapping) of the value that bytes encode, read by its
/// type's description alone: equal to bytes_to_json<T>(bytes) for the T that d describes.
/// Throws inmem::error(errc::corruption) when the bytes do not decode as d says.
inline nlohmann::json generic_to_json(const type_description& d, std::string_view bytes) {
    detail::generic_decoder decoder(bytes);
    nlohmann::json out;
    errc failure = errc::ok;
    if (!decoder.value(d, out)) failure = decoder.error();
    else if (decoder.remaining() != 0) failure = errc::decode_trailing;
    if (failure != errc::ok)
        throw error(errc::corruption, "inmem: a value of " + std::to_string(bytes.size()) + " bytes does not decode as " +
                                          to_string(d) + ": " + make_error_code(failure).message());
    return out;
}

} // namespace inmem

namespace inmem::detail {

template <class Json>
struct generic_as; // schema/evolution.hpp

// How an upgrade function (schema_traits<T>::upgrade, schema/evolution.hpp) taking a
// nlohmann::json receives the old value.
inline nlohmann::json generic_value(const generic_as<nlohmann::json>&, const type_description& d,
                                    std::string_view bytes) {
    return generic_to_json(d, bytes);
}

} // namespace inmem::detail
