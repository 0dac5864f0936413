// Using a type the schema does not list fails at the call, and says how to add it.
// expect: inmem: T is not in the schema for this primitive family
#include <inmem/inmem.hpp>

struct Plan {
    std::string goal;
};
struct Scratch {
    std::string text;
};

#ifdef INMEM_EXPECT_FAIL
using agent_schema = inmem::schema<inmem::kv<Plan>>;
#else
using agent_schema = inmem::schema<inmem::kv<Plan, Scratch>>;
#endif

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
    db.kv<Scratch>().put(run, "s", Scratch{"x"});
}
