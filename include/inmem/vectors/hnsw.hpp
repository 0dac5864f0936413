// inmem/vectors/hnsw.hpp: a hierarchical navigable small-world graph (Malkov and Yashunin,
// 2016) over the rows of one collection, for approximate search.
//
// Node n is row n of the collection's rows (vectors/rows.hpp: their codes never move, and
// the graph finds them by the row number, without a table of its own), inserted in row order
// by one writer at a time. Each node has a level drawn from a geometric law (a hash of its number, so the
// same rows inserted in the same order make the same graph) and, on each level up to it, a
// list of neighbours chosen by the paper's heuristic (at most M, 2M on level 0). A search
// descends greedily from the top level and explores level 0 with ef candidates.
//
// What a search may return is decided by its caller's accept(row): rows outside the
// caller's snapshot, erased or replaced, or refused by a filter stay in the graph as
// waypoints and are never results. While fewer than ef rows have been accepted the search
// keeps exploring, so results stay correct under a filter; a very selective one makes it
// visit most of the graph, and the index (vectors/index.hpp) scans exactly instead.
//
// Readers search under a shared lock; the writer finds a new node's neighbours while readers
// go on (it is the only one that changes the graph: callers hold a lock of their own around
// insert) and takes the lock exclusively only to write the links it has chosen.
#pragma once

#include <inmem/vectors/codes.hpp>
#include <inmem/vectors/distance.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <mutex>
#include <shared_mutex>
#include <utility>
#include <vector>

namespace inmem::detail {

/// The shape of a graph: links per node (2m on level 0) and candidates kept while inserting.
struct hnsw_shape {
    std::size_t m = 16;
    std::size_t ef_construction = 200;
};

/// Nodes already seen by one search: a mark per node, cleared by bumping the epoch.
struct hnsw_visited {
    std::vector<std::uint32_t> marks;
    std::uint32_t epoch = 0;

    void reset(std::size_t nodes) {
        if (marks.size() < nodes) marks.resize(nodes + nodes / 2 + 64, 0);
        if (++epoch == 0) {
            std::fill(marks.begin(), marks.end(), 0);
            epoch = 1;
        }
    }
    /// True if n was seen already; marks it seen.
    bool seen(std::uint32_t n) noexcept {
        if (marks[n] == epoch) return true;
        marks[n] = epoch;
        return false;
    }
};

/// The graph over Rows (a vector_rows<Meta, Code>: data(i) is row i's codes). On rows of
/// codes its distances are the codes' estimates, for the walk and for choosing links alike.
template <class Rows>
class hnsw_graph {
    using code = typename Rows::code_type;

public:
    using node = std::uint32_t;
    using kernel = row_kernel<code>;
    /// A node found by a search: its distance to the query and its row.
    struct found {
        float distance;
        std::size_t row;
    };

    hnsw_graph(const Rows& rows, std::size_t dim, kernel distance, hnsw_shape shape)
        : rows_(&rows), dim_(dim), kernel_(distance), scratch_(dim), other_(dim), m_(std::max<std::size_t>(shape.m, 2)),
          m0_(2 * m_), ef_construction_(std::max(shape.ef_construction, m_)), level_scale_(1.0 / std::log(static_cast<double>(m_))) {}

    hnsw_graph(const hnsw_graph&) = delete;
    hnsw_graph& operator=(const hnsw_graph&) = delete;

    /// The number of nodes: the rows below it are in the graph, each linked in.
    std::size_t size() const noexcept { return size_.load(std::memory_order_acquire); }

    /// Adds the next row (row number size()). One writer at a time. Throws std::bad_alloc,
    /// leaving the graph as it was.
    void insert() {
        const node n = static_cast<node>(size_.load(std::memory_order_relaxed));
        const float* data = rows_->floats(n, scratch_.data());
        const int level = level_of(n);
        {
            std::unique_lock lock(mutex_); // (room for its links: may move the others')
            links0_.resize(links0_.size() + m0_ + 1, 0);
            upper_.emplace_back(static_cast<std::size_t>(level) * (m_ + 1), 0);
        }
        if (top_ < 0) {
            std::unique_lock lock(mutex_);
            entry_ = n;
            top_ = level;
            size_.store(n + 1, std::memory_order_release);
            return;
        }
        // Choose the links reading the graph, which only this thread changes.
        struct change {
            int level;
            node owner;
            std::vector<node> links;
        };
        std::vector<change> changes;
        node cur = entry_;
        float cur_d = distance(data, cur);
        for (int l = top_; l > level; --l) descend(data, cur, cur_d, l);
        auto& seen = visited();
        for (int l = std::min(level, top_); l >= 0; --l) {
            std::vector<found_node> near =
                search_level(data, cur, cur_d, ef_construction_, l, seen, n + 1, [](node) { return true; });
            std::sort(near.begin(), near.end(), nearer);
            cur = near.front().n;
            cur_d = near.front().d;
            std::vector<node> mine = select(near, m_);
            const std::size_t cap = l == 0 ? m0_ : m_;
            for (const node e : mine) {
                const node* links = links_of(e, l);
                std::vector<node> next(links + 1, links + 1 + links[0]);
                if (next.size() < cap) {
                    next.push_back(n);
                } else { // full: keep the best of its links and n by the same heuristic
                    const float* at = rows_->floats(e, other_.data());
                    std::vector<found_node> options;
                    options.reserve(next.size() + 1);
                    options.push_back({distance(at, n), n});
                    for (const node x : next) options.push_back({distance(at, x), x});
                    std::sort(options.begin(), options.end(), nearer);
                    next = select(options, cap);
                }
                changes.push_back({l, e, std::move(next)});
            }
            changes.push_back({l, n, std::move(mine)});
        }
        std::unique_lock lock(mutex_);
        for (const change& c : changes) {
            node* links = links_of(c.owner, c.level);
            links[0] = static_cast<node>(c.links.size());
            std::copy(c.links.begin(), c.links.end(), links + 1);
        }
        if (level > top_) {
            entry_ = n;
            top_ = level;
        }
        size_.store(n + 1, std::memory_order_release); // searches see it together with its links
    }

    /// The (up to) ef nodes closest to query among those whose row accept(row) takes, nearest
    /// first; *nodes: how many nodes the graph had for this search (rows from there on are
    /// not in it).
    template <class Accept>
    std::vector<found> search(const float* query, std::size_t ef, Accept&& accept, std::size_t* nodes) const {
        std::vector<found> out;
        std::shared_lock lock(mutex_);
        *nodes = size();
        if (top_ < 0 || ef == 0) return out;
        node cur = entry_;
        float cur_d = distance(query, cur);
        for (int l = top_; l > 0; --l) descend(query, cur, cur_d, l);

        std::vector<found_node> best = search_level(query, cur, cur_d, ef, 0, visited(), *nodes,
                                                    [&](node n) { return accept(std::size_t{n}); });
        out.reserve(best.size());
        for (auto it = best.rbegin(); it != best.rend(); ++it) out.push_back({it->d, it->n});
        return out;
    }

private:
    struct found_node {
        float d;
        node n;
    };
    struct nearer_first {
        bool operator()(const found_node& a, const found_node& b) const noexcept { return a.d < b.d; }
    };
    struct farther_first {
        bool operator()(const found_node& a, const found_node& b) const noexcept { return a.d > b.d; }
    };
    // A binary heap on a vector (std::priority_queue's interface, without <queue>): Order
    // puts the node it ranks last on top.
    template <class Order>
    struct node_heap {
        std::vector<found_node> items;
        bool empty() const noexcept { return items.empty(); }
        std::size_t size() const noexcept { return items.size(); }
        const found_node& top() const noexcept { return items.front(); }
        void push(found_node n) {
            items.push_back(n);
            std::push_heap(items.begin(), items.end(), Order{});
        }
        void pop() noexcept {
            std::pop_heap(items.begin(), items.end(), Order{});
            items.pop_back();
        }
    };
    static bool nearer(const found_node& a, const found_node& b) noexcept {
        return a.d != b.d ? a.d < b.d : a.n < b.n;
    }

    static hnsw_visited& visited() {
        thread_local hnsw_visited v;
        return v;
    }

    float distance(const float* q, node n) const noexcept {
        return row_distance<code>(kernel_, q, rows_->data(n), rows_->scale(n), dim_);
    }
    // Asks for node n's links on a level (a hint; no effect on results).
    void prefetch_links(node n, int level) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
        __builtin_prefetch(links_of(n, level));
#else
        (void)n;
        (void)level;
#endif
    }
    // Asks for the first cache lines of node n's codes (a hint; no effect on results).
    void prefetch(node n) const noexcept {
#if defined(__GNUC__) || defined(__clang__)
        const char* p = reinterpret_cast<const char*>(rows_->data(n));
        const std::size_t bytes = std::min<std::size_t>(dim_ * sizeof(code), 256);
        for (std::size_t at = 0; at < bytes; at += 64) __builtin_prefetch(p + at);
#else
        (void)n;
#endif
    }

    node* links_of(node n, int level) noexcept {
        return level == 0 ? &links0_[n * (m0_ + 1)] : &upper_[n][static_cast<std::size_t>(level - 1) * (m_ + 1)];
    }
    const node* links_of(node n, int level) const noexcept {
        return level == 0 ? &links0_[n * (m0_ + 1)] : &upper_[n][static_cast<std::size_t>(level - 1) * (m_ + 1)];
    }

    // The level of node n: floor(-ln(u) / ln(m)) for u uniform in (0, 1], from a hash of n.
    int level_of(node n) const noexcept {
        std::uint64_t z = static_cast<std::uint64_t>(n) + 0x9e3779b97f4a7c15ull; // splitmix64
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        const double u = (static_cast<double>(z >> 11) + 1.0) / 9007199254740992.0; // (0, 1]
        return std::min(static_cast<int>(-std::log(u) * level_scale_), 32);
    }

    // Greedy walk on one level: moves cur to a closer neighbour while there is one.
    void descend(const float* q, node& cur, float& cur_d, int level) const {
        for (bool moved = true; moved;) {
            moved = false;
            const node* links = links_of(cur, level);
            for (node i = 1; i <= links[0]; ++i) {
                const float d = distance(q, links[i]);
                if (d < cur_d) {
                    cur_d = d;
                    cur = links[i];
                    moved = true;
                }
            }
        }
    }

    // The (up to) ef nodes nearest q on one level among those accept(node) takes, from entry,
    // farthest first. Every node is a waypoint; while fewer than ef are accepted the walk goes
    // on. Insertion accepts every node.
    template <class Accept>
    std::vector<found_node> search_level(const float* q, node entry, float entry_d, std::size_t ef, int level,
                                         hnsw_visited& seen, std::size_t nodes, const Accept& accept) const {
        seen.reset(nodes);
        node_heap<farther_first> candidates; // nearest on top
        node_heap<nearer_first> best;        // the accepted, farthest on top
        float bound = std::numeric_limits<float>::infinity(); // the farthest accepted, once there are ef
        seen.seen(entry);
        candidates.push({entry_d, entry});
        if (accept(entry)) {
            best.push({entry_d, entry});
            bound = entry_d;
        }
        while (!candidates.empty()) {
            const found_node c = candidates.top();
            if (c.d > bound && best.size() >= ef) break;
            candidates.pop();
            const node* links = links_of(c.n, level);
            if (links[0]) prefetch(links[1]);
            for (node i = 1; i <= links[0]; ++i) {
                const node x = links[i];
                if (i < links[0]) prefetch(links[i + 1]); // the next one's floats, while this one's are compared
                if (seen.seen(x)) continue;
                const float d = distance(q, x);
                if (best.size() < ef || d < bound) {
                    candidates.push({d, x});
                    prefetch_links(x, level); // read when x is taken, likely soon
                    if (accept(x)) {
                        best.push({d, x});
                        if (best.size() > ef) best.pop();
                        bound = best.top().d;
                    }
                }
            }
        }
        std::vector<found_node> out;
        out.reserve(best.size());
        for (; !best.empty(); best.pop()) out.push_back(best.top());
        return out;
    }

    // The paper's heuristic (its algorithm 4, without the extension): from candidates sorted
    // nearest first, keep one only if it is closer to the base than to every one kept, so
    // that links point in different directions; at most cap.
    std::vector<node> select(const std::vector<found_node>& sorted, std::size_t cap) {
        std::vector<node> kept;
        kept.reserve(std::min(cap, sorted.size()));
        if (sorted.size() <= cap) {
            for (const found_node& c : sorted) kept.push_back(c.n);
            return kept;
        }
        for (const found_node& c : sorted) {
            bool diverse = true;
            const float* candidate = kept.empty() ? nullptr : rows_->floats(c.n, other_.data());
            for (const node k : kept)
                if (distance(candidate, k) < c.d) {
                    diverse = false;
                    break;
                }
            if (diverse) {
                kept.push_back(c.n);
                if (kept.size() >= cap) break;
            }
        }
        return kept;
    }

    const Rows* rows_;
    std::size_t dim_;
    kernel kernel_;
    std::vector<float> scratch_, other_; // the writer's: rows decoded from codes
    std::size_t m_, m0_, ef_construction_;
    double level_scale_;

    mutable std::shared_mutex mutex_;   // shared: searches; exclusive: the writer's changes
    std::atomic<std::size_t> size_{0};
    std::vector<node> links0_;          // node n's level-0 links at n * (2m + 1): count, then ids
    std::vector<std::vector<node>> upper_; // node -> its links on levels 1.., (m + 1) each
    node entry_ = 0;
    int top_ = -1; // the entry's level; -1: no node yet
};

} // namespace inmem::detail
