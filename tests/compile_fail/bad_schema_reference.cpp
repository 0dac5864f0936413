// A struct with a reference member cannot be stored.
// expect: inmem: a reference member cannot be stored
#include <inmem/inmem.hpp>

struct Budget {
#ifdef INMEM_EXPECT_FAIL
    int& remaining;
#else
    int remaining = 0;
#endif
};

int main() {
    inmem::database<inmem::schema<inmem::kv<Budget>>> db;
    (void)db.begin_run();
}
