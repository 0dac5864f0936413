// recovery_fuzz: libFuzzer target for opening a database directory (WAL and snapshot
// recovery). The input is a directory image (directory_image.hpp) whose checksums the
// harness recomputes, so mutations reach the decoders and the checks behind the checksums.
//
// Whatever the bytes, opening must either throw inmem::error or succeed; after a success,
// reading everything, a counter increment (which spun forever on a wrapped version counter),
// new writes and a snapshot must work, and the directory must reopen, without repair, with
// those writes. Any other exception, a crash, a hang (libFuzzer's -timeout) or a failed
// check is a finding.
//
// Built with clang as a libFuzzer binary (meson: the fuzz suite); with other compilers
// replay_main.cpp runs it over the inputs given (the seeds make_seeds.cpp writes).
#include "directory_image.hpp"

#include "../support/memory_fs.hpp"

#include <inmem/inmem.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Note {
    std::string text;
    std::int64_t n = 0;
};
using fuzz_schema = inmem::schema<inmem::kv<std::string, Note>, inmem::states<inmem::counter>>;

[[noreturn]] void finding(const std::string& what) {
    std::fprintf(stderr, "recovery_fuzz: %s\n", what.c_str());
    std::abort();
}

template <class Db>
void exercise(const inmem_fuzz::directory_image& image) {
    const std::filesystem::path dir = "/fuzz/db";
    auto fs = std::make_shared<inmem_test::memory_file_system>();
    fs->set_files(dir, image.files);
    inmem::open_options options{.repair = (image.flags & inmem_fuzz::repair) != 0,
                                .segment_bytes = (image.flags & inmem_fuzz::small_segments) ? 4096u : 1u << 20,
                                .snapshot_after_bytes = 16 * 1024,
                                .fs = fs};
    inmem::run_id mine;
    std::int64_t counter = 0;
    try {
        Db db(dir, options);
        bool readable = true;
        try { // reading what was recovered: values may be undecodable (corruption), never worse
            for (const auto& info : db.runs()) {
                (void)db.template kv<std::string>().list(info.id, {}, {.limit = 64});
                (void)db.template kv<Note>().list(info.id, {}, {.limit = 64});
            }
            (void)db.template states<inmem::counter>().list({}, {.limit = 64});
            counter = db.template states<inmem::counter>().value("c");
        } catch (const inmem::error& e) {
            if (e.code() != inmem::errc::corruption) throw;
            readable = false;
        }
        if (!readable) return;
        mine = db.begin_run({.name = "fuzz"});
        db.template kv<Note>().put(mine, "written", Note{"after recovery", 7});
        counter = db.template states<inmem::counter>().add(mine, "c", 1);
        for (const auto& info : db.runs(inmem::run_status::interrupted)) db.end_run(info.id, inmem::run_status::failed);
        db.snapshot();
        db.template kv<std::string>().put(mine, "after snapshot", "x");
    } catch (const inmem::error&) {
        return; // refused, with a documented error: fine
    }
    try {
        Db db(dir, {.fs = fs});
        if (db.recovery().repaired || db.recovery().bytes_dropped)
            finding("a directory a clean session wrote needed repair: " + db.recovery().dropped_why);
        const auto note = db.template kv<Note>().get(mine, "written");
        if (!note || note->n != 7) finding("the write made after recovery is gone");
        if (db.template kv<std::string>().get(mine, "after snapshot") != "x") finding("the write after the snapshot is gone");
        if (db.template states<inmem::counter>().value("c") != counter) finding("the counter changed across a reopen");
        if (!db.runs(inmem::run_status::interrupted).empty()) finding("a clean close left interrupted runs");
    } catch (const inmem::error& e) {
        finding(std::string("what a successful open and a clean session left does not reopen: ") + e.what());
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto image = inmem_fuzz::decode_image(std::string_view(reinterpret_cast<const char*>(data), size));
    if (image.flags & inmem_fuzz::batched)
        exercise<inmem::basic_database<fuzz_schema, inmem::durability::batched>>(image);
    else exercise<inmem::basic_database<fuzz_schema, inmem::durability::strict>>(image);
    return 0;
}
