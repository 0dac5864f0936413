// transact() calls its closure with the transaction; a closure that takes something else
// fails with a message that says what to take.
// expect: inmem: transact(run, fn) calls fn(tx) with the transaction
#include <inmem/inmem.hpp>

struct Plan {
    std::string goal;
};
using agent_schema = inmem::schema<inmem::kv<Plan>>;

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
    auto plans = db.kv<Plan>();
#ifdef INMEM_EXPECT_FAIL
    db.transact(run, [&](inmem::run_id r) { plans.put(r, "p", Plan{"x"}); });
#else
    db.transact(run, [&](auto& tx) { plans.put(tx, "p", Plan{"x"}); });
#endif
}
