// inmem/transaction.hpp: transactions, one consistent snapshot and one atomic commit.
//
//   auto plans = db.kv<Plan>();
//   auto tasks = db.states<Task>();
//   db.transact(run, [&](auto& tx) {          // retried on conflict
//       auto plan = plans.get(tx, "plan");    // reads see the snapshot and tx's own writes
//       plans.put(tx, "plan", next(*plan));   // writes are buffered...
//       tasks.cas(tx, "t1", seen, claimed);
//   });                                       // ...and applied together, or not at all
//
// A transaction reads the database as of one version (its snapshot) and buffers its writes;
// commit() applies them as one commit (one WAL record) if no key it writes was written by
// another commit after the snapshot (first committer wins: snapshot isolation). Under
// isolation::serializable it also fails if a key it read, or any key in a range it listed,
// changed meanwhile, which rules out write skew. A failed commit throws errc::conflict and
// applies nothing. The handles (kv, states) take the transaction in place of a run id.
#pragma once

#include <inmem/error.hpp>
#include <inmem/vocabulary.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace inmem {

namespace detail {
/// What a transaction reports for an append it did not commit (basic_transaction::appended).
inline constexpr std::uint64_t not_committed = std::numeric_limits<std::uint64_t>::max();
} // namespace detail

/// How much a transaction checks at commit.
enum class isolation : std::uint8_t {
    snapshot,     ///< no key it writes changed since its snapshot (the default)
    serializable, ///< also: no key it read and no range it listed changed since its snapshot
};

/// Options of db.begin() and db.transact().
struct transaction_options {
    isolation level = isolation::snapshot;
    /// transact(): how many times the closure runs before a conflict is thrown to the caller.
    unsigned max_attempts = 16;
    /// transact(): the pause before the second attempt; it doubles (with jitter) up to max_backoff.
    std::chrono::microseconds first_backoff{20};
    std::chrono::microseconds max_backoff{20000};
};

/// A transaction of one run, from db.begin(run) (or given to the closure of db.transact).
/// Movable, not copyable, not for use by two threads at once. Destroying an open transaction
/// aborts it. Writes by any primitive go through it while it is open; committing after the
/// run ended throws run_not_active, using it after commit or abort throws transaction_closed.
template <class Engine>
class basic_transaction {
    struct pending {
        detail::stored_record record; // version 0 until committed
        bool erased = false;
        detail::finalizer finalize = nullptr; // its key is completed at commit

    };

public:
    basic_transaction(Engine& engine, run_id run, transaction_options options)
        : engine_(&engine), run_(run), options_(options) {
        engine.check_known(run);
        pin_ = engine.pin();
    }
    basic_transaction(basic_transaction&& other) noexcept
        : engine_(other.engine_), run_(other.run_), options_(other.options_), pin_(std::move(other.pin_)),
          writes_(std::move(other.writes_)), appends_(std::move(other.appends_)), closing_(std::move(other.closing_)),
          results_(std::move(other.results_)), reads_(std::move(other.reads_)), ranges_(std::move(other.ranges_)),
          open_(std::exchange(other.open_, false)), committed_(other.committed_) {}
    basic_transaction& operator=(basic_transaction&& other) noexcept {
        if (this != &other) {
            abort();
            engine_ = other.engine_;
            run_ = other.run_;
            options_ = other.options_;
            pin_ = std::move(other.pin_);
            writes_ = std::move(other.writes_);
            appends_ = std::move(other.appends_);
            closing_ = std::move(other.closing_);
            results_ = std::move(other.results_);
            reads_ = std::move(other.reads_);
            ranges_ = std::move(other.ranges_);
            open_ = std::exchange(other.open_, false);
            committed_ = other.committed_;
        }
        return *this;
    }
    ~basic_transaction() { abort(); }

    /// The run the transaction writes for.
    run_id run() const noexcept { return run_; }
    /// The version the transaction reads at.
    version_t snapshot_version() const noexcept { return pin_.version(); }
    /// True until commit() or abort().
    bool active() const noexcept { return open_; }
    /// The version of the commit (the snapshot's for a transaction that wrote nothing); 0
    /// before commit and after abort.
    version_t committed_version() const noexcept { return committed_; }
    /// The isolation level it was begun with.
    isolation level() const noexcept { return options_.level; }

    /// Applies every write as one commit and returns its version (durable as the policy
    /// promises). Throws conflict (nothing applied), run_not_active, and the durability errors;
    /// whatever it throws, the transaction is closed.
    version_t commit() {
        ensure_open("commit");
        struct close_on_exit {
            basic_transaction& tx;
            ~close_on_exit() { tx.close(); }
        } closing{*this};
        if (writes_.empty() && appends_.empty()) return committed_ = pin_.version();
        std::vector<detail::write_op> ops;
        ops.reserve(writes_.size() + appends_.size() + closing_.size());
        while (!writes_.empty()) {
            auto node = writes_.extract(writes_.begin());
            pending& p = node.mapped();
            ops.push_back(detail::write_op{p.erased ? detail::write_op::kind::erase : detail::write_op::kind::put,
                                           std::move(node.key()), std::move(p.record.bytes), p.finalize});
        }
        for (std::size_t i = 0; i < appends_.size(); ++i) {
            ops.push_back(std::move(appends_[i]));
            ops.back().out = &(*results_)[i];
        }
        for (auto& [key, op] : closing_) ops.push_back(std::move(op));
        const typename Engine::read_set read{reads_, ranges_};
        try {
            return committed_ = engine_->commit_transaction(
                       run_, pin_.version(), ops, options_.level == isolation::serializable ? &read : nullptr);
        } catch (...) { // a finalizer may have reported before the commit failed
            if (results_) std::fill(results_->begin(), results_->end(), not_committed);
            throw;
        }
    }

    /// Drops every write; does nothing on a closed transaction.
    void abort() noexcept {
        if (open_) close();
    }

    // ---- Used by the primitives' handles, with full storage keys.

    /// Calls f(const stored_record*) with key as this transaction sees it: its own write if
    /// it made one (version 0, nullptr if erased), else the snapshot's record or nullptr.
    template <class F>
    decltype(auto) read(std::string_view key, F&& f) {
        ensure_open("read");
        if (auto it = writes_.find(key); it != writes_.end() && !it->second.finalize)
            return f(it->second.erased ? nullptr : &std::as_const(it->second.record));
        if (options_.level == isolation::serializable) reads_.emplace_back(key);
        return engine_->read_at(pin_.version(), key, f);
    }

    /// Calls f(key, record) for every key under prefix (after `after`, when given) as this
    /// transaction sees it, in order; f may return false to stop. Under serializable
    /// isolation the range is recorded up to where the listing stopped.
    template <class F>
    void scan(std::string_view prefix, F&& f, std::string_view after = {}) {
        ensure_open("list");
        std::string last; // the key f stopped at
        auto give = [&](std::string_view key, const detail::stored_record& rec) {
            if constexpr (std::is_void_v<decltype(f(key, rec))>) {
                f(key, rec);
            } else if (!f(key, rec)) {
                last = key;
                return false;
            }
            return true;
        };
        auto it = !after.empty() && after >= prefix ? writes_.upper_bound(after) : writes_.lower_bound(prefix);
        const auto in_range = [&] { return it != writes_.end() && std::string_view(it->first).starts_with(prefix); };
        const auto give_pending = [&] { // this transaction's write of the key it points at
            const auto& [key, p] = *it++;
            return p.erased || p.finalize || give(key, std::as_const(p.record));
        };
        bool stopped = false;
        engine_->scan_at(
            pin_.version(), prefix,
            [&](std::string_view key, const detail::stored_record& rec) {
                while (in_range() && std::string_view(it->first) < key)
                    if (!give_pending()) return !(stopped = true);
                if (in_range() && std::string_view(it->first) == key && !it->second.finalize)
                    return !(stopped = !give_pending()); // this transaction's write replaces (or erases) the snapshot's
                return !(stopped = !give(key, rec));
            },
            after);
        while (!stopped && in_range()) stopped = !give_pending();
        if (options_.level == isolation::serializable)
            ranges_.push_back({std::string(prefix), std::string(after), std::move(last)});
    }

    /// Calls f(key, const stored_record*) for each key under prefix this transaction wrote, in
    /// key order: its buffered value (version 0), or nullptr for an erasure. Ops completed at
    /// commit are left out. (A vector search merges them with what the snapshot holds.)
    template <class F>
    void for_each_write(std::string_view prefix, F&& f) const {
        ensure_open("read");
        for (auto it = writes_.lower_bound(prefix); it != writes_.end() && std::string_view(it->first).starts_with(prefix);
             ++it)
            if (!it->second.finalize) f(std::string_view(it->first), it->second.erased ? nullptr : &it->second.record);
    }

    /// Buffers a put of bytes at key (the latest buffered write of a key wins); finalize, when
    /// given, completes the op at commit (record.hpp).
    void put(std::string key, std::string bytes, detail::finalizer finalize = nullptr) {
        ensure_open("write");
        writes_.insert_or_assign(std::move(key), pending{{0, std::move(bytes)}, false, finalize});
    }

    /// Buffers an erase of key.
    void erase(std::string key) {
        ensure_open("write");
        writes_.insert_or_assign(std::move(key), pending{{}, true, nullptr});
    }

    /// Buffers a put completed at commit by finalize (record.hpp), kept in call order after
    /// the puts and erases, however many share a key before they are final (an event log's
    /// entries); returns its position among them, for appended(). Neither read nor listed
    /// by the transaction, nor conflict-checked.
    std::size_t append(std::string key, std::string bytes, detail::finalizer finalize) {
        ensure_open("write");
        if (!results_) results_ = std::make_shared<std::vector<std::uint64_t>>();
        appends_.push_back(detail::write_op{detail::write_op::kind::put, std::move(key), std::move(bytes), finalize});
        results_->push_back(not_committed);
        return appends_.size() - 1;
    }

    /// Buffers a put finalized after every append(), once per key however often it is
    /// asked for (an event log's chain head, written once per run a commit appended to).
    void append_closing(std::string key, std::string bytes, detail::finalizer finalize) {
        ensure_open("write");
        closing_.try_emplace(key, detail::write_op{detail::write_op::kind::put, key, std::move(bytes), finalize});
    }

    /// What the finalizer of the append() at position i reported (a std::uint64_t: an event's
    /// sequence number): shared, so that it outlives the transaction; each entry holds
    /// not_committed until the transaction commits, and keeps it if it does not.
    std::shared_ptr<const std::vector<std::uint64_t>> appended() const noexcept { return results_; }
    /// The value appended() holds for an append that was not committed.
    static constexpr std::uint64_t not_committed = detail::not_committed;

private:
    void ensure_open(const char* what) const {
        if (!open_)
            throw error(errc::transaction_closed, std::string("inmem: cannot ") + what +
                                                      " in a transaction that was already committed or "
                                                      "aborted; begin a new one");
    }

    void close() noexcept {
        open_ = false;
        pin_.release();
        writes_.clear();
        appends_.clear();
        closing_.clear();
        results_.reset(); // what the commit reported stays with whoever holds it
        reads_.clear();
        ranges_.clear();
    }

    Engine* engine_;
    run_id run_;
    transaction_options options_;
    typename Engine::pinned pin_;
    std::map<std::string, pending, std::less<>> writes_;
    std::vector<detail::write_op> appends_;                       // in call order
    std::map<std::string, detail::write_op, std::less<>> closing_; // after the appends
    std::shared_ptr<std::vector<std::uint64_t>> results_;         // of the appends, filled at commit
    std::vector<std::string> reads_;  // serializable only
    std::vector<typename Engine::key_range> ranges_; // serializable only
    bool open_ = true;
    version_t committed_ = 0;
};

} // namespace inmem
