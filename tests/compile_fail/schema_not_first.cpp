// The schema comes first; policies follow it.
// expect: inmem: the first argument of basic_database is the schema
#include <inmem/inmem.hpp>

struct Plan {
    std::string goal;
};
using agent_schema = inmem::schema<inmem::kv<Plan>>;

#ifdef INMEM_EXPECT_FAIL
using db_type = inmem::basic_database<inmem::storage::memory, agent_schema>;
#else
using db_type = inmem::basic_database<agent_schema, inmem::storage::memory>;
#endif

int main() {
    db_type db;
    (void)db.begin_run();
}
