// inmem/primitives/kv.hpp: typed key/value working memory, scoped to a run.
#pragma once

#include <inmem/error.hpp>
#include <inmem/primitives/context.hpp>
#include <inmem/primitives/family.hpp>
#include <inmem/primitives/listing.hpp>
#include <inmem/primitives/runs.hpp>
#include <inmem/schema/codec.hpp>
#include <inmem/schema/reflect.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/storage/record.hpp>
#include <inmem/transaction.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inmem {

/// One KV record: its key, its value and the version of the commit that wrote it.
template <class T>
struct kv_entry {
    std::string key;
    T value;
    version_t version = 0;
};

/// The result of kv_handle::list: a shared view of kv_entry<T> in key order (listing.hpp).
template <class T>
using kv_range = entry_range<kv_entry<T>>;

/// Typed KV of one value type T, obtained from db.kv<T>(). Cheap to copy; valid while the
/// database lives. Keys are arbitrary bytes up to inmem::max_key_size, private to each run.
/// Every operation takes a run (it commits at once) or a transaction (it joins it: reads see
/// the transaction's snapshot and writes, writes wait for its commit).
/// Throws inmem::error: unknown_run, run_not_active (writes), key_too_large, corruption.
template <class Engine, class T>
class kv_handle {
public:
    using transaction = basic_transaction<Engine>;

    kv_handle(Engine& engine, std::uint16_t slot) noexcept : engine_(&engine), slot_(slot) {}

    /// Stores value under key for run; returns the new version of key (larger than any before).
    version_t put(run_id run, std::string_view key, const T& value) const {
        detail::check_user_key(key);
        detail::write_op op{detail::write_op::kind::put, full_key(run, key), encode(value)};
        return engine_->commit(run, std::span(&op, 1));
    }

    /// The value under key, or nullopt: in a run (the latest) or a transaction (as it sees it).
    template <context_of<Engine> At>
    [[nodiscard]] std::optional<T> get(At&& at, std::string_view key) const {
        detail::check_user_key(key);
        const run_id run = detail::run_of(at);
        return detail::read_in(*engine_, at, lookup_key(run, key), value_of(run, key));
    }

    /// The entry (value and version) under key, or nullopt, in a run or a transaction
    /// (where entries it wrote read as version 0).
    template <context_of<Engine> At>
    [[nodiscard]] std::optional<kv_entry<T>> entry(At&& at, std::string_view key) const {
        detail::check_user_key(key);
        const run_id run = detail::run_of(at);
        return detail::read_in(*engine_, at, lookup_key(run, key), entry_of(run, key));
    }

    /// Removes key from run; true if it was there.
    bool erase(run_id run, std::string_view key) const {
        detail::check_user_key(key);
        detail::write_op op{detail::write_op::kind::erase, full_key(run, key), {}};
        return engine_
            ->commit_if(run, std::span(&op, 1),
                        [&](const typename Engine::backend_type& store) { return store.find(op.key) != nullptr; })
            .has_value();
    }

    /// In tx: buffers value under key (tx's run); entries written in tx read as version 0.
    void put(transaction& tx, std::string_view key, const T& value) const {
        detail::check_user_key(key);
        tx.put(full_key(tx.run(), key), encode(value));
    }

    /// In tx: buffers the removal of key; true if tx saw it.
    bool erase(transaction& tx, std::string_view key) const {
        detail::check_user_key(key);
        std::string k = full_key(tx.run(), key);
        const bool present = tx.read(k, [](const detail::stored_record* rec) { return rec != nullptr; });
        tx.erase(std::move(k));
        return present;
    }

    /// The entries whose key starts with prefix (all of them for ""), in key order, in a
    /// run or a transaction; options.after and options.limit return one page of them, at the
    /// cost of that page.
    template <context_of<Engine> At>
    [[nodiscard]] kv_range<T> list(At&& at, std::string_view prefix = {}, list_options options = {}) const {
        detail::check_user_key(prefix);
        detail::check_user_key(options.after);
        const run_id run = detail::run_of(at);
        std::vector<kv_entry<T>> out;
        if (options.limit == 0) {
            detail::check_in(*engine_, at);
            return kv_range<T>(std::move(out));
        }
        detail::scan_in(*engine_, at, lookup_key(run, prefix), append_to(run, out, options.limit), after_key(run, options));
        return kv_range<T>(std::move(out));
    }

private:
    // The callbacks the operations share: a record (or nullptr) to a
    // value or an entry, and a scanned record appended to a list.
    static auto value_of(run_id run, std::string_view key) {
        return [run, key](const detail::stored_record* rec) -> std::optional<T> {
            if (!rec) return std::nullopt;
            return decode_stored(run, key, rec->bytes);
        };
    }
    static auto entry_of(run_id run, std::string_view key) {
        return [run, key](const detail::stored_record* rec) -> std::optional<kv_entry<T>> {
            if (!rec) return std::nullopt;
            return kv_entry<T>{std::string(key), decode_stored(run, key, rec->bytes), rec->version};
        };
    }
    static auto append_to(run_id run, std::vector<kv_entry<T>>& out, std::size_t limit) {
        return [run, &out, limit](std::string_view key, const detail::stored_record& rec) {
            const auto user_key = key.substr(detail::run_key_prefix_size);
            out.push_back(kv_entry<T>{std::string(user_key), decode_stored(run, user_key, rec.bytes), rec.version});
            return out.size() < limit;
        };
    }

    // The full key to list after ("" when listing from the first).
    std::string after_key(run_id run, const list_options& options) const {
        return options.after.empty() ? std::string() : full_key(run, options.after);
    }

    std::string full_key(run_id run, std::string_view key) const {
        return detail::run_data_key(detail::default_namespace, run.value, static_cast<std::uint8_t>(primitive::kv),
                                    slot_, key);
    }

    // The full key in a per-thread buffer: reads need it only for the lookup itself.
    std::string_view lookup_key(run_id run, std::string_view key) const {
        thread_local std::string buffer;
        detail::run_data_key_into(buffer, detail::default_namespace, run.value,
                                  static_cast<std::uint8_t>(primitive::kv), slot_, key);
        return buffer;
    }

    static T decode_stored(run_id run, std::string_view key, std::string_view bytes) {
        auto value = decode<T>(bytes);
        if (!value)
            throw error(errc::corruption, "inmem: the value under key '" + std::string(key) + "' of run " +
                                              std::to_string(run.value) + " does not decode as " +
                                              std::string(detail::type_name<T>()) + ": " +
                                              value.error().message());
        return std::move(value).value();
    }

    Engine* engine_;
    std::uint16_t slot_;
};

/// The typed KV as a primitive family (primitives/family.hpp). Its keys are run data:
///   ns run primitive=1 slot user_key -> the value's codec bytes
struct kv_family {
    static constexpr primitive id = primitive::kv;
    static constexpr std::string_view name = "kv";
    template <class Engine, class T>
    using handle = kv_handle<Engine, T>;

    static std::optional<key_parts> parse(std::string_view key) noexcept {
        const auto at = detail::address_of(key);
        if (!at || at->space != detail::key_space::run || at->primitive != static_cast<std::uint8_t>(id))
            return std::nullopt;
        return key_parts{id, at->slot, run_id{at->run}, at->rest, std::nullopt, false};
    }
    static std::optional<value_parts> value_of(const key_parts& parts, std::string_view bytes) noexcept {
        return value_parts{bytes, parts.run};
    }
};

/// Value types of typed KV (db.kv<T>()): working memory, keyed by string within a run.
template <class... T>
struct kv : family_entry<kv_family, T...> {};

} // namespace inmem
