// bench/compare/stores.hpp: inmem, RocksDB, LMDB and SQLite behind one small interface, each
// set up as its own documentation recommends for the durability level compared.
//
// Every store takes (directory, durability level, writer threads) and offers:
//   put(key, value, writer)    one write, committed on its own (writer: the calling thread's slot)
//   get(key, out) -> bool      the value under key, copied into out
//   load(keys, n, values)      n keys written in transactions of load_batch writes (set-up only)
//   append(seq, value)         the next entry of a per-run sequence: inmem appends to the run's
//                              event log (db.events().append: seq assigned at commit, SHA-256
//                              hash chain included); the peers put key run + big-endian seq
//   read_append(seq, out)      reads one back (inmem: db.events().get(event_id{run, seq}))
//   cas_setup(names, value)    creates one versioned record per name
//   cas(i, out) -> bool        reads record i, checks its version, writes version + 1 (one transaction)
//   cas_seq(i)                 record i's counter (how many cas() succeeded on it)
//   sync()                     makes every write so far durable
//   describe(level)            the configuration, in words
// Calls are not virtual: the workloads are templates over the store type.
#pragma once

#include <inmem/inmem.hpp>

#include <lmdb.h>
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace compare {

namespace fs = std::filesystem;

enum class level { batched, strict };

inline const char* to_string(level l) { return l == level::batched ? "batched" : "strict"; }

/// Writes per transaction when loading a data set before a measurement.
inline constexpr std::size_t load_batch = 1000;

// ----- inmem's value types -----

/// The KV value: 150 bytes of payload (152 encoded). Peers store the same 150 bytes.
struct Value {
    std::string payload;
};

/// The versioned record of the cas workload: a counter and the same payload. inmem versions
/// it itself; the peers keep the counter in the first 8 bytes of the stored value.
struct Rec {
    std::uint64_t seq = 0;
    std::string payload;
};

// The append workload's events are Values too (the same 150 bytes), in the run's event log.
using compare_schema = inmem::schema<inmem::kv<Value>, inmem::states<Rec>, inmem::events<Value>>;

/// A key source: key i is the 24 bytes at data + i * 24.
struct key_set {
    static constexpr std::size_t key_bytes = 24;
    std::vector<char> bytes;
    std::size_t size() const noexcept { return bytes.size() / key_bytes; }
    std::string_view operator[](std::size_t i) const noexcept { return {bytes.data() + i * key_bytes, key_bytes}; }
};

inline void store_be64(char* out, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        out[i] = static_cast<char>(v & 0xff);
        v >>= 8;
    }
}
inline std::uint64_t load_be64(const char* in) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[i]);
    return v;
}

[[noreturn]] inline void fail(const std::string& what) { throw std::runtime_error(what); }

/// Calls f() every interval on a thread of its own until destroyed (the peers' periodic sync).
class ticker {
public:
    template <class F>
    ticker(std::chrono::milliseconds interval, F f)
        : thread_([this, interval, f = std::move(f)]() mutable {
              std::unique_lock lock(mutex_);
              while (!stop_) {
                  if (cv_.wait_for(lock, interval, [&] { return stop_; })) break;
                  lock.unlock();
                  f();
                  lock.lock();
              }
          }) {}
    ticker(const ticker&) = delete;
    ticker& operator=(const ticker&) = delete;
    ~ticker() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        cv_.notify_all();
        thread_.join();
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread thread_; // last: started once the rest is built
};

inline constexpr std::chrono::milliseconds peer_sync_interval{100}; // = inmem's durability::batched interval

// =====================================================================================
// inmem
// =====================================================================================

template <level L>
class inmem_store {
    using durability = std::conditional_t<L == level::batched, inmem::durability::batched, inmem::durability::strict>;
    using db_type = inmem::basic_database<compare_schema, durability>;

public:
    static constexpr const char* name = "inmem";

    static std::string describe() {
        return L == level::batched ? "durability::batched (WAL fdatasync every 100 ms by a background thread; "
                                     "a commit returns once logged in memory), concurrency::optimistic"
                                   : "durability::strict (a commit returns after its WAL record is fdatasynced; "
                                     "concurrent commits share one), concurrency::optimistic";
    }

    inmem_store(const fs::path& dir, unsigned writers = 1) : db_(dir) {
        // A reopened directory keeps its runs: read the data of the first one again.
        const auto existing = db_.runs();
        if (!existing.empty()) runs_.push_back(existing.front().id);
        while (runs_.size() < writers) runs_.push_back(db_.begin_run({.name = "writer"}));
    }

    void put(std::string_view key, const Value& v, unsigned writer = 0) { kv_.put(runs_[writer], key, v); }

    bool get(std::string_view key, std::string& out) {
        auto r = kv_.get(runs_[0], key);
        if (!r) return false;
        out.swap(r->payload);
        return true;
    }

    void load(const key_set& keys, std::size_t n, const std::vector<Value>& values) {
        for (std::size_t i = 0; i < n;) {
            auto tx = db_.begin(runs_[0]);
            for (const std::size_t end = std::min(n, i + load_batch); i < end; ++i)
                kv_.put(tx, keys[i], values[i % values.size()]);
            tx.commit();
        }
    }

    // The real event log, not a KV under a sequence key: the log assigns the seq (checked to
    // be the caller's), the time and the hash chain at commit, and writes the chain head.
    void append(std::uint64_t seq, const Value& v) {
        if (log_.append(runs_[0], v).seq != seq) fail("inmem: the event log assigned another seq");
    }
    bool read_append(std::uint64_t seq, std::string& out) {
        auto e = log_.get(inmem::event_id{runs_[0], seq});
        if (!e) return false;
        out.swap(std::get<Value>(e->value).payload);
        return true;
    }

    void cas_setup(const std::vector<std::string>& names, const Value& v) {
        names_ = &names;
        for (const auto& n : names)
            if (!st_.init(runs_[0], n, Rec{0, v.payload})) fail("inmem: cas record exists already");
    }
    bool cas(std::size_t i) {
        const std::string& n = (*names_)[i];
        auto e = st_.read(n);
        if (!e) return false;
        ++e->value.seq;
        return st_.cas(runs_[0], n, e->version, e->value).succeeded;
    }
    std::uint64_t cas_seq(std::size_t i) {
        auto e = st_.read((*names_)[i]);
        return e ? e->value.seq : 0;
    }

    void sync() { db_.sync(); }

    /// What the last open recovered (the reopen workload reports it).
    const inmem::recovery_report& recovery() const { return db_.recovery(); }

private:
    db_type db_;
    std::vector<inmem::run_id> runs_;
    inmem::kv_handle<typename db_type::engine_type, Value> kv_ = db_.template kv<Value>();
    inmem::state_handle<typename db_type::engine_type, Rec> st_ = db_.template states<Rec>();
    inmem::event_log<typename db_type::engine_type, compare_schema> log_ = db_.events();
    const std::vector<std::string>* names_ = nullptr;
};

// =====================================================================================
// RocksDB
// =====================================================================================

inline void check(const rocksdb::Status& s, const char* what) {
    if (!s.ok()) fail(std::string("rocksdb: ") + what + ": " + s.ToString());
}

inline std::string rocksdb_version() {
    return std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." + std::to_string(ROCKSDB_PATCH);
}

template <level L>
class rocksdb_store {
public:
    static constexpr const char* name = "rocksdb";

    static std::string describe() {
        std::string common = "RocksDB " + rocksdb_version() +
                             ": Options::IncreaseParallelism(cores), OptimizeLevelStyleCompaction(), bloom "
                             "filter 10 bits/key, 512 MiB LRU block cache, WAL on; ";
        return common + (L == level::batched
                             ? "WriteOptions::sync = false and FlushWAL(true) every 100 ms by a background thread"
                             : "WriteOptions::sync = true (concurrent writers share a group commit)");
    }

    rocksdb_store(const fs::path& dir, unsigned /*writers*/ = 1) {
        rocksdb::Options o;
        o.create_if_missing = true;
        o.IncreaseParallelism(static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
        o.OptimizeLevelStyleCompaction();
        rocksdb::BlockBasedTableOptions t;
        t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
        t.block_cache = rocksdb::NewLRUCache(std::size_t{512} << 20);
        o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
        rocksdb::DB* db = nullptr;
        check(rocksdb::DB::Open(o, dir.string(), &db), "open");
        db_.reset(db);
        wo_.sync = L == level::strict;
        if constexpr (L == level::batched)
            sync_thread_ = std::make_unique<ticker>(peer_sync_interval, [this] { check(db_->FlushWAL(true), "FlushWAL"); });
    }
    ~rocksdb_store() {
        sync_thread_.reset();
        if (db_) db_->Close().PermitUncheckedError();
    }

    void put(std::string_view key, const Value& v, unsigned = 0) {
        check(db_->Put(wo_, rocksdb::Slice(key.data(), key.size()), v.payload), "put");
    }

    bool get(std::string_view key, std::string& out) {
        const auto s = db_->Get(ro_, rocksdb::Slice(key.data(), key.size()), &out);
        if (s.IsNotFound()) return false;
        check(s, "get");
        return true;
    }

    void load(const key_set& keys, std::size_t n, const std::vector<Value>& values) {
        for (std::size_t i = 0; i < n;) {
            rocksdb::WriteBatch batch;
            for (const std::size_t end = std::min(n, i + load_batch); i < end; ++i)
                check(batch.Put(rocksdb::Slice(keys[i].data(), keys[i].size()), values[i % values.size()].payload),
                      "batch put");
            check(db_->Write(wo_, &batch), "write batch");
        }
    }

    void append(std::uint64_t seq, const Value& v) {
        char key[16];
        store_be64(key, run_);
        store_be64(key + 8, seq);
        check(db_->Put(wo_, rocksdb::Slice(key, 16), v.payload), "append");
    }
    bool read_append(std::uint64_t seq, std::string& out) {
        char key[16];
        store_be64(key, run_);
        store_be64(key + 8, seq);
        return get(std::string_view(key, 16), out);
    }

    // A read-check-write under a mutex: the documented way to make a read-modify-write atomic
    // on a plain DB (no TransactionDB needed with one process).
    void cas_setup(const std::vector<std::string>& names, const Value& v) {
        names_ = &names;
        std::string bytes(8, '\0');
        bytes += v.payload;
        for (const auto& n : names) check(db_->Put(wo_, n, bytes), "cas init");
    }
    bool cas(std::size_t i) {
        const std::string& n = (*names_)[i];
        // The read under the mutex is the version check: no write can come between it and the put.
        std::lock_guard lock(cas_mutex_);
        if (!get(n, scratch_) || scratch_.size() < 8) return false;
        const std::uint64_t seen = load_be64(scratch_.data());
        store_be64(scratch_.data(), seen + 1);
        check(db_->Put(wo_, n, scratch_), "cas put");
        return true;
    }
    std::uint64_t cas_seq(std::size_t i) {
        std::string out;
        return get((*names_)[i], out) && out.size() >= 8 ? load_be64(out.data()) : 0;
    }

    void sync() { check(db_->FlushWAL(true), "FlushWAL"); }

private:
    std::unique_ptr<rocksdb::DB> db_;
    rocksdb::WriteOptions wo_;
    rocksdb::ReadOptions ro_;
    std::unique_ptr<ticker> sync_thread_;
    std::mutex cas_mutex_;
    std::string scratch_;
    const std::vector<std::string>* names_ = nullptr;
    static constexpr std::uint64_t run_ = 1;
};

// =====================================================================================
// LMDB
// =====================================================================================

inline void check_mdb(int rc, const char* what) {
    if (rc != MDB_SUCCESS) fail(std::string("lmdb: ") + what + ": " + mdb_strerror(rc));
}

template <level L>
class lmdb_store {
public:
    static constexpr const char* name = "lmdb";

    static std::string describe() {
        return std::string(MDB_VERSION_STRING) + ": map size 64 GiB, one write transaction per write" +
               (L == level::batched ? ", MDB_NOSYNC and mdb_env_sync(env, 1) every 100 ms by a background thread"
                                    : ", default flags (each commit syncs)") +
               "; reads in a read-only transaction kept for reuse (mdb_txn_reset / mdb_txn_renew); appends with "
               "MDB_APPEND";
    }

    lmdb_store(const fs::path& dir, unsigned /*writers*/ = 1) {
        fs::create_directories(dir);
        check_mdb(mdb_env_create(&env_), "env_create");
        check_mdb(mdb_env_set_mapsize(env_, std::size_t{64} << 30), "set_mapsize");
        check_mdb(mdb_env_open(env_, dir.c_str(), L == level::batched ? MDB_NOSYNC : 0, 0644), "env_open");
        MDB_txn* txn = nullptr;
        check_mdb(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
        check_mdb(mdb_dbi_open(txn, nullptr, 0, &dbi_), "dbi_open");
        check_mdb(mdb_txn_commit(txn), "txn_commit");
        if constexpr (L == level::batched)
            sync_thread_ = std::make_unique<ticker>(peer_sync_interval, [this] { check_mdb(mdb_env_sync(env_, 1), "env_sync"); });
    }
    ~lmdb_store() {
        sync_thread_.reset();
        if (read_txn_) mdb_txn_abort(read_txn_);
        if (env_) {
            if constexpr (L == level::batched) mdb_env_sync(env_, 1);
            mdb_env_close(env_);
        }
    }

    void put(std::string_view key, const Value& v, unsigned = 0) { write_one(key, v.payload, 0); }

    bool get(std::string_view key, std::string& out) {
        if (!read_txn_) check_mdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &read_txn_), "read txn_begin");
        else check_mdb(mdb_txn_renew(read_txn_), "txn_renew");
        MDB_val k{key.size(), const_cast<char*>(key.data())}, v{};
        const int rc = mdb_get(read_txn_, dbi_, &k, &v);
        if (rc == MDB_SUCCESS) out.assign(static_cast<const char*>(v.mv_data), v.mv_size);
        mdb_txn_reset(read_txn_);
        if (rc == MDB_NOTFOUND) return false;
        check_mdb(rc, "get");
        return true;
    }

    void load(const key_set& keys, std::size_t n, const std::vector<Value>& values) {
        for (std::size_t i = 0; i < n;) {
            MDB_txn* txn = nullptr;
            check_mdb(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
            for (const std::size_t end = std::min(n, i + load_batch); i < end; ++i) {
                MDB_val k{keys[i].size(), const_cast<char*>(keys[i].data())};
                MDB_val v{values[i % values.size()].payload.size(), const_cast<char*>(values[i % values.size()].payload.data())};
                check_mdb(mdb_put(txn, dbi_, &k, &v, 0), "put");
            }
            check_mdb(mdb_txn_commit(txn), "txn_commit");
        }
    }

    void append(std::uint64_t seq, const Value& v) {
        char key[16];
        store_be64(key, run_);
        store_be64(key + 8, seq);
        write_one(std::string_view(key, 16), v.payload, MDB_APPEND);
    }
    bool read_append(std::uint64_t seq, std::string& out) {
        char key[16];
        store_be64(key, run_);
        store_be64(key + 8, seq);
        return get(std::string_view(key, 16), out);
    }

    void cas_setup(const std::vector<std::string>& names, const Value& v) {
        names_ = &names;
        std::string bytes(8, '\0');
        bytes += v.payload;
        for (const auto& n : names) write_one(n, bytes, 0);
    }
    bool cas(std::size_t i) {
        const std::string& n = (*names_)[i];
        MDB_txn* txn = nullptr;
        check_mdb(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
        MDB_val k{n.size(), const_cast<char*>(n.data())}, v{};
        if (mdb_get(txn, dbi_, &k, &v) != MDB_SUCCESS || v.mv_size < 8) {
            mdb_txn_abort(txn);
            return false;
        }
        const std::uint64_t seen = load_be64(static_cast<const char*>(v.mv_data));
        scratch_.assign(static_cast<const char*>(v.mv_data), v.mv_size);
        store_be64(scratch_.data(), seen + 1);
        MDB_val nv{scratch_.size(), scratch_.data()};
        check_mdb(mdb_put(txn, dbi_, &k, &nv, 0), "cas put");
        check_mdb(mdb_txn_commit(txn), "cas commit");
        return true;
    }
    std::uint64_t cas_seq(std::size_t i) {
        std::string out;
        return get((*names_)[i], out) && out.size() >= 8 ? load_be64(out.data()) : 0;
    }

    void sync() { check_mdb(mdb_env_sync(env_, 1), "env_sync"); }

private:
    void write_one(std::string_view key, std::string_view value, unsigned flags) {
        MDB_txn* txn = nullptr;
        check_mdb(mdb_txn_begin(env_, nullptr, 0, &txn), "txn_begin");
        MDB_val k{key.size(), const_cast<char*>(key.data())};
        MDB_val v{value.size(), const_cast<char*>(value.data())};
        const int rc = mdb_put(txn, dbi_, &k, &v, flags);
        if (rc != MDB_SUCCESS) {
            mdb_txn_abort(txn);
            check_mdb(rc, "put");
        }
        check_mdb(mdb_txn_commit(txn), "txn_commit");
    }

    MDB_env* env_ = nullptr;
    MDB_dbi dbi_ = 0;
    MDB_txn* read_txn_ = nullptr;
    std::unique_ptr<ticker> sync_thread_;
    std::string scratch_;
    const std::vector<std::string>* names_ = nullptr;
    static constexpr std::uint64_t run_ = 1;
};

// =====================================================================================
// SQLite
// =====================================================================================

/// One connection with its prepared statements.
class sqlite_conn {
public:
    sqlite_conn(const fs::path& file, level l) {
        if (sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK)
            fail(std::string("sqlite: open: ") + (db_ ? sqlite3_errmsg(db_) : "out of memory"));
        sqlite3_busy_timeout(db_, 10000);
        exec("PRAGMA journal_mode=WAL");
        exec(l == level::batched ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");
        exec("PRAGMA cache_size=-524288"); // 512 MiB, as RocksDB's block cache
        exec("CREATE TABLE IF NOT EXISTS kv(k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
        exec("CREATE TABLE IF NOT EXISTS rec(k BLOB PRIMARY KEY, ver INTEGER NOT NULL, v BLOB NOT NULL) WITHOUT ROWID");
        put_ = prepare("INSERT INTO kv(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v");
        insert_ = prepare("INSERT INTO kv(k, v) VALUES(?1, ?2)");
        get_ = prepare("SELECT v FROM kv WHERE k = ?1");
        rec_get_ = prepare("SELECT ver, v FROM rec WHERE k = ?1");
        rec_update_ = prepare("UPDATE rec SET ver = ?3, v = ?4 WHERE k = ?1 AND ver = ?2");
        rec_insert_ = prepare("INSERT INTO rec(k, ver, v) VALUES(?1, 0, ?2)");
        begin_ = prepare("BEGIN");
        begin_immediate_ = prepare("BEGIN IMMEDIATE");
        commit_ = prepare("COMMIT");
    }
    sqlite_conn(const sqlite_conn&) = delete;
    sqlite_conn& operator=(const sqlite_conn&) = delete;
    ~sqlite_conn() {
        for (sqlite3_stmt* s : {put_, insert_, get_, rec_get_, rec_update_, rec_insert_, begin_, begin_immediate_, commit_})
            sqlite3_finalize(s);
        sqlite3_close(db_);
    }

    void exec(const char* sql) {
        char* err = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = std::string("sqlite: ") + sql + ": " + (err ? err : "?");
            sqlite3_free(err);
            fail(msg);
        }
    }
    sqlite3_stmt* prepare(const char* sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
            fail(std::string("sqlite: prepare ") + sql + ": " + sqlite3_errmsg(db_));
        return s;
    }
    /// Steps s once (to SQLITE_DONE or SQLITE_ROW); returns the code.
    int step(sqlite3_stmt* s, const char* what) {
        const int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            std::string msg = std::string("sqlite: ") + what + ": " + sqlite3_errmsg(db_);
            sqlite3_reset(s);
            fail(msg);
        }
        return rc;
    }
    void run(sqlite3_stmt* s, const char* what) {
        step(s, what);
        sqlite3_reset(s);
    }
    void bind(sqlite3_stmt* s, int i, std::string_view b) {
        sqlite3_bind_blob(s, i, b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
    }

    sqlite3* db_ = nullptr;
    sqlite3_stmt *put_, *insert_, *get_, *rec_get_, *rec_update_, *rec_insert_, *begin_, *begin_immediate_, *commit_;
};

template <level L>
class sqlite_store {
public:
    static constexpr const char* name = "sqlite";

    static std::string describe() {
        return std::string("SQLite ") + sqlite3_libversion() +
               ": journal_mode=WAL, " + (L == level::batched ? "synchronous=NORMAL" : "synchronous=FULL") +
               ", cache_size 512 MiB, table (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID, prepared statements, "
               "one autocommit statement per write; a connection per writer thread, writers serialised by a "
               "mutex in front of SQLite's write lock (busy_timeout 10 s as well); cas: BEGIN IMMEDIATE, "
               "SELECT, UPDATE ... WHERE ver = ?, COMMIT";
    }

    sqlite_store(const fs::path& dir, unsigned writers = 1) {
        fs::create_directories(dir);
        for (unsigned w = 0; w < std::max(1u, writers); ++w)
            conns_.push_back(std::make_unique<sqlite_conn>(dir / "db.sqlite", L));
    }

    void put(std::string_view key, const Value& v, unsigned writer = 0) {
        sqlite_conn& c = *conns_[writer];
        std::lock_guard lock(write_mutex_);
        c.bind(c.put_, 1, key);
        c.bind(c.put_, 2, v.payload);
        c.run(c.put_, "put");
    }

    bool get(std::string_view key, std::string& out) {
        sqlite_conn& c = *conns_[0];
        c.bind(c.get_, 1, key);
        const bool found = c.step(c.get_, "get") == SQLITE_ROW;
        if (found)
            out.assign(static_cast<const char*>(sqlite3_column_blob(c.get_, 0)),
                       static_cast<std::size_t>(sqlite3_column_bytes(c.get_, 0)));
        sqlite3_reset(c.get_);
        return found;
    }

    void load(const key_set& keys, std::size_t n, const std::vector<Value>& values) {
        sqlite_conn& c = *conns_[0];
        std::lock_guard lock(write_mutex_);
        for (std::size_t i = 0; i < n;) {
            c.run(c.begin_, "begin");
            for (const std::size_t end = std::min(n, i + load_batch); i < end; ++i) {
                c.bind(c.put_, 1, keys[i]);
                c.bind(c.put_, 2, values[i % values.size()].payload);
                c.run(c.put_, "load");
            }
            c.run(c.commit_, "commit");
        }
    }

    void append(std::uint64_t seq, const Value& v) {
        char key[16];
        store_be64(key, run_);
        store_be64(key + 8, seq);
        sqlite_conn& c = *conns_[0];
        std::lock_guard lock(write_mutex_);
        c.bind(c.insert_, 1, std::string_view(key, 16));
        c.bind(c.insert_, 2, v.payload);
        c.run(c.insert_, "append");
    }
    bool read_append(std::uint64_t seq, std::string& out) {
        char key[16];
        store_be64(key, run_);
        store_be64(key + 8, seq);
        return get(std::string_view(key, 16), out);
    }

    void cas_setup(const std::vector<std::string>& names, const Value& v) {
        names_ = &names;
        sqlite_conn& c = *conns_[0];
        for (const auto& n : names) {
            c.bind(c.rec_insert_, 1, n);
            c.bind(c.rec_insert_, 2, v.payload);
            c.run(c.rec_insert_, "cas init");
        }
    }
    bool cas(std::size_t i) {
        const std::string& n = (*names_)[i];
        sqlite_conn& c = *conns_[0];
        std::lock_guard lock(write_mutex_);
        c.run(c.begin_immediate_, "begin immediate");
        c.bind(c.rec_get_, 1, n);
        if (c.step(c.rec_get_, "cas read") != SQLITE_ROW) {
            sqlite3_reset(c.rec_get_);
            c.exec("ROLLBACK");
            return false;
        }
        const auto seen = static_cast<std::uint64_t>(sqlite3_column_int64(c.rec_get_, 0));
        scratch_.assign(static_cast<const char*>(sqlite3_column_blob(c.rec_get_, 1)),
                        static_cast<std::size_t>(sqlite3_column_bytes(c.rec_get_, 1)));
        sqlite3_reset(c.rec_get_);
        c.bind(c.rec_update_, 1, n);
        sqlite3_bind_int64(c.rec_update_, 2, static_cast<sqlite3_int64>(seen));
        sqlite3_bind_int64(c.rec_update_, 3, static_cast<sqlite3_int64>(seen + 1));
        c.bind(c.rec_update_, 4, scratch_);
        c.run(c.rec_update_, "cas update");
        const bool ok = sqlite3_changes(c.db_) == 1;
        c.run(c.commit_, "cas commit");
        return ok;
    }
    std::uint64_t cas_seq(std::size_t i) {
        sqlite_conn& c = *conns_[0];
        c.bind(c.rec_get_, 1, (*names_)[i]);
        std::uint64_t v = 0;
        if (c.step(c.rec_get_, "cas read") == SQLITE_ROW) v = static_cast<std::uint64_t>(sqlite3_column_int64(c.rec_get_, 0));
        sqlite3_reset(c.rec_get_);
        return v;
    }

    // synchronous=NORMAL in WAL mode: the WAL is synced at checkpoints, which is the
    // durability level it stands for; there is nothing to force.
    void sync() {}

private:
    std::vector<std::unique_ptr<sqlite_conn>> conns_;
    std::mutex write_mutex_;
    std::string scratch_;
    const std::vector<std::string>* names_ = nullptr;
    static constexpr std::uint64_t run_ = 1;
};

} // namespace compare
