// Tests of inmem/storage/hash_index.hpp: the open-addressing index of nodes by key and hash.
// Insert and find (present and absent keys, colliding hashes and tags, keys one byte apart,
// empty and long keys), growth (the replaced arrays it hands back still hold their nodes),
// for_each, and the header's claim: readers search while one writer inserts, and find every
// key published before they looked (tagged [stress] too, for the ThreadSanitizer stress suite).
#include <catch2/catch.hpp>
#include <inmem/storage/hash_index.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using inmem::detail::hash_index;
using inmem::detail::string_hash;

namespace {

struct node {
    std::size_t hash = 0;
    std::string key;
    std::uint64_t value = 0;
};

using index_type = hash_index<node>;

// Owns the nodes and the replaced arrays, as memory_backend does.
struct fixture {
    index_type index;
    std::vector<std::unique_ptr<node>> nodes;
    std::vector<std::unique_ptr<index_type::table>> retired;

    node* add(std::string key, std::size_t hash, std::uint64_t value) {
        nodes.push_back(std::make_unique<node>(node{hash, std::move(key), value}));
        if (index_type::table* old = index.insert(nodes.back().get())) retired.emplace_back(old);
        return nodes.back().get();
    }
    node* add(const std::string& key, std::uint64_t value) { return add(key, string_hash{}(key), value); }
    node* find(const std::string& key) const { return index.find(key, string_hash{}(key)); }
};

std::size_t used_slots(const index_type::table& t) {
    std::size_t n = 0;
    for (std::size_t i = 0; i <= t.mask; ++i) n += t.slots[i].load() != 0;
    return n;
}

constexpr std::size_t top(std::size_t tag) { return tag << 48; } // a hash with these top 16 bits

} // namespace

TEST_CASE("hash_index: inserted keys are found, others are not", "[hash_index]") {
    fixture f;
    CHECK(f.index.size() == 0);
    CHECK(f.find("a") == nullptr);
    CHECK(f.find("") == nullptr);
    node* a = f.add("a", 1);
    node* empty = f.add("", 2);
    node* ab = f.add("ab", 3);
    node* b = f.add("b", 4); // "a" and "b" differ by one byte; "a" is a prefix of "ab"
    CHECK(f.index.size() == 4);
    CHECK(f.find("a") == a);
    CHECK(f.find("") == empty);
    CHECK(f.find("ab") == ab);
    CHECK(f.find("b") == b);
    CHECK(f.find("c") == nullptr);
    CHECK(f.find("abc") == nullptr);
    CHECK(f.find(std::string(1, '\0')) == nullptr); // not the empty key
    CHECK(f.index.find("a", string_hash{}("a") + 1) == nullptr); // the right key with a wrong hash
    CHECK(f.find("a")->value == 1);
    f.find("a")->value = 10; // a node's other fields are the owner's to change
    CHECK(f.find("a")->value == 10);
    std::string with_nul("a\0b", 3);
    node* nul = f.add(with_nul, 5);
    CHECK(f.find(with_nul) == nul);
    CHECK(f.find("a") == a);
}

TEST_CASE("hash_index: colliding hashes and tags are told apart by key", "[hash_index]") {
    fixture f;
    // One full hash for many keys one byte apart, at the last slot so probes wrap to slot 0;
    // plus keys with the same slot but other tags, and the same tag but other slots.
    const std::size_t same = top(0xBEEF) | 63;
    std::vector<node*> collide, slot_only, tag_only;
    for (int i = 0; i < 20; ++i) collide.push_back(f.add("k" + std::string(1, char('a' + i)), same, i));
    for (int i = 0; i < 5; ++i) slot_only.push_back(f.add("s" + std::to_string(i), top(0x100 + i) | 63, 100 + i));
    for (int i = 0; i < 5; ++i) tag_only.push_back(f.add("t" + std::to_string(i), top(0xBEEF) | i, 200 + i));
    CHECK(f.retired.empty()); // 30 nodes fit in the first array: the probes really did wrap
    for (int i = 0; i < 20; ++i) CHECK(f.index.find("k" + std::string(1, char('a' + i)), same) == collide[i]);
    for (int i = 0; i < 5; ++i) CHECK(f.index.find("s" + std::to_string(i), top(0x100 + i) | 63) == slot_only[i]);
    for (int i = 0; i < 5; ++i) CHECK(f.index.find("t" + std::to_string(i), top(0xBEEF) | i) == tag_only[i]);
    CHECK(f.index.find("kz", same) == nullptr);                    // absent, same hash as 20 others
    CHECK(f.index.find("s0", top(0x101) | 63) == nullptr);           // present key, another key's hash
    CHECK(f.index.find("ka", top(0xBEEE) | 63) == nullptr);          // present key, another tag
    // They all survive growth: the same lookups after the array has doubled several times.
    for (int i = 0; i < 1000; ++i) f.add("x" + std::to_string(i), same ^ std::size_t(i), 0);
    CHECK(f.retired.size() == 6); // 1030 nodes: 64 -> 128 -> ... -> 4096 slots
    for (int i = 0; i < 20; ++i) CHECK(f.index.find("k" + std::string(1, char('a' + i)), same) == collide[i]);
    for (int i = 0; i < 5; ++i) CHECK(f.index.find("t" + std::to_string(i), top(0xBEEF) | i) == tag_only[i]);
    CHECK(f.index.find("kz", same) == nullptr);
}

TEST_CASE("hash_index: long keys that differ only in their last byte", "[hash_index]") {
    fixture f;
    const std::string base(10000, 'q');
    node* n1 = f.add(base + "1", 1);
    node* n2 = f.add(base + "2", 2);
    node* forced = f.add(base + "3", string_hash{}(base + "1"), 3); // and with the same hash
    CHECK(f.find(base + "1") == n1);
    CHECK(f.find(base + "2") == n2);
    CHECK(f.index.find(base + "3", string_hash{}(base + "1")) == forced);
    CHECK(f.find(base) == nullptr);
    CHECK(f.find(base + "4") == nullptr);
    CHECK(f.index.find(base + "4", string_hash{}(base + "1")) == nullptr);
}

TEST_CASE("hash_index: growth hands back each replaced array, still searchable", "[hash_index]") {
    fixture f;
    std::vector<std::size_t> grew_at; // how many nodes the index held when it grew
    for (std::uint64_t i = 0; i < 5000; ++i) {
        const std::size_t before = f.retired.size();
        f.add("key" + std::to_string(i), i * 3);
        if (f.retired.size() != before) {
            grew_at.push_back(i);
            const index_type::table& old = *f.retired.back();
            // The replaced array is as readers left it: half full, every earlier key in it.
            CHECK(old.mask + 1 == 2 * i);
            CHECK(used_slots(old) == i);
        }
        REQUIRE(f.index.size() == i + 1);
    }
    CHECK(grew_at == std::vector<std::size_t>{32, 64, 128, 256, 512, 1024, 2048, 4096});
    for (std::uint64_t i = 0; i < 5000; ++i) {
        const node* n = f.find("key" + std::to_string(i));
        REQUIRE(n != nullptr);
        CHECK(n->key == "key" + std::to_string(i));
        CHECK(n->value == i * 3);
        CHECK(f.find("nokey" + std::to_string(i)) == nullptr);
    }
    // The first array holds exactly the first 32 nodes, each once (tag bits aside).
    const index_type::table& first = *f.retired.front();
    std::set<const node*> held;
    for (std::size_t i = 0; i <= first.mask; ++i)
        if (const std::uintptr_t w = first.slots[i].load())
            held.insert(reinterpret_cast<const node*>(w & ((std::uintptr_t{1} << 48) - 1)));
    std::set<const node*> first_nodes;
    for (std::size_t i = 0; i < 32; ++i) first_nodes.insert(f.nodes[i].get());
    CHECK(held == first_nodes);
    // for_each visits every node once.
    std::set<const node*> seen;
    std::size_t visits = 0;
    f.index.for_each([&](node* n) { seen.insert(n), ++visits; });
    CHECK(visits == 5000);
    CHECK(seen.size() == 5000);
    for (const auto& n : f.nodes) CHECK(seen.count(n.get()) == 1);
}

TEST_CASE("hash_index: readers find every published key while one writer inserts", "[hash_index][stress]") {
    constexpr std::uint64_t n = 20000; // grows from 64 to 65536 slots along the way
    std::vector<std::string> keys, absent;
    for (std::uint64_t i = 0; i < n; ++i) keys.push_back("key/" + std::to_string(i)), absent.push_back("nokey/" + std::to_string(i));
    auto value_of = [](std::uint64_t i) { return i * 0x9E3779B97F4A7C15ull; };

    index_type index;
    std::vector<std::unique_ptr<node>> nodes;                 // the writer's
    std::vector<std::unique_ptr<index_type::table>> retired;  // freed once the readers are done
    std::atomic<std::uint64_t> published{0};                  // keys [0, published) are in
    std::atomic<bool> done{false};
    std::atomic<std::uint64_t> missing{0}, wrong{0}, phantom{0}, short_walks{0}, lookups{0}, rounds{0};

    auto check = [&](std::uint64_t i, bool must_exist) {
        const node* got = index.find(keys[i], string_hash{}(keys[i]));
        lookups.fetch_add(1, std::memory_order_relaxed);
        if (!got) {
            if (must_exist) missing.fetch_add(1);
        } else if (got->key != keys[i] || got->hash != string_hash{}(keys[i]) || got->value != value_of(i)) {
            wrong.fetch_add(1);
        }
    };
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t)
        readers.emplace_back([&, t] {
            std::uint64_t rng = 0x1234567 + t, round = 0;
            while (!done.load(std::memory_order_acquire)) {
                const std::uint64_t p = published.load(std::memory_order_acquire);
                for (std::uint64_t back = 1; back <= 16 && back <= p; ++back) check(p - back, true); // the newest
                for (int k = 0; k < 16 && p; ++k) {
                    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                    check((rng >> 33) % p, true); // any older one
                }
                for (std::uint64_t ahead = p; ahead < p + 8 && ahead < n; ++ahead) check(ahead, false); // maybe in
                for (int k = 0; k < 8; ++k) {
                    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
                    const std::string& a = absent[(rng >> 33) % n];
                    if (index.find(a, string_hash{}(a))) phantom.fetch_add(1);
                }
                if (++round % 256 == 0) { // a walk sees at least what was published before it began
                    std::uint64_t count = 0;
                    index.for_each([&](const node*) { ++count; });
                    if (count < p) short_walks.fetch_add(1);
                }
                rounds.fetch_add(1);
            }
        });
    for (std::uint64_t i = 0; i < n; ++i) {
        if (i >= 32 && (i & (i - 1)) == 0) { // this insert doubles the array: have the readers on it
            const std::uint64_t r = rounds.load(); // 3 readers: the 4th round from now began after this
            while (rounds.load() < r + 4) std::this_thread::yield();
        }
        nodes.push_back(std::make_unique<node>(node{string_hash{}(keys[i]), keys[i], value_of(i)}));
        if (index_type::table* old = index.insert(nodes.back().get())) retired.emplace_back(old);
        published.store(i + 1, std::memory_order_release);
    }
    done.store(true, std::memory_order_release);
    for (auto& r : readers) r.join();
    CHECK(missing == 0);
    CHECK(wrong == 0);
    CHECK(phantom == 0);
    CHECK(short_walks == 0);
    CHECK(lookups > 0);
    CHECK(retired.size() == 10);
    CHECK(index.size() == n);
    missing = 0, wrong = 0;
    for (std::uint64_t i = 0; i < n; ++i) check(i, true); // and all of them once the writer is done
    CHECK(missing == 0);
    CHECK(wrong == 0);
}
