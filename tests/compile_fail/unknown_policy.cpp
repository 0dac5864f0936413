// A template argument that is not a policy is rejected with a hint.
// expect: inmem: this template argument of basic_database is not a policy
#include <inmem/inmem.hpp>

struct Plan {
    std::string goal;
};
using agent_schema = inmem::schema<inmem::kv<Plan>>;

struct fast_please {};

#ifdef INMEM_EXPECT_FAIL
using db_type = inmem::basic_database<agent_schema, fast_please>;
#else
using db_type = inmem::basic_database<agent_schema, inmem::concurrency::single_thread>;
#endif

int main() {
    db_type db;
    (void)db.begin_run();
}
