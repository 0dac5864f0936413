// Appending an event of a type the schema's events do not list fails at the call, and says
// how to add it.
// expect: inmem: this type is not one of the schema's event types; list it in inmem::events<...>
#include <inmem/inmem.hpp>

struct ToolCall {
    std::string tool;
};
struct ToolResult {
    std::string output;
};

#ifdef INMEM_EXPECT_FAIL
using agent_schema = inmem::schema<inmem::events<ToolCall>>;
#else
using agent_schema = inmem::schema<inmem::events<ToolCall, ToolResult>>;
#endif

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
    db.events().append(run, ToolResult{"ok"});
}
