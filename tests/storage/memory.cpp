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
    CHECK(store.erase("a"));
    CHECK_FALSE(store.erase("a"));
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

TEST_CASE("erased records vanish from scans, tombstones compact, and keys can return", "[memory]") {
    memory_backend store;
    std::map<std::string, std::string> model;
    std::mt19937 rng(5);
    auto key_of = [](int i) { return std::string("\0\0\0\0\x01\0\0\0\0\0\0\0\x07k", 14) + std::to_string(i); };
    for (int round = 0; round < 6; ++round) {
        for (int i = 0; i < 400; ++i) {
            auto key = key_of(static_cast<int>(rng() % 500));
            if (rng() % 3 == 0) {
                CHECK(store.erase(key) == (model.erase(key) > 0));
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
    for (const auto& [k, v] : model) CHECK(store.erase(k)); // erase everything: the group compacts
    CHECK(store.size() == 0);
    int seen = 0;
    store.scan_prefix("", [&](std::string_view, const inmem::detail::stored_record&) { ++seen; });
    CHECK(seen == 0);
    store.put(key_of(1), "back", 99);
    CHECK(store.find(key_of(1))->bytes == "back");
    CHECK(store.size() == 1);
}
