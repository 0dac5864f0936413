// Tests of inmem/schema/evolution.hpp: values written under an old layout become values of
// the new type by field name (added fields take their defaults, at any depth; removed ones
// are dropped; reordered ones matched; integers, floats, optionals and variants widened), the
// plan says what changed, and every unsafe change is refused naming the field and both
// layouts. Old and new types are two structs of one program: a description has no struct name.
#include <catch2/catch.hpp>
#include <inmem/json.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/evolution.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace {
struct StepV1 {
    std::string tool;
};
struct StepV2 {
    std::string tool;
    int retries = 3; // added inside an element: its default comes from StepV2{}
};

struct NoteV1 {
    std::int32_t count = 0;
    std::string text;
    std::string legacy; // removed in V2
    float weight = 0;
    std::uint16_t flags = 0;
    int level = 0;
    std::variant<int, std::string> tag;
    std::vector<StepV1> steps;
    std::map<std::string, std::int8_t> scores;
};
struct NoteV2 {
    std::string text;                             // moved first
    std::int64_t count = 0;                       // widened
    double weight = 0;                            // widened
    std::int32_t flags = 0;                       // unsigned to a wider signed
    std::optional<int> level;                     // now optional
    std::variant<int, std::string, double> tag;   // an alternative added at the end
    std::vector<StepV2> steps;                    // its elements gained a field
    std::map<std::string, std::int64_t> scores;   // values widened
    std::string owner = "nobody";                 // added, with a default member initialiser
    std::vector<int> history;                     // added, value-initialised
};

} // namespace

// legacy (a string) is gone and owner (a string) is new: declared, so not taken for a rename.
template <>
struct inmem::schema_traits<NoteV2> {
    static constexpr std::array<std::string_view, 1> removed_fields = {"legacy"};
};

namespace {
template <class Old>
inmem::type_description layout() {
    return inmem::parse_type_description(inmem::describe<Old>());
}

template <class New, class Old>
New migrated(const Old& old) {
    const auto plan = inmem::plan_migration<New>(layout<Old>());
    auto value = inmem::decode<New>(inmem::migrate_value(plan, inmem::encode(old)));
    REQUIRE(value);
    return std::move(value).value();
}

template <class New, class Old>
std::string refusal() {
    try {
        (void)inmem::plan_migration<New>(layout<Old>());
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::schema_mismatch);
        return e.what();
    }
    FAIL("the change was accepted");
    return {};
}
} // namespace

TEST_CASE("the same layout needs no migration", "[evolution]") {
    const auto plan = inmem::plan_migration<NoteV1>(layout<NoteV1>());
    CHECK(plan.identical());
    const std::string bytes = inmem::encode(NoteV1{7, "x", "y", 1.5f, 2, 3, std::string("t"), {{"a"}}, {{"k", 1}}});
    CHECK(inmem::migrate_value(plan, bytes) == bytes);
}

TEST_CASE("old values become new ones by field name, with defaults and widenings at any depth", "[evolution]") {
    const auto plan = inmem::plan_migration<NoteV2>(layout<NoteV1>());
    CHECK_FALSE(plan.identical());
    const auto said = [&](std::string_view line) {
        return std::any_of(plan.changes.begin(), plan.changes.end(), [&](const std::string& c) { return c.find(line) != std::string::npos; });
    };
    INFO([&] {
        std::string all;
        for (const auto& c : plan.changes) all += c + "\n";
        return all;
    }());
    CHECK(said("$.count: widened from i32 to i64"));
    CHECK(said("$.weight: widened from f32 to f64"));
    CHECK(said("$.flags: widened from u16 to i32"));
    CHECK(said("$.level: now optional"));
    CHECK(said("$.tag: the variant gained 1 alternative at its end"));
    CHECK(said("$.steps[].retries: added"));
    CHECK(said("$.scores{}: widened from i8 to i64"));
    CHECK(said("$.owner: added"));
    CHECK(said("$.history: added"));
    CHECK(said("$.legacy: removed"));
    CHECK(said("$: fields reordered"));

    NoteV1 old;
    old.count = -123456;
    old.text = "call back";
    old.legacy = "gone";
    old.weight = 0.1f;
    old.flags = 65535;
    old.level = -7;
    old.tag = std::string("urgent");
    old.steps = {{"search"}, {"fetch"}};
    old.scores = {{"a", -128}, {"b", 127}};
    const NoteV2 now = migrated<NoteV2>(old);
    CHECK(now.text == "call back");
    CHECK(now.count == -123456); // sign-extended
    CHECK(now.weight == static_cast<double>(0.1f));
    CHECK(now.flags == 65535); // zero-extended
    CHECK(now.level == std::optional<int>(-7));
    REQUIRE(now.tag.index() == 1);
    CHECK(std::get<1>(now.tag) == "urgent");
    REQUIRE(now.steps.size() == 2);
    CHECK(now.steps[0].tool == "search");
    CHECK(now.steps[1].retries == 3); // StepV2's default member initialiser
    CHECK(now.scores == std::map<std::string, std::int64_t>{{"a", -128}, {"b", 127}});
    CHECK(now.owner == "nobody");
    CHECK(now.history.empty());
}

TEST_CASE("random old values migrate field for field", "[evolution]") {
    const auto plan = inmem::plan_migration<NoteV2>(layout<NoteV1>());
    std::mt19937 rng(3);
    for (int i = 0; i < 300; ++i) {
        NoteV1 old;
        old.count = static_cast<std::int32_t>(rng());
        old.text = std::string(rng() % 5, static_cast<char>('a' + rng() % 26));
        old.weight = static_cast<float>(static_cast<std::int32_t>(rng())) / 7.0f;
        old.flags = static_cast<std::uint16_t>(rng());
        old.level = static_cast<int>(rng());
        if (rng() % 2) old.tag = static_cast<int>(rng());
        else old.tag = std::string(rng() % 4, 'z');
        for (std::size_t n = rng() % 3; n > 0; --n) old.steps.push_back({std::to_string(rng())});
        for (std::size_t n = rng() % 3; n > 0; --n) old.scores[std::to_string(rng())] = static_cast<std::int8_t>(rng());
        auto decoded = inmem::decode<NoteV2>(inmem::migrate_value(plan, inmem::encode(old)));
        REQUIRE(decoded);
        const NoteV2* now = &decoded.value();
        CHECK(now->count == old.count);
        CHECK(now->text == old.text);
        CHECK(now->weight == static_cast<double>(old.weight));
        CHECK(now->flags == old.flags);
        CHECK(now->level == std::optional<int>(old.level));
        CHECK(now->tag.index() == old.tag.index());
        REQUIRE(now->steps.size() == old.steps.size());
        for (std::size_t s = 0; s < old.steps.size(); ++s) CHECK((now->steps[s].tool == old.steps[s].tool && now->steps[s].retries == 3));
        CHECK(now->scores.size() == old.scores.size());
        for (const auto& [k, v] : old.scores) CHECK(now->scores.at(k) == v);
    }
    // bytes that are not an old value are refused, not migrated into garbage
    CHECK_THROWS_AS(inmem::migrate_value(plan, "\x05"), inmem::error);
    CHECK_THROWS_AS(inmem::migrate_value(plan, inmem::encode(NoteV1{}) + "x"), inmem::error);
}

namespace {
struct Narrow {
    std::int32_t n = 0;
};
struct Wide {
    std::int64_t n = 0;
};
struct Unsigned {
    std::uint64_t n = 0;
};
struct Text {
    std::string n;
};
struct TwoAlternatives {
    std::variant<int, std::string> v;
};
struct OneAlternative {
    std::variant<int> v;
};
struct Pair {
    std::array<int, 2> a{};
};
struct Triple {
    std::array<int, 3> a{};
};
struct Maybe {
    std::optional<std::int64_t> n;
};
struct Precise {
    double x = 0;
};
struct Rough {
    float x = 0;
};
} // namespace

TEST_CASE("unsafe changes are refused, naming the field and both layouts", "[evolution]") {
    const std::string narrowed = refusal<Narrow, Wide>();
    CHECK(narrowed.find("$.n") != std::string::npos);
    CHECK(narrowed.find("stored i64, now i32") != std::string::npos);
    CHECK(narrowed.find("schema_traits") != std::string::npos); // the way out
    CHECK(refusal<Wide, Unsigned>().find("stored u64, now i64") != std::string::npos); // not wider
    CHECK(refusal<Text, Wide>().find("its type changed") != std::string::npos);
    CHECK(refusal<OneAlternative, TwoAlternatives>().find("lost alternatives") != std::string::npos);
    CHECK(refusal<Triple, Pair>().find("size changed") != std::string::npos);
    CHECK(refusal<Wide, Maybe>().find("$.n") != std::string::npos); // optional<T> to T
    CHECK(refusal<Rough, Precise>().find("does not narrow") != std::string::npos);
    // and the widenings themselves migrate
    CHECK(migrated<Wide>(Narrow{-5}).n == -5);
    CHECK(migrated<Maybe>(Wide{9}).n == std::optional<std::int64_t>(9));
    CHECK(migrated<Maybe>(Narrow{-9}).n == std::optional<std::int64_t>(-9)); // widened, then optional
}

namespace {
struct Before {
    std::string body;
    int stars = 0;
};
struct After {
    int rating = 0; // was stars
    std::string text; // was body
};
} // namespace

template <>
struct inmem::schema_traits<After> {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 2> renamed_fields = {
        {{"body", "text"}, {"stars", "rating"}}};
};

TEST_CASE("a field renamed by schema_traits<T>::renamed_fields keeps its values", "[evolution]") {
    const auto plan = inmem::plan_migration<After>(layout<Before>());
    const auto said = [&](std::string_view line) {
        return std::any_of(plan.changes.begin(), plan.changes.end(), [&](const std::string& c) { return c.find(line) != std::string::npos; });
    };
    CHECK(said("$.text: renamed from body"));
    CHECK(said("$.rating: renamed from stars"));
    CHECK(said("$: fields reordered"));
    CHECK_FALSE(said("removed"));
    CHECK_FALSE(said("added"));
    const After after = migrated<After>(Before{"great", 5});
    CHECK(after.text == "great");
    CHECK(after.rating == 5);
}

namespace {
struct Renamed { // body renamed to text without a declaration
    std::string text;
    int stars = 0;
};
struct BodyOnly {
    std::string body;
};
struct Scored { // stars became a string: no rule, but an upgrade function
    std::string body;
    std::string stars;
};
} // namespace

template <>
struct inmem::schema_traits<Scored> {
    static Scored upgrade(const nlohmann::json& old) {
        const int stars = old.at("stars").get<int>();
        if (stars < 0) throw std::invalid_argument("negative stars");
        return {old.at("body").get<std::string>(), std::string(static_cast<std::size_t>(stars), '*')};
    }
};

TEST_CASE("a field gone and one added of its type is taken for an undeclared rename, and refused", "[evolution]") {
    const std::string why = refusal<Renamed, Before>();
    CHECK(why.find("body is gone and text is new") != std::string::npos);
    CHECK(why.find("renamed_fields = {{{\"body\", \"text\"}}}") != std::string::npos);
    CHECK(why.find("removed_fields = {\"body\"}") != std::string::npos);
}

TEST_CASE("a change no rule makes is made by the type's upgrade function, from the old value's JSON", "[evolution]") {
    const auto plan = inmem::plan_migration<Scored>(layout<Before>());
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].find("upgraded by schema_traits<") != std::string::npos);
    const Scored now = migrated<Scored>(Before{"fine", 3});
    CHECK(now.body == "fine");
    CHECK(now.stars == "***");
    // An upgrade that refuses a value says which.
    try {
        (void)inmem::migrate_value(plan, inmem::encode(Before{"bad", -1}));
        FAIL("accepted");
    } catch (const inmem::error& e) {
        CHECK(e.code() == inmem::errc::schema_mismatch);
        CHECK_THAT(e.what(), Catch::Contains("negative stars") && Catch::Contains("\"bad\""));
    }
    // Rules still come first: a change they make is not handed to the upgrade function.
    const auto by_rule = inmem::plan_migration<Scored>(layout<BodyOnly>());
    CHECK(by_rule.upgrade == nullptr);
    CHECK(by_rule.changes == std::vector<std::string>{"$.stars: added (string, its default)"});
    CHECK(migrated<Scored>(BodyOnly{"b"}).stars.empty());
}
