// inmem/schema/evolution.hpp: what changed between a stored type's old layout and its new
// one, whether the old bytes can become new values safely, and the conversion itself, by
// field name and without code from the user.
//
//   const auto old_type = inmem::parse_type_description(text_from_the_files);
//   const auto plan = inmem::plan_migration<Note>(old_type);   // throws when unsafe
//   std::string bytes = inmem::migrate_value<Note>(plan, old_bytes);
//   Note note = inmem::decode<Note>(bytes).value();
//
// Safe changes, at any depth (in fields, elements, map keys and values, alternatives):
//   a field added          its value is the new type's default (the default member
//                          initialiser, or value-initialisation), by encoding T{} of the
//                          struct it belongs to
//   a field removed        dropped (reported)
//   fields reordered       matched by name
//   widened                iN to iM and uN to uM (M > N), uN to iM (M > N), f32 to f64,
//                          T to optional<T>, a variant gaining alternatives at its end
// A renamed field is one removed and one added, unless the struct declares it:
//   template <> struct inmem::schema_traits<Note> {
//       static constexpr std::array<std::pair<std::string_view, std::string_view>, 1>
//           renamed_fields = {{{"body", "text"}}};    // (old name, new name)
//   };
// A field gone and another added of the same type is taken for a rename nobody declared, and
// refused; a field removed on purpose is declared so:
//   static constexpr std::array<std::string_view, 1> removed_fields = {"legacy"};
// Anything else (a type changed without a rule) is refused with errc::schema_mismatch, naming
// the field by its path from the value ($.a.b) and both layouts, unless the type declares an
// upgrade function, which then converts every stored value of it from its JSON (the mapping
// of json/value.hpp, read by the old description: json/generic.hpp, so include <inmem/json.hpp>):
//   template <> struct inmem::schema_traits<Note> {
//       static Note upgrade(const nlohmann::json& old) {
//           return {old["text"], std::stoi(old["priority"].get<std::string>())}; }
//   };
// It may throw to refuse a value (the open then fails with schema_mismatch, saying which).
//
// Opening a database runs this over the files' descriptions (durability/migration.hpp).
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/error.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/customize.hpp>
#include <inmem/schema/description.hpp>
#include <inmem/schema/fingerprint.hpp>
#include <inmem/schema/reflect.hpp>

#include <algorithm>
#include <bit>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace inmem {

/// How values of an old layout become values of a new one (plan_migration). Move-only:
/// its fills point into its layouts.
struct migration_plan {
    /// How one struct of the new layout is filled from the old one it was compared with.
    struct struct_fill {
        std::vector<std::optional<std::size_t>> sources; ///< per new field: the old field it takes, or none
        std::vector<std::string> defaults;               ///< per new field: its default's bytes (those with none)
    };

    std::unique_ptr<const type_description> from; ///< the layout the bytes were written with
    std::unique_ptr<const type_description> to;   ///< the layout they are converted to
    /// What changed, one line each ("$.priority: added", "$.count: widened from i32 to i64",
    /// "$.legacy: removed"); empty when the layouts are the same.
    std::vector<std::string> changes;
    /// Each struct of *to whose fields changed, by its node: computed once, used for every value.
    std::unordered_map<const type_description*, struct_fill> fills;
    /// The nodes of *to that are the same as the old ones they were compared with: their
    /// values' bytes are copied.
    std::unordered_set<const type_description*> unchanged;

    /// Set when the rules refused the change and T declares schema_traits<T>::upgrade: the
    /// whole value is converted by it, from the old value as JSON (json/generic.hpp).
    std::string (*upgrade)(const type_description& from, std::string_view bytes) = nullptr;

    /// True when the bytes need no conversion.
    bool identical() const noexcept { return changes.empty(); }
};

namespace detail {

using description_kind = type_description::kind;

template <class T>
concept declares_renames = requires {
    { schema_traits<T>::renamed_fields.size() } -> std::convertible_to<std::size_t>;
};

template <class T>
concept declares_removals = requires {
    { schema_traits<T>::removed_fields.size() } -> std::convertible_to<std::size_t>;
};

template <class T>
concept declares_upgrade = requires { &schema_traits<T>::upgrade; };

// What the new layout's C++ types add to their descriptions, by each struct's description:
// its default value's encoding, the fields it declares renamed (old name, new name) and those
// it declares removed on purpose, and its name (for messages).
struct struct_extras {
    std::map<std::string, std::string, std::less<>> defaults;
    std::map<std::string, std::vector<std::pair<std::string, std::string>>, std::less<>> renames;
    std::map<std::string, std::vector<std::string>, std::less<>> removals;
    std::map<std::string, std::string, std::less<>> names;
};

// Every struct type T holds (T included), into out.
template <class T>
void collect_defaults(struct_extras& out) {
    using U = std::remove_cv_t<T>;
    constexpr value_kind kind = value_kind_v<U>;
    if constexpr (kind == value_kind::adapted) {
        collect_defaults<typename adapt<U>::stored_type>(out);
    } else if constexpr (kind == value_kind::vector || kind == value_kind::optional || kind == value_kind::array) {
        collect_defaults<typename U::value_type>(out);
    } else if constexpr (kind == value_kind::map) {
        collect_defaults<typename U::key_type>(out);
        collect_defaults<typename U::mapped_type>(out);
    } else if constexpr (kind == value_kind::pair) {
        collect_defaults<typename U::first_type>(out);
        collect_defaults<typename U::second_type>(out);
    } else if constexpr (kind == value_kind::variant || kind == value_kind::tuple) {
        []<class... A>(auto& o, std::type_identity<std::tuple<A...>>) {
            (collect_defaults<A>(o), ...);
        }(out, std::type_identity<type_args_t<U>>{});
    } else if constexpr (kind == value_kind::aggregate) {
        const std::string text = inmem::describe<U>();
        out.defaults.try_emplace(text, inmem::encode(U{}));
        if constexpr (declares_renames<U>) {
            auto& renames = out.renames[text];
            for (const auto& [old_name, new_name] : schema_traits<U>::renamed_fields)
                renames.emplace_back(std::string(old_name), std::string(new_name));
        }
        if constexpr (declares_removals<U>)
            for (const auto& name : schema_traits<U>::removed_fields) out.removals[text].emplace_back(name);
        out.names.try_emplace(text, type_name<U>());
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            (collect_defaults<boost::pfr::tuple_element_t<I, U>>(out), ...);
        }(std::make_index_sequence<boost::pfr::tuple_size_v<U>>{});
    }
}

// Advances over one value of d (checked as the codec checks it).
inline bool skip_value(reader& r, const type_description& d) {
    using k = description_kind;
    const char* p;
    switch (d.what) {
    case k::boolean:
    case k::character: return r.bytes(1, p);
    case k::integer:
    case k::floating: return r.bytes(d.bits / 8u, p);
    case k::enumeration:
    case k::duration:
    case k::time_point: return skip_value(r, d.children[0]);
    case k::string: {
        std::uint64_t n;
        return r.count(n, 1) && r.bytes(static_cast<std::size_t>(n), p);
    }
    case k::vector: {
        std::uint64_t n;
        if (!r.count(n, min_encoded_size(d.children[0]))) return false;
        for (std::uint64_t i = 0; i < n; ++i)
            if (!skip_value(r, d.children[0])) return false;
        return true;
    }
    case k::array:
        for (std::uint64_t i = 0; i < d.size; ++i)
            if (!skip_value(r, d.children[0])) return false;
        return true;
    case k::optional: {
        std::uint8_t flag;
        if (!r.fixed(flag)) return false;
        if (flag > 1) return r.fail(errc::decode_invalid);
        return !flag || skip_value(r, d.children[0]);
    }
    case k::variant: {
        std::uint64_t index;
        if (!r.varint(index)) return false;
        if (index >= d.children.size()) return r.fail(errc::decode_invalid);
        return skip_value(r, d.children[static_cast<std::size_t>(index)]);
    }
    case k::map: {
        std::uint64_t n;
        if (!r.count(n, min_encoded_size(d.children[0]) + min_encoded_size(d.children[1]))) return false;
        for (std::uint64_t i = 0; i < n; ++i)
            if (!skip_value(r, d.children[0]) || !skip_value(r, d.children[1])) return false;
        return true;
    }
    case k::tuple:
    case k::structure:
        for (const auto& c : d.children)
            if (!skip_value(r, c)) return false;
        return true;
    }
    return r.fail(errc::decode_invalid);
}

// A reader over bytes, and what it has not read yet.
struct cursor {
    std::string_view all;
    reader r;
    explicit cursor(std::string_view bytes) noexcept : all(bytes), r(bytes) {}
    std::string_view rest() const noexcept { return all.substr(all.size() - r.remaining()); }
    // The bytes of the next value of d, which it skips; false when they do not decode.
    bool take(const type_description& d, std::string_view& value) {
        const std::string_view from = rest();
        if (!skip_value(r, d)) return false;
        value = from.substr(0, from.size() - r.remaining());
        return true;
    }
};

// Compares old and new layouts at path; records changes; throws when one is not safe.
class migration_planner {
public:
    migration_planner(migration_plan& plan, const struct_extras& extras) noexcept
        : plan_(plan), extras_(extras), changes_(plan.changes) {}

    void compare(const type_description& from, const type_description& to, const std::string& path) {
        if (from == to) {
            plan_.unchanged.insert(&to);
            return;
        }
        using k = description_kind;
        if (to.what == k::optional && from.what != k::optional) { // T to optional<T>
            compare(from, to.children[0], path);
            changes_.push_back(path + ": now optional (" + to_string(from) + " to " + to_string(to) + ")");
            return;
        }
        if (from.what != to.what) refuse(from, to, path, "its type changed");
        switch (to.what) {
        case k::integer: return widen(from, to, path);
        case k::floating:
            if (from.bits == 32 && to.bits == 64) {
                changes_.push_back(path + ": widened from f32 to f64");
                return;
            }
            refuse(from, to, path, "a float does not narrow");
        case k::vector:
        case k::optional:
        case k::enumeration: return compare(from.children[0], to.children[0], path + "[]");
        case k::array:
            if (from.size != to.size) refuse(from, to, path, "an array's size changed");
            return compare(from.children[0], to.children[0], path + "[]");
        case k::map:
            compare(from.children[0], to.children[0], path + "{key}");
            return compare(from.children[1], to.children[1], path + "{}");
        case k::tuple:
            if (from.children.size() != to.children.size()) refuse(from, to, path, "a tuple's size changed");
            for (std::size_t i = 0; i < to.children.size(); ++i)
                compare(from.children[i], to.children[i], path + "[" + std::to_string(i) + "]");
            return;
        case k::variant:
            if (from.children.size() > to.children.size())
                refuse(from, to, path, "a variant lost alternatives (it may only gain them, at its end)");
            for (std::size_t i = 0; i < from.children.size(); ++i)
                compare(from.children[i], to.children[i], path + "<" + std::to_string(i) + ">");
            if (to.children.size() > from.children.size())
                changes_.push_back(path + ": the variant gained " +
                                   std::to_string(to.children.size() - from.children.size()) + " alternative" +
                                   (to.children.size() - from.children.size() == 1 ? "" : "s") + " at its end");
            return;
        case k::structure: {
            migration_plan::struct_fill& fill = plan_.fills[&to];
            std::vector<bool> taken(from.fields.size(), false);
            std::vector<std::size_t> order; // the old positions of the fields kept, in the new order
            for (std::size_t i = 0; i < to.fields.size(); ++i) {
                const std::string field = path + "." + to.fields[i];
                const auto j = source_of(from, to, i);
                fill.sources.push_back(j);
                if (!j) {
                    changes_.push_back(field + ": added (" + to_string(to.children[i]) + ", its default)");
                    if (fill.defaults.empty()) fill.defaults = default_fields(to, path);
                    continue;
                }
                taken[*j] = true;
                order.push_back(*j);
                if (from.fields[*j] != to.fields[i]) changes_.push_back(field + ": renamed from " + from.fields[*j]);
                compare(from.children[*j], to.children[i], field);
            }
            for (std::size_t j = 0; j < from.fields.size(); ++j) {
                if (taken[j]) continue;
                // A field gone and one added of the same type: a rename the struct did not declare?
                if (!declared_removed(to, from.fields[j]))
                    for (std::size_t i = 0; i < to.fields.size(); ++i)
                        if (!fill.sources[i] && from.children[j] == to.children[i]) {
                            const std::string type = struct_name(to);
                            refuse(from, to, path,
                                   "its field " + from.fields[j] + " is gone and " + to.fields[i] +
                                       " is new, of the same type: if it was renamed, declare it in "
                                       "schema_traits<" + type + ">::renamed_fields = {{{\"" + from.fields[j] +
                                       "\", \"" + to.fields[i] + "\"}}}; if it was removed on purpose, in "
                                       "schema_traits<" + type + ">::removed_fields = {\"" + from.fields[j] + "\"}",
                                   false);
                        }
                changes_.push_back(path + "." + from.fields[j] + ": removed (" + to_string(from.children[j]) + ")");
            }
            if (!std::is_sorted(order.begin(), order.end())) changes_.push_back(path + ": fields reordered (matched by name)");
            return;
        }
        default: refuse(from, to, path, "its type changed");
        }
    }

private:
    void widen(const type_description& from, const type_description& to, const std::string& path) {
        const bool wider = to.bits > from.bits && (to.is_signed || !from.is_signed);
        if (!wider) refuse(from, to, path, "an integer only widens (to more bits; unsigned to a wider signed)");
        changes_.push_back(path + ": widened from " + to_string(from) + " to " + to_string(to));
    }

    // Refuses the change at path; way_out: say what can be declared (when why does not).
    [[noreturn]] static void refuse(const type_description& from, const type_description& to, const std::string& path,
                                    const std::string& why, bool way_out = true) {
        throw error(errc::schema_mismatch,
                    "inmem: the stored " + path + " cannot become the new one: " + why + " (stored " +
                        to_string(from) + ", now " + to_string(to) + ")" +
                        (way_out ? "; a field renamed is declared in schema_traits<T>::renamed_fields, and any "
                                   "other change is made by an upgrade function from the old value, "
                                   "schema_traits<T>::upgrade (schema/evolution.hpp)"
                                 : ""));
    }

    bool declared_removed(const type_description& to, std::string_view field) const {
        const auto it = extras_.removals.find(to_string(to));
        return it != extras_.removals.end() && std::find(it->second.begin(), it->second.end(), field) != it->second.end();
    }
    std::string struct_name(const type_description& to) const {
        const auto it = extras_.names.find(to_string(to));
        return it == extras_.names.end() ? "T" : it->second;
    }

    // The field of `from` that field i of `to` takes its value from: the one of its name, or
    // of the old name it declares renamed; nullopt: none (added).
    std::optional<std::size_t> source_of(const type_description& from, const type_description& to, std::size_t i) const {
        const auto find = [&](std::string_view name) -> std::optional<std::size_t> {
            for (std::size_t j = 0; j < from.fields.size(); ++j)
                if (from.fields[j] == name) return j;
            return std::nullopt;
        };
        if (const auto j = find(to.fields[i])) return j;
        if (const auto it = extras_.renames.find(to_string(to)); it != extras_.renames.end())
            for (const auto& [old_name, new_name] : it->second)
                if (new_name == to.fields[i]) return find(old_name);
        return std::nullopt;
    }

    // The bytes of each field of to's default value, by position.
    std::vector<std::string> default_fields(const type_description& to, const std::string& path) const {
        const auto it = extras_.defaults.find(to_string(to));
        if (it == extras_.defaults.end()) // (collect_defaults walks every struct of the new type)
            throw error(errc::failed, "inmem: no default value for the struct at " + path);
        std::vector<std::string> fields;
        cursor c(it->second);
        for (const auto& child : to.children) {
            std::string_view field;
            if (!c.take(child, field)) throw error(errc::failed, "inmem: the default value at " + path + " does not decode");
            fields.emplace_back(field);
        }
        return fields;
    }

    migration_plan& plan_;
    const struct_extras& extras_;
    std::vector<std::string>& changes_;
};

// Converts one value of `from` at c into one of `to` appended to out (a plan said it is safe).
class migrator {
public:
    explicit migrator(const migration_plan& plan) noexcept : plan_(plan) {}

    bool convert(cursor& c, const type_description& from, const type_description& to, std::string& out) {
        using k = description_kind;
        reader& r = c.r;
        writer w(out);
        if (plan_.unchanged.contains(&to)) { // the same bytes
            std::string_view same;
            if (!c.take(from, same)) return false;
            out.append(same);
            return true;
        }
        if (to.what == k::optional && from.what != k::optional) {
            w.fixed(std::uint8_t{1});
            return convert(c, from, to.children[0], out);
        }
        switch (to.what) {
        case k::integer: return integer(c, from, to, w);
        case k::floating: {
            std::uint32_t bits;
            if (!r.fixed(bits)) return false;
            w.fixed(std::bit_cast<std::uint64_t>(static_cast<double>(std::bit_cast<float>(bits))));
            return true;
        }
        case k::enumeration: return convert(c, from.children[0], to.children[0], out);
        case k::vector:
        case k::map: {
            std::uint64_t n;
            const std::size_t least = to.what == k::vector
                                          ? min_encoded_size(from.children[0])
                                          : min_encoded_size(from.children[0]) + min_encoded_size(from.children[1]);
            if (!r.count(n, least)) return false;
            w.varint(n);
            for (std::uint64_t i = 0; i < n; ++i) {
                if (!convert(c, from.children[0], to.children[0], out)) return false;
                if (to.what == k::map && !convert(c, from.children[1], to.children[1], out)) return false;
            }
            return true;
        }
        case k::array:
            for (std::uint64_t i = 0; i < to.size; ++i)
                if (!convert(c, from.children[0], to.children[0], out)) return false;
            return true;
        case k::optional: {
            std::uint8_t flag;
            if (!r.fixed(flag)) return false;
            if (flag > 1) return r.fail(errc::decode_invalid);
            w.fixed(flag);
            return !flag || convert(c, from.children[0], to.children[0], out);
        }
        case k::variant: {
            std::uint64_t index;
            if (!r.varint(index)) return false;
            if (index >= from.children.size()) return r.fail(errc::decode_invalid);
            w.varint(index);
            const auto i = static_cast<std::size_t>(index);
            return convert(c, from.children[i], to.children[i], out);
        }
        case k::tuple:
            for (std::size_t i = 0; i < to.children.size(); ++i)
                if (!convert(c, from.children[i], to.children[i], out)) return false;
            return true;
        case k::structure: return structure(c, from, to, out);
        default: return r.fail(errc::decode_invalid); // (the plan refused the rest)
        }
    }

private:
    static bool integer(cursor& c, const type_description& from, const type_description& to, writer& w) {
        std::uint64_t raw = 0;
        const char* p;
        if (!c.r.bytes(from.bits / 8u, p)) return false;
        for (unsigned i = 0; i < from.bits / 8u; ++i) // little-endian
            raw |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
        if (from.is_signed && from.bits < 64 && ((raw >> (from.bits - 1)) & 1u)) raw |= ~std::uint64_t{0} << from.bits;
        for (unsigned i = 0; i < to.bits / 8u; ++i) w.fixed(static_cast<std::uint8_t>(raw >> (8 * i)));
        return true;
    }

    bool structure(cursor& c, const type_description& from, const type_description& to, std::string& out) {
        std::vector<std::string_view> old(from.children.size()); // the old fields' bytes, by position
        for (std::size_t j = 0; j < from.children.size(); ++j)
            if (!c.take(from.children[j], old[j])) return false;
        const migration_plan::struct_fill& fill = plan_.fills.at(&to); // (the planner made one for every changed struct)
        for (std::size_t i = 0; i < to.fields.size(); ++i) {
            if (const auto j = fill.sources[i]) {
                cursor field(old[*j]);
                if (!convert(field, from.children[*j], to.children[i], out))
                    return c.r.fail(field.r.error() == errc::ok ? errc::decode_invalid : field.r.error());
            } else {
                out.append(fill.defaults[i]);
            }
        }
        return true;
    }

    const migration_plan& plan_;
};

// The tag that finds, by argument-dependent lookup, how an old value becomes a Json
// (json/generic.hpp defines it for nlohmann::json: include <inmem/json.hpp>).
template <class Json>
struct generic_as {};

template <class R, class A>
A upgrade_argument(R (*)(A));

// An old value of `from`, converted by T's upgrade function from its JSON.
template <class T>
std::string upgrade_value(const type_description& from, std::string_view bytes) {
    using json = std::remove_cvref_t<decltype(upgrade_argument(&schema_traits<T>::upgrade))>;
    json old = generic_value(generic_as<json>{}, from, bytes); // (include <inmem/json.hpp> when this is not found)
    try {
        return inmem::encode(static_cast<const T&>(schema_traits<T>::upgrade(old)));
    } catch (const std::exception& e) {
        throw error(errc::schema_mismatch, "inmem: schema_traits<" + std::string(type_name<T>()) +
                                               ">::upgrade refused a stored value (" + old.dump() + "): " + e.what());
    }
}

} // namespace detail

/// How values written with the layout `from` become values of T: what changed, checked
/// safe. Throws inmem::error(errc::schema_mismatch) naming the field, both layouts and the
/// way out when a change is not safe (see the rules at the top of this file).
template <class T>
migration_plan plan_migration(const type_description& from) {
    static_assert(detail::storable_v<T>);
    migration_plan plan{std::make_unique<const type_description>(from),
                        std::make_unique<const type_description>(parse_type_description(inmem::describe<T>())), {}, {}, {}};
    if (*plan.from == *plan.to) return plan;
    detail::struct_extras extras;
    detail::collect_defaults<T>(extras);
    try {
        detail::migration_planner(plan, extras).compare(*plan.from, *plan.to, "$");
    } catch (const error& e) {
        if constexpr (detail::declares_upgrade<T>) {
            if (e.code() != errc::schema_mismatch) throw;
            plan.fills.clear();
            plan.unchanged.clear();
            plan.changes = {"$: upgraded by schema_traits<" + std::string(detail::type_name<T>()) + ">::upgrade (" +
                            to_string(*plan.from) + " to " + to_string(*plan.to) + ")"};
            plan.upgrade = &detail::upgrade_value<T>;
        } else {
            throw;
        }
    }
    return plan;
}

/// The bytes of the T that old_bytes (a value of plan.from) becomes. Throws inmem::error
/// (errc::corruption) when old_bytes do not decode as plan.from.
inline std::string migrate_value(const migration_plan& plan, std::string_view old_bytes) {
    if (plan.identical()) return std::string(old_bytes);
    if (plan.upgrade) return plan.upgrade(*plan.from, old_bytes);
    detail::cursor c(old_bytes);
    std::string out;
    detail::migrator m(plan);
    errc failure = errc::ok;
    if (!m.convert(c, *plan.from, *plan.to, out)) failure = c.r.error() == errc::ok ? errc::decode_invalid : c.r.error();
    else if (c.r.remaining() != 0) failure = errc::decode_trailing;
    if (failure != errc::ok)
        throw error(errc::corruption, "inmem: a stored value of " + std::to_string(old_bytes.size()) +
                                          " bytes does not decode as its old layout " + to_string(*plan.from) + ": " +
                                          make_error_code(failure).message());
    return out;
}

} // namespace inmem
