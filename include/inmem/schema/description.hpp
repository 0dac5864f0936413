// inmem/schema/description.hpp: a stored type's structure as data, read back from the
// canonical text describe<T>() writes (schema/fingerprint.hpp), so that tools can decode a
// value without the C++ type (json/generic.hpp).
//
//   const auto d = inmem::parse_type_description(inmem::describe<Plan>());
//   d.what == inmem::type_description::kind::structure; d.fields == {"goal", "steps", "n"}
//   inmem::to_string(d) == inmem::describe<Plan>()        // the same text, byte for byte
//
// The grammar (the tokens of describe<T>(); no spaces):
//   type  := bool | char | iN | uN (N: 8 16 32 64) | f32 | f64 | string
//          | enum<type> | vector<type> | optional<type> | array<type,N>
//          | variant<type,...> | map<type,type> | tuple<type,...> (may be empty)
//          | duration<type,NUM/DEN> | time_point<CLOCK,duration<...>>
//          | struct{NAME:type;...}
// Parsing assumes nothing about its input: a malformed text, an unknown token, a number out
// of range or nesting deeper than max_description_depth is refused with errc::invalid_argument
// and the offset where it went wrong.
#pragma once

#include <inmem/error.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace inmem {

/// The structure of a stored type: what the codec writes for it (schema/codec.hpp), as a tree.
struct type_description {
    enum class kind : std::uint8_t {
        boolean,     ///< bool: one byte, 0 or 1
        character,   ///< char: one byte, signed as the platform's char
        integer,     ///< bits and is_signed say which
        floating,    ///< bits: 32 or 64
        enumeration, ///< children[0]: the underlying integer
        string,
        vector,      ///< children[0]: the element
        optional,    ///< children[0]: the value
        array,       ///< children[0]: the element; size: how many
        variant,     ///< children: the alternatives
        map,         ///< children[0], children[1]: key, value
        tuple,       ///< children: the elements (pair and tuple alike)
        duration,    ///< children[0]: the count's type; num / den: the tick in seconds
        time_point,  ///< name: the clock; children[0]: its duration
        structure,   ///< children: the fields' types; fields: their names, in order
    };

    kind what = kind::boolean;
    std::uint8_t bits = 0;   ///< integer and floating
    bool is_signed = false;  ///< integer
    std::uint64_t size = 0;  ///< array
    std::uint64_t num = 1;   ///< duration
    std::uint64_t den = 1;   ///< duration
    std::string name;        ///< time_point: "system", "steady" or the clock's schema_traits name
    std::vector<type_description> children;
    std::vector<std::string> fields; ///< structure

    bool operator==(const type_description&) const = default;
};

/// Deeper nesting than this is refused by parse_type_description (no C++ type a user writes
/// comes near it; a hostile text could otherwise exhaust the stack).
inline constexpr std::size_t max_description_depth = 64;

namespace detail {

class description_parser {
public:
    explicit description_parser(std::string_view text) noexcept : text_(text) {}

    type_description parse() {
        type_description d = type(0);
        if (at_ != text_.size()) fail("text after the type");
        return d;
    }

private:
    [[noreturn]] void fail(std::string_view what) const {
        throw error(errc::invalid_argument, "inmem: not a type description (at offset " + std::to_string(at_) + " of " +
                                                std::to_string(text_.size()) + "): " + std::string(what));
    }
    bool take(std::string_view token) noexcept {
        if (text_.substr(at_, token.size()) != token) return false;
        at_ += token.size();
        return true;
    }
    void expect(char c) {
        if (at_ >= text_.size() || text_[at_] != c) fail(std::string("expected '") + c + "'");
        ++at_;
    }
    std::uint64_t number() {
        const std::size_t from = at_;
        std::uint64_t n = 0;
        while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') {
            const auto digit = static_cast<std::uint64_t>(text_[at_] - '0');
            if (n > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) fail("a number beyond 64 bits");
            n = n * 10 + digit;
            ++at_;
        }
        if (at_ == from) fail("expected a number");
        return n;
    }
    // Up to (not including) the first of stops; not empty.
    std::string word(std::string_view stops) {
        const std::size_t from = at_;
        while (at_ < text_.size() && stops.find(text_[at_]) == std::string_view::npos) ++at_;
        if (at_ == from) fail("expected a name");
        return std::string(text_.substr(from, at_ - from));
    }

    type_description type(std::size_t depth) {
        using k = type_description::kind;
        if (depth >= max_description_depth) fail("nested deeper than inmem::max_description_depth");
        type_description d;
        const auto one = [&](k what) {
            d.what = what;
            d.children.push_back(type(depth + 1));
            expect('>');
        };
        if (take("bool")) {
            d.what = k::boolean;
        } else if (take("char")) {
            d.what = k::character;
        } else if (take("f32") || take("f64")) {
            d.what = k::floating;
            d.bits = text_[at_ - 2] == '3' ? 32 : 64;
        } else if (take("string")) {
            d.what = k::string;
        } else if (take("enum<")) {
            one(k::enumeration);
            const k under = d.children[0].what;
            if (under != k::integer && under != k::character && under != k::boolean)
                fail("an enum's underlying type is an integer");
        } else if (take("vector<")) {
            one(k::vector);
        } else if (take("optional<")) {
            one(k::optional);
        } else if (take("array<")) {
            d.what = k::array;
            d.children.push_back(type(depth + 1));
            expect(',');
            d.size = number();
            expect('>');
        } else if (take("variant<")) {
            d.what = k::variant;
            list(d, depth);
            if (d.children.empty()) fail("a variant has alternatives");
        } else if (take("map<")) {
            d.what = k::map;
            d.children.push_back(type(depth + 1));
            expect(',');
            d.children.push_back(type(depth + 1));
            expect('>');
        } else if (take("tuple<")) {
            d.what = k::tuple;
            list(d, depth);
        } else if (take("duration<")) {
            d.what = k::duration;
            d.children.push_back(type(depth + 1));
            const k rep = d.children[0].what;
            if (rep != k::integer && rep != k::character && rep != k::floating) fail("a duration counts in a number");
            expect(',');
            d.num = number();
            expect('/');
            d.den = number();
            if (d.num == 0 || d.den == 0) fail("a duration's period is not 0");
            expect('>');
        } else if (take("time_point<")) {
            d.what = k::time_point;
            d.name = word(",<>;{}:");
            expect(',');
            d.children.push_back(type(depth + 1));
            if (d.children[0].what != k::duration) fail("a time_point's second argument is a duration");
            expect('>');
        } else if (take("struct{")) {
            d.what = k::structure;
            while (!take("}")) {
                d.fields.push_back(word(":;{}<>,"));
                expect(':');
                d.children.push_back(type(depth + 1));
                expect(';');
            }
        } else if (at_ < text_.size() && (text_[at_] == 'i' || text_[at_] == 'u')) {
            d.what = k::integer;
            d.is_signed = text_[at_++] == 'i';
            const std::uint64_t bits = number();
            if (bits != 8 && bits != 16 && bits != 32 && bits != 64) fail("an integer has 8, 16, 32 or 64 bits");
            d.bits = static_cast<std::uint8_t>(bits);
        } else {
            fail("expected a type");
        }
        return d;
    }

    void list(type_description& d, std::size_t depth) {
        if (take(">")) return;
        for (;;) {
            d.children.push_back(type(depth + 1));
            if (take(">")) return;
            expect(',');
        }
    }

    std::string_view text_;
    std::size_t at_ = 0;
};

inline void description_text(const type_description& d, std::string& out) {
    using k = type_description::kind;
    const auto list = [&](std::size_t from) {
        for (std::size_t i = from; i < d.children.size(); ++i) {
            if (i > from) out += ',';
            description_text(d.children[i], out);
        }
    };
    switch (d.what) {
    case k::boolean: out += "bool"; return;
    case k::character: out += "char"; return;
    case k::integer: out += (d.is_signed ? "i" : "u") + std::to_string(d.bits); return;
    case k::floating: out += d.bits == 32 ? "f32" : "f64"; return;
    case k::string: out += "string"; return;
    case k::enumeration: out += "enum<"; break;
    case k::vector: out += "vector<"; break;
    case k::optional: out += "optional<"; break;
    case k::array:
        out += "array<";
        list(0);
        out += "," + std::to_string(d.size) + ">";
        return;
    case k::variant: out += "variant<"; break;
    case k::map: out += "map<"; break;
    case k::tuple: out += "tuple<"; break;
    case k::duration:
        out += "duration<";
        list(0);
        out += "," + std::to_string(d.num) + "/" + std::to_string(d.den) + ">";
        return;
    case k::time_point:
        out += "time_point<" + d.name + ",";
        list(0);
        out += ">";
        return;
    case k::structure:
        out += "struct{";
        for (std::size_t i = 0; i < d.children.size(); ++i) {
            out += d.fields[i] + ":";
            description_text(d.children[i], out);
            out += ";";
        }
        out += "}";
        return;
    }
    list(0);
    out += ">";
}

/// The fewest bytes a value of d encodes to (the codec's min_encoded_size, from the
/// description; saturated, never overflowing).
inline std::size_t min_encoded_size(const type_description& d) noexcept {
    using k = type_description::kind;
    constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
    const auto add = [](std::size_t a, std::size_t b) { return a > most - b ? most : a + b; };
    switch (d.what) {
    case k::boolean:
    case k::character: return 1;
    case k::integer:
    case k::floating: return d.bits / 8;
    case k::enumeration:
    case k::duration:
    case k::time_point: return min_encoded_size(d.children[0]);
    case k::string:
    case k::vector:
    case k::optional:
    case k::variant:
    case k::map: return 1;
    case k::array: {
        const std::size_t each = min_encoded_size(d.children[0]);
        return each != 0 && d.size > most / each ? most : static_cast<std::size_t>(d.size) * each;
    }
    case k::tuple:
    case k::structure: {
        std::size_t total = 0;
        for (const auto& c : d.children) total = add(total, min_encoded_size(c));
        return total;
    }
    }
    return 0;
}

} // namespace detail

/// The description that text (describe<T>()'s canonical form) spells. Throws inmem::error
/// (errc::invalid_argument) naming the offset when it is not one.
inline type_description parse_type_description(std::string_view text) { return detail::description_parser(text).parse(); }

/// The canonical text of a description: what describe<T>() writes for the type it describes.
inline std::string to_string(const type_description& d) {
    std::string out;
    detail::description_text(d, out);
    return out;
}

} // namespace inmem
