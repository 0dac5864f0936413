// Asking for the vectors of a metadata type no collection of the schema has fails at the
// call, and says what to list.
// expect: inmem: db.vectors<T>(): the schema has no vector collection whose metadata is T
#include <inmem/inmem.hpp>

#include <string>

struct Doc {
    std::string source;
};
struct Note {
    std::string text;
};

using doc_schema = inmem::schema<inmem::vectors<inmem::collection<Doc, 8, inmem::metric::cosine>>>;

int main() {
    inmem::basic_database<doc_schema, inmem::durability::none> db;
#ifdef INMEM_EXPECT_FAIL
    (void)db.vectors<Note>().size();
#else
    (void)db.vectors<Doc>().size();
#endif
}
