// A step whose function returns a type that cannot be stored (a raw pointer) fails at the
// step, and says that a step's output is recorded, so it must be storable.
// expect: inmem: a step's output is recorded and returned by replays, so the type its function returns must be storable
#include <inmem/exec.hpp>
#include <inmem/inmem.hpp>

#include <string>

using agent_schema = inmem::schema<inmem::events<inmem::step_record>>;

int main() {
    inmem::basic_database<agent_schema, inmem::durability::none> db;
    auto ex = inmem::execute(db, db.begin_run());
    static int answer = 42;
#ifdef INMEM_EXPECT_FAIL
    const int* out = ex.step("llm:answer", std::string("question"), [] { return &answer; });
#else
    const int* out = &answer;
    (void)ex.step("llm:answer", std::string("question"), [] { return answer; });
#endif
    (void)out;
}
