// Batched durability flushes every interval_ms: 0 would flush without pause.
// expect: inmem: basic_batched<batch_options{.interval_ms = N}> needs N > 0
#include <inmem/inmem.hpp>

struct Plan {
    std::string goal;
};
using agent_schema = inmem::schema<inmem::kv<Plan>>;

#ifdef INMEM_EXPECT_FAIL
constexpr inmem::durability::batch_options options{.interval_ms = 0};
#else
constexpr inmem::durability::batch_options options{.interval_ms = 20};
#endif
using db_type = inmem::basic_database<agent_schema, inmem::durability::basic_batched<options>>;

int main() {
    db_type db;
    (void)db.begin_run();
}
