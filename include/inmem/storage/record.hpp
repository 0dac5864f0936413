// inmem/storage/record.hpp: what the store holds (records) and how it changes (write ops).
#pragma once

#include <inmem/storage/key.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace inmem::detail {

/// A record as the store keeps it: the commit that wrote it and its encoded value.
struct stored_record {
    version_t version = 0;
    std::string bytes;
};

struct write_op;

/// What the finalizers of one commit share, by key, and nothing outlives the commit: an
/// event log's chain head as the commit's earlier appends left it. Few entries are searched
/// in a line; many, through a hash table.
class commit_scratch {
public:
    commit_scratch() { few_.reserve(few_limit); } // (never reallocated: see at())

    /// The entry of key; fresh tells whether it was just created (empty). The reference
    /// stays valid until at() creates another entry.
    std::string& at(std::string_view key, bool& fresh) {
        fresh = false;
        if (!many_) {
            for (std::size_t i = 0; i < used_; ++i)
                if (few_[i].first == key) return few_[i].second;
            fresh = true;
            if (used_ < few_limit) { // entries of earlier commits keep their buffers for reuse
                if (used_ == few_.size()) few_.emplace_back();
                auto& [k, v] = few_[used_++];
                k.assign(key);
                v.clear();
                return v;
            }
            many_ = std::make_unique<std::unordered_map<std::string, std::string>>(few_.begin(), few_.end());
            used_ = 0;
        }
        auto [it, added] = many_->try_emplace(std::string(key));
        fresh = added;
        return it->second;
    }
    /// Forgets every entry (done before each commit's first finalizer).
    void clear() noexcept {
        used_ = 0;
        many_.reset();
    }

private:
    static constexpr std::size_t few_limit = 16;
    std::vector<std::pair<std::string, std::string>> few_; // the first used_ are this commit's
    std::size_t used_ = 0;
    std::unique_ptr<std::unordered_map<std::string, std::string>> many_;
};

/// What a commit tells the finalizers of its ops: its version, its time by the database's
/// clock (read once per commit), the latest record of a key as the store holds it under the
/// writers' lock (nullptr: none; ops of this commit are not in it yet), and the scratch the
/// commit's finalizers share.
struct commit_context {
    version_t version = 0;
    std::chrono::system_clock::time_point time{};
    const void* store = nullptr;
    const stored_record* (*latest_of)(const void* store, std::string_view key) = nullptr;
    commit_scratch* scratch = nullptr;

    const stored_record* latest(std::string_view key) const { return latest_of(store, key); }
};

/// A commit hook of one op: the engine calls it under the writers' lock, before the WAL
/// append, on every commit path, in the order of the commit's ops, to complete what only
/// the commit knows (a journal entry's key names the commit's version; an event log's
/// entry its sequence number and the previous entry's hash).
using finalizer = void (*)(write_op& op, const commit_context& commit);

/// One change in a commit: put bytes at key, or erase key. A commit is a sequence of them,
/// applied all or none, under one version.
struct write_op {
    enum class kind : unsigned char { put, erase };
    kind op = kind::put;
    std::string key;
    std::string bytes;
    /// Called (once, then cleared) before the commit is logged; nullptr: the op is final. A
    /// transaction neither reads back nor conflict-checks an op whose key is not final yet.
    finalizer finalize = nullptr;
    /// Where the finalizer reports what it completed (an event's sequence number, as a
    /// std::uint64_t), or nullptr: set by whoever asks for it.
    void* out = nullptr;
};

/// The finalizer of journal entries: appends the commit's version (8 bytes, big-endian) to
/// the key, so each commit's entry has a key of its own that names the commit.
inline void append_commit_version(write_op& op, const commit_context& commit) {
    append_big_endian(op.key, commit.version);
}

/// Sees every batch the engine applies, identically live and in recovery, in commit order:
/// what a derived index (the run index's secondary indexes, a vector index) is built from,
/// so that it is rebuilt on open exactly as it was kept. The engine calls it for the commits
/// it makes itself too (runs begun and ended). Neither function may throw.
class batch_observer {
public:
    /// At open: a record of the snapshot recovery starts from, in key order, before any batch.
    virtual void loaded(std::string_view key, std::string_view bytes, version_t version) noexcept = 0;
    /// A commit's ops, finalized, just before they are applied (live: under the writers'
    /// lock, after the WAL append; at open: as the WAL replays).
    virtual void applied(version_t version, std::span<const write_op> ops) noexcept = 0;
    /// Once, when recovery is over (at once for a database in memory), before any live commit.
    virtual void recovered() noexcept {}

protected:
    ~batch_observer() = default;
};

} // namespace inmem::detail
