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
        std::string key(1 + rng() % 4, 'x');
        for (auto& c : key) c = static_cast<char>("ab\xff\x00"[rng() % 4]);
        store.put(std::string(key), std::to_string(i), static_cast<inmem::version_t>(i + 1));
        model[key] = std::to_string(i);
    }
    for (std::string prefix : {std::string(), std::string("a"), std::string("ab"), std::string("\xff", 1),
                               std::string("\xff\xff", 2), std::string("b\0", 2)}) {
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
