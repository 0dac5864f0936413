// inmem/time_machine/print.hpp: a diff, or a timeline, as text for a person: field names
// and values, not codec bytes.
//
//   std::cout << inmem::to_string<my_schema>(inmem::diff(db, run, what_if));
//     diff run 1 @ v12 -> run 2 @ v20
//     kv Plan 'plan': {goal: "a", budget: 1} -> {goal: "b", budget: 2}
//     kv Plan 'notes': removed (was {goal: "n", budget: 0})
//     state int 'counter': 1 -> 2
//     events: 5 same, 1 only in run 1, 1 only in run 2; first divergence: run 1 #5 Said {what: "x"} / run 2 #0 Said {what: "y"}
//       - run 1 #5 Said {what: "x"}
//       + run 2 #0 Said {what: "y"}
//     traces: none
//   for (const auto& step : inmem::timeline(db, run)) std::cout << inmem::to_string<my_schema>(step);
//
// Each value is decoded with its schema slot's type (a table of one formatter per slot, as
// json/records.hpp builds its coders) and written as:
//   bool, integer (char too), enum (its underlying integer), float (shortest text that reads
//   back; nan, inf)      := as C++ writes the number
//   string               := "..." with \" \\ \n \r \t and \xNN for other control bytes
//   vector, array        := [a, b]          optional := null | the value
//   map, unordered_map   := {k: v, ...}     (unordered_map sorted by text)
//   pair, tuple          := (a, b)          variant  := the alternative (an aggregate by name)
//   duration             := 1500ms          time_point := 2027-01-14T08:10:00Z (system_clock),
//                                                         else its duration since the epoch
//   struct               := {field: value, ...} named by field_names<T>()
//   adapt<T>             := its stored_type's text
// Bytes that do not decode as the slot's type print as <undecodable N bytes>: printing never
// throws for stored data. Nothing here needs nlohmann/json. A log's entries are listed up to
// detail::print_max_entries per side, then counted.
#pragma once

#include <inmem/schema/codec.hpp>
#include <inmem/schema/reflect.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/time_machine/diff.hpp>
#include <inmem/time_machine/timeline.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace inmem {
namespace detail {

/// The most entries of one side of a log difference to_string lists (the rest are counted).
inline constexpr std::size_t print_max_entries = 20;

// s quoted with `quote`, its control bytes escaped (other bytes, UTF-8 too, as they are).
inline void format_quoted(std::string& out, std::string_view s, char quote = '"') {
    out.push_back(quote);
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == quote || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (u < 0x20 || u == 0x7f) {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        } else out.push_back(c);
    }
    out.push_back(quote);
}

template <class Number>
void format_number(std::string& out, Number v) {
    if constexpr (std::is_floating_point_v<Number>) {
        if (std::isnan(v)) return void(out += "nan");
        if (std::isinf(v)) return void(out += v > 0 ? "inf" : "-inf");
    }
    char buffer[64];
    const auto r = std::to_chars(buffer, buffer + sizeof buffer, v); // floats: the shortest that reads back
    out.append(buffer, r.ptr);
}

template <class Rep, class Period>
void format_duration(std::string& out, const std::chrono::duration<Rep, Period>& d) {
    format_number(out, d.count());
    using P = typename Period::type;
    if constexpr (std::is_same_v<P, std::nano>) out += "ns";
    else if constexpr (std::is_same_v<P, std::micro>) out += "us";
    else if constexpr (std::is_same_v<P, std::milli>) out += "ms";
    else if constexpr (std::is_same_v<P, std::ratio<1>>) out += "s";
    else if constexpr (std::is_same_v<P, std::ratio<60>>) out += "min";
    else if constexpr (std::is_same_v<P, std::ratio<3600>>) out += "h";
    else if constexpr (std::is_same_v<P, std::ratio<86400>>) out += "d";
    else {
        out += " x ";
        format_number(out, static_cast<std::intmax_t>(P::num));
        out += "/";
        format_number(out, static_cast<std::intmax_t>(P::den));
        out += "s";
    }
}

// A system_clock time as UTC ISO 8601, with the fraction of a second it has (to ns).
template <class Dur>
void format_system_time(std::string& out, const std::chrono::time_point<std::chrono::system_clock, Dur>& t) {
    using namespace std::chrono;
    const auto ns = time_point_cast<nanoseconds>(t);
    const auto day = floor<days>(ns);
    const year_month_day ymd(day);
    const hh_mm_ss<nanoseconds> time(ns - day);
    auto two = [&](long v) {
        out.push_back(static_cast<char>('0' + v / 10));
        out.push_back(static_cast<char>('0' + v % 10));
    };
    format_number(out, static_cast<int>(ymd.year()));
    out.push_back('-');
    two(static_cast<long>(static_cast<unsigned>(ymd.month())));
    out.push_back('-');
    two(static_cast<long>(static_cast<unsigned>(ymd.day())));
    out.push_back('T');
    two(time.hours().count());
    out.push_back(':');
    two(time.minutes().count());
    out.push_back(':');
    two(static_cast<long>(time.seconds().count()));
    if (auto frac = time.subseconds().count(); frac != 0) {
        std::string digits = std::to_string(frac);
        digits.insert(0, 9 - digits.size(), '0');
        while (digits.back() == '0') digits.pop_back();
        out.push_back('.');
        out += digits;
    }
    out.push_back('Z');
}

/// Appends v as text (see the file's comment for the forms), for any storable T.
template <class T>
void format_value(std::string& out, const T& v) {
    constexpr value_kind kind = value_kind_v<T>;
    if constexpr (kind == value_kind::adapted) {
        format_value(out, static_cast<const typename adapt<T>::stored_type&>(adapt<T>::to_stored(v)));
    } else if constexpr (kind == value_kind::boolean) {
        out += v ? "true" : "false";
    } else if constexpr (kind == value_kind::integer) {
        format_number(out, v);
    } else if constexpr (kind == value_kind::floating) {
        format_number(out, v);
    } else if constexpr (kind == value_kind::enumeration) {
        format_number(out, static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (kind == value_kind::string) {
        format_quoted(out, v);
    } else if constexpr (kind == value_kind::vector || kind == value_kind::array) {
        // (the cast reads a vector<bool>'s proxies as bools)
        out.push_back('[');
        const char* sep = "";
        for (const auto& e : v) {
            out += std::exchange(sep, ", ");
            format_value(out, static_cast<const typename T::value_type&>(e));
        }
        out.push_back(']');
    } else if constexpr (kind == value_kind::optional) {
        if (v) format_value(out, *v);
        else out += "null";
    } else if constexpr (kind == value_kind::variant) {
        std::visit(
            [&]<class A>(const A& alt) {
                if constexpr (value_kind_v<A> == value_kind::aggregate) {
                    out += type_name<A>();
                    out.push_back(' ');
                }
                format_value(out, alt);
            },
            v);
    } else if constexpr (kind == value_kind::map) {
        std::vector<std::pair<std::string, std::string>> entries;
        entries.reserve(v.size());
        for (const auto& [key, value] : v) {
            std::pair<std::string, std::string> e;
            format_value(e.first, key);
            format_value(e.second, value);
            entries.push_back(std::move(e));
        }
        if constexpr (is_specialization_v<T, std::unordered_map>) std::sort(entries.begin(), entries.end());
        out.push_back('{');
        const char* sep = "";
        for (const auto& [key, value] : entries) {
            out += std::exchange(sep, ", ");
            out += key;
            out += ": ";
            out += value;
        }
        out.push_back('}');
    } else if constexpr (kind == value_kind::pair) {
        out.push_back('(');
        format_value(out, v.first);
        out += ", ";
        format_value(out, v.second);
        out.push_back(')');
    } else if constexpr (kind == value_kind::tuple) {
        out.push_back('(');
        std::apply(
            [&](const auto&... e) {
                const char* sep = "";
                ((out += std::exchange(sep, ", "), format_value(out, e)), ...);
            },
            v);
        out.push_back(')');
    } else if constexpr (kind == value_kind::duration) {
        format_duration(out, v);
    } else if constexpr (kind == value_kind::time_point) {
        if constexpr (std::is_same_v<typename T::clock, std::chrono::system_clock>) format_system_time(out, v);
        else {
            out += "epoch+";
            format_duration(out, v.time_since_epoch());
        }
    } else if constexpr (kind == value_kind::aggregate) {
        constexpr auto names = field_names<T>();
        out.push_back('{');
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((out += I == 0 ? "" : ", ", out += names[I], out += ": ", format_value(out, boost::pfr::get<I>(v))), ...);
        }(std::make_index_sequence<names.size()>{});
        out.push_back('}');
    } else {
        static_assert(always_false<T>, "inmem: format_value: the type is not storable (see storable_v)");
    }
}

/// v as text (format_value).
template <class T>
std::string format_value(const T& v) {
    std::string out;
    format_value(out, v);
    return out;
}

// Decodes bytes as a T and formats it, or says it could not.
template <class T>
std::string format_bytes(std::string_view bytes) {
    const result<T> value = decode<T>(bytes);
    if (!value) return "<undecodable " + std::to_string(bytes.size()) + " bytes>";
    return format_value(value.assume_value());
}

template <class... Slots>
constexpr auto make_slot_formatters(slot_list<Slots...>) {
    return std::array<std::string (*)(std::string_view), sizeof...(Slots)>{&format_bytes<typename Slots::type>...};
}

/// The formatter of every slot of Schema, in slot order.
template <class Schema>
inline constexpr auto slot_formatters = make_slot_formatters(typename Schema::slots{});

/// The value that bytes (codec bytes) hold in Schema's slot, as text; a slot the schema
/// does not have, or bytes that do not decode, print as <...> (never throws for them).
template <class Schema>
std::string format_slot(std::uint16_t slot, std::string_view bytes) {
    if (slot >= slot_formatters<Schema>.size())
        return "<slot " + std::to_string(slot) + " not in the schema: " + std::to_string(bytes.size()) + " bytes>";
    return slot_formatters<Schema>[slot](bytes);
}

// "a -> b", "added b", "<gone> (was a)".
template <class Schema>
void format_values(std::string& out, std::uint16_t slot, const std::optional<std::string>& a,
                   const std::optional<std::string>& b, std::string_view gone) {
    if (a && b) out += format_slot<Schema>(slot, *a) + " -> " + format_slot<Schema>(slot, *b);
    else if (b) out += "added " + format_slot<Schema>(slot, *b);
    else if (a) out += std::string(gone) + " (was " + format_slot<Schema>(slot, *a) + ")";
    else out += "absent";
}

template <class Schema>
void format_entry(std::string& out, const log_entry& e) {
    out += "run ";
    out += std::to_string(e.run.value);
    out += " #";
    out += std::to_string(e.seq);
    out.push_back(' ');
    out += e.type;
    out.push_back(' ');
    out += format_slot<Schema>(e.slot, e.value);
}

template <class Schema>
void format_log(std::string& out, std::string_view name, const log_difference& d, run_id a, run_id b) {
    out += name;
    out += ": ";
    if (d.empty()) {
        out += d.same == 0 ? "none\n" : "all " + std::to_string(d.same) + " same\n";
        return;
    }
    out += std::to_string(d.same) + " same, " + std::to_string(d.only_a.size()) + " only in run " +
           std::to_string(a.value) + ", " + std::to_string(d.only_b.size()) + " only in run " + std::to_string(b.value) +
           "; first divergence: ";
    if (d.first_divergence_a) format_entry<Schema>(out, *d.first_divergence_a);
    else out += "(none in run " + std::to_string(a.value) + ")";
    out += " / ";
    if (d.first_divergence_b) format_entry<Schema>(out, *d.first_divergence_b);
    else out += "(none in run " + std::to_string(b.value) + ")";
    out.push_back('\n');
    auto side = [&](const std::vector<log_entry>& entries, std::string_view mark) {
        const std::size_t n = std::min(entries.size(), print_max_entries);
        for (std::size_t i = 0; i < n; ++i) {
            out += "  ";
            out += mark;
            out.push_back(' ');
            format_entry<Schema>(out, entries[i]);
            out.push_back('\n');
        }
        if (entries.size() > n) {
            out += "  ";
            out += mark;
            out += " ... and " + std::to_string(entries.size() - n) + " more\n";
        }
    };
    side(d.only_a, "-");
    side(d.only_b, "+");
}

} // namespace detail

/// The value that bytes (its codec bytes) hold in schema slot `slot`, as text (see the
/// file's comment); <undecodable N bytes> when they do not decode. The text counterpart of
/// json/records.hpp's slot_value_to_json, without nlohmann/json.
template <class Schema>
std::string slot_value_to_string(std::uint16_t slot, std::string_view bytes) {
    return detail::format_slot<Schema>(slot, bytes);
}

/// d as a report for a person, one line per difference (see the file's comment): a header
/// line naming the two points, then KV keys and state records (added, removed, changed, with
/// their values), then the event log and the trace store (how many entries are the same, the
/// first divergence, the entries only one side has). "no differences" when d is empty.
template <class Schema>
std::string to_string(const run_diff& d) {
    std::string out = "diff run " + std::to_string(d.a_run.value) + " @ v" + std::to_string(d.a_version) +
                      " -> run " + std::to_string(d.b_run.value) + " @ v" + std::to_string(d.b_version) + "\n";
    if (d.empty()) return out + "no differences\n";
    auto values = [&](std::string_view family, const std::vector<value_difference>& diffs) {
        for (const value_difference& v : diffs) {
            out += family;
            out.push_back(' ');
            out += v.type;
            out.push_back(' ');
            detail::format_quoted(out, v.key, '\'');
            out += ": ";
            detail::format_values<Schema>(out, v.slot, v.a, v.b, "removed");
            out.push_back('\n');
        }
    };
    values("kv", d.kv);
    values("state", d.states);
    detail::format_log<Schema>(out, "events", d.events, d.a_run, d.b_run);
    detail::format_log<Schema>(out, "traces", d.traces, d.a_run, d.b_run);
    return out;
}

/// One commit of a timeline as text: "v12 at <time>", then one indented line per change:
/// "kv Plan 'plan': a -> b", "event Said #3: added {...}", "... erased (was a)".
template <class Schema>
std::string to_string(const timeline_step& step) {
    std::string out = "v" + std::to_string(step.version);
    if (step.time.time_since_epoch().count() != 0) { // 0: a commit whose time the history did not keep
        out += " at ";
        detail::format_system_time(out, step.time);
    }
    out.push_back('\n');
    for (const timeline_change& c : step.changes) {
        out += "  ";
        out += c.family;
        out.push_back(' ');
        out += c.type;
        out.push_back(' ');
        if (c.family_id == primitive::event || c.family_id == primitive::trace) out += "#" + std::to_string(c.sequence.value_or(0));
        else detail::format_quoted(out, c.key, '\'');
        out += ": ";
        detail::format_values<Schema>(out, c.slot, c.before, c.after, "erased");
        out.push_back('\n');
    }
    return out;
}

/// A whole timeline (timeline()) as text: its steps, oldest first.
template <class Schema>
std::string to_string(const std::vector<timeline_step>& steps) {
    std::string out;
    for (const timeline_step& step : steps) out += to_string<Schema>(step);
    return out;
}

} // namespace inmem
