// A file system held in memory, for tests that open thousands of database directories (the
// recovery fuzzer): every operation of inmem::file_system on a map of path -> bytes, with
// no I/O. Syncs do nothing (nothing is lost: there is no power to lose); the directory lock
// is exclusive within the object. Thread-safe.
#pragma once

#include <inmem/durability/file.hpp>
#include <inmem/error.hpp>

#include <cerrno>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace inmem_test {

class memory_file_system final : public inmem::file_system {
public:
    /// The files of dir, by name (a snapshot of them).
    std::map<std::string, std::string> files(const std::filesystem::path& dir) const {
        std::lock_guard lock(mu_);
        std::map<std::string, std::string> out;
        for (const auto& [path, bytes] : files_)
            if (std::filesystem::path(path).parent_path() == dir) out[std::filesystem::path(path).filename()] = bytes;
        return out;
    }
    /// Makes dir hold exactly these files.
    void set_files(const std::filesystem::path& dir, const std::map<std::string, std::string>& files) {
        std::lock_guard lock(mu_);
        for (auto it = files_.begin(); it != files_.end();)
            it = std::filesystem::path(it->first).parent_path() == dir ? files_.erase(it) : std::next(it);
        for (const auto& [name, bytes] : files) files_[(dir / name).string()] = bytes;
        dirs_.insert(dir.string());
    }

    std::unique_ptr<inmem::append_file> open_append(const std::filesystem::path& path, bool truncate) override {
        std::lock_guard lock(mu_);
        if (!dirs_.count(path.parent_path().string())) fail("cannot open", path, ENOENT);
        auto& bytes = files_[path.string()];
        if (truncate) bytes.clear();
        return std::make_unique<file>(*this, path.string());
    }
    std::string read_all(const std::filesystem::path& path) override {
        std::lock_guard lock(mu_);
        auto it = files_.find(path.string());
        if (it == files_.end()) fail("cannot open", path, ENOENT);
        return it->second;
    }
    void truncate(const std::filesystem::path& path, std::uint64_t size) override {
        std::lock_guard lock(mu_);
        auto it = files_.find(path.string());
        if (it == files_.end()) fail("cannot truncate", path, ENOENT);
        it->second.resize(size);
    }
    void rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
        std::lock_guard lock(mu_);
        auto it = files_.find(from.string());
        if (it == files_.end()) fail("cannot rename", from, ENOENT);
        std::string bytes = std::move(it->second);
        files_.erase(it);
        files_[to.string()] = std::move(bytes);
    }
    void remove(const std::filesystem::path& path) override {
        std::lock_guard lock(mu_);
        files_.erase(path.string());
    }
    void sync_directory(const std::filesystem::path&) override {}
    std::vector<std::string> list(const std::filesystem::path& dir) override {
        std::lock_guard lock(mu_);
        if (!dirs_.count(dir.string())) fail("cannot list", dir, ENOENT);
        std::vector<std::string> names;
        for (const auto& [path, bytes] : files_)
            if (std::filesystem::path(path).parent_path() == dir) names.push_back(std::filesystem::path(path).filename());
        return names;
    }
    void create_directories(const std::filesystem::path& dir) override {
        std::lock_guard lock(mu_);
        dirs_.insert(dir.string());
    }
    std::unique_ptr<inmem::directory_lock> lock_directory(const std::filesystem::path& dir) override {
        std::lock_guard lock(mu_);
        if (!locked_.insert(dir.string()).second)
            throw inmem::error(inmem::errc::database_locked, "inmem: " + dir.string() + " is open (memory_file_system)");
        return std::make_unique<held>(*this, dir.string());
    }

private:
    class file final : public inmem::append_file {
    public:
        file(memory_file_system& fs, std::string path) : fs_(fs), path_(std::move(path)) {}
        void append(std::string_view bytes) override {
            std::lock_guard lock(fs_.mu_);
            fs_.files_[path_].append(bytes);
        }
        void sync() override {}
        std::uint64_t size() const override {
            std::lock_guard lock(fs_.mu_);
            return fs_.files_[path_].size();
        }

    private:
        memory_file_system& fs_;
        std::string path_;
    };
    class held final : public inmem::directory_lock {
    public:
        held(memory_file_system& fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}
        ~held() override {
            std::lock_guard lock(fs_.mu_);
            fs_.locked_.erase(dir_);
        }

    private:
        memory_file_system& fs_;
        std::string dir_;
    };

    [[noreturn]] static void fail(const char* what, const std::filesystem::path& path, int err) {
        throw inmem::error(inmem::errc::io_error, std::string("inmem: ") + what + " " + path.string() + ": " +
                                                      std::generic_category().message(err));
    }

    mutable std::mutex mu_;
    std::map<std::string, std::string> files_; // full path -> content
    std::set<std::string> dirs_;
    std::set<std::string> locked_;
};

} // namespace inmem_test
