// Helpers shared by the tests: catching an inmem::error's code, and one non-aggregate type
// stored through inmem::adapt.
#pragma once

#include <inmem/inmem.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace inmem_test {

/// The errc that f() throws as an inmem::error, or errc::ok when it throws nothing.
template <class F>
inmem::errc error_of(F&& f) {
    try {
        f();
    } catch (const inmem::error& e) {
        return static_cast<inmem::errc>(e.code().value());
    }
    return inmem::errc::ok;
}

/// The what() of the inmem::error that f() throws ("" when it throws nothing).
template <class F>
std::string what_of(F&& f) {
    try {
        f();
    } catch (const inmem::error& e) {
        return e.what();
    }
    return {};
}

/// A class with an invariant (no negative amounts), so not an aggregate: it is stored as an
/// int64 through inmem::adapt, whose from_stored rejects what breaks the invariant.
class Money {
public:
    Money() = default;
    explicit Money(std::int64_t cents) : cents_(cents) {
        if (cents < 0) throw std::invalid_argument("negative money");
    }
    std::int64_t cents() const { return cents_; }
    bool operator==(const Money&) const = default;

private:
    std::int64_t cents_ = 0;
};

} // namespace inmem_test

template <>
struct inmem::adapt<inmem_test::Money> {
    using stored_type = std::int64_t;
    static stored_type to_stored(const inmem_test::Money& m) { return m.cents(); }
    static inmem_test::Money from_stored(stored_type&& c) { return inmem_test::Money(c); }
};

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <stdlib.h> // mkdtemp
#include <unistd.h>

namespace inmem_test {

/// The whole content of a file ("" if it cannot be read).
inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// Makes path hold exactly bytes; throws std::runtime_error when it cannot.
inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// The regular files directly in dir, by name, with their bytes: what a test compares to tell
/// that an open left a database's files as they were (the lock file and leftovers of an
/// interrupted write, *.tmp, are not the database's content).
inline std::map<std::string, std::string> regular_files(const std::filesystem::path& dir) {
    std::map<std::string, std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        const std::string name = e.path().filename().string();
        if (!e.is_regular_file() || name == "LOCK" || name.ends_with(".tmp")) continue;
        out[name] = read_file(e.path());
    }
    return out;
}

/// A fresh directory, removed with everything in it on destruction: under the system's temp
/// dir, or with temp_dir::in_memory under /dev/shm where there is one (for tests whose file
/// system models durability itself, so real fsyncs would only cost time).
class temp_dir {
public:
    struct in_memory_t {};
    static constexpr in_memory_t in_memory{};

    temp_dir() : temp_dir(std::filesystem::temp_directory_path()) {}
    explicit temp_dir(in_memory_t) : temp_dir(shm_or_temp()) {}
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const std::filesystem::path& path() const noexcept { return path_; }

private:
    explicit temp_dir(const std::filesystem::path& base) {
        std::string pattern = (base / ("inmem-test-" + std::to_string(::getpid()) + "-XXXXXX")).string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
        path_ = pattern;
    }
    static std::filesystem::path shm_or_temp() {
        std::error_code ec;
        const std::filesystem::path shm = "/dev/shm";
        if (std::filesystem::is_directory(shm, ec) && ::access(shm.c_str(), W_OK) == 0) return shm;
        return std::filesystem::temp_directory_path();
    }

    std::filesystem::path path_;
};

} // namespace inmem_test
