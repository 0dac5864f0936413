// State records of a type the schema does not list fail at the call, and say how to add it.
// expect: inmem: T is not in the schema for this primitive family
#include <inmem/inmem.hpp>

struct Plan {
    std::string goal;
};

#ifdef INMEM_EXPECT_FAIL
using agent_schema = inmem::schema<inmem::kv<Plan>>;
#else
using agent_schema = inmem::schema<inmem::kv<Plan>, inmem::states<inmem::lease>>;
#endif

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
    (void)db.states<inmem::lease>().acquire(run, "leader", std::chrono::seconds(1));
}
