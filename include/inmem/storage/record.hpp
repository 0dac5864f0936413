// inmem/storage/record.hpp: what the store holds (records) and how it changes (write ops).
#pragma once

#include <inmem/storage/key.hpp>

#include <string>

namespace inmem::detail {

/// A record as the store keeps it: the commit that wrote it and its encoded value.
struct stored_record {
    version_t version = 0;
    std::string bytes;
};

/// One change in a commit: put bytes at key, or erase key. A commit is a sequence of them,
/// applied all or none, under one version.
struct write_op {
    enum class kind : unsigned char { put, erase };
    kind op = kind::put;
    std::string key;
    std::string bytes;
    /// The engine appends the commit's version (8 bytes, big-endian) to key before logging:
    /// for journal records, one per commit, whose key must name the commit.
    bool append_version = false;
};

} // namespace inmem::detail
