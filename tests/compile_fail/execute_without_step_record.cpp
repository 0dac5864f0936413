// Executing a run in a schema whose events do not list inmem::step_record (the event each
// step is recorded as) fails at the call, and says how to add it.
// expect: inmem: an execution records each step as an inmem::step_record event: list it in the schema's events
#include <inmem/exec.hpp>
#include <inmem/inmem.hpp>

struct Said {
    int n = 0;
};

#ifdef INMEM_EXPECT_FAIL
using agent_schema = inmem::schema<inmem::events<Said>>;
#else
using agent_schema = inmem::schema<inmem::events<Said, inmem::step_record>>;
#endif

int main() {
    inmem::basic_database<agent_schema, inmem::durability::none> db;
    auto ex = inmem::execute(db, db.begin_run());
    (void)ex.step("tool", [] { return 1; });
}
