// inmem/schema/customize.hpp: the two customization points of a stored type.
//
// A plain aggregate needs neither. Specialize them to rename a type or its fields, or to
// store a type that is not an aggregate (a class with invariants, a third-party type).
#pragma once

namespace inmem {

/// Refines how a stored type is described. Specialize with either or both of:
///   static constexpr std::string_view name = "Plan";                  // type name in output
///   static constexpr std::array<std::string_view, N> field_names = {...}; // one per field
/// Without it, both are derived from the compiler (gcc >= 12, clang >= 14); field names are
/// part of the schema fingerprint, so declared names must match what was derived before.
/// A field renamed since values were stored keeps them when declared (schema/evolution.hpp):
///   static constexpr std::array<std::pair<std::string_view, std::string_view>, N>
///       renamed_fields = {{{"old_name", "new_name"}, ...}};
/// and so does a field removed on purpose (else a field gone and one added of its type are
/// taken for an undeclared rename), or a change no rule makes, by an upgrade function:
///   static constexpr std::array<std::string_view, N> removed_fields = {"old_name", ...};
///   static T upgrade(const nlohmann::json& old);   // the old value, by its old layout
template <class T>
struct schema_traits {};

/// Stores a type that is not an aggregate through one that is storable. Specialize with:
///   using stored_type = ...;                         // any storable type
///   static stored_type to_stored(const T&);
///   static T from_stored(stored_type&&);             // may throw to reject bad data
/// T must be default-constructible and move-assignable: decoding creates a T, then assigns
/// from_stored's result to it.
template <class T>
struct adapt {};

} // namespace inmem
