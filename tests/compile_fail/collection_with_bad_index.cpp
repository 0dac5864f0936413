// A collection's options after the metric say how it is indexed and stored; anything else
// there fails, naming what may be.
// expect: each option is an index (inmem::hnsw<...> or inmem::exact) or a storage
#include <inmem/inmem.hpp>

#include <string>

struct Doc {
    std::string source;
};

#ifdef INMEM_EXPECT_FAIL
using docs = inmem::collection<Doc, 8, inmem::metric::cosine, int>;
#else
using docs = inmem::collection<Doc, 8, inmem::metric::cosine, inmem::hnsw<8, 64, 1000>>;
#endif
using doc_schema = inmem::schema<inmem::vectors<docs>>;

int main() {
    inmem::basic_database<doc_schema, inmem::durability::none> db;
    (void)db.vectors<Doc>().size();
}
