// Linearizability checking for concurrency tests: histories of read / write / compare-and-swap
// operations on independent int64 registers, one register per key.
//
// check() follows Wing & Gong's search with Lowe's memoisation (Lowe 2017, "Testing for
// linearizability"; the Porcupine checker works the same way). The calls and returns of one
// key's ops, in time order, form a doubly linked list. The search walks it from the front: at a
// call whose result the register model allows in the current state it linearizes that op, takes
// its call and return out of the list and starts again from the front; at a return it is stuck
// (that op had to take effect before anything invoked later) and backtracks, putting the last
// linearized op back. A cache of the (set of linearized ops, register value) pairs already
// entered cuts off every second visit, which is what keeps thousands of ops tractable. Keys are
// independent registers, so each key is checked alone (P-compositionality: a history is
// linearizable iff each key's sub-history is).
//
// Time: op A precedes op B iff A.returned < B.invoked; equal stamps count as overlapping.
// Every op in a history must have completed: ops that never returned (a crashed or timed-out
// call, which may or may not have taken effect) are not modelled.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace inmem_test::lin {

/// One completed operation on the register named by key.
struct operation {
    enum class kind { read, write, cas };
    std::uint64_t key = 0;
    kind op = kind::read;
    std::int64_t value = 0;               ///< read: value returned; write: value written; cas: desired
    std::int64_t expected = 0;            ///< cas only: the value compared against
    bool ok = true;                       ///< cas only: whether it swapped
    std::optional<std::int64_t> observed; ///< cas only, optional: the current value it reports seeing
    std::uint64_t invoked = 0;            ///< timestamp taken before the call
    std::uint64_t returned = 0;           ///< timestamp taken after it returned (>= invoked)
    int thread = 0;                       ///< who ran it (explanations only)
};

/// Shorthands for hand-written histories.
inline operation read_op(std::uint64_t key, std::int64_t seen, std::uint64_t invoked, std::uint64_t returned) {
    operation o;
    o.key = key;
    o.op = operation::kind::read;
    o.value = seen;
    o.invoked = invoked;
    o.returned = returned;
    return o;
}
inline operation write_op(std::uint64_t key, std::int64_t value, std::uint64_t invoked, std::uint64_t returned) {
    operation o;
    o.key = key;
    o.op = operation::kind::write;
    o.value = value;
    o.invoked = invoked;
    o.returned = returned;
    return o;
}
inline operation cas_op(std::uint64_t key, std::int64_t expected, std::int64_t desired, bool ok,
                        std::uint64_t invoked, std::uint64_t returned,
                        std::optional<std::int64_t> observed = std::nullopt) {
    operation o;
    o.key = key;
    o.op = operation::kind::cas;
    o.value = desired;
    o.expected = expected;
    o.ok = ok;
    o.observed = observed;
    o.invoked = invoked;
    o.returned = returned;
    return o;
}

/// "t2 [12,15] cas(3 -> 7) failed, saw 5" and the like.
inline std::string describe(const operation& o) {
    std::ostringstream s;
    s << 't' << o.thread << " [" << o.invoked << ',' << o.returned << "] ";
    switch (o.op) {
    case operation::kind::read: s << "read -> " << o.value; break;
    case operation::kind::write: s << "write(" << o.value << ')'; break;
    case operation::kind::cas:
        s << "cas(" << o.expected << " -> " << o.value << ')' << (o.ok ? " ok" : " failed");
        if (o.observed) s << ", saw " << *o.observed;
        break;
    }
    return s.str();
}

/// A check's outcome. unknown: the search hit max_states before deciding; it is not a pass.
enum class verdict { linearizable, not_linearizable, unknown };

inline const char* to_string(verdict v) {
    switch (v) {
    case verdict::linearizable: return "linearizable";
    case verdict::not_linearizable: return "not linearizable";
    case verdict::unknown: return "unknown";
    }
    return "?";
}
inline std::ostream& operator<<(std::ostream& os, verdict v) { return os << to_string(v); }

struct result {
    verdict outcome = verdict::linearizable;
    std::uint64_t bad_key = 0;   ///< not_linearizable: the smallest such key; unknown: the key given up on
    std::string explanation;     ///< empty when linearizable; otherwise the key and its ops at the failure
    std::size_t states = 0;      ///< memoised (linearized set, value) states, summed over keys
    bool linearizable() const noexcept { return outcome == verdict::linearizable; }
};

/// Per-key cap on memoised states (each costs about 40 bytes plus a hash slot).
inline constexpr std::size_t default_max_states = 1'000'000;

namespace detail {

inline std::uint64_t mix(std::uint64_t x) noexcept { // splitmix64's finaliser
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/// The register model: whether o may take effect when the register holds `state`, and the value after.
inline bool step(const operation& o, std::int64_t state, std::int64_t& after) noexcept {
    after = state;
    switch (o.op) {
    case operation::kind::read: return o.value == state;
    case operation::kind::write: after = o.value; return true;
    case operation::kind::cas:
        if (o.observed && *o.observed != state) return false;
        if (!o.ok) return state != o.expected;
        if (state != o.expected) return false;
        after = o.value;
        return true;
    }
    return false;
}

/// Why step() refuses o in `state` (or that it does not).
inline std::string refusal(const operation& o, std::int64_t state) {
    std::int64_t after = 0;
    if (step(o, state, after)) return "allowed here, but every continuation after it fails";
    std::ostringstream s;
    if (o.op == operation::kind::cas && o.observed && *o.observed != state)
        s << "it reports seeing " << *o.observed << " but the register holds " << state;
    else if (o.op == operation::kind::read)
        s << "the register holds " << state << ", not " << o.value;
    else if (o.ok)
        s << "the register holds " << state << ", not the expected " << o.expected;
    else
        s << "the register holds the expected " << state << ", so it would have swapped";
    return s.str();
}

/// A set of op indices with an incrementally kept Zobrist hash and a compact canonical form:
/// the count `lo` of leading all-ones words, then the words up to the last non-zero one. The
/// linearized set is nearly a prefix of the ops (sorted by invocation), so that form is short.
class op_set {
public:
    explicit op_set(std::size_t n) : words_((n + 63) / 64, 0) {}
    void insert(std::uint32_t i) noexcept {
        const std::size_t w = i / 64;
        words_[w] |= std::uint64_t{1} << (i % 64);
        hash_ ^= mix(i);
        if (w + 1 > hi_) hi_ = w + 1;
        while (lo_ < words_.size() && words_[lo_] == ~std::uint64_t{0}) ++lo_;
    }
    void erase(std::uint32_t i) noexcept {
        const std::size_t w = i / 64;
        words_[w] &= ~(std::uint64_t{1} << (i % 64));
        hash_ ^= mix(i);
        if (w < lo_) lo_ = w;
        while (hi_ > 0 && words_[hi_ - 1] == 0) --hi_;
    }
    std::uint64_t hash() const noexcept { return hash_; }
    std::size_t lo() const noexcept { return lo_; }
    const std::uint64_t* tail_begin() const noexcept { return words_.data() + lo_; }
    std::size_t tail_size() const noexcept { return hi_ - lo_; }

private:
    std::vector<std::uint64_t> words_;
    std::uint64_t hash_ = 0;
    std::size_t lo_ = 0, hi_ = 0;
};

/// The memo: an open-addressing hash set of (op_set, value) kept flat in one arena.
/// Arena entry: hash, value, lo, tail length, tail words.
class memo {
public:
    void clear() {
        arena_.clear();
        slots_.assign(1024, 0);
        size_ = 0;
    }
    std::size_t size() const noexcept { return size_; }

    /// Adds (set, value) unless present; true when it was new.
    bool insert(const op_set& set, std::int64_t value) {
        const auto v = static_cast<std::uint64_t>(value);
        const std::uint64_t h = set.hash() ^ mix(v ^ 0x5851f42d4c957f2dull);
        if ((size_ + 1) * 2 > slots_.size()) grow();
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = h & mask;; i = (i + 1) & mask) {
            const std::uint64_t slot = slots_[i];
            if (slot == 0) {
                slots_[i] = append(set, v, h) + 1;
                ++size_;
                return true;
            }
            if (same(static_cast<std::size_t>(slot - 1), set, v, h)) return false;
        }
    }

private:
    std::size_t append(const op_set& set, std::uint64_t v, std::uint64_t h) {
        const std::size_t at = arena_.size();
        arena_.push_back(h);
        arena_.push_back(v);
        arena_.push_back(set.lo());
        arena_.push_back(set.tail_size());
        arena_.insert(arena_.end(), set.tail_begin(), set.tail_begin() + set.tail_size());
        return at;
    }
    bool same(std::size_t at, const op_set& set, std::uint64_t v, std::uint64_t h) const {
        return arena_[at] == h && arena_[at + 1] == v && arena_[at + 2] == set.lo() &&
               arena_[at + 3] == set.tail_size() &&
               std::equal(set.tail_begin(), set.tail_begin() + set.tail_size(), arena_.begin() + static_cast<std::ptrdiff_t>(at + 4));
    }
    void grow() {
        std::vector<std::uint64_t> bigger(slots_.size() * 2, 0);
        const std::size_t mask = bigger.size() - 1;
        for (const std::uint64_t slot : slots_) {
            if (slot == 0) continue;
            std::size_t i = arena_[static_cast<std::size_t>(slot - 1)] & mask;
            while (bigger[i] != 0) i = (i + 1) & mask;
            bigger[i] = slot;
        }
        slots_.swap(bigger);
    }

    std::vector<std::uint64_t> arena_;
    std::vector<std::uint64_t> slots_ = std::vector<std::uint64_t>(1024, 0);
    std::size_t size_ = 0;
};

struct key_outcome {
    verdict outcome = verdict::linearizable;
    std::string explanation;
    std::size_t states = 0;
};

/// Checks one key's ops: history[ids[i]], ids sorted by invocation.
inline key_outcome check_key(std::uint64_t key, const std::vector<operation>& history,
                             const std::vector<std::size_t>& ids, std::int64_t initial,
                             std::size_t max_states, memo& cache) {
    const auto n = static_cast<std::uint32_t>(ids.size());
    auto op = [&](std::uint32_t i) -> const operation& { return history[ids[i]]; };

    // Nodes 0..n-1 are calls, n..2n-1 returns, 2n the head, 2n+1 the end (a writable dummy).
    const std::uint32_t head = 2 * n, nil = 2 * n + 1;
    std::vector<std::uint32_t> next(2 * std::size_t{n} + 2), prev(2 * std::size_t{n} + 2);
    {
        std::vector<std::pair<std::uint64_t, std::uint32_t>> events;
        events.reserve(2 * std::size_t{n});
        for (std::uint32_t i = 0; i < n; ++i) {
            events.emplace_back(op(i).invoked, i);
            events.emplace_back(op(i).returned, n + i);
        }
        // Equal stamps: calls (lower node ids) first, so the ops overlap.
        std::sort(events.begin(), events.end());
        std::uint32_t last = head;
        for (const auto& e : events) {
            next[last] = e.second;
            prev[e.second] = last;
            last = e.second;
        }
        next[last] = nil;
        prev[nil] = last;
    }
    auto remove = [&](std::uint32_t x) {
        next[prev[x]] = next[x];
        prev[next[x]] = prev[x];
    };
    auto restore = [&](std::uint32_t x) { // exact reverse of the matching remove (dancing links)
        next[prev[x]] = x;
        prev[next[x]] = x;
    };

    struct frame {
        std::uint32_t op;
        std::int64_t before;
    };
    // Where the deepest partial linearization got stuck, kept raw and formatted only on failure.
    struct stuck_at {
        std::size_t depth = 0;
        std::int64_t value = 0;
        std::vector<std::pair<std::uint32_t, std::int64_t>> tail; // last linearized ops, value after
        std::vector<std::uint32_t> candidates;                   // calls that could have gone next
        std::size_t more_candidates = 0;
        std::uint32_t blocker = 0;                               // op whose return stopped the walk
    } stuck;
    constexpr std::size_t tail_shown = 8, candidates_shown = 12;

    cache.clear();
    op_set linearized(n);
    std::vector<frame> stack;
    stack.reserve(n);
    std::int64_t value = initial;
    std::size_t deepest = 0;
    bool fresh = true; // the current depth is a new maximum not yet recorded in `stuck`

    auto record = [&](std::uint32_t at_return) {
        stuck.depth = stack.size();
        stuck.value = value;
        stuck.tail.clear();
        for (std::size_t k = stack.size() > tail_shown ? stack.size() - tail_shown : 0; k < stack.size(); ++k)
            stuck.tail.emplace_back(stack[k].op, k + 1 < stack.size() ? stack[k + 1].before : value);
        stuck.candidates.clear();
        stuck.more_candidates = 0;
        for (std::uint32_t x = next[head]; x != at_return && x != nil; x = next[x]) {
            if (x >= n) continue;
            if (stuck.candidates.size() < candidates_shown) stuck.candidates.push_back(x);
            else ++stuck.more_candidates;
        }
        stuck.blocker = at_return - n;
    };
    auto name = [&](std::uint32_t i) { return "#" + std::to_string(ids[i]) + ' ' + describe(op(i)); };

    std::uint32_t e = next[head];
    while (next[head] != nil) {
        if (e < n) { // a call: try to linearize it here
            std::int64_t after = 0;
            if (step(op(e), value, after)) {
                linearized.insert(e);
                if (cache.insert(linearized, after)) {
                    if (cache.size() > max_states) {
                        std::ostringstream s;
                        s << "key " << key << ": gave up after " << max_states << " memoised states ("
                          << n << " ops on this key, deepest partial linearization " << deepest
                          << " ops); the history is neither accepted nor rejected";
                        return {verdict::unknown, s.str(), cache.size()};
                    }
                    stack.push_back({e, value});
                    value = after;
                    remove(e);
                    remove(n + e);
                    if (stack.size() > deepest) {
                        deepest = stack.size();
                        fresh = true;
                    }
                    e = next[head];
                    continue;
                }
                linearized.erase(e);
            }
            e = next[e];
        } else { // a return: its op had to be linearized by now; back up
            if (fresh) {
                record(e);
                fresh = false;
            }
            if (stack.empty()) break;
            const frame f = stack.back();
            stack.pop_back();
            value = f.before;
            linearized.erase(f.op);
            restore(n + f.op);
            restore(f.op);
            e = next[f.op];
        }
    }
    if (next[head] == nil) return {verdict::linearizable, {}, cache.size()};

    std::ostringstream s;
    s << "key " << key << " is not linearizable (" << n << " ops on this key, " << cache.size()
      << " states explored).\n";
    if (stuck.depth == 0) {
        s << "No op can take effect first; the register starts at " << initial << ".\n";
    } else {
        s << "No linearization gets past " << stuck.depth << " ops; the longest found ends with:\n";
        for (const auto& [i, v] : stuck.tail) s << "  " << name(i) << "   => register " << v << '\n';
    }
    s << "With the register at " << stuck.value << ", one of these pending ops must come next, since "
      << name(stuck.blocker) << " returned before any later op was invoked; none fits:\n";
    for (const std::uint32_t c : stuck.candidates) s << "  " << name(c) << ": " << refusal(op(c), stuck.value) << '\n';
    if (stuck.more_candidates) s << "  ... and " << stuck.more_candidates << " more\n";
    return {verdict::not_linearizable, s.str(), cache.size()};
}

} // namespace detail

/// Decides whether `history` is linearizable, key by key in ascending order. Every register
/// starts at `initial`; a key whose search needs more than max_states memoised states gives
/// verdict::unknown (a definite violation on another key still wins). Throws
/// std::invalid_argument for an op that returned before it was invoked (and std::length_error
/// past 2^30 ops).
inline result check(const std::vector<operation>& history, std::int64_t initial = 0,
                    std::size_t max_states = default_max_states) {
    if (history.size() >= (std::size_t{1} << 30)) throw std::length_error("lin::check: history too long");
    std::map<std::uint64_t, std::vector<std::size_t>> by_key;
    for (std::size_t i = 0; i < history.size(); ++i) {
        if (history[i].returned < history[i].invoked)
            throw std::invalid_argument("lin::check: op #" + std::to_string(i) + ' ' + describe(history[i]) +
                                        " returned before it was invoked");
        by_key[history[i].key].push_back(i);
    }
    result res;
    detail::memo cache;
    for (auto& [key, ids] : by_key) {
        std::stable_sort(ids.begin(), ids.end(), [&](std::size_t a, std::size_t b) {
            return history[a].invoked < history[b].invoked;
        });
        detail::key_outcome k = detail::check_key(key, history, ids, initial, max_states, cache);
        res.states += k.states;
        const bool decisive = k.outcome == verdict::not_linearizable;
        if (decisive || (k.outcome == verdict::unknown && res.outcome == verdict::linearizable)) {
            res.outcome = k.outcome;
            res.bad_key = key;
            res.explanation = std::move(k.explanation);
        }
        if (decisive) return res;
    }
    return res;
}

/// Records a concurrent history. Each thread owns one slot (operation::thread, 0..threads-1) and
/// appends to it without locking; stamps come from one shared atomic counter, so for two ops A
/// and B, A.returned < B.invoked exactly when A's return stamp was taken before B's call stamp.
///   auto t = rec.invoke(); bool ok = reg.cas(e, d); rec.complete(op_with_results, t);
class recorder {
public:
    explicit recorder(std::size_t threads) : logs_(threads) {}

    /// The call stamp: take it immediately before invoking the op.
    std::uint64_t invoke() noexcept { return clock_.fetch_add(1, std::memory_order_seq_cst); }

    /// Stamps the return (now) and the call (`invoked`), then logs op in slot op.thread, which
    /// only the calling thread may use.
    void complete(operation op, std::uint64_t invoked) {
        op.returned = clock_.fetch_add(1, std::memory_order_seq_cst);
        op.invoked = invoked;
        logs_.at(static_cast<std::size_t>(op.thread)).ops.push_back(std::move(op));
    }

    /// All ops logged so far, by call stamp. Call only once the recording threads are joined.
    std::vector<operation> history() const {
        std::vector<operation> all;
        for (const auto& l : logs_) all.insert(all.end(), l.ops.begin(), l.ops.end());
        std::sort(all.begin(), all.end(), [](const operation& a, const operation& b) { return a.invoked < b.invoked; });
        return all;
    }

private:
    struct alignas(64) slot { // a cache line each: no false sharing between threads
        std::vector<operation> ops;
    };
    alignas(64) std::atomic<std::uint64_t> clock_{1};
    std::vector<slot> logs_;
};

} // namespace inmem_test::lin
