// A union cannot be stored: which member is active is not known.
// expect: inmem: a union cannot be stored
#include <inmem/inmem.hpp>

#include <variant>

#ifdef INMEM_EXPECT_FAIL
union Number {
    int i;
    double d;
};
#else
using Number = std::variant<int, double>;
#endif

struct Reading {
    Number value;
};

int main() {
    inmem::database<inmem::schema<inmem::kv<Reading>>> db;
    (void)db.begin_run();
}
