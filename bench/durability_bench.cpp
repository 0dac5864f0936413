// durability_bench: what durability costs, against what the disk itself can do. In one run:
//
//   1. raw disk: a loop of write(180 bytes) + fdatasync on one file (and write alone), in the
//      directory the databases live in: the ceiling for a commit that waits for the disk;
//   2. commit throughput of durability::strict and durability::batched with 1, 2, 4 and 8
//      writer threads, each thread in a run of its own, one put (24-byte key, ~150-byte
//      value) per commit;
//   3. a single-thread put loop, durability::batched on disk against durability::none in
//      memory (the same workload): what logging costs a caller who does not wait for it;
//   4. recovery: open a directory holding a ~100 MB WAL and no snapshot (commits/s, MB/s,
//      open time), with the WAL in the page cache and evicted from it; then take a snapshot
//      (db.snapshot()) and time the open again.
//
//   durability_bench [--dir DIR] [--quick] [--reps R] [--strict-seconds S] [--batched-seconds S]
//                    [--raw-seconds S] [--n N] [--wal-mb M] [--opens K] [--json FILE]
//
// Method. Throughput: a fresh database in a new subdirectory of DIR (default: a new
// directory under /tmp, removed at the end), one run per writer thread begun beforehand, the
// threads released together, stopped after a fixed time, then db.sync() (so a batched figure
// counts only commits that reached the disk); commits / elapsed wall time. Every database is
// opened with open_options{.snapshot_after_bytes = 0} (no automatic snapshot while measuring)
// and a file_system that forwards to the real one and counts fdatasyncs, so the table says
// how many commits shared one. The fsync rate of a shared VM drifts from minute to minute, so
// a repetition measures raw write+fdatasync, strict with one writer, raw again (the ratio
// takes the mean of the two raw figures), then strict with 2, 4 and 8 writers and batched
// with 1 to 8; the targets use the median over repetitions of the ratios within each.
// Put loop: n puts of new keys timed with bench::time_ns; each measurement runs in a child
// process (fork) after an unrecorded warm-up pass there, none and batched alternating, once
// with glibc's defaults and once with freed memory kept for reuse (kv_bench's setting): on
// this VM a first touch of a 4 KiB page costs some 16 us, which the second setting leaves out.
// Recovery: the database's constructor timed (wall) beside db.recovery().took (which covers
// recover_directory alone), each open in a child process: the first open in a process, then
// a second one in the same process (memory already touched), and a first open after the
// files were dropped from the page cache (posix_fadvise DONTNEED). The header names the
// filesystem of DIR (statfs, /proc/mounts) and the load average at start and end: others
// share the machine, and each throughput row shows the CPU the process used (in cores).
#include "common.hpp"

#include <inmem/inmem.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <unistd.h>

namespace fs = std::filesystem;

// The value type: what an agent keeps in working memory (bench::Plan, about 150 bytes encoded).
using bench::Plan;

using bench_schema = inmem::schema<inmem::kv<Plan>>;
using none_db = inmem::basic_database<bench_schema, inmem::durability::none>;
using batched_db = inmem::basic_database<bench_schema, inmem::durability::batched>;
using strict_db = inmem::basic_database<bench_schema, inmem::durability::strict>;
// Builds the recovery WAL: flushes only when told to (db.sync()), so building is fast. (A
// named constant rather than basic_batched<{...}>, which clang 14 does not parse.)
constexpr inmem::durability::batch_options builder_batching{.interval_ms = 600000, .max_bytes = std::uint64_t{1} << 62};
using builder_db = inmem::basic_database<bench_schema, inmem::durability::basic_batched<builder_batching>>;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("durability_bench: " + what); }

// ----- workload -----

constexpr std::size_t key_bytes = bench::plan_key_bytes; // "agent:plan:0000000000246"

/// Keys bench::plan_key(first), plan_key(first + 1), ..., counted up in place (no formatting
/// in the timed loops).
class key_maker {
public:
    explicit key_maker(std::uint64_t first) {
        const std::string key = bench::plan_key(first);
        std::memcpy(buf_, key.data(), key_bytes);
    }
    std::string_view current() const noexcept { return {buf_, key_bytes}; }
    void advance() noexcept {
        for (std::size_t i = key_bytes - 1; i >= 11; --i) {
            if (buf_[i] != '9') {
                ++buf_[i];
                return;
            }
            buf_[i] = '0';
        }
    }

private:
    char buf_[key_bytes + 8];
};

/// Writer thread t's first key number: the threads' keys never meet.
std::uint64_t first_key(unsigned thread) { return std::uint64_t{thread} * 100'000'000'000ull; }

// ----- a file_system that counts what reaches the real one -----

struct io_counts {
    std::atomic<std::uint64_t> writes{0}, bytes{0}, syncs{0}, dir_syncs{0};
    void reset() { writes = bytes = syncs = dir_syncs = 0; }
};

class counting_file final : public inmem::append_file {
public:
    counting_file(std::unique_ptr<inmem::append_file> inner, io_counts& c) : inner_(std::move(inner)), c_(c) {}
    void append(std::string_view bytes) override {
        inner_->append(bytes);
        c_.writes.fetch_add(1, std::memory_order_relaxed);
        c_.bytes.fetch_add(bytes.size(), std::memory_order_relaxed);
    }
    void sync() override {
        inner_->sync();
        c_.syncs.fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t size() const override { return inner_->size(); }

private:
    std::unique_ptr<inmem::append_file> inner_;
    io_counts& c_;
};

class counting_file_system final : public inmem::file_system {
public:
    io_counts counts;

    std::unique_ptr<inmem::append_file> open_append(const fs::path& path, bool truncate) override {
        return std::make_unique<counting_file>(inner_->open_append(path, truncate), counts);
    }
    std::string read_all(const fs::path& path) override { return inner_->read_all(path); }
    void truncate(const fs::path& path, std::uint64_t size) override { inner_->truncate(path, size); }
    void rename(const fs::path& from, const fs::path& to) override { inner_->rename(from, to); }
    void remove(const fs::path& path) override { inner_->remove(path); }
    void sync_directory(const fs::path& dir) override {
        inner_->sync_directory(dir);
        counts.dir_syncs.fetch_add(1, std::memory_order_relaxed);
    }
    std::vector<std::string> list(const fs::path& dir) override { return inner_->list(dir); }
    void create_directories(const fs::path& dir) override { inner_->create_directories(dir); }
    std::unique_ptr<inmem::directory_lock> lock_directory(const fs::path& dir) override {
        return inner_->lock_directory(dir);
    }

private:
    std::shared_ptr<inmem::file_system> inner_ = inmem::default_file_system();
};

// ----- clocks -----

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
    return std::chrono::duration<double>(clock_type::now() - start).count();
}

/// CPU seconds of the whole process (every thread, user + system).
double process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// ----- where the files go -----

struct filesystem_info {
    std::string type;    // from statfs
    std::string mount;   // mount point, device and options, from /proc/mounts
};

std::string statfs_type(const fs::path& dir) {
    struct statfs s{};
    if (statfs(dir.c_str(), &s) != 0) return "unknown";
    switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53: return "ext2/3/4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0x6969: return "nfs";
    default: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "f_type 0x%lx", static_cast<unsigned long>(s.f_type));
        return buf;
    }
    }
}

filesystem_info describe_filesystem(const fs::path& dir) {
    filesystem_info info;
    info.type = statfs_type(dir);
    const std::string canonical = fs::canonical(dir).string();
    std::ifstream in("/proc/mounts");
    std::string device, point, type, options, rest;
    std::size_t best = 0;
    while (in >> device >> point >> type >> options) {
        std::getline(in, rest);
        const bool under = canonical == point || point == "/" ||
                           (canonical.rfind(point, 0) == 0 && canonical.size() > point.size() &&
                            canonical[point.size()] == '/');
        if (under && point.size() >= best) {
            best = point.size();
            info.mount = type + " on " + device + " at " + point + " (" + options + ")";
        }
    }
    if (info.mount.empty()) info.mount = "unknown mount";
    return info;
}

std::uint64_t wal_bytes_in(const fs::path& dir) {
    std::uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".log" && e.path().filename().string().rfind("wal-", 0) == 0)
            total += e.file_size();
    return total;
}

std::uint64_t bytes_with_extension(const fs::path& dir, std::string_view ext) {
    std::uint64_t total = 0;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ext) total += e.file_size();
    return total;
}

/// Drops dir's files from the page cache (they are synced first: only clean pages go), so
/// the next open reads them from the disk. Returns whether every fadvise succeeded.
bool evict_from_page_cache(const fs::path& dir) {
    bool ok = true;
    for (const auto& e : fs::directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            ok = false;
            continue;
        }
        ::fdatasync(fd);
        ok = ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0 && ok;
        ::close(fd);
    }
    return ok;
}

// ----- 1. the raw disk -----

constexpr std::size_t raw_record_bytes = 180; // about one commit's WAL record

/// write(180 bytes) + fdatasync in a loop for `seconds`, on a new file opened O_APPEND as
/// the WAL's segments are. Returns operations per second.
double raw_fsync_rate(const fs::path& file, double seconds) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create " + file.string());
    char buf[raw_record_bytes];
    std::memset(buf, 'x', sizeof buf);
    std::uint64_t n = 0;
    const auto start = clock_type::now();
    double elapsed = 0;
    do {
        if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) fail("raw write failed");
        if (::fdatasync(fd) != 0) fail("raw fdatasync failed");
        ++n;
    } while ((elapsed = seconds_since(start)) < seconds);
    ::close(fd);
    fs::remove(file);
    return static_cast<double>(n) / elapsed;
}

/// write(180 bytes) alone, n times (page cache only). Returns operations per second.
double raw_write_rate(const fs::path& file, std::size_t n) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) fail("cannot create " + file.string());
    char buf[raw_record_bytes];
    std::memset(buf, 'x', sizeof buf);
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < n; ++i)
        if (::write(fd, buf, sizeof buf) != static_cast<ssize_t>(sizeof buf)) fail("raw write failed");
    const double elapsed = seconds_since(start);
    ::close(fd);
    fs::remove(file);
    return static_cast<double>(n) / elapsed;
}

// ----- 2. commit throughput -----

struct commit_sample {
    double commits_per_s = 0;
    double commits = 0;
    double seconds = 0;
    double cpu_cores = 0;           // process CPU seconds / wall seconds
    double commits_per_sync = 0;    // commits / WAL fdatasyncs
    double syncs_per_s = 0;
};

inmem::open_options bench_options(const std::shared_ptr<counting_file_system>& cfs) {
    inmem::open_options o;
    o.snapshot_after_bytes = 0;
    o.fs = cfs;
    return o;
}

template <class Db>
commit_sample measure_commits(const fs::path& dir, unsigned threads, double seconds, const std::vector<Plan>& values) {
    auto cfs = std::make_shared<counting_file_system>();
    commit_sample s;
    {
        Db db(dir, bench_options(cfs));
        std::vector<inmem::run_id> runs;
        for (unsigned t = 0; t < threads; ++t) runs.push_back(db.begin_run({.name = "writer"}));
        auto plans = db.template kv<Plan>();
        struct alignas(64) counter {
            std::uint64_t n = 0;
            std::exception_ptr error; // a failed commit, rethrown once every thread is joined
        };
        std::vector<counter> done(threads);
        std::atomic<bool> stop{false};
        std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
        std::vector<std::thread> workers;
        for (unsigned t = 0; t < threads; ++t)
            workers.emplace_back([&, t] {
                key_maker key(first_key(t));
                std::uint64_t n = 0;
                ready.arrive_and_wait();
                try {
                    while (!stop.load(std::memory_order_relaxed)) {
                        plans.put(runs[t], key.current(), values[n % values.size()]);
                        key.advance();
                        ++n;
                    }
                } catch (...) {
                    done[t].error = std::current_exception();
                }
                done[t].n = n;
            });
        cfs->counts.reset();
        ready.arrive_and_wait();
        const double cpu_start = process_cpu_seconds();
        const auto start = clock_type::now();
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
        stop = true;
        for (auto& w : workers) w.join();
        for (const auto& c : done)
            if (c.error) std::rethrow_exception(c.error);
        db.sync(); // batched: count only what reached the disk
        s.seconds = seconds_since(start);
        s.cpu_cores = (process_cpu_seconds() - cpu_start) / s.seconds;
        for (const auto& c : done) s.commits += static_cast<double>(c.n);
        s.commits_per_s = s.commits / s.seconds;
        const auto syncs = static_cast<double>(cfs->counts.syncs.load());
        s.commits_per_sync = syncs > 0 ? s.commits / syncs : 0;
        s.syncs_per_s = syncs / s.seconds;
        if (db.last_version() != threads + static_cast<inmem::version_t>(s.commits))
            fail("commit count does not match the database's version");
    }
    fs::remove_all(dir);
    return s;
}

// ----- 3. single-thread put: batched on disk against none in memory -----

/// n puts of new keys in one run: {wall ns/put, thread CPU ns/put}.
template <class Db>
std::array<double, 2> put_loop(Db& db, std::size_t n, const std::vector<Plan>& values) {
    const inmem::run_id run = db.begin_run({.name = "writer"});
    auto plans = db.template kv<Plan>();
    key_maker key(first_key(0));
    const bench::timing t = bench::time_ns([&] {
        for (std::size_t i = 0; i < n; ++i) {
            bench::do_not_optimize(plans.put(run, key.current(), values[i % values.size()]));
            key.advance();
        }
    });
    if (db.last_version() != n + 1) fail("put count does not match the database's version");
    return {t.wall_ns / static_cast<double>(n), t.cpu_ns / static_cast<double>(n)};
}

/// One put measurement in a child process, after an unrecorded warm-up pass there:
/// {wall ns/put, CPU ns/put, ms of the db.sync() after the loop (batched only)}.
std::vector<double> measure_put(bool batched, bool keep_memory, const fs::path& dir, std::size_t n,
                                const std::vector<Plan>& values) {
    return bench::in_child([&] {
        if (keep_memory) bench::keep_freed_memory();
        std::vector<double> out;
        for (int pass = 0; pass < 2; ++pass) {
            out.clear();
            if (!batched) {
                auto db = std::make_unique<none_db>();
                const auto r = put_loop(*db, n, values);
                out = {r[0], r[1], 0};
            } else {
                {
                    auto cfs = std::make_shared<counting_file_system>();
                    auto db = std::make_unique<batched_db>(dir, bench_options(cfs));
                    const auto r = put_loop(*db, n, values);
                    const auto start = clock_type::now();
                    db->sync();
                    out = {r[0], r[1], seconds_since(start) * 1e3};
                }
                fs::remove_all(dir);
            }
        }
        return out;
    });
}

// ----- 4. recovery -----

struct open_sample {
    double wall_s = 0; // the constructor, as the caller sees it
    double took_s = 0; // db.recovery().took: recover_directory alone
    double commits = 0;
    double wal_bytes = 0;
    double segments = 0;
    double snapshot_version = 0;
    double snapshot = 0; // 1 if a snapshot was loaded

    static constexpr std::size_t fields = 7;
    void to(std::vector<double>& v) const {
        v.insert(v.end(), {wall_s, took_s, commits, wal_bytes, segments, snapshot_version, snapshot});
    }
    static open_sample from(const std::vector<double>& v, std::size_t at) {
        return {v[at], v[at + 1], v[at + 2], v[at + 3], v[at + 4], v[at + 5], v[at + 6]};
    }
};

struct recovery_result {
    double build_s = 0;
    std::uint64_t built_commits = 0;
    std::uint64_t built_wal_bytes = 0;
    // fresh: the first open in a new process; again: a second open in that process, after
    // the first database was closed (its memory already touched); cold: fresh, after the
    // directory's files were evicted from the page cache.
    std::vector<open_sample> fresh, again, cold, snap_fresh, snap_again;
    double snapshot_s = 0;
    std::uint64_t snapshot_bytes = 0;
    bool evicted = true;
};

/// Opens dir and checks the state: every commit, and the last value, are there.
open_sample timed_open(const fs::path& dir, std::uint64_t expect_version, std::string_view last_key,
                       const Plan& last_value) {
    open_sample s;
    const auto start = clock_type::now();
    auto db = std::make_unique<batched_db>(dir, bench_options(std::make_shared<counting_file_system>()));
    s.wall_s = seconds_since(start);
    const auto& r = db->recovery();
    s.took_s = std::chrono::duration<double>(r.took).count();
    s.commits = static_cast<double>(r.commits_applied);
    s.wal_bytes = static_cast<double>(r.wal_bytes);
    s.segments = static_cast<double>(r.segments_read);
    s.snapshot = r.snapshot.empty() ? 0 : 1;
    s.snapshot_version = static_cast<double>(r.snapshot_version);
    if (db->last_version() != expect_version) fail("recovery found another version than was written");
    auto got = db->kv<Plan>().get(inmem::run_id{1}, last_key);
    if (!got || *got != last_value)
        fail("recovery lost the last value written");
    return s;
}

recovery_result measure_recovery(const fs::path& dir, std::uint64_t target_bytes, int opens,
                                 const std::vector<Plan>& values) {
    recovery_result r;
    std::string last_key;
    std::uint64_t version = 0;
    // Build: one run, new keys, flushed every `chunk` commits until the WAL holds target_bytes.
    {
        const auto start = clock_type::now();
        builder_db db(dir, bench_options(std::make_shared<counting_file_system>()));
        const inmem::run_id run = db.begin_run({.name = "recovery"});
        auto plans = db.kv<Plan>();
        key_maker key(first_key(0));
        constexpr std::size_t chunk = 5000;
        std::uint64_t n = 0;
        while (wal_bytes_in(dir) < target_bytes) {
            for (std::size_t i = 0; i < chunk; ++i, ++n) {
                last_key = key.current();
                plans.put(run, key.current(), values[n % values.size()]);
                key.advance();
            }
            db.sync();
        }
        r.built_commits = n;
        version = db.last_version();
        r.build_s = seconds_since(start);
    }
    r.built_wal_bytes = wal_bytes_in(dir);
    const Plan& last_value = values[(r.built_commits - 1) % values.size()];

    // Each child opens twice: fresh, then again (memory reused); or once, after eviction.
    auto open_in_child = [&](bool evict, std::vector<open_sample>& first, std::vector<open_sample>* second) {
        const auto v = bench::in_child([&] {
            std::vector<double> out;
            if (evict) out.push_back(evict_from_page_cache(dir) ? 1 : 0);
            else out.push_back(1);
            bench::keep_freed_memory(); // so that the second open reuses the first one's pages
            timed_open(dir, version, last_key, last_value).to(out);
            if (second) timed_open(dir, version, last_key, last_value).to(out);
            return out;
        });
        if (v[0] == 0) r.evicted = false;
        first.push_back(open_sample::from(v, 1));
        if (second) second->push_back(open_sample::from(v, 1 + open_sample::fields));
    };
    for (int i = 0; i < opens; ++i) open_in_child(false, r.fresh, &r.again);
    for (int i = 0; i < opens; ++i) open_in_child(true, r.cold, nullptr);

    // With a snapshot.
    {
        batched_db db(dir, bench_options(std::make_shared<counting_file_system>()));
        const auto start = clock_type::now();
        db.snapshot();
        r.snapshot_s = seconds_since(start);
    }
    r.snapshot_bytes = bytes_with_extension(dir, ".snap");
    for (int i = 0; i < opens; ++i) open_in_child(false, r.snap_fresh, &r.snap_again);
    fs::remove_all(dir);
    return r;
}

// ----- options -----

struct options {
    std::string dir;
    int reps = 3;
    double strict_seconds = 2.0;
    double batched_seconds = 1.0;
    double raw_seconds = 1.0;
    std::size_t n = 200000;
    double wal_mb = 100;
    int opens = 3;
    bool quick = false;
    std::string json;
};

void usage(std::FILE* to) {
    std::fputs(
        "usage: durability_bench [--dir DIR] [--quick] [--reps R] [--strict-seconds S] [--batched-seconds S]\n"
        "                        [--raw-seconds S] [--n N] [--wal-mb M] [--opens K] [--json FILE]\n"
        "  --dir DIR            where the databases go (default: a new directory under /tmp, removed after)\n"
        "  --reps R             repetitions of the throughput and put rows; the median is shown (default 3)\n"
        "  --strict-seconds S   duration of each strict measurement (default 2)\n"
        "  --batched-seconds S  duration of each batched measurement (default 1)\n"
        "  --raw-seconds S      duration of each write+fdatasync measurement (default 1; two per repetition)\n"
        "  --n N                puts per batched / none measurement (default 200000)\n"
        "  --wal-mb M           size of the WAL recovery reads, in MB of 10^6 bytes (default 100)\n"
        "  --opens K            timed opens per recovery row; the median is shown (default 3)\n"
        "  --quick              a smoke test of a few seconds: everything small, 1 repetition\n"
        "  --json FILE          also write the results as JSON to FILE\n",
        to);
}

options parse(int argc, char** argv) {
    options o;
    bench::arguments args(argc, argv);
    if (args.has("--quick")) { // defaults that the other flags override
        o.quick = true;
        o.reps = 1;
        o.strict_seconds = 0.1;
        o.batched_seconds = 0.05;
        o.raw_seconds = 0.1;
        o.n = 2000;
        o.wal_mb = 1;
        o.opens = 1;
    }
    while (args.next()) {
        if (args.is("--quick")) {
        } else if (args.is("--dir")) {
            o.dir = args.value();
        } else if (args.is("--reps")) {
            o.reps = static_cast<int>(args.positive());
        } else if (args.is("--strict-seconds")) {
            o.strict_seconds = args.positive();
        } else if (args.is("--batched-seconds")) {
            o.batched_seconds = args.positive();
        } else if (args.is("--raw-seconds")) {
            o.raw_seconds = args.positive();
        } else if (args.is("--n")) {
            o.n = static_cast<std::size_t>(args.positive());
        } else if (args.is("--wal-mb")) {
            o.wal_mb = args.positive();
        } else if (args.is("--opens")) {
            o.opens = static_cast<int>(args.positive());
        } else if (args.is("--json")) {
            o.json = args.value();
        } else if (args.is("--help") || args.is("-h")) {
            usage(stdout);
            std::exit(0);
        } else {
            args.unknown();
        }
    }
    if (o.reps < 1 || o.opens < 1 || o.n < 1) throw std::invalid_argument("--reps, --opens and --n need 1 or more");
    return o;
}

/// The directory the benchmark works in; removed on destruction if it made it.
class work_dir {
public:
    explicit work_dir(const std::string& requested) {
        if (requested.empty()) {
            std::string tmpl = (fs::temp_directory_path() / "inmem-durability-bench-XXXXXX").string();
            if (!::mkdtemp(tmpl.data())) fail("cannot create a directory under " + fs::temp_directory_path().string());
            path_ = tmpl;
            owned_ = true;
        } else {
            path_ = fs::path(requested) / ("inmem-durability-bench-" + std::to_string(::getpid()));
            fs::create_directories(path_);
            owned_ = true;
        }
    }
    ~work_dir() {
        std::error_code ec;
        if (owned_) fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
    bool owned_ = false;
};

double median_of(const std::vector<commit_sample>& xs, double commit_sample::*field) {
    std::vector<double> v;
    for (const auto& x : xs) v.push_back(x.*field);
    return bench::median(v);
}

const char* verdict(bool met) { return met ? "met" : "NOT met"; }

} // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    // No allocator line: glibc's defaults, except in the children whose rows say otherwise.
    const bench::environment env("durability_bench", opt.quick);
    const std::vector<Plan> values = bench::make_plans();
    double value_bytes = 0;
    for (const Plan& p : values) value_bytes += static_cast<double>(inmem::encode(p).size());
    value_bytes /= static_cast<double>(values.size());

    work_dir work(opt.dir);
    const fs::path& dir = work.path();
    const filesystem_info fsinfo = describe_filesystem(dir);
    const auto run_start = clock_type::now();

    env.print_header();
    std::printf("directory:  %s\n", dir.c_str());
    std::printf("filesystem: %s (statfs); %s\n", fsinfo.type.c_str(), fsinfo.mount.c_str());
    std::printf("workload:   one put per commit, key %zu bytes, value Plan %.0f bytes encoded; %d repetition%s,\n"
                "            strict %.2f s, batched %.2f s (then db.sync()), raw %.2f s per measurement;\n"
                "            batched / none: n %zu puts; recovery: a %.0f MB WAL, %d open%s per row\n\n",
                key_bytes, value_bytes, opt.reps, opt.reps == 1 ? "" : "s", opt.strict_seconds,
                opt.batched_seconds, opt.raw_seconds, opt.n, opt.wal_mb, opt.opens, opt.opens == 1 ? "" : "s");
    std::fflush(stdout);

    constexpr std::array<unsigned, 4> thread_counts = {1, 2, 4, 8};
    std::vector<double> raw_fsync, raw_write;
    std::array<std::vector<commit_sample>, thread_counts.size()> strict_samples, batched_samples;
    // put[keep][batched]: {wall ns, CPU ns, tail sync ms} per repetition.
    std::array<std::array<std::vector<std::vector<double>>, 2>, 2> put;

    raw_fsync_rate(dir / "raw.dat", std::min(0.2, opt.raw_seconds)); // warm-up, unrecorded
    std::vector<double> strict_vs_raw, group_gain; // per repetition: the paired ratios
    for (int rep = 0; rep < opt.reps; ++rep) {
        // The disk's fsync rate drifts with what else runs on the machine: strict with one
        // writer is measured between two raw measurements and compared with their mean.
        const double raw_before = raw_fsync_rate(dir / "raw.dat", opt.raw_seconds);
        strict_samples[0].push_back(measure_commits<strict_db>(dir / "strict", 1, opt.strict_seconds, values));
        const double raw_after = raw_fsync_rate(dir / "raw.dat", opt.raw_seconds);
        raw_fsync.push_back((raw_before + raw_after) / 2);
        strict_vs_raw.push_back(strict_samples[0].back().commits_per_s / raw_fsync.back());
        raw_write.push_back(raw_write_rate(dir / "raw.dat", opt.quick ? 2000 : 200000));
        for (std::size_t k = 1; k < thread_counts.size(); ++k)
            strict_samples[k].push_back(
                measure_commits<strict_db>(dir / "strict", thread_counts[k], opt.strict_seconds, values));
        group_gain.push_back(strict_samples.back().back().commits_per_s / strict_samples[0].back().commits_per_s);
        for (std::size_t k = 0; k < thread_counts.size(); ++k)
            batched_samples[k].push_back(
                measure_commits<batched_db>(dir / "batched", thread_counts[k], opt.batched_seconds, values));
        for (int keep = 0; keep < 2; ++keep)
            for (int order = 0; order < 2; ++order) { // alternating which goes first
                const bool batched = (order + rep) % 2 == 1;
                put[keep][batched].push_back(measure_put(batched, keep == 1, dir / "put", opt.n, values));
            }
        std::printf("repetition %d of %d done (%.0f s)\n", rep + 1, opt.reps, seconds_since(run_start));
        std::fflush(stdout);
    }

    const auto target_bytes = static_cast<std::uint64_t>(opt.wal_mb * 1e6);
    const recovery_result rec = measure_recovery(dir / "recovery", target_bytes, opt.opens, values);
    const std::string load_end = bench::load_average();
    const double total_s = seconds_since(run_start);

    // ----- report -----
    const double raw = bench::median(raw_fsync);
    const double raw_w = bench::median(raw_write);
    std::printf("\nraw disk (%zu-byte records, one file, O_APPEND; median of %d, each the mean of a measurement\n"
                "before and after strict with one writer)\n",
                raw_record_bytes, opt.reps);
    std::printf("  write + fdatasync   %10.0f ops/s   (%.0f us each)\n", raw, 1e6 / raw);
    std::printf("  write alone         %10.0f ops/s\n\n", raw_w);

    std::printf("commit throughput: one put per commit, each thread in its own run (median of %d)\n", opt.reps);
    std::printf("%-8s %11s %9s %10s %11s %6s %11s %9s %6s\n", "threads", "strict", "vs 1 thr", "commits/",
                "fdatasync", "cpu", "batched", "vs 1 thr", "cpu");
    std::printf("%-8s %11s %9s %10s %11s %6s %11s %9s %6s\n", "", "commits/s", "", "fdatasync", "/s", "cores",
                "commits/s", "", "cores");
    std::array<double, thread_counts.size()> strict_rate{}, batched_rate{};
    for (std::size_t k = 0; k < thread_counts.size(); ++k) {
        strict_rate[k] = median_of(strict_samples[k], &commit_sample::commits_per_s);
        batched_rate[k] = median_of(batched_samples[k], &commit_sample::commits_per_s);
    }
    for (std::size_t k = 0; k < thread_counts.size(); ++k)
        std::printf("%-8u %11.0f %8.2fx %10.2f %11.0f %6.2f %11.0f %8.2fx %6.2f\n", thread_counts[k], strict_rate[k],
                    strict_rate[k] / strict_rate[0], median_of(strict_samples[k], &commit_sample::commits_per_sync),
                    median_of(strict_samples[k], &commit_sample::syncs_per_s),
                    median_of(strict_samples[k], &commit_sample::cpu_cores), batched_rate[k],
                    batched_rate[k] / batched_rate[0], median_of(batched_samples[k], &commit_sample::cpu_cores));

    auto put_median = [&](int keep, int batched, std::size_t field) {
        std::vector<double> v;
        for (const auto& x : put[keep][batched]) v.push_back(x[field]);
        return bench::median(v);
    };
    std::printf("\nsingle-thread put, n %zu new keys; each measurement in a child process after a warm-up pass\n"
                "there (median of %d; ns/put wall time, thread CPU time in brackets)\n",
                opt.n, opt.reps);
    const char* put_rows[2] = {"default malloc", "freed memory kept (mallopt, as kv_bench)"};
    for (int keep = 0; keep < 2; ++keep) {
        const double none_put = put_median(keep, 0, 0), batched_put = put_median(keep, 1, 0);
        std::printf("  %s:\n", put_rows[keep]);
        std::printf("    durability::none (memory)     %8.1f ns  (%.1f)\n", none_put, put_median(keep, 0, 1));
        std::printf("    durability::batched (disk)  %8.1f ns  (%.1f)  %.2fx; then db.sync() %.1f ms\n", batched_put,
                    put_median(keep, 1, 1), batched_put / none_put, put_median(keep, 1, 2));
    }

    auto med = [](const std::vector<open_sample>& xs, double open_sample::*f) {
        std::vector<double> v;
        for (const auto& x : xs) v.push_back(x.*f);
        return bench::median(v);
    };
    std::printf("\nrecovery: %llu commits, %.1f MB of WAL in %.0f segments, no snapshot (built in %.2f s);\n"
                "each open in a child process (median of %d); took = db.recovery().took, open = the constructor\n",
                static_cast<unsigned long long>(rec.built_commits), static_cast<double>(rec.built_wal_bytes) / 1e6,
                rec.fresh.front().segments, rec.build_s, opt.opens);
    std::printf("  %-44s %8s %8s %11s %8s\n", "", "took s", "open s", "commits/s", "MB/s");
    auto open_row = [&](const char* name, const std::vector<open_sample>& xs) {
        const double took = med(xs, &open_sample::took_s);
        std::printf("  %-44s %8.3f %8.3f %11.0f %8.1f\n", name, took, med(xs, &open_sample::wall_s),
                    xs.front().commits / took, xs.front().wal_bytes / 1e6 / took);
    };
    open_row("WAL, page cache, first open in the process", rec.fresh);
    open_row("WAL, page cache, second open (memory reused)", rec.again);
    open_row(rec.evicted ? "WAL, evicted from the page cache, first open" : "WAL, eviction FAILED, first open",
             rec.cold);
    std::printf("  snapshot of %.1f MB at version %.0f, written in %.3f s by db.snapshot(); "
                "then %.0f commits replayed:\n",
                static_cast<double>(rec.snapshot_bytes) / 1e6, rec.snap_fresh.front().snapshot_version,
                rec.snapshot_s, rec.snap_fresh.front().commits);
    std::printf("  %-44s %8.3f %8.3f\n", "snapshot, first open in the process",
                med(rec.snap_fresh, &open_sample::took_s), med(rec.snap_fresh, &open_sample::wall_s));
    std::printf("  %-44s %8.3f %8.3f\n", "snapshot, second open (memory reused)",
                med(rec.snap_again, &open_sample::took_s), med(rec.snap_again, &open_sample::wall_s));

    const double r_strict = bench::median(strict_vs_raw);
    const double r_group = bench::median(group_gain);
    const double r_put = put_median(0, 1, 0) / put_median(0, 0, 0);
    const double fresh_took = med(rec.fresh, &open_sample::took_s);
    const double fresh_wall = med(rec.fresh, &open_sample::wall_s);
    const double rec_rate = rec.fresh.front().commits / fresh_took;
    std::printf("\ntargets (the first two: median over repetitions of the ratio within each)\n");
    std::printf("  strict, 1 writer / raw write+fdatasync     %7.2f    (>= 0.90)   %s\n", r_strict,
                verdict(r_strict >= 0.9));
    std::printf("  strict, 8 writers / 1 writer               %7.2fx   (>= 4x)     %s\n", r_group,
                verdict(r_group >= 4));
    std::printf("  recovery, commits/s (WAL in page cache)   %8.0f    (>= 1M)     %s\n", rec_rate,
                verdict(rec_rate >= 1e6));
    std::printf("  open of the %.0f MB WAL (page cache)        %7.3f s  (< 0.3 s)   %s\n",
                static_cast<double>(rec.built_wal_bytes) / 1e6, fresh_wall, verdict(fresh_wall < 0.3));
    std::printf("  batched put / none put                     %7.2fx   (<= 1.5x)   %s\n", r_put, verdict(r_put <= 1.5));
    std::printf("\nload: %s at the end; the whole run took %.0f s\n", load_end.c_str(), total_s);

    if (!opt.json.empty()) {
        std::ofstream out(opt.json);
        if (!out) throw std::runtime_error("cannot write " + opt.json);
        auto list = [](const std::vector<double>& xs) {
            std::string s = "[";
            for (std::size_t i = 0; i < xs.size(); ++i) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", xs[i]);
                s += buf;
            }
            return s + "]";
        };
        auto field_list = [&](const std::vector<commit_sample>& xs, double commit_sample::*f) {
            std::vector<double> v;
            for (const auto& x : xs) v.push_back(x.*f);
            return list(v);
        };
        auto put_list = [&](int keep, int batched, std::size_t field) {
            std::vector<double> v;
            for (const auto& x : put[keep][batched]) v.push_back(x[field]);
            return list(v);
        };
        auto opens = [&](const std::vector<open_sample>& xs) {
            std::string s = "[";
            for (std::size_t i = 0; i < xs.size(); ++i) {
                char buf[256];
                std::snprintf(buf, sizeof buf,
                              "%s{\"wall_s\": %.6f, \"took_s\": %.6f, \"commits\": %.0f, \"wal_bytes\": %.0f, "
                              "\"segments\": %.0f, \"snapshot\": %s}",
                              i ? ", " : "", xs[i].wall_s, xs[i].took_s, xs[i].commits, xs[i].wal_bytes,
                              xs[i].segments, xs[i].snapshot != 0 ? "true" : "false");
                s += buf;
            }
            return s + "]";
        };
        out << "{\n" << env.json_members()
            << ",\n  \"filesystem\": " << bench::json_string(fsinfo.type + "; " + fsinfo.mount)
            << ",\n  \"load_end\": " << bench::json_string(load_end) << ",\n  \"repetitions\": " << opt.reps
            << ",\n  \"key_bytes\": " << key_bytes << ",\n  \"value_bytes\": " << value_bytes
            << ",\n  \"raw_fsync_ops_per_s\": " << list(raw_fsync)
            << ",\n  \"strict1_over_raw_per_rep\": " << list(strict_vs_raw)
            << ",\n  \"strict8_over_strict1_per_rep\": " << list(group_gain) << ",\n  \"raw_write_ops_per_s\": "
            << list(raw_write) << ",\n  \"commits\": [\n";
        for (std::size_t k = 0; k < thread_counts.size(); ++k) {
            out << "    {\"threads\": " << thread_counts[k]
                << ", \"strict\": {\"median_commits_per_s\": " << strict_rate[k]
                << ", \"commits_per_s\": " << field_list(strict_samples[k], &commit_sample::commits_per_s)
                << ", \"commits_per_sync\": " << field_list(strict_samples[k], &commit_sample::commits_per_sync)
                << ", \"syncs_per_s\": " << field_list(strict_samples[k], &commit_sample::syncs_per_s)
                << ", \"cpu_cores\": " << field_list(strict_samples[k], &commit_sample::cpu_cores)
                << "}, \"batched\": {\"median_commits_per_s\": " << batched_rate[k]
                << ", \"commits_per_s\": " << field_list(batched_samples[k], &commit_sample::commits_per_s)
                << ", \"commits_per_sync\": " << field_list(batched_samples[k], &commit_sample::commits_per_sync)
                << ", \"cpu_cores\": " << field_list(batched_samples[k], &commit_sample::cpu_cores) << "}}"
                << (k + 1 < thread_counts.size() ? "," : "") << "\n";
        }
        out << "  ],\n  \"put\": {\"n\": " << opt.n;
        const char* keep_names[2] = {"default_malloc", "freed_memory_kept"};
        for (int keep = 0; keep < 2; ++keep)
            out << ", \"" << keep_names[keep] << "\": {\"none_ns\": " << put_list(keep, 0, 0)
                << ", \"batched_ns\": " << put_list(keep, 1, 0) << ", \"none_cpu_ns\": " << put_list(keep, 0, 1)
                << ", \"batched_cpu_ns\": " << put_list(keep, 1, 1)
                << ", \"batched_tail_sync_ms\": " << put_list(keep, 1, 2) << "}";
        out << "},\n  \"recovery\": {\"built_commits\": " << rec.built_commits
            << ", \"built_wal_bytes\": " << rec.built_wal_bytes << ", \"build_s\": " << rec.build_s
            << ", \"evicted\": " << (rec.evicted ? "true" : "false") << ", \"snapshot_s\": " << rec.snapshot_s
            << ", \"snapshot_bytes\": " << rec.snapshot_bytes << ",\n    \"fresh\": " << opens(rec.fresh)
            << ",\n    \"again\": " << opens(rec.again) << ",\n    \"cold\": " << opens(rec.cold)
            << ",\n    \"snapshot_fresh\": " << opens(rec.snap_fresh)
            << ",\n    \"snapshot_again\": " << opens(rec.snap_again)
            << "},\n  \"ratios\": {\"strict1_over_raw_fsync\": " << r_strict
            << ", \"strict8_over_strict1\": " << r_group << ", \"batched_put_over_none_put\": " << r_put
            << ", \"recovery_commits_per_s\": " << rec_rate << ", \"open_wal_s\": " << fresh_wall
            << "},\n  \"total_s\": " << total_s << "\n}\n";
        if (!out) throw std::runtime_error("cannot write " + opt.json);
        std::printf("results written to %s\n", opt.json.c_str());
    }
    return 0;
} catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "durability_bench: %s\n", e.what());
    usage(stderr);
    return 2;
} catch (const bench::child_failed& e) {
    std::fprintf(stderr, "durability_bench: a measurement failed: %s\n", e.what());
    return 1;
} catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
}
