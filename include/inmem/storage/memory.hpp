// inmem/storage/memory.hpp: the in-memory storage backend.
#pragma once

#include <inmem/policy.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace inmem::detail {

/// One ordered map of every record: point reads in O(log n), and the records under a key
/// prefix (a run, a primitive, a slot) in one ordered scan.
class memory_backend {
public:
    const stored_record* find(std::string_view key) const {
        auto it = map_.find(key);
        return it == map_.end() ? nullptr : &it->second;
    }

    void put(std::string&& key, std::string&& bytes, version_t version) {
        auto [it, inserted] = map_.try_emplace(std::move(key));
        it->second.version = version;
        it->second.bytes = std::move(bytes);
    }

    bool erase(std::string_view key) {
        auto it = map_.find(key);
        if (it == map_.end()) return false;
        map_.erase(it);
        return true;
    }

    /// Calls f(key, record) for every key that starts with prefix, in key order.
    template <class F>
    void scan_prefix(std::string_view prefix, F&& f) const {
        auto end_key = prefix_end(prefix);
        auto it = map_.lower_bound(prefix);
        auto end = end_key.empty() ? map_.end() : map_.lower_bound(std::string_view(end_key));
        for (; it != end; ++it) f(std::string_view(it->first), it->second);
    }

    std::size_t size() const noexcept { return map_.size(); }

private:
    std::map<std::string, stored_record, std::less<>> map_;
};

} // namespace inmem::detail

namespace inmem::storage {

/// Keeps every record in RAM in one ordered map (the default storage policy).
struct memory {
    using policy_kind = storage_kind;
    using backend = detail::memory_backend;
};

} // namespace inmem::storage
