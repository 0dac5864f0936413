// inmem/storage/record.hpp: what the store holds (records) and how it changes (write ops).
#pragma once

#include <inmem/storage/key.hpp>

#include <string>
#include <string_view>

namespace inmem::detail {

/// A record as the store keeps it: the commit that wrote it and its encoded value.
struct stored_record {
    version_t version = 0;
    std::string bytes;
};

struct write_op;

/// What a commit tells the finalizers of its ops: its version, and the latest record of a
/// key as the store holds it under the writers' lock (nullptr: none).
struct commit_context {
    version_t version = 0;
    const void* store = nullptr;
    const stored_record* (*latest_of)(const void* store, std::string_view key) = nullptr;

    const stored_record* latest(std::string_view key) const { return latest_of(store, key); }
};

/// A commit hook of one op: the engine calls it under the writers' lock, before the WAL
/// append, on every commit path, to complete what only the commit knows (a journal
/// entry's key names the commit's version; an event log's entry its sequence number and
/// the previous entry's hash).
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
};

/// The finalizer of journal entries: appends the commit's version (8 bytes, big-endian) to
/// the key, so each commit's entry has a key of its own that names the commit.
inline void append_commit_version(write_op& op, const commit_context& commit) {
    append_big_endian(op.key, commit.version);
}

} // namespace inmem::detail
