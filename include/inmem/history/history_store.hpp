// inmem/history/history_store.hpp: every run's history (run_history.hpp), by run, and how
// it travels through snapshots and the WAL.
//
// A run's history is part of the run's key range, under primitive 0 (storage/key.hpp):
//   ns 1 run 0 slot=0                -> a history command in a commit (never stored):
//                                       erase: forget the run's history (db.erase_run)
//                                       put "compact": drop it, keeping where (db.compact)
//   ns 1 run 0 slot=0 piece:u32      -> in a snapshot: the run's history stream, piece by
//                                       piece (load() takes them back in order)
// so a snapshot holds it beside the run's records, and a commit that erases or compacts a
// run's history says so in the WAL like any other change, and recovery does it again.
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/history/run_history.hpp>
#include <inmem/vocabulary.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem::detail {

/// The key of a history command of run; with a piece number, that of a snapshot piece.
inline std::string history_key(std::uint64_t run, std::optional<std::uint32_t> piece = std::nullopt) {
    std::string key;
    run_data_key_into(key, default_namespace, run, history_primitive, 0, {});
    if (piece) append_big_endian(key, *piece);
    return key;
}

class history_store {
public:
    // ---- The writer (under the writers' lock, or recovery)

    /// The history of run, made at its first use.
    run_history& writer(std::uint64_t run) {
        if (run == last_run_) return *last_;
        auto it = runs_.find(run);
        if (it == runs_.end()) {
            auto fresh = std::make_shared<run_history>();
            std::lock_guard lock(mutex_);
            it = runs_.emplace(run, std::move(fresh)).first;
        }
        last_run_ = run;
        last_ = it->second.get();
        return *last_;
    }

    /// Does a history command (see above): erase, or compact.
    void command(std::string_view key, bool erase) {
        const std::uint64_t run = load_big_endian<std::uint64_t>(key.data() + 5);
        auto fresh = erase ? nullptr : std::make_shared<run_history>();
        if (fresh) { // its history starts at its last commit
            const auto it = runs_.find(run);
            fresh->compacted(it == runs_.end() ? 0 : it->second->last_version());
        }
        std::lock_guard lock(mutex_);
        if (fresh) runs_.insert_or_assign(run, std::move(fresh));
        else runs_.erase(run);
        last_run_ = 0;
        last_ = nullptr;
    }

    /// Takes back a snapshot piece; false when it does not read as the next part of the run's history.
    bool load(std::string_view key, std::string_view bytes) {
        if (key.size() != 20) return false;
        return writer(load_big_endian<std::uint64_t>(key.data() + 5)).load(bytes);
    }

    // ---- Readers: any thread

    /// The history of run, kept alive while held; nullptr when it has none.
    std::shared_ptr<const run_history> find(std::uint64_t run) const {
        std::lock_guard lock(mutex_);
        const auto it = runs_.find(run);
        return it == runs_.end() ? nullptr : it->second;
    }

    /// Every run's history, in run order (what a snapshot writes).
    std::vector<std::pair<std::uint64_t, std::shared_ptr<const run_history>>> all() const {
        std::lock_guard lock(mutex_);
        return {runs_.begin(), runs_.end()};
    }

private:
    mutable std::mutex mutex_; // guards runs_ against readers while the writer adds or drops one
    std::map<std::uint64_t, std::shared_ptr<run_history>> runs_;
    std::uint64_t last_run_ = 0; // the writer's last lookup
    run_history* last_ = nullptr;
};

} // namespace inmem::detail
