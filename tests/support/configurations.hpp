// Every concurrency x durability combination of a database, for suites that must hold in
// each (TEMPLATE_LIST_TEST_CASE), and a database of such a type for one test: in memory
// under durability::none, else opened in a fresh directory removed after the test.
#pragma once

#include "../support.hpp"

#include <inmem/inmem.hpp>

#include <memory>
#include <tuple>

namespace inmem_test {

/// Batched durability flushing every 5 ms, so that tests waiting for it wait little.
using fast_batched = inmem::durability::basic_batched<inmem::durability::batch_options{.interval_ms = 5}>;

/// The six combinations of concurrency (single_thread, optimistic) and durability (none,
/// batched every 5 ms, strict) of basic_database<Schema, ...>.
template <class Schema>
using all_configurations =
    std::tuple<inmem::basic_database<Schema, inmem::concurrency::single_thread, inmem::durability::none>,
               inmem::basic_database<Schema, inmem::concurrency::optimistic, inmem::durability::none>,
               inmem::basic_database<Schema, inmem::concurrency::single_thread, fast_batched>,
               inmem::basic_database<Schema, inmem::concurrency::optimistic, fast_batched>,
               inmem::basic_database<Schema, inmem::concurrency::single_thread, inmem::durability::strict>,
               inmem::basic_database<Schema, inmem::concurrency::optimistic, inmem::durability::strict>>;

/// A database of type Db for one test (Db& through * and ->): persistent policies open a
/// fresh directory, so every write also goes through the WAL, and reopen() closes and opens
/// it again (in memory there is nothing to reopen: reopen() is for persistent Db only).
template <class Db>
class test_database {
public:
    static constexpr bool persistent = Db::durability_policy::persistent;

    test_database() { open(); }
    void reopen() requires persistent {
        db_.reset();
        open();
    }
    Db& operator*() noexcept { return *db_; }
    Db* operator->() noexcept { return db_.get(); }

private:
    void open() {
        if constexpr (persistent) db_ = std::make_unique<Db>(dir_.path());
        else db_ = std::make_unique<Db>();
    }

    temp_dir dir_; // declared first: destroyed after the database
    std::unique_ptr<Db> db_;
};

} // namespace inmem_test
