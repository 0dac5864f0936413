// A storage policy whose backend misses part of the contract (here: ordered scans) fails at
// basic_database, naming the concept and what the backend must provide.
// expect: inmem: this storage policy does not meet inmem::storage_policy
#include <inmem/inmem.hpp>

#include <string>

struct Plan {
    std::string goal;
};

#ifdef INMEM_EXPECT_FAIL
// A hash map is no ordered store: it has lookups and writes, but no scan_prefix.
struct hash_backend : inmem::detail::memory_backend {
    void scan_prefix() = delete;
};
#else
struct hash_backend : inmem::detail::memory_backend {};
#endif

struct hash_storage {
    using policy_kind = inmem::storage_kind;
    using backend = hash_backend;
};

int main() {
    inmem::basic_database<inmem::schema<inmem::kv<Plan>>, hash_storage, inmem::durability::none> db;
    auto run = db.begin_run();
    db.kv<Plan>().put(run, "p", Plan{"x"});
}
