// inmem/durability/file.hpp: the file operations durability needs, behind one interface.
//
// The WAL, snapshots and recovery touch files only through inmem::file_system, so a test (or
// an unusual environment) can substitute its own: fail the N-th write or sync, report a full
// disk, or forget what was never synced. posix_file_system is the real one. Every failure
// throws inmem::error: no_space for ENOSPC, io_error otherwise, with the path and errno text.
#pragma once

#include <inmem/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace inmem {

/// A file opened for appending (WAL segments, snapshots being written).
class append_file {
public:
    virtual ~append_file() = default;
    /// Appends bytes at the end. Throws inmem::error (io_error, no_space).
    virtual void append(std::string_view bytes) = 0;
    /// Makes everything appended so far durable (fdatasync). Throws inmem::error.
    virtual void sync() = 0;
    /// The file's size, appended bytes included.
    virtual std::uint64_t size() const = 0;
};

/// An exclusive, advisory lock on a database directory, held until destroyed.
class directory_lock {
public:
    virtual ~directory_lock() = default;
};

/// Every file operation of durability. The default is posix_file_system.
class file_system {
public:
    virtual ~file_system() = default;
    /// Opens path for appending, creating it (empty) if absent; truncate empties it first.
    virtual std::unique_ptr<append_file> open_append(const std::filesystem::path& path, bool truncate) = 0;
    /// The whole content of path.
    virtual std::string read_all(const std::filesystem::path& path) = 0;
    /// Shortens path to size bytes and makes that durable.
    virtual void truncate(const std::filesystem::path& path, std::uint64_t size) = 0;
    /// Renames atomically, replacing to.
    virtual void rename(const std::filesystem::path& from, const std::filesystem::path& to) = 0;
    /// Removes path if it exists.
    virtual void remove(const std::filesystem::path& path) = 0;
    /// Makes the directory's entries (creations, renames, removals) durable.
    virtual void sync_directory(const std::filesystem::path& dir) = 0;
    /// The names of the files in dir.
    virtual std::vector<std::string> list(const std::filesystem::path& dir) = 0;
    /// Creates dir and its parents if absent.
    virtual void create_directories(const std::filesystem::path& dir) = 0;
    /// Locks dir for this process; throws database_locked if another process holds it.
    virtual std::unique_ptr<directory_lock> lock_directory(const std::filesystem::path& dir) = 0;
};

namespace detail {

[[noreturn]] inline void throw_io(const char* what, const std::filesystem::path& path, int err) {
    throw error(err == ENOSPC ? errc::no_space : errc::io_error,
                std::string("inmem: ") + what + " " + path.string() + ": " + std::strerror(err));
}

class posix_append_file final : public append_file {
public:
    posix_append_file(int fd, std::filesystem::path path, std::uint64_t size)
        : fd_(fd), path_(std::move(path)), size_(size) {}
    ~posix_append_file() override { ::close(fd_); }

    void append(std::string_view bytes) override {
        while (!bytes.empty()) {
            ssize_t n = ::write(fd_, bytes.data(), bytes.size());
            if (n < 0) {
                if (errno == EINTR) continue;
                throw_io("write to", path_, errno);
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
            size_ += static_cast<std::uint64_t>(n);
        }
    }

    void sync() override {
        if (::fdatasync(fd_) != 0) throw_io("fdatasync of", path_, errno);
    }

    std::uint64_t size() const override { return size_; }

private:
    int fd_;
    std::filesystem::path path_;
    std::uint64_t size_;
};

// The lock files this process holds, by device and inode: a second flock from the same
// process fails just as one from another process does, and the message must say which.
struct held_locks {
    std::mutex mutex;
    std::set<std::pair<dev_t, ino_t>> files;

    static held_locks& instance() {
        static held_locks all;
        return all;
    }
};

class posix_directory_lock final : public directory_lock {
public:
    posix_directory_lock(int fd, std::pair<dev_t, ino_t> id) : fd_(fd), id_(id) {}
    ~posix_directory_lock() override {
        ::close(fd_); // closing releases the flock
        auto& held = held_locks::instance();
        std::lock_guard lock(held.mutex);
        held.files.erase(id_);
    }

private:
    int fd_;
    std::pair<dev_t, ino_t> id_;
};

} // namespace detail

/// The real file system (POSIX calls; fdatasync for durability, flock for the lock).
class posix_file_system final : public file_system {
public:
    std::unique_ptr<append_file> open_append(const std::filesystem::path& path, bool truncate) override {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
        if (fd < 0) detail::throw_io("cannot open", path, errno);
        struct stat st{};
        if (::fstat(fd, &st) != 0) {
            int err = errno;
            ::close(fd);
            detail::throw_io("cannot stat", path, err);
        }
        return std::make_unique<detail::posix_append_file>(fd, path, static_cast<std::uint64_t>(st.st_size));
    }

    std::string read_all(const std::filesystem::path& path) override {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) detail::throw_io("cannot open", path, errno);
        std::string out;
        struct stat st{};
        if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<std::size_t>(st.st_size));
        char buf[1 << 16];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n < 0) {
                if (errno == EINTR) continue;
                int err = errno;
                ::close(fd);
                detail::throw_io("read of", path, err);
            }
            if (n == 0) break;
            out.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
        return out;
    }

    void truncate(const std::filesystem::path& path, std::uint64_t size) override {
        int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) detail::throw_io("cannot open", path, errno);
        int rc = ::ftruncate(fd, static_cast<off_t>(size));
        int err = errno;
        if (rc == 0) rc = ::fdatasync(fd), err = errno;
        ::close(fd);
        if (rc != 0) detail::throw_io("cannot truncate", path, err);
    }

    void rename(const std::filesystem::path& from, const std::filesystem::path& to) override {
        if (::rename(from.c_str(), to.c_str()) != 0) detail::throw_io("cannot rename", from, errno);
    }

    void remove(const std::filesystem::path& path) override {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) detail::throw_io("cannot remove", path, errno);
    }

    void sync_directory(const std::filesystem::path& dir) override {
        int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) detail::throw_io("cannot open directory", dir, errno);
        int rc = ::fsync(fd);
        int err = errno;
        ::close(fd);
        if (rc != 0) detail::throw_io("fsync of directory", dir, err);
    }

    std::vector<std::string> list(const std::filesystem::path& dir) override {
        std::vector<std::string> names;
        std::error_code ec;
        // increment(ec), not ++: a failing read of the directory must be an inmem::error.
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
            names.push_back(it->path().filename());
        if (ec) detail::throw_io("cannot list", dir, ec.value());
        return names;
    }

    void create_directories(const std::filesystem::path& dir) override {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) detail::throw_io("cannot create directory", dir, ec.value());
    }

    std::unique_ptr<directory_lock> lock_directory(const std::filesystem::path& dir) override {
        auto path = dir / "LOCK";
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) detail::throw_io("cannot open", path, errno);
        struct stat st{};
        if (::fstat(fd, &st) != 0) {
            int err = errno;
            ::close(fd);
            detail::throw_io("cannot stat", path, err);
        }
        const std::pair<dev_t, ino_t> id{st.st_dev, st.st_ino};
        auto& held = detail::held_locks::instance();
        std::lock_guard guard(held.mutex);
        if (held.files.count(id)) {
            ::close(fd);
            throw error(errc::database_locked, "inmem: " + dir.string() +
                                                   " is already open in this process (another database object "
                                                   "holds it); use that object, or destroy it before opening the "
                                                   "directory again");
        }
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            ::close(fd);
            if (err == EWOULDBLOCK)
                throw error(errc::database_locked, "inmem: " + dir.string() +
                                                       " is open in another process (it holds " + path.string() +
                                                       "); close it there first");
            detail::throw_io("cannot lock", path, err);
        }
        held.files.insert(id);
        return std::make_unique<detail::posix_directory_lock>(fd, id);
    }
};

/// The process-wide real file system.
inline const std::shared_ptr<file_system>& default_file_system() {
    static const std::shared_ptr<file_system> fs = std::make_shared<posix_file_system>();
    return fs;
}

} // namespace inmem
