// inmem/history/run_history.hpp: one run's history, what its commits overwrote, kept.
//
// The store keeps each key's latest record (and older versions only while a snapshot reads
// them). A run's history keeps the rest, for the time machine: every commit that wrote to
// the run's key range, with its version and time, and every record of that range such a
// commit overwrote or erased, with the version that had written it. It is one append-only
// stream of bytes per run, in commit order:
//
//   commit    := 0x01 varint(version - the previous commit's) zigzag(time - the previous commit's)
//   key       := 0x02 varint(size) byte{size}
//                a key of the run (what follows its 13-byte run prefix: primitive, slot, user
//                key), numbered 0, 1, ... in stream order, written before its first value
//   value     := 0x03 varint(key number) varint(commit version - written) varint(size) byte{size}
//                the record written at version `written` that the commit before it in the
//                stream overwrote or erased
//   compacted := 0x04 varint(version)   db.compact dropped everything before version
//
// (times are nanoseconds since the epoch by the database's clock; versions and times start
// from 0.) A record of the stream costs its bytes plus a few: docs/performance.md measures it.
//
// One writer (under the engine's writers' lock, or recovery) appends; readers read without a
// lock: the stream lives in blocks that never move, each publishing how much of it is
// written, and readers stop at the first commit past their snapshot.
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/storage/hash_index.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace inmem::detail {

enum class history_record : char { commit = 1, key = 2, value = 3, compacted = 4 };

/// One decoded record of a history stream (see the grammar above), with the running state:
/// the current commit's version and time, and for a value, its key's number and the version
/// that wrote it.
struct history_item {
    history_record kind{};
    version_t version = 0;      ///< commit: its version; value: the commit that superseded it; compacted: where
    std::int64_t time = 0;      ///< the current commit's time (ns)
    std::uint32_t key = 0;      ///< key, value: the key's number
    version_t written = 0;      ///< value: the version that wrote it
    std::string_view bytes;     ///< key: the key (after the run prefix); value: the bytes
};

/// Reads the records of a stream's bytes, in order, keeping the running state. Refuses
/// (returns false with ok() false) bytes that break the grammar.
class history_cursor {
public:
    /// Decodes the next record into item from data[pos...]; false at the end or on damage.
    bool next(std::string_view data, std::size_t& pos, history_item& item) noexcept {
        if (pos >= data.size()) return false;
        reader r(data.substr(pos));
        std::uint8_t tag = 0;
        r.fixed(tag);
        item.kind = static_cast<history_record>(tag);
        std::uint64_t a = 0, b = 0, n = 0;
        const char* p = nullptr;
        switch (item.kind) {
        case history_record::commit:
            if (!r.varint(a) || !r.varint(b) || a == 0) return bad();
            version_ += a;
            time_ += static_cast<std::int64_t>((b >> 1) ^ (~(b & 1) + 1)); // zigzag
            item.version = version_;
            break;
        case history_record::key:
            if (!r.count(n, 1) || !r.bytes(n, p)) return bad();
            item.key = keys_++;
            item.bytes = std::string_view(p, n);
            break;
        case history_record::value:
            if (version_ == 0 || !r.varint(a) || a >= keys_ || !r.varint(b) || b == 0 || b > version_ ||
                !r.count(n, 1) || !r.bytes(n, p))
                return bad();
            item.key = static_cast<std::uint32_t>(a);
            item.version = version_;
            item.written = version_ - b;
            item.bytes = std::string_view(p, n);
            break;
        case history_record::compacted:
            if (!r.varint(a) || a < version_) return bad();
            version_ = a;
            item.version = a;
            break;
        default: return bad();
        }
        item.time = time_;
        pos = static_cast<std::size_t>(data.size() - r.remaining());
        return true;
    }

    bool ok() const noexcept { return ok_; }
    version_t version() const noexcept { return version_; }
    std::int64_t time() const noexcept { return time_; }
    std::uint32_t keys() const noexcept { return keys_; }

private:
    bool bad() noexcept { return ok_ = false; }

    version_t version_ = 0;
    std::int64_t time_ = 0;
    std::uint32_t keys_ = 0;
    bool ok_ = true;
};

/// One run's history stream, with the writer's index of the keys it numbered.
class run_history {
    struct block {
        std::atomic<block*> next{nullptr};
        std::atomic<std::size_t> used{0};
        std::size_t capacity = 0;
        char* data() noexcept { return reinterpret_cast<char*>(this + 1); }
        const char* data() const noexcept { return reinterpret_cast<const char*>(this + 1); }
    };

public:
    run_history() = default;
    run_history(const run_history&) = delete;
    run_history& operator=(const run_history&) = delete;
    ~run_history() {
        for (block* b = first_; b;) {
            block* next = b->next.load(std::memory_order_relaxed);
            b->~block();
            ::operator delete(b);
            b = next;
        }
    }

    // ---- The writer

    /// Starts the records of the commit at version (once per commit; later calls for the
    /// same version do nothing).
    void commit(version_t version, std::int64_t time) {
        if (version == version_) return;
        const std::int64_t dt = time - time_;
        const std::uint64_t zigzag = (static_cast<std::uint64_t>(dt) << 1) ^ static_cast<std::uint64_t>(dt >> 63);
        char buf[21];
        std::size_t n = 0;
        buf[n++] = static_cast<char>(history_record::commit);
        n += put_varint(buf + n, version - version_);
        n += put_varint(buf + n, zigzag);
        append(buf, n);
        version_ = version;
        time_ = time;
    }

    /// Keeps the bytes of the record of key (after the run prefix) written at `written`,
    /// which the current commit overwrites or erases.
    void superseded(std::string_view key, version_t written, std::string_view bytes) {
        const std::uint32_t number = number_of(key);
        char head[31];
        std::size_t n = 0;
        head[n++] = static_cast<char>(history_record::value);
        n += put_varint(head + n, number);
        n += put_varint(head + n, version_ - written);
        n += put_varint(head + n, bytes.size());
        append(head, n, bytes);
        ++values_;
        value_bytes_ += bytes.size();
    }

    /// Records that everything before version was dropped (the run's history now starts there).
    void compacted(version_t version) {
        char buf[11];
        std::size_t n = 0;
        buf[n++] = static_cast<char>(history_record::compacted);
        n += put_varint(buf + n, version);
        append(buf, n);
        version_ = version;
    }

    /// Appends the records of a stream read back (a snapshot's), after checking them; false
    /// (and nothing changes) when they break the grammar or do not follow what is here.
    bool load(std::string_view stream) {
        history_cursor check = cursor_;
        history_item item;
        std::size_t pos = 0;
        while (check.next(stream, pos, item)) {}
        if (!check.ok()) return false;
        if (stream.empty()) return true;
        const std::string_view stored(append(stream.data(), stream.size()), stream.size());
        for (std::size_t at = 0; cursor_.next(stored, at, item);) { // the writer's index and counts
            if (item.kind == history_record::key) index_.emplace(item.bytes, item.key);
            else if (item.kind == history_record::value) ++values_, value_bytes_ += item.bytes.size();
        }
        version_ = cursor_.version();
        time_ = cursor_.time();
        return true;
    }

    // ---- Readers: any thread

    /// Calls f(item) for every record of the commits at or before `at`, in order.
    template <class F>
    void read(version_t at, F&& f) const {
        history_cursor cursor;
        history_item item;
        for_each_block([&](std::string_view data) {
            for (std::size_t pos = 0; cursor.next(data, pos, item);) {
                if (item.kind == history_record::commit && item.version > at) return false;
                f(std::as_const(item));
            }
            return true;
        });
    }

    /// Calls emit(bytes) with the stream's bytes up to the first commit after `at`, in
    /// pieces (what a snapshot at `at` writes; load() takes them back in order).
    template <class F>
    void stream_until(version_t at, F&& emit) const {
        history_cursor cursor;
        history_item item;
        for_each_block([&](std::string_view data) {
            std::size_t pos = 0, start = 0;
            bool past = false;
            while (cursor.next(data, pos, item)) {
                if (item.kind == history_record::commit && item.version > at) {
                    past = true;
                    break;
                }
                start = pos;
            }
            if (start) emit(data.substr(0, start));
            return !past;
        });
    }

    // ---- Measures (the writer, or after it)

    /// The versions kept (value records).
    std::size_t values() const noexcept { return values_; }
    /// Their bytes.
    std::size_t value_bytes() const noexcept { return value_bytes_; }
    /// Everything this history holds in memory: its blocks and the writer's key index.
    std::size_t memory() const noexcept {
        std::size_t n = sizeof(*this) + index_.bucket_count() * sizeof(void*) +
                        index_.size() * (sizeof(std::pair<const std::string_view, std::uint32_t>) + 2 * sizeof(void*));
        for (const block* b = first_; b; b = b->next.load(std::memory_order_relaxed)) n += sizeof(block) + b->capacity;
        return n;
    }
    /// The last commit recorded (0: none).
    version_t last_version() const noexcept { return version_; }

private:
    static constexpr std::size_t first_block = 256, largest_block = 64 * 1024;

    static std::size_t put_varint(char* out, std::uint64_t v) noexcept {
        std::size_t n = 0;
        while (v >= 0x80) {
            out[n++] = static_cast<char>(v | 0x80);
            v >>= 7;
        }
        out[n++] = static_cast<char>(v);
        return n;
    }

    // The number of key, numbering it (a key record) the first time.
    std::uint32_t number_of(std::string_view key) {
        if (const auto it = index_.find(key); it != index_.end()) return it->second;
        char head[11];
        std::size_t n = 0;
        head[n++] = static_cast<char>(history_record::key);
        n += put_varint(head + n, key.size());
        const char* stored = append(head, n, key) + n;
        const auto number = static_cast<std::uint32_t>(index_.size());
        index_.emplace(std::string_view(stored, key.size()), number);
        return number;
    }

    // Appends head then tail as one record (never split across blocks); returns where it went.
    const char* append(const char* head, std::size_t n, std::string_view tail = {}) {
        const std::size_t size = n + tail.size();
        block* b = last_;
        std::size_t used = b ? b->used.load(std::memory_order_relaxed) : 0;
        if (!b || b->capacity - used < size) {
            const std::size_t grown = b ? std::min(largest_block, b->capacity * 2) : first_block;
            b = new_block(std::max(grown, size));
            used = 0;
        }
        char* at = b->data() + used;
        std::memcpy(at, head, n);
        if (!tail.empty()) std::memcpy(at + n, tail.data(), tail.size());
        b->used.store(used + size, std::memory_order_release);
        return at;
    }

    block* new_block(std::size_t capacity) {
        void* raw = ::operator new(sizeof(block) + capacity);
        block* b = new (raw) block;
        b->capacity = capacity;
        if (last_) last_->next.store(b, std::memory_order_release);
        else first_published_.store(b, std::memory_order_release);
        if (!first_) first_ = b;
        last_ = b;
        return b;
    }

    // f(bytes of one block) -> bool (false: stop), block by block.
    template <class F>
    void for_each_block(F&& f) const {
        for (const block* b = first_published_.load(std::memory_order_acquire); b;) {
            const block* next = b->next.load(std::memory_order_acquire); // before used: a block is full once linked
            const std::size_t used = b->used.load(std::memory_order_acquire);
            if (!f(std::string_view(b->data(), used))) return;
            b = next; // (a block linked since holds no commit the reader's snapshot sees)
        }
    }

    block* first_ = nullptr;                        // the writer's
    block* last_ = nullptr;                         // the writer's
    std::atomic<block*> first_published_{nullptr};  // the readers'
    version_t version_ = 0;                         // the last commit recorded
    std::int64_t time_ = 0;                         // its time
    history_cursor cursor_;                         // load()'s running state
    std::unordered_map<std::string_view, std::uint32_t, string_hash, std::equal_to<>> index_;
    std::size_t values_ = 0, value_bytes_ = 0;
};

} // namespace inmem::detail
