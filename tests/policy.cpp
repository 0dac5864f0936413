// Tests of inmem/policy.hpp: policies given in any order, defaults for omitted kinds.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

#include <type_traits>

namespace {
struct Note {
    std::string text;
};
using note_schema = inmem::schema<inmem::kv<Note>>;

// A policy of the user's own: durability kind, in memory only.
struct custom_durability {
    using policy_kind = inmem::durability_kind;
    static constexpr bool persistent = false;
};
} // namespace

TEST_CASE("omitted policy kinds take their defaults", "[policy]") {
    using db = inmem::database<note_schema>;
    STATIC_REQUIRE(std::is_same_v<db::storage_policy, inmem::storage::memory>);
    STATIC_REQUIRE(std::is_same_v<db::concurrency_policy, inmem::concurrency::optimistic>);
    STATIC_REQUIRE(std::is_same_v<db::durability_policy, inmem::durability::batched>);
}

TEST_CASE("policies are picked by kind whatever their order", "[policy]") {
    using a = inmem::basic_database<note_schema, inmem::concurrency::single_thread, inmem::durability::none,
                                    inmem::storage::memory>;
    using b = inmem::basic_database<note_schema, inmem::storage::memory, inmem::durability::none,
                                    inmem::concurrency::single_thread>;
    STATIC_REQUIRE(std::is_same_v<a::concurrency_policy, inmem::concurrency::single_thread>);
    STATIC_REQUIRE(std::is_same_v<b::concurrency_policy, inmem::concurrency::single_thread>);
    STATIC_REQUIRE(std::is_same_v<a::engine_type, b::engine_type>);
}

TEST_CASE("a user-defined policy of a known kind is accepted", "[policy]") {
    using db = inmem::basic_database<note_schema, custom_durability>;
    STATIC_REQUIRE(std::is_same_v<db::durability_policy, custom_durability>);
    db d;
    auto run = d.begin_run();
    d.kv<Note>().put(run, "k", Note{"v"});
    CHECK(d.kv<Note>().get(run, "k")->text == "v");
}

TEST_CASE("policy checks classify types", "[policy]") {
    STATIC_REQUIRE(inmem::detail::is_known_policy<inmem::storage::memory>());
    STATIC_REQUIRE(inmem::detail::is_known_policy<custom_durability>());
    STATIC_REQUIRE_FALSE(inmem::detail::is_known_policy<int>());
    STATIC_REQUIRE_FALSE(inmem::detail::is_known_policy<Note>());
    STATIC_REQUIRE(inmem::detail::count_kind_v<inmem::concurrency_kind, inmem::concurrency::optimistic,
                                               inmem::storage::memory, inmem::concurrency::single_thread> == 2);
}

TEST_CASE("durability::batched is spelled like the other policies; basic_batched takes options", "[policy]") {
    // The natural spelling, as durability::strict: a type, with the default options.
    using plain = inmem::basic_database<note_schema, inmem::durability::batched>;
    STATIC_REQUIRE(std::is_same_v<plain::durability_policy, inmem::durability::basic_batched<>>);
    STATIC_REQUIRE(plain::durability_policy::options.interval_ms == 100);
    using fast = inmem::basic_database<
        note_schema, inmem::durability::basic_batched<inmem::durability::batch_options{.interval_ms = 5}>>;
    STATIC_REQUIRE(fast::durability_policy::options.interval_ms == 5);
    STATIC_REQUIRE(fast::durability_policy::options.max_bytes == inmem::durability::batch_options{}.max_bytes);
    plain db;
    CHECK(db.begin_run().value == 1);
}
