// Recording a trace of a type the schema's traces do not list fails at the call, and says
// how to add it.
// expect: inmem: this type is not one of the schema's trace types; list it in
#include <inmem/inmem.hpp>

struct Hunch {
    std::string text;
};

#ifdef INMEM_EXPECT_FAIL
using agent_schema = inmem::schema<inmem::traces<inmem::trace::decision>>;
#else
using agent_schema = inmem::schema<inmem::traces<inmem::trace::decision, Hunch>>;
#endif

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
    db.traces().record(run, Hunch{"it will rain"});
}
