// Listing a metadata type in inmem::vectors<...> without its dimension and metric fails at
// the schema, and shows how to declare the collection.
// expect: inmem: list each vector collection as inmem::collection<Meta, Dimension, Metric>
#include <inmem/inmem.hpp>

#include <string>

struct Doc {
    std::string source;
};

#ifdef INMEM_EXPECT_FAIL
using doc_schema = inmem::schema<inmem::vectors<Doc>>;
#else
using doc_schema = inmem::schema<inmem::vectors<inmem::collection<Doc, 8, inmem::metric::cosine>>>;
#endif

int main() {
    inmem::basic_database<doc_schema, inmem::durability::none> db;
    (void)db.vectors<Doc>().size();
}
