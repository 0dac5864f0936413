// A struct with a raw pointer member cannot be stored.
// expect: inmem: a raw pointer cannot be stored
#include <inmem/inmem.hpp>

struct Note {
    std::string text;
#ifdef INMEM_EXPECT_FAIL
    const char* author = nullptr;
#else
    std::string author;
#endif
};

int main() {
    inmem::database<inmem::schema<inmem::kv<Note>>> db;
    (void)db.begin_run();
}
