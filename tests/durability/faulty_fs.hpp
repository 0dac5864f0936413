// A file system for tests that injects faults and imitates a power loss.
//
// faulty_file_system wraps the real one (posix_file_system): every operation reaches the disk
// as it would, while the wrapper
//  - counts the operations of each kind (fs_op), so a test can learn how many a workload makes;
//  - fails the N-th operation of a kind (counted from construction) with an errno: EIO for a
//    write or fdatasync that fails, ENOSPC for a full disk, optionally after part of the bytes
//    reached the file (a short write), optionally for every later operation of that kind too
//    (a disk that stays full), optionally killing the process at that point (every later
//    operation fails and changes nothing, as if the process had died);
//  - models durability: per file (per inode, as renames move names), the bytes the last
//    successful sync made durable; per directory, the names the last sync_directory made
//    durable. simulate_power_loss() rewrites every directory it has seen to that durable image:
//    unsynced data and unsynced creations, renames and removals are forgotten; or, instead of
//    cutting the unsynced tail, it can fill it with zeros or garbage, or keep part of it (a
//    torn page).
// A failed sync can also lose the file's unsynced data for good, as Linux does (it marks the
// pages clean): those bytes become zeros in what any later sync makes durable, so a library
// that retries the fsync and trusts it loses them. Every method is thread-safe: one mutex
// orders the operations, the real I/O included.
//
// A directory the wrapper sees for the first time is adopted as it is on disk: everything in
// it counts as durable. LOCK (posix_file_system's lock file, which holds no data) is left alone.
#pragma once

#include <inmem/durability/file.hpp>
#include <inmem/error.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace inmem_test {

/// The operations faulty_file_system counts and can fail.
enum class fs_op { open, append, sync, sync_directory, truncate, rename, remove, read, list, count_ };

inline const char* to_string(fs_op op) {
    switch (op) {
    case fs_op::open: return "open";
    case fs_op::append: return "append";
    case fs_op::sync: return "sync";
    case fs_op::sync_directory: return "sync_directory";
    case fs_op::truncate: return "truncate";
    case fs_op::rename: return "rename";
    case fs_op::remove: return "remove";
    case fs_op::read: return "read";
    case fs_op::list: return "list";
    case fs_op::count_: break;
    }
    return "?";
}

/// One fault to inject.
struct fault {
    fs_op op = fs_op::append;
    std::uint64_t nth = 1;      ///< fails the nth operation of kind op (1-based, since construction)
    int err = EIO;              ///< the errno it fails with (ENOSPC: errc::no_space)
    std::size_t written = 0;    ///< append: bytes of the nth that reach the file before it fails (a short write)
    bool drop_unsynced = true;  ///< sync: the file's unsynced data is lost for good (Linux marks it clean)
    bool sticky = false;        ///< every later operation of kind op fails too (a disk that stays full)
    bool crash = false;         ///< the process dies instead of seeing the error: nothing later happens
    /// Only operations on a path containing this count (nth among them, since the fault was
    /// armed): ".snap.tmp" fails a snapshot's file and not the WAL's. Empty: every path.
    std::string path_contains{};
    /// open: only opens that create the file meet the fault (a full disk has no room for a
    /// new file, but opening an existing one needs none).
    bool creating_only = false;
};

/// What a power loss leaves of a file's unsynced tail.
enum class tail {
    drop,   ///< nothing: the file ends where its last sync left it
    zeros,  ///< the file's length reached the disk, its data did not: zeros
    garble, ///< the length reached the disk, its data did not: garbage
    torn,   ///< a random part of the unsynced bytes reached the disk, then garbage to the end
};

inline const char* to_string(tail t) {
    switch (t) {
    case tail::drop: return "drop";
    case tail::zeros: return "zeros";
    case tail::garble: return "garble";
    case tail::torn: return "torn";
    }
    return "?";
}

class faulty_file_system final : public inmem::file_system {
public:
    /// real_syncs false: sync() and sync_directory() update the model without calling
    /// fdatasync/fsync. The model is what simulate_power_loss() consults, so a test loses
    /// nothing by it and skips the disk's latency.
    explicit faulty_file_system(bool real_syncs = true, std::shared_ptr<inmem::file_system> inner =
                                                            std::make_shared<inmem::posix_file_system>())
        : inner_(std::move(inner)), real_syncs_(real_syncs) {}

    // ---- faults -------------------------------------------------------------------------

    /// Arms f (several faults may be armed at once).
    void inject(fault f) {
        std::lock_guard lock(mu_);
        faults_.push_back({std::move(f), 0});
    }
    /// Fails the nth append with err, after written bytes of it reached the file.
    void fail_append(std::uint64_t nth, int err = EIO, std::size_t written = 0) {
        inject({.op = fs_op::append, .nth = nth, .err = err, .written = written});
    }
    /// Fails the nth sync (fdatasync of a file) with err; drop_unsynced: its unsynced data is lost.
    void fail_sync(std::uint64_t nth, int err = EIO, bool drop_unsynced = true) {
        inject({.op = fs_op::sync, .nth = nth, .err = err, .drop_unsynced = drop_unsynced});
    }
    /// The disk is full from the nth append on: it and every later append fail with ENOSPC,
    /// the nth after written bytes of it reached the file.
    void fill_disk_at_append(std::uint64_t nth, std::size_t written = 0) {
        inject({.op = fs_op::append, .nth = nth, .err = ENOSPC, .written = written, .sticky = true});
    }
    /// The disk is full from now on: every append and every creation of a file fails with
    /// ENOSPC (reading, opening existing files, renaming, removing and truncating still work).
    void fill_disk() {
        std::lock_guard lock(mu_);
        for (fault f : {fault{.op = fs_op::append, .err = ENOSPC, .sticky = true},
                        fault{.op = fs_op::open, .err = ENOSPC, .sticky = true, .creating_only = true}}) {
            f.nth = 1;
            f.path_contains = "/"; // every path, counted from now
            faults_.push_back({std::move(f), 0});
        }
    }
    /// Arms f for the next operation of its kind (f.nth is ignored).
    void fail_next(fault f) {
        std::lock_guard lock(mu_);
        f.nth = f.path_contains.empty() ? counts_[index(f.op)] + 1 : 1;
        faults_.push_back({std::move(f), 0});
    }

    /// Disarms every fault and brings a dead file system (crash, power loss) back to life;
    /// the durability model and the counts are kept.
    void heal() {
        std::lock_guard lock(mu_);
        faults_.clear();
        dead_ = false;
    }

    /// From now on every operation fails with EIO and changes nothing: the process died.
    void simulate_process_crash() {
        std::lock_guard lock(mu_);
        dead_ = true;
    }

    /// The machine loses power: every directory seen is rewritten to its durable image (see
    /// tail for the unsynced part of files). The file system is dead afterwards, as
    /// simulate_process_crash() leaves it: a database still open can change nothing more.
    /// heal() (or a new faulty_file_system) for the next boot.
    void simulate_power_loss(tail how = tail::drop, std::uint64_t seed = 1) {
        std::lock_guard lock(mu_);
        std::mt19937_64 rng(seed);
        for (auto& [dir_name, dir] : dirs_) {
            const std::filesystem::path dir_path(dir_name);
            std::set<std::string> names;
            for (const auto& [name, node] : dir.current) names.insert(name);
            for (const auto& [name, node] : dir.durable) names.insert(name);
            for (const auto& name : names) {
                std::error_code ec;
                std::filesystem::remove(dir_path / name, ec);
            }
            std::map<inode*, std::string> contents; // an inode under two names gets one content
            for (const auto& [name, node] : dir.durable) {
                auto found = contents.find(node.get());
                if (found == contents.end())
                    found = contents.emplace(node.get(), after_power_loss(*node, how, rng)).first;
                std::ofstream out(dir_path / name, std::ios::binary | std::ios::trunc);
                out.write(found->second.data(), static_cast<std::streamsize>(found->second.size()));
                if (!out) throw std::runtime_error("faulty_file_system: cannot rewrite " + (dir_path / name).string());
            }
            for (auto& [node, content] : contents) {
                node->durable = content;
                node->next = content;
                node->clean = content.size();
            }
            dir.current = dir.durable;
        }
        dead_ = true;
    }

    // ---- what happened ------------------------------------------------------------------

    /// Operations of kind op so far (failed ones included).
    std::uint64_t count(fs_op op) const {
        std::lock_guard lock(mu_);
        return counts_[index(op)];
    }
    /// How many injected faults fired.
    std::uint64_t faults_fired() const {
        std::lock_guard lock(mu_);
        return fired_;
    }
    /// The message of the first injected fault that fired ("" if none).
    std::string first_fault() const {
        std::lock_guard lock(mu_);
        return first_fault_;
    }
    bool dead() const {
        std::lock_guard lock(mu_);
        return dead_;
    }
    /// Bytes of path a sync made durable (nullopt if the name itself is not durable).
    std::optional<std::string> durable_content(const std::filesystem::path& path) {
        std::lock_guard lock(mu_);
        auto& dir = directory_of(parent_key(path));
        auto it = dir.durable.find(path.filename().string());
        if (it == dir.durable.end()) return std::nullopt;
        return it->second->durable;
    }

    // ---- inmem::file_system --------------------------------------------------------------

    std::unique_ptr<inmem::append_file> open_append(const std::filesystem::path& path, bool truncate) override {
        std::lock_guard lock(mu_);
        std::error_code ec;
        step(fs_op::open, "cannot open", path, !std::filesystem::exists(path, ec));
        auto& dir = directory_of(parent_key(path));
        const std::string name = path.filename().string();
        auto real = inner_->open_append(path, truncate);
        auto& node = dir.current[name];
        if (!node) {
            node = std::make_shared<inode>();
            if (!truncate && real->size() > 0) adopt_content(*node, path); // a file we had not seen
        }
        if (truncate) { // the old content goes; until a sync, a power loss may bring it back
            node->next.clear();
            node->clean = 0;
        }
        return std::make_unique<file>(*this, std::move(real), node, path);
    }

    std::string read_all(const std::filesystem::path& path) override {
        std::lock_guard lock(mu_);
        step(fs_op::read, "read of", path);
        directory_of(parent_key(path));
        return inner_->read_all(path);
    }

    void truncate(const std::filesystem::path& path, std::uint64_t size) override {
        std::lock_guard lock(mu_);
        step(fs_op::truncate, "cannot truncate", path);
        auto& dir = directory_of(parent_key(path));
        inner_->truncate(path, size);
        auto& node = dir.current[path.filename().string()];
        if (!node) {
            node = std::make_shared<inode>();
            adopt_content(*node, path);
        }
        node->next.resize(size, '\0');
        node->durable = node->next; // truncate syncs (posix_file_system fdatasyncs)
        node->clean = node->next.size();
    }

    void rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
        std::lock_guard lock(mu_);
        step(fs_op::rename, "cannot rename", from);
        auto& src = directory_of(parent_key(from));
        auto& dst = directory_of(parent_key(to));
        inner_->rename(from, to);
        auto it = src.current.find(from.filename().string());
        std::shared_ptr<inode> node;
        if (it != src.current.end()) {
            node = it->second;
            src.current.erase(it);
        } else {
            node = std::make_shared<inode>();
            adopt_content(*node, to);
        }
        dst.current[to.filename().string()] = std::move(node);
    }

    void remove(const std::filesystem::path& path) override {
        std::lock_guard lock(mu_);
        step(fs_op::remove, "cannot remove", path);
        auto& dir = directory_of(parent_key(path));
        inner_->remove(path);
        dir.current.erase(path.filename().string());
    }

    void sync_directory(const std::filesystem::path& dir_path) override {
        std::lock_guard lock(mu_);
        step(fs_op::sync_directory, "fsync of directory", dir_path);
        auto& dir = directory_of(key_of(dir_path));
        if (real_syncs_) inner_->sync_directory(dir_path);
        dir.durable = dir.current;
    }

    std::vector<std::string> list(const std::filesystem::path& dir_path) override {
        std::lock_guard lock(mu_);
        step(fs_op::list, "cannot list", dir_path);
        auto names = inner_->list(dir_path);
        directory_of(key_of(dir_path));
        return names;
    }

    void create_directories(const std::filesystem::path& dir_path) override {
        std::lock_guard lock(mu_);
        if (dead_) throw_errno("cannot create directory", dir_path, EIO);
        inner_->create_directories(dir_path);
        directory_of(key_of(dir_path));
    }

    std::unique_ptr<inmem::directory_lock> lock_directory(const std::filesystem::path& dir_path) override {
        std::lock_guard lock(mu_);
        if (dead_) throw_errno("cannot lock", dir_path / "LOCK", EIO);
        return inner_->lock_directory(dir_path);
    }

private:
    struct inode {
        std::string durable; // what a power loss leaves (the content at the last successful sync)
        std::string next;    // what the next successful sync makes durable (the live content,
                             // but with the bytes a failed sync dropped as zeros)
        std::size_t clean = 0; // next[0, clean) is known to equal durable[0, clean)
    };
    struct directory {
        std::map<std::string, std::shared_ptr<inode>> current; // the names as they are now
        std::map<std::string, std::shared_ptr<inode>> durable; // as the last sync_directory left them
    };

    class file final : public inmem::append_file {
    public:
        file(faulty_file_system& fs, std::unique_ptr<inmem::append_file> real, std::shared_ptr<inode> node,
             std::filesystem::path path)
            : fs_(fs), real_(std::move(real)), node_(std::move(node)), path_(std::move(path)) {}

        void append(std::string_view bytes) override {
            std::lock_guard lock(fs_.mu_);
            if (const auto* f = fs_.step_no_throw(fs_op::append, "write to", path_)) {
                // The short write is the nth append's; later ones of a sticky fault write nothing.
                const std::size_t n = fs_.last_fire_was_first_ ? std::min(f->written, bytes.size()) : 0;
                if (n > 0 && !f->crash) {
                    real_->append(bytes.substr(0, n));
                    node_->next.append(bytes.substr(0, n));
                }
                throw_errno("write to", path_, f->crash ? EIO : f->err);
            }
            real_->append(bytes);
            node_->next.append(bytes);
        }

        void sync() override {
            std::lock_guard lock(fs_.mu_);
            if (const auto* f = fs_.step_no_throw(fs_op::sync, "fdatasync of", path_)) {
                if (f->drop_unsynced && !f->crash)
                    for (std::size_t i = node_->clean; i < node_->next.size(); ++i) node_->next[i] = '\0';
                throw_errno("fdatasync of", path_, f->crash ? EIO : f->err);
            }
            if (fs_.real_syncs_) real_->sync();
            node_->durable = node_->next;
            node_->clean = node_->next.size();
        }

        std::uint64_t size() const override { return real_->size(); }

    private:
        faulty_file_system& fs_;
        std::unique_ptr<inmem::append_file> real_;
        std::shared_ptr<inode> node_;
        std::filesystem::path path_;
    };

    static std::size_t index(fs_op op) { return static_cast<std::size_t>(op); }

    [[noreturn]] static void throw_errno(const char* what, const std::filesystem::path& path, int err) {
        throw inmem::error(err == ENOSPC ? inmem::errc::no_space : inmem::errc::io_error,
                           std::string("inmem: ") + what + " " + path.string() + ": " + std::strerror(err));
    }

    // Counts one operation; the fault it meets (after marking it fired), or nullptr. Throws
    // EIO when the file system is dead. Called with mu_ held.
    const fault* step_no_throw(fs_op op, const char* what, const std::filesystem::path& path, bool creates = true) {
        if (dead_) throw_errno(what, path, EIO);
        const std::uint64_t count = ++counts_[index(op)];
        for (auto& [f, matched] : faults_) {
            if (f.op != op || (f.creating_only && !creates)) continue;
            if (!f.path_contains.empty() && path.string().find(f.path_contains) == std::string::npos) continue;
            const std::uint64_t n = f.path_contains.empty() ? count : ++matched;
            if (f.sticky ? n < f.nth : n != f.nth) continue;
            ++fired_;
            last_fire_was_first_ = n == f.nth;
            if (first_fault_.empty())
                first_fault_ = std::string(to_string(op)) + " #" + std::to_string(n) + " of " + path.string() + ": " +
                               std::strerror(f.crash ? EIO : f.err) + (f.crash ? " (process crash)" : "");
            if (f.crash) dead_ = true;
            return &f;
        }
        return nullptr;
    }

    void step(fs_op op, const char* what, const std::filesystem::path& path, bool creates = true) {
        if (const auto* f = step_no_throw(op, what, path, creates)) throw_errno(what, path, f->crash ? EIO : f->err);
    }

    static std::string key_of(const std::filesystem::path& dir) {
        auto p = std::filesystem::absolute(dir).lexically_normal();
        if (!p.has_filename() && p.has_parent_path() && p != p.root_path()) p = p.parent_path(); // "a/b/"
        return p.string();
    }
    static std::string parent_key(const std::filesystem::path& path) {
        return key_of(std::filesystem::absolute(path).lexically_normal().parent_path());
    }

    // The model of directory key, adopting what is on disk the first time.
    directory& directory_of(const std::string& key) {
        auto [it, inserted] = dirs_.try_emplace(key);
        if (inserted) {
            std::error_code ec;
            for (const auto& entry : std::filesystem::directory_iterator(key, ec)) {
                if (!entry.is_regular_file() || entry.path().filename() == "LOCK") continue;
                auto node = std::make_shared<inode>();
                adopt_content(*node, entry.path());
                const std::string name = entry.path().filename().string();
                it->second.current[name] = node;
                it->second.durable[name] = node;
            }
        }
        return it->second;
    }

    static void adopt_content(inode& node, const std::filesystem::path& path) {
        std::ifstream in(path, std::ios::binary);
        std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        node.durable = content;
        node.next = std::move(content);
        node.clean = node.next.size();
    }

    // The content a power loss leaves of node.
    static std::string after_power_loss(const inode& node, tail how, std::mt19937_64& rng) {
        // Unsynced: next from clean on. What precedes it is durable whatever happens.
        if (node.next.size() <= node.clean || how == tail::drop) return node.durable;
        std::string out = node.durable.substr(0, std::min(node.clean, node.durable.size()));
        out.resize(node.clean, '\0');
        const std::size_t unsynced = node.next.size() - node.clean;
        std::size_t kept = 0;
        if (how == tail::torn) kept = std::uniform_int_distribution<std::size_t>(0, unsynced)(rng);
        out.append(node.next, node.clean, kept);
        for (std::size_t i = kept; i < unsynced; ++i)
            out.push_back(how == tail::zeros ? '\0' : static_cast<char>(rng()));
        return out;
    }

    std::shared_ptr<inmem::file_system> inner_;
    bool real_syncs_;
    mutable std::mutex mu_;
    struct armed {
        fault f;
        std::uint64_t matched; // operations on a matching path so far (path_contains only)
    };
    std::vector<armed> faults_;
    bool last_fire_was_first_ = false; // the fault that fired last met its nth (not a later one)
    std::uint64_t counts_[static_cast<std::size_t>(fs_op::count_)] = {};
    std::uint64_t fired_ = 0;
    std::string first_fault_;
    bool dead_ = false;
    std::map<std::string, directory> dirs_;
};

} // namespace inmem_test
