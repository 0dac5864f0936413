// inmem/error.hpp: how inmem reports failure.
//
// One style for the whole public API:
//  - an operation that cannot do what was asked throws inmem::error, a std::system_error
//    whose code() is an inmem::errc in inmem::error_category() (branch on it) and whose
//    what() says what went wrong and what to do (show it to a person);
//  - an outcome that is a normal answer is a value: an absent key is an empty optional;
//  - decoding bytes that may not be ours returns inmem::result<T> (a value or an error code,
//    in the manner of Boost.Outcome's std_result), never throws and never crashes.
#pragma once

#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace inmem {

/// Error codes of inmem::error and inmem::result. Stable: values are never renumbered.
enum class errc : int {
    ok = 0,
    unknown_run = 1,       ///< the run id was never returned by begin_run on this database
    run_not_active = 2,    ///< the run has ended; writes need an active run
    invalid_argument = 3,  ///< a caller's argument is out of its documented domain
    key_too_large = 4,     ///< a key exceeds inmem::max_key_size
    conflict = 5,          ///< a transaction lost a race: another commit changed what it wrote
                           ///< (or, serializable, read) after its snapshot; nothing was applied
    not_found = 6,         ///< the record the operation needs does not exist
    transaction_closed = 7, ///< the transaction was already committed or aborted
    divergence = 8,        ///< a re-executed run asked for other steps than its record holds
                           ///< (inmem::divergence_error, exec/divergence.hpp, has the report)
    decode_truncated = 20, ///< the bytes end before the value does
    decode_invalid = 21,   ///< a tag, flag or length in the bytes is not one we write
    decode_trailing = 22,  ///< bytes remain after a complete value
    corruption = 30,       ///< stored bytes failed to decode: the store is damaged
    io_error = 40,         ///< a file operation failed (the message names the file and errno)
    no_space = 41,         ///< the disk is full (ENOSPC); nothing acknowledged is lost
    database_locked = 42,  ///< the database directory is open elsewhere (another process or database object)
    schema_mismatch = 43,  ///< the files were written under another schema
    failed = 44,           ///< an earlier I/O failure stopped all writes; reopen to recover
};

namespace detail {
class error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "inmem"; }
    std::string message(int code) const override {
        switch (static_cast<errc>(code)) {
        case errc::ok: return "success";
        case errc::unknown_run: return "unknown run";
        case errc::run_not_active: return "run is not active";
        case errc::invalid_argument: return "invalid argument";
        case errc::key_too_large: return "key too large";
        case errc::conflict: return "transaction conflict";
        case errc::not_found: return "record not found";
        case errc::transaction_closed: return "transaction already committed or aborted";
        case errc::divergence: return "re-execution diverged from the recorded run";
        case errc::decode_truncated: return "encoded value is truncated";
        case errc::decode_invalid: return "encoded value is malformed";
        case errc::decode_trailing: return "encoded value has trailing bytes";
        case errc::corruption: return "stored data is corrupt";
        case errc::io_error: return "I/O error";
        case errc::no_space: return "no space left on device";
        case errc::database_locked: return "database directory is open elsewhere";
        case errc::schema_mismatch: return "data was written under another schema";
        case errc::failed: return "database stopped after an I/O failure";
        }
        return "unknown inmem error";
    }
};
} // namespace detail

/// The category of every inmem::errc.
inline const std::error_category& error_category() noexcept {
    static const detail::error_category_impl category;
    return category;
}

/// Makes errc usable as a std::error_code (found by argument-dependent lookup).
inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// The exception every throwing inmem operation throws. code() is an inmem::errc.
class error : public std::system_error {
public:
    error(errc code, const std::string& what) : std::system_error(make_error_code(code), what) {}
    error(std::error_code code, const std::string& what) : std::system_error(code, what) {}
};

} // namespace inmem

template <>
struct std::is_error_code_enum<inmem::errc> : std::true_type {};

namespace inmem {

/// A value or an error code, for operations on untrusted input (see inmem::decode). Test it
/// like a bool (or has_value()); value() returns the value or throws std::system_error with
/// the error; error() is the error code (compare it to an inmem::errc). The surface of Boost
/// Outcome's std_result that inmem's users need, without its compile cost.
template <class T>
class [[nodiscard]] result {
public:
    using value_type = T;
    using error_type = std::error_code;

    /// A value.
    template <class U = T>
        requires(std::is_constructible_v<T, U &&> && !std::is_same_v<std::remove_cvref_t<U>, result> &&
                 !std::is_same_v<std::remove_cvref_t<U>, std::error_code> &&
                 !std::is_error_code_enum_v<std::remove_cvref_t<U>>)
    result(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) : has_value_(true) {
        std::construct_at(std::addressof(value_), std::forward<U>(value));
    }
    /// An error.
    result(std::error_code error) noexcept : error_(error) {}
    /// An error, from an error code enumeration such as inmem::errc.
    template <class E>
        requires std::is_error_code_enum_v<E>
    result(E error) noexcept : error_(make_error_code(error)) {}

    result(const result& other) : has_value_(other.has_value_), error_(other.error_) {
        if (has_value_) std::construct_at(std::addressof(value_), other.value_);
    }
    result(result&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : has_value_(other.has_value_), error_(other.error_) {
        if (has_value_) std::construct_at(std::addressof(value_), std::move(other.value_));
    }
    result& operator=(result other) noexcept(std::is_nothrow_move_constructible_v<T>) {
        reset();
        if (other.has_value_) std::construct_at(std::addressof(value_), std::move(other.value_));
        has_value_ = other.has_value_;
        error_ = other.error_;
        return *this;
    }
    ~result() { reset(); }

    bool has_value() const noexcept { return has_value_; }
    bool has_error() const noexcept { return !has_value_; }
    explicit operator bool() const noexcept { return has_value_; }

    /// The value; throws std::system_error(error()) when there is none.
    T& value() & { return check(), value_; }
    const T& value() const& { return check(), value_; }
    T&& value() && { return check(), std::move(value_); }
    /// The value, which must be there (no check).
    T& assume_value() & noexcept { return value_; }
    const T& assume_value() const& noexcept { return value_; }
    T&& assume_value() && noexcept { return std::move(value_); }

    /// The error (an empty std::error_code when there is a value).
    const std::error_code& error() const noexcept { return error_; }

private:
    void check() const {
        if (!has_value_) throw std::system_error(error_);
    }
    void reset() noexcept {
        if (has_value_) std::destroy_at(std::addressof(value_));
        has_value_ = false;
    }

    union {
        T value_;
    };
    bool has_value_ = false;
    std::error_code error_{};
};

} // namespace inmem
