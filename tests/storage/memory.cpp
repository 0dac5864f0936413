// Tests of inmem/storage/memory.hpp: the ordered in-memory backend.
#include <catch2/catch.hpp>
#include <inmem/storage/memory.hpp>

#include <map>
#include <random>

using inmem::detail::memory_backend;

TEST_CASE("put, find, overwrite and erase", "[memory]") {
    memory_backend store;
    CHECK(store.find("a") == nullptr);
    store.put("a", "1", 1);
    REQUIRE(store.find("a") != nullptr);
    CHECK(store.find("a")->bytes == "1");
    CHECK(store.find("a")->version == 1);
    store.put("a", "2", 5);
    CHECK(store.find("a")->bytes == "2");
    CHECK(store.find("a")->version == 5);
    CHECK(store.size() == 1);
    CHECK(store.erase("a", 6));
    CHECK_FALSE(store.erase("a", 7));
    CHECK(store.find("a") == nullptr);
    CHECK(store.size() == 0);
}

TEST_CASE("scan_prefix visits exactly the keys under a prefix, in order", "[memory]") {
    memory_backend store;
    std::map<std::string, std::string> model;
    std::mt19937 rng(3);
    for (int i = 0; i < 3000; ++i) {
        // Short keys, and keys long enough to fall in the groups of every key space.
        std::string key(rng() % 2 ? 1 + rng() % 4 : 5 + rng() % 12, 'x');
        for (auto& c : key) c = static_cast<char>("ab\xff\x00\x01\x02"[rng() % 6]);
        store.put(std::string(key), std::to_string(i), static_cast<inmem::version_t>(i + 1));
        model[key] = std::to_string(i);
    }
    std::vector<std::string> prefixes = {std::string(), std::string("a"), std::string("ab"), std::string("\xff", 1),
                                         std::string("\xff\xff", 2), std::string("b\0", 2)};
    for (int i = 0; i < 60; ++i) { // prefixes of stored keys, of every length
        auto it = std::next(model.begin(), static_cast<long>(rng() % model.size()));
        prefixes.push_back(it->first.substr(0, rng() % (it->first.size() + 1)));
    }
    for (const auto& prefix : prefixes) {
        std::vector<std::string> got;
        store.scan_prefix(prefix, [&](std::string_view key, const inmem::detail::stored_record& rec) {
            got.emplace_back(key);
            CHECK(rec.bytes == model[std::string(key)]);
        });
        std::vector<std::string> want;
        for (const auto& [k, v] : model)
            if (k.starts_with(prefix)) want.push_back(k);
        CAPTURE(prefix);
        CHECK(got == want);
    }
}

TEST_CASE("erased records vanish from scans and keys can return", "[memory]") {
    memory_backend store;
    std::map<std::string, std::string> model;
    std::mt19937 rng(5);
    auto key_of = [](int i) { return std::string("\0\0\0\0\x01\0\0\0\0\0\0\0\x07k", 14) + std::to_string(i); };
    for (int round = 0; round < 6; ++round) {
        for (int i = 0; i < 400; ++i) {
            auto key = key_of(static_cast<int>(rng() % 500));
            if (rng() % 3 == 0) {
                CHECK(store.erase(key, static_cast<inmem::version_t>(round * 1000 + i + 1)) == (model.erase(key) > 0));
            } else {
                auto value = std::to_string(round * 1000 + i);
                store.put(std::string(key), std::string(value), static_cast<inmem::version_t>(round * 1000 + i + 1));
                model[key] = value;
            }
        }
        std::vector<std::pair<std::string, std::string>> got;
        store.scan_prefix(key_of(0).substr(0, 13), [&](std::string_view k, const inmem::detail::stored_record& r) {
            got.emplace_back(k, r.bytes);
        });
        CHECK(got == std::vector<std::pair<std::string, std::string>>(model.begin(), model.end()));
        CHECK(store.size() == model.size());
        for (const auto& [k, v] : model) REQUIRE(store.find(k) != nullptr);
    }
    for (const auto& [k, v] : model) CHECK(store.erase(k, 7000)); // erase everything
    CHECK(store.size() == 0);
    int seen = 0;
    store.scan_prefix("", [&](std::string_view, const inmem::detail::stored_record&) { ++seen; });
    CHECK(seen == 0);
    store.put(key_of(1), "back", 7001);
    CHECK(store.find(key_of(1))->bytes == "back");
    CHECK(store.size() == 1);
}

TEST_CASE("a reader at an old version sees that version's records, erasures included", "[memory]") {
    memory_backend store;
    store.put("k1", "a", 1);
    store.put("k2", "b", 2);
    store.put("k1", "c", 3);
    CHECK(store.erase("k2", 4));
    store.put("k3", "d", 5);
    auto at = [&](inmem::version_t v) {
        std::vector<std::string> got;
        store.scan_prefix("k", v, [&](std::string_view key, const inmem::detail::stored_record& rec) {
            got.push_back(std::string(key) + "=" + rec.bytes + "@" + std::to_string(rec.version));
        });
        return got;
    };
    CHECK(at(0).empty());
    CHECK(at(1) == std::vector<std::string>{"k1=a@1"});
    CHECK(at(2) == std::vector<std::string>{"k1=a@1", "k2=b@2"});
    CHECK(at(3) == std::vector<std::string>{"k1=c@3", "k2=b@2"});
    CHECK(at(4) == std::vector<std::string>{"k1=c@3"});
    CHECK(at(5) == std::vector<std::string>{"k1=c@3", "k3=d@5"});
    CHECK(store.find("k2", 3)->bytes == "b");
    CHECK(store.find("k2", 4) == nullptr);
    CHECK(store.latest("k2") == 4);
    CHECK(store.latest("nope") == 0);
    CHECK(store.size() == 2);
}

TEST_CASE("collect frees superseded versions only once no snapshot can see them", "[memory]") {
    memory_backend store;
    for (inmem::version_t v = 1; v <= 100; ++v) store.put("k", std::to_string(v), v);
    CHECK(store.garbage() == 99);
    store.collect(50); // a reader at 50 still needs version 50, superseded at 51
    CHECK(store.garbage() == 50);
    CHECK(store.find("k", 50)->bytes == "50");
    CHECK(store.find("k", 100)->bytes == "100");
    store.collect(100);
    CHECK(store.garbage() == 0);
    CHECK(store.find("k", 100)->bytes == "100");
    CHECK(store.find("k", 99) == nullptr); // gone: nobody could read at 99 any more
}

TEST_CASE("keys inserted while the index and the groups grow stay findable at every version", "[memory]") {
    memory_backend store;
    const std::string group("\0\0\0\0\x01\0\0\0\0\0\0\0\x01", 13);
    for (int i = 0; i < 5000; ++i) store.put(group + std::to_string(i), std::to_string(i), static_cast<inmem::version_t>(i + 1));
    for (int i = 0; i < 5000; i += 7) {
        CHECK(store.find(group + std::to_string(i), static_cast<inmem::version_t>(i + 1))->bytes == std::to_string(i));
        CHECK(store.find(group + std::to_string(i), static_cast<inmem::version_t>(i)) == nullptr);
    }
    int listed = 0;
    std::string last;
    store.scan_prefix(group, 2500, [&](std::string_view key, const inmem::detail::stored_record&) {
        CHECK(std::string(key) > last);
        last = key;
        ++listed;
    });
    CHECK(listed == 2500);
}

TEST_CASE("a group whose keys come in order, then not, lists them in order at every step", "[memory]") {
    // Keys in order are appended without a sort (the group's in-order path); one out of
    // order switches the group back to sorting; a merge starts in order again.
    memory_backend store;
    const std::string group("\0\0\0\0\x01\0\0\0\0\0\0\0\x02", 13);
    auto key = [&](int i) {
        std::string k = group;
        for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>((i >> shift) & 0xff));
        return k;
    };
    std::map<std::string, inmem::version_t> model; // key -> the version that wrote it
    std::mt19937 rng(11);
    inmem::version_t version = 0;
    auto check = [&](inmem::version_t at, const std::string& after) {
        std::vector<std::string> got, want;
        store.scan_prefix(group, at, [&](std::string_view k, const inmem::detail::stored_record&) { got.emplace_back(k); }, after);
        for (const auto& [k, v] : model)
            if (v <= at && (after.empty() || k > after)) want.push_back(k);
        CAPTURE(at, after.size(), model.size());
        REQUIRE(got == want);
    };
    int next = 0;
    for (int step = 0; step < 3000; ++step) {
        // Mostly the next key up; now and then one below all of them (out of order).
        const int i = rng() % 50 ? 1000000 + next++ : 999999 - step;
        model[key(i)] = ++version;
        store.put(key(i), "v", version);
        if (step % 97 == 0) {
            check(version, {});
            check(version / 2, {});
            check(version, key(1000000 + next / 2));
        }
    }
    check(version, {});
}
