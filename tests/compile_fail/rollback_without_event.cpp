// Rolling a run back in a schema whose events do not list inmem::rolled_back (the event a
// rollback appends) fails at the call, and says how to add it.
// expect: inmem: rollback records an inmem::rolled_back event: list it in the schema's events
#include <inmem/inmem.hpp>
#include <inmem/time_machine.hpp>

struct Note {
    std::string text;
};

#ifdef INMEM_EXPECT_FAIL
using agent_schema = inmem::schema<inmem::kv<Note>>;
#else
using agent_schema = inmem::schema<inmem::kv<Note>, inmem::events<inmem::rolled_back>>;
#endif

int main() {
    inmem::basic_database<agent_schema, inmem::durability::none> db;
    auto run = db.begin_run();
    db.kv<Note>().put(run, "n", Note{"a"});
    db.kv<Note>().put(run, "n", Note{"b"});
    (void)inmem::rollback(db, run, 1);
}
