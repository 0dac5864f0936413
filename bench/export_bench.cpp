// export_bench: what exporting runs as JSON Lines (inmem/portable/export.hpp) costs, against
// write(2) of the same bytes (the limit) and SQLite's .dump of the same records (the peer).
// One line of figures, the first after the header:
//
//   export: <N> records, <MB/s> MB/s, <R> records/s, <X>x write(), sqlite3 .dump <MB/s> MB/s <R> records/s (<Y>x inmem's time)
//
//   export_bench [--n N] [--reps K] [--quick]
//
// The data: N puts (default 1,000,000) of bench::Plan (about 150 bytes encoded) under
// bench::plan_key(i) in one run, in commits of 1,000, in memory (durability::none).
// - export: inmem::export_run(db, run, file) into a new file of a temporary directory (an
//   std::ofstream), the wall time of the call, the file's bytes;
// - write(): the same bytes written to a new file with write(2) in 1 MiB pieces, from memory;
// - sqlite3 .dump: the sqlite3 program (when on PATH; skipped otherwise) dumping a database
//   of one table (key TEXT PRIMARY KEY, value TEXT) holding the same N keys with each plan's
//   JSON, filled by .read of a script beforehand (not timed), to a file: the wall time of the
//   process.
// Each time is the median of K repetitions (default 3). Import is not built yet (issue 15):
// no import figure. --quick (a smoke test): N 20,000, 1 repetition, no sqlite3.
#include "common.hpp"

#include <inmem/inmem.hpp>
#include <inmem/json.hpp>
#include <inmem/portable/export.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

struct options {
    std::size_t n = 1'000'000;
    std::size_t reps = 3;
    bool quick = false;
};

options parse(int argc, char** argv) {
    options o;
    bench::arguments args(argc, argv);
    if (args.has("--quick")) o = {20'000, 1, true};
    while (args.next()) {
        if (args.is("--n")) o.n = args.count();
        else if (args.is("--reps")) o.reps = args.count();
        else if (args.is("--quick")) continue;
        else throw std::invalid_argument("unknown flag " + std::string(args.flag()));
    }
    return o;
}

double seconds_since(clock_type::time_point t0) { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

bool on_path(const char* program) {
    return std::system((std::string("command -v ") + program + " >/dev/null 2>&1").c_str()) == 0;
}

std::string sql_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}
} // namespace

int main(int argc, char** argv) try {
    const options opt = parse(argc, argv);
    const bench::environment env("export_bench", opt.quick, bench::keep_freed_memory());
    using db_type = inmem::basic_database<inmem::schema<inmem::kv<bench::Plan>>, inmem::durability::none>;
    db_type db;
    const auto plans = bench::make_plans();
    const auto run = db.begin_run({.name = "export bench"});
    auto kv = db.kv<bench::Plan>();
    for (std::size_t i = 0; i < opt.n; i += 1000)
        db.transact(run, [&](auto& tx) {
            for (std::size_t j = i; j < std::min(opt.n, i + 1000); ++j) kv.put(tx, bench::plan_key(j), plans[j % plans.size()]);
        });

    const fs::path dir = fs::temp_directory_path() / ("inmem-export-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    env.print_header();
    std::printf("workload:   %zu puts of bench::Plan in one run (commits of 1,000), median of %zu, files in %s\n", opt.n,
                opt.reps, dir.c_str());

    std::vector<double> export_s, write_s, dump_s;
    std::uintmax_t bytes = 0;
    std::uint64_t records = 0;
    for (std::size_t r = 0; r < opt.reps; ++r) {
        const fs::path file = dir / "run.jsonl";
        {
            std::ofstream out(file, std::ios::binary | std::ios::trunc);
            const auto t0 = clock_type::now();
            const auto report = inmem::export_run(db, run, out);
            out.flush();
            export_s.push_back(seconds_since(t0));
            records = report.changes;
        }
        bytes = fs::file_size(file);
        const int in = ::open(file.c_str(), O_RDONLY);
        const std::string content = bench::detail::read_all(in);
        ::close(in);
        const fs::path raw = dir / "raw.bin";
        const int fd = ::open(raw.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) throw std::runtime_error("cannot create " + raw.string());
        const auto t0 = clock_type::now();
        for (std::size_t at = 0; at < content.size();) {
            const auto n = ::write(fd, content.data() + at, std::min<std::size_t>(1 << 20, content.size() - at));
            if (n <= 0) throw std::runtime_error("write failed");
            at += static_cast<std::size_t>(n);
        }
        write_s.push_back(seconds_since(t0));
        ::close(fd);
    }

    std::string peer = "sqlite3 .dump skipped";
    if (!opt.quick && on_path("sqlite3")) {
        const fs::path script = dir / "fill.sql", sqlite_db = dir / "peer.db", dump = dir / "dump.sql";
        {
            std::ofstream sql(script);
            sql << "CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT);\nBEGIN;\n";
            for (std::size_t i = 0; i < opt.n; ++i)
                sql << "INSERT INTO kv VALUES(" << sql_quote(bench::plan_key(i)) << ","
                    << sql_quote(inmem::to_json(plans[i % plans.size()]).dump()) << ");\n";
            sql << "COMMIT;\n";
        }
        fs::remove(sqlite_db);
        if (std::system(("sqlite3 " + sqlite_db.string() + " '.read " + script.string() + "'").c_str()) != 0)
            throw std::runtime_error("sqlite3 .read failed");
        for (std::size_t r = 0; r < opt.reps; ++r) {
            const auto t0 = clock_type::now();
            if (std::system(("sqlite3 " + sqlite_db.string() + " .dump > " + dump.string()).c_str()) != 0)
                throw std::runtime_error("sqlite3 .dump failed");
            dump_s.push_back(seconds_since(t0));
        }
        const double s = median(dump_s);
        char text[160];
        std::snprintf(text, sizeof text, "sqlite3 .dump %.0f MB/s %.0f records/s (%.2fx inmem's time)",
                      static_cast<double>(fs::file_size(dump)) / s / 1e6, static_cast<double>(opt.n) / s,
                      s / median(export_s));
        peer = text;
    }
    const double e = median(export_s), w = median(write_s);
    std::printf("export: %zu records, %.0f MB/s, %.0f records/s, %.2fx write(), %s\n", opt.n,
                static_cast<double>(bytes) / e / 1e6, static_cast<double>(records) / e, e / w, peer.c_str());
    std::printf("detail: export %.3f s for %ju bytes (%llu changes); write() %.3f s\n", e, bytes,
                static_cast<unsigned long long>(records), w);
    fs::remove_all(dir);
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "export_bench: %s\n", e.what());
    return 1;
}
