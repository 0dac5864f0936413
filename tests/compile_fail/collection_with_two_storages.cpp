// A collection keeps its index's vectors one way: two storage options fail, naming them.
// expect: one storage option at most
#include <inmem/inmem.hpp>

#include <string>

struct Doc {
    std::string source;
};

#ifdef INMEM_EXPECT_FAIL
using docs = inmem::collection<Doc, 8, inmem::metric::cosine, inmem::store_int8, inmem::exact, inmem::store_float16>;
#else
using docs = inmem::collection<Doc, 8, inmem::metric::cosine, inmem::store_int8, inmem::exact>;
#endif
using doc_schema = inmem::schema<inmem::vectors<docs>>;

int main() {
    inmem::basic_database<doc_schema, inmem::durability::none> db;
    (void)db.vectors<Doc>().size();
}
