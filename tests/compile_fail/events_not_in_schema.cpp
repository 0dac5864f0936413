// db.events() on a schema without events fails, and says what to add.
// expect: inmem: db.events() needs event types in the schema: inmem::events<ToolCall, ...>
#include <inmem/inmem.hpp>

struct ToolCall {
    std::string tool;
};

#ifdef INMEM_EXPECT_FAIL
using agent_schema = inmem::schema<inmem::kv<ToolCall>>;
#else
using agent_schema = inmem::schema<inmem::kv<ToolCall>, inmem::events<ToolCall>>;
#endif

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
    db.events().append(run, ToolCall{"search"});
}
