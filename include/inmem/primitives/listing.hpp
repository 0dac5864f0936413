// inmem/primitives/listing.hpp: what the primitives' list() calls take and return.
//
//   auto page = plans.list(run, "tool:", {.limit = 10});                 // the first 10
//   auto next = plans.list(run, "tool:", {.after = page[9].key, .limit = 10}); // the next 10
#pragma once

#include <range/v3/range_fwd.hpp>

#include <cstddef>
#include <limits>
#include <memory>
#include <ranges>
#include <string_view>
#include <vector>

namespace inmem {

/// Which part of a listing to return: the entries after a key, at most limit of them. A
/// listing costs what it returns (plus finding where to start), not the whole range.
struct list_options {
    /// Start after this key (exclusive), e.g. the last key of the previous page; "": from the first.
    std::string_view after{};
    /// At most this many entries.
    std::size_t limit = std::numeric_limits<std::size_t>::max();
};

/// The result of a list() call: a view of entries in key order, taken at one moment.
/// Copying it is O(1) (the entries are shared), so it composes with range-v3 and std views
/// even as a temporary: `db.kv<Plan>().list(run) | ranges::views::filter(...)`.
/// (It tags itself as a view rather than deriving from std::ranges::view_interface, which
/// clang 14 cannot instantiate with libstdc++ 12.)
template <class Entry>
class entry_range : public std::ranges::view_base, public ranges::view_base {
public:
    using entries_type = std::vector<Entry>;

    entry_range() = default;
    explicit entry_range(entries_type entries)
        : entries_(std::make_shared<const entries_type>(std::move(entries))) {}

    typename entries_type::const_iterator begin() const noexcept {
        return entries_ ? entries_->begin() : typename entries_type::const_iterator{};
    }
    typename entries_type::const_iterator end() const noexcept {
        return entries_ ? entries_->end() : typename entries_type::const_iterator{};
    }
    std::size_t size() const noexcept { return entries_ ? entries_->size() : 0; }
    bool empty() const noexcept { return size() == 0; }
    const Entry& operator[](std::size_t i) const noexcept { return (*entries_)[i]; }
    /// The last entry (the cursor for the next page: list(..., {.after = r.back().key})).
    const Entry& back() const noexcept { return entries_->back(); }

private:
    std::shared_ptr<const entries_type> entries_;
};

} // namespace inmem
