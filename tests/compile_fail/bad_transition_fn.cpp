// transition(run, name, fn) needs fn(const T&) returning the new T.
// expect: inmem: transition(run, name, fn) needs fn(const T&) returning the new T
#include <inmem/inmem.hpp>

struct Task {
    std::string owner;
};
using agent_schema = inmem::schema<inmem::states<Task>>;

int main() {
    inmem::database<agent_schema> db;
    auto run = db.begin_run();
    auto tasks = db.states<Task>();
    (void)tasks.init(run, "t", Task{});
#ifdef INMEM_EXPECT_FAIL
    tasks.transition(run, "t", [](const Task& t) { return t.owner.size(); });
#else
    tasks.transition(run, "t", [](const Task& t) { return Task{t.owner + "!"}; });
#endif
}
