// Two policies of one kind are ambiguous.
// expect: inmem: two concurrency policies were given to basic_database
#include <inmem/inmem.hpp>

struct Plan {
    std::string goal;
};
using agent_schema = inmem::schema<inmem::kv<Plan>>;

#ifdef INMEM_EXPECT_FAIL
using db_type = inmem::basic_database<agent_schema, inmem::concurrency::optimistic, inmem::durability::none,
                                      inmem::concurrency::single_thread>;
#else
using db_type = inmem::basic_database<agent_schema, inmem::concurrency::optimistic, inmem::durability::none>;
#endif

int main() {
    db_type db;
    (void)db.begin_run();
}
