// A query predicate on a field of a type the entries do not hold fails at the query, and
// says which member to name.
// expect: inmem::field(&T::member): the entries' values are not a T
#include <inmem/inmem.hpp>
#include <inmem/query.hpp>

struct Plan {
    std::string goal;
    int budget = 0;
};
struct Note {
    std::string text;
};

using agent_schema = inmem::schema<inmem::kv<Plan, Note>>;

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
#ifdef INMEM_EXPECT_FAIL
    auto q = inmem::from(db.kv<Plan>(), run).where(inmem::field(&Note::text) == "x");
#else
    auto q = inmem::from(db.kv<Plan>(), run).where(inmem::field(&Plan::goal) == "x");
#endif
    return static_cast<int>(q.run().size());
}
