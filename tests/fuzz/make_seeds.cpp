// make_seeds: writes the recovery fuzzer's seed corpus: real database directories, made by
// the library in a memory file system and written as directory images (directory_image.hpp):
// a WAL of several sessions and segments, snapshots with the WAL they need, a session that
// crashed (its files taken before its close), a gap of run ids, state records, a torn tail.
//
//   make_seeds DIR
#include "directory_image.hpp"

#include "../support/memory_fs.hpp"

#include <inmem/inmem.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

struct Note {
    std::string text;
    std::int64_t n = 0;
};
using fuzz_schema = inmem::schema<inmem::kv<std::string, Note>, inmem::states<inmem::counter>>;
using strict_db = inmem::basic_database<fuzz_schema, inmem::durability::strict>;

const std::filesystem::path dir = "/fuzz/db";

void work(strict_db& db, int n, int salt) {
    auto run = db.begin_run({.name = "seed", .tags = {"t"}});
    for (int i = 0; i < n; ++i) {
        db.kv<std::string>().put(run, "k" + std::to_string(i % 7), std::string(static_cast<std::size_t>(i * 13 % 300), 'v'));
        db.kv<Note>().put(run, "n" + std::to_string(i % 3), Note{"note", i + salt});
        if (i % 5 == 4) db.kv<std::string>().erase(run, "k" + std::to_string(i % 7));
        if (i % 4 == 0) db.states<inmem::counter>().add(run, "c", 1);
    }
    if (salt % 2) db.end_run(run, inmem::run_status::failed);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    const std::filesystem::path out = argv[1];
    std::filesystem::create_directories(out);
    int written = 0;
    auto save = [&](const std::string& name, std::uint8_t flags, std::map<std::string, std::string> files) {
        std::ofstream f(out / name, std::ios::binary | std::ios::trunc);
        const std::string image = inmem_fuzz::encode_image(flags, files);
        f.write(image.data(), static_cast<std::streamsize>(image.size()));
        ++written;
    };
    const inmem::open_options small{.segment_bytes = 4096, .snapshot_after_bytes = 0};
    {
        auto fs = std::make_shared<inmem_test::memory_file_system>();
        auto o = small;
        o.fs = fs;
        for (int s = 0; s < 3; ++s) {
            strict_db db(dir, o);
            work(db, 30, s);
        }
        save("wal-sessions", inmem_fuzz::small_segments, fs->files(dir));
        save("wal-sessions-repair", inmem_fuzz::small_segments | inmem_fuzz::repair, fs->files(dir));
        {
            strict_db db(dir, o);
            work(db, 20, 3);
            db.snapshot();
            work(db, 10, 4);
            db.snapshot();
            work(db, 10, 5);
        }
        save("snapshots", inmem_fuzz::small_segments, fs->files(dir));
        save("snapshots-batched", inmem_fuzz::small_segments | inmem_fuzz::batched, fs->files(dir));
        auto torn = fs->files(dir);
        auto& last = torn.rbegin()->second.size() ? torn.rbegin()->second : torn.begin()->second;
        if (last.size() > 40) last.resize(last.size() - 30);
        save("torn-tail", 0, torn);
    }
    {
        auto fs = std::make_shared<inmem_test::memory_file_system>();
        auto o = small;
        o.fs = fs;
        std::map<std::string, std::string> crashed;
        {
            strict_db db(dir, o);
            work(db, 25, 0);
            db.sync();
            crashed = fs->files(dir); // the files as a kill -9 leaves them: no close record
        }
        save("crashed", 0, crashed);
        fs->set_files(dir, crashed);
        {
            strict_db db(dir, o); // after the crash: interrupted runs, a gap of run ids, versions past the reservation
            work(db, 10, 2);
        }
        save("after-crash", 0, fs->files(dir));
    }
    save("empty", 0, {});
    std::printf("make_seeds: %d seeds in %s\n", written, out.c_str());
    return 0;
}
