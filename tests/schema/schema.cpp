// Tests of inmem/schema/schema.hpp: slots, lookups and the schema fingerprint.
#include <catch2/catch.hpp>
#include <inmem/inmem.hpp>

namespace {
struct Plan {
    std::string goal;
    int budget = 0;
};
struct ToolCall {
    std::string tool;
};
struct Lease {
    std::string holder;
    std::int64_t expires_ms = 0;
};
struct Thought {
    std::string text;
    double confidence = 0;
};
struct DocMeta {
    std::string source;
};

using docs = inmem::collection<DocMeta, 8, inmem::metric::cosine>;
using full_schema = inmem::schema<inmem::kv<Plan, std::string>, inmem::events<ToolCall>, inmem::states<Lease>,
                                  inmem::traces<Thought>, inmem::vectors<docs>, inmem::kv<ToolCall>>;
} // namespace

TEST_CASE("every primitive's entry is accepted and flattened into slots in order", "[schema]") {
    STATIC_REQUIRE(full_schema::size == 7);
    STATIC_REQUIRE(full_schema::slot_of<inmem::primitive::kv, Plan> == 0);
    STATIC_REQUIRE(full_schema::slot_of<inmem::primitive::kv, std::string> == 1);
    STATIC_REQUIRE(full_schema::slot_of<inmem::primitive::event, ToolCall> == 2);
    STATIC_REQUIRE(full_schema::slot_of<inmem::primitive::state, Lease> == 3);
    STATIC_REQUIRE(full_schema::slot_of<inmem::primitive::trace, Thought> == 4);
    STATIC_REQUIRE(full_schema::slot_of<inmem::primitive::vector, docs> == 5);
    STATIC_REQUIRE(full_schema::slot_of<inmem::primitive::kv, ToolCall> == 6);
}

TEST_CASE("contains tells a type apart per primitive", "[schema]") {
    STATIC_REQUIRE(full_schema::contains<inmem::primitive::kv, ToolCall>);
    STATIC_REQUIRE(full_schema::contains<inmem::primitive::event, ToolCall>);
    STATIC_REQUIRE_FALSE(full_schema::contains<inmem::primitive::event, Plan>);
    STATIC_REQUIRE_FALSE(full_schema::contains<inmem::primitive::kv, Lease>);
    STATIC_REQUIRE_FALSE(full_schema::contains<inmem::primitive::kv, int>);
}

TEST_CASE("slot_infos describe each slot", "[schema]") {
    const auto& infos = full_schema::slot_infos;
    REQUIRE(infos.size() == 7);
    CHECK(infos[0].kind == inmem::primitive::kv);
    CHECK(infos[0].type_name.ends_with("Plan"));
    CHECK(infos[0].fingerprint == inmem::fingerprint_v<Plan>);
    CHECK(infos[3].kind == inmem::primitive::state);
    CHECK(infos[3].fingerprint == inmem::fingerprint_v<Lease>);
    CHECK(inmem::to_string(infos[2].kind) == "events");
}

TEST_CASE("the schema fingerprint covers slot order, primitive and layout", "[schema]") {
    using a = inmem::schema<inmem::kv<Plan, std::string>>;
    using same = inmem::schema<inmem::kv<Plan>, inmem::kv<std::string>>;
    using reordered = inmem::schema<inmem::kv<std::string, Plan>>;
    using other_primitive = inmem::schema<inmem::kv<Plan>, inmem::states<std::string>>;
    using more = inmem::schema<inmem::kv<Plan, std::string, int>>;
    STATIC_REQUIRE(a::fingerprint == same::fingerprint);
    STATIC_REQUIRE(a::fingerprint != reordered::fingerprint);
    STATIC_REQUIRE(a::fingerprint != other_primitive::fingerprint);
    STATIC_REQUIRE(a::fingerprint != more::fingerprint);
}

TEST_CASE("a schema's fingerprint is usable at compile time and stable within a build", "[schema]") {
    constexpr auto fp = full_schema::fingerprint;
    STATIC_REQUIRE(fp != 0);
    CHECK(fp == full_schema::fingerprint);
}
