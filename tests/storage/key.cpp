// Tests of inmem/storage/key.hpp: the key grammar and its ordering properties.
#include <catch2/catch.hpp>
#include <inmem/storage/key.hpp>

#include <algorithm>
#include <random>
#include <vector>

using namespace inmem::detail;

TEST_CASE("run data keys follow the documented grammar", "[key]") {
    auto key = run_data_key(0x01020304, 0x1122334455667788ull, 1, 0xabcd, "plan");
    const std::string expected{'\x01', '\x02', '\x03', '\x04',                  // ns
                               '\x01',                                          // space: run data
                               '\x11', '\x22', '\x33', '\x44', '\x55', '\x66', '\x77', '\x88', // run
                               '\x01',                                          // primitive
                               '\xab', '\xcd',                                  // slot
                               'p',    'l',    'a',    'n'};
    CHECK(key == expected);
    CHECK(key.size() == run_key_prefix_size + 4);
    CHECK(read_big_endian<std::uint64_t>(key, 5) == 0x1122334455667788ull);
    CHECK(read_big_endian<std::uint16_t>(key, 14) == 0xabcd);
}

TEST_CASE("run catalog keys follow the documented grammar", "[key]") {
    auto key = run_catalog_key(0, 258);
    const std::string expected{0, 0, 0, 0, // ns
                               0,          // space: catalog
                               0,          // kind: run record
                               0, 0, 0, 0, 0, 0, 1, 2}; // run 258
    CHECK(key == expected);
}

TEST_CASE("byte order of keys is numeric order of runs, then primitive, slot and user key", "[key]") {
    std::mt19937_64 rng(7);
    std::vector<std::tuple<std::uint64_t, std::uint8_t, std::uint16_t, std::string>> parts;
    for (int i = 0; i < 2000; ++i) {
        std::string user(rng() % 6, 'a');
        for (auto& c : user) c = static_cast<char>(rng() % 256);
        parts.emplace_back(rng() % 2 ? rng() : rng() % 300, static_cast<std::uint8_t>(1 + rng() % 5),
                           static_cast<std::uint16_t>(rng() % 70000), user);
    }
    auto by_bytes = parts;
    std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) {
        if (std::get<0>(a) != std::get<0>(b)) return std::get<0>(a) < std::get<0>(b);
        if (std::get<1>(a) != std::get<1>(b)) return std::get<1>(a) < std::get<1>(b);
        if (std::get<2>(a) != std::get<2>(b)) return std::get<2>(a) < std::get<2>(b);
        // user keys compare as unsigned bytes
        return std::lexicographical_compare(std::get<3>(a).begin(), std::get<3>(a).end(), std::get<3>(b).begin(),
                                            std::get<3>(b).end(), [](char x, char y) {
                                                return static_cast<unsigned char>(x) < static_cast<unsigned char>(y);
                                            });
    });
    std::sort(by_bytes.begin(), by_bytes.end(), [](const auto& a, const auto& b) {
        return std::apply(run_data_key, std::tuple_cat(std::tuple(0u), a)) <
               std::apply(run_data_key, std::tuple_cat(std::tuple(0u), b));
    });
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto x = std::apply(run_data_key, std::tuple_cat(std::tuple(0u), parts[i]));
        auto y = std::apply(run_data_key, std::tuple_cat(std::tuple(0u), by_bytes[i]));
        REQUIRE(x == y);
    }
}

TEST_CASE("everything of one run lies between its prefix and prefix_end", "[key]") {
    auto prefix = run_data_key(0, 41, 1, 0, "");
    auto end = prefix_end(run_data_key(0, 41, 1, 0, "").substr(0, 13)); // ns space run
    CHECK(run_data_key(0, 41, 5, 65535, "\xff\xff") < end);
    CHECK(run_data_key(0, 42, 1, 0, "") >= end);
    CHECK(run_data_key(0, 40, 5, 65535, "\xff") < prefix);
}

TEST_CASE("prefix_end is the first key after the prefix's range", "[key]") {
    CHECK(prefix_end("ab") == "ac");
    CHECK(prefix_end(std::string("a\xff", 2)) == "b");
    CHECK(prefix_end(std::string("\xff\xff", 2)).empty());
    CHECK(prefix_end("").empty());
}

TEST_CASE("user keys longer than max_key_size are refused with key_too_large", "[key]") {
    CHECK_NOTHROW(check_user_key(std::string(inmem::max_key_size, 'k')));
    try {
        check_user_key(std::string(inmem::max_key_size + 1, 'k'));
        FAIL("no exception");
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::key_too_large);
        CHECK_THAT(e.what(), Catch::Contains("4097 bytes"));
    }
}
