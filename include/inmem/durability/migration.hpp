// inmem/durability/migration.hpp: reading files written under an older schema as the
// program's, record by record, while recovery loads them.
//
// Each snapshot and each WAL segment header carries the schema it was written under, each
// slot with its primitive, type name, fingerprint and description (wal_format.hpp). When it
// is not the program's, schema_migration maps it:
//   - a stored slot is the program's slot of the same primitive and type name (its number
//     may differ: a type added or removed before it); keys are renumbered;
//   - a slot whose layout changed has its values converted by plan_migration (schema/
//     evolution.hpp: added, removed, reordered, renamed and widened fields), in every record
//     its family frames (a state record's writer, a trace's tags) and in the runs' history
//     streams (snapshot pieces), so the time machine reads old versions as the new type;
//   - a slot the program no longer has is dropped, its records counted;
//   - a slot the program adds has no records yet.
// Refused with errc::schema_mismatch, naming the file, the slot and both layouts: a change
// plan_migration refuses, a changed event type (its events are hashed into the run's chain:
// rewriting them would break it), a one-log family's types (events, traces) changed other
// than by adding types at the end (each run's log counts its records per type, in the
// types' order; adding widens the counts, and a log of one type gets its type index), and
// files older than the descriptions (format 3 and before) whose schema differs.
//
// Nothing here writes: the files are left as they are, and the open takes a snapshot under
// the program's schema (engine.hpp), the point from which the old files are no longer needed.
// A crash before that snapshot is durable leaves the old files, which the next open migrates
// again; a crash after, the new snapshot.
#pragma once

#include <inmem/bytes.hpp>
#include <inmem/error.hpp>
#include <inmem/history/run_history.hpp>
#include <inmem/schema/evolution.hpp>
#include <inmem/schema/schema.hpp>
#include <inmem/storage/key.hpp>
#include <inmem/vocabulary.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inmem::detail {

class schema_migration final : public record_rewriter {
public:
    /// Maps stored (read from file) onto current, the program's schema. Throws
    /// schema_mismatch when a change cannot be made (see the top of this file).
    schema_migration(const schema_stamp& current, const schema_stamp& stored, const std::string& file)
        : current_(current), file_(file) {
        identity_ = current.fingerprint == stored.fingerprint && current.slots.size() == stored.slots.size();
        if (identity_) return;
        std::vector<bool> matched(current.slots.size());
        slots_.resize(stored.slots.size());
        // A stored slot is the program's of the same primitive and type name; failing that, of
        // the same primitive and layout (fingerprint) that no other slot took: a type whose
        // name changed without its layout, such as a vector collection whose options (not
        // stored, not in its fingerprint, but in its C++ name) changed.
        auto match = [&](auto&& same) {
            for (std::size_t i = 0; i < stored.slots.size(); ++i) {
                if (slots_[i].to != removed) continue;
                for (std::size_t j = 0; j < current.slots.size(); ++j)
                    if (!matched[j] && current.slots[j].primitive == stored.slots[i].primitive &&
                        same(stored.slots[i], current.slots[j])) {
                        slots_[i].to = static_cast<std::uint16_t>(j);
                        matched[j] = true;
                        break;
                    }
            }
        };
        match([](const auto& a, const auto& b) { return a.name == b.name; });
        match([](const auto& a, const auto& b) { return a.fingerprint == b.fingerprint; });
        for (std::size_t i = 0; i < stored.slots.size(); ++i) {
            const auto& old = stored.slots[i];
            auto& map = slots_[i];
            map.name = old.name;
            map.primitive = old.primitive;
            if (map.to == removed) {
                changes_.push_back(label(old) + ": no longer in the schema; its records are dropped");
                continue;
            }
            const auto& now = current.slots[map.to];
            if (now.name != old.name) changes_.push_back(label(old) + ": now " + label(now) + " (the same layout)");
            if (map.to != i)
                changes_.push_back(label(old) + ": slot " + std::to_string(i) + " is now slot " + std::to_string(map.to));
            if (now.fingerprint == old.fingerprint) continue;
            if (old.description.empty())
                refuse(label(old) + " changed its layout, and the files were written before they described their "
                                    "types (WAL and snapshot format 3 or older), so its old values cannot be "
                                    "read by name: open the directory once with the program that wrote it, "
                                    "under this version of inmem, and take a snapshot (db.snapshot()), which "
                                    "records the descriptions");
            if (now.hashed)
                refuse(label(old) + " changed its layout (stored " + old.description + ", now " + now.description +
                       "), and its values are hashed into each run's event chain, so rewriting them would break "
                       "it: keep this type as it was and declare the new layout as another type");
            if (!now.plan) refuse(label(old) + " changed its layout, and its family cannot convert it");
            try {
                map.plan.emplace(now.plan(old.description));
            } catch (const error& e) {
                if (e.code() != errc::schema_mismatch) throw;
                refuse(label(old) + ": " + bare(e));
            }
            for (const auto& change : map.plan->changes) changes_.push_back(label(old) + ": " + change);
        }
        if (!stored.slots.empty() && std::find(matched.begin(), matched.end(), true) == matched.end()) {
            std::vector<std::string> before, after;
            for (const auto& s : stored.slots) before.push_back(label(s));
            for (const auto& s : current.slots) after.push_back(label(s));
            refuse("none of its types [" + joined(before) + "] is one of this schema's [" + joined(after) +
                   "]; open it with the schema that wrote it (a type is known by its name: declare "
                   "schema_traits<T>::name to keep it when the C++ name changes)");
        }
        for (std::size_t j = 0; j < current.slots.size(); ++j)
            if (!matched[j]) changes_.push_back(label(current.slots[j]) + ": new in the schema (slot " + std::to_string(j) + ")");
        // A one-log family's types, stored and now, in order.
        std::vector<std::uint8_t> checked;
        for (std::size_t j = 0; j < current.slots.size(); ++j) {
            const std::uint8_t primitive = current.slots[j].primitive;
            if (!current.slots[j].one_log || std::find(checked.begin(), checked.end(), primitive) != checked.end())
                continue;
            checked.push_back(primitive);
            std::vector<std::string> before, after;
            for (const auto& s : stored.slots)
                if (s.primitive == primitive) before.push_back(s.name);
            for (const auto& s : current.slots)
                if (s.primitive == primitive) after.push_back(s.name);
            const bool appended = before.size() <= after.size() && std::equal(before.begin(), before.end(), after.begin());
            const std::string family(current.slots[j].family);
            if (!appended)
                refuse("the " + family + " types changed from [" + joined(before) + "] to [" + joined(after) +
                       "]; each run's " + family +
                       " log counts its records per type in the types' order, so types may only be added at the "
                       "end of the list: keep the others as they were, in their order");
            logs_.push_back({primitive, before.size(), after.size()});
            if (after.size() > before.size() && !before.empty())
                changes_.push_back("the " + family + " log: [" + joined(before) + "] now [" + joined(after) + "]" +
                                   (before.size() == 1 ? ", its records indexed by type" : ""));
        }
    }

    /// Names file, rather than the one it was made for, in what it throws from now on (a
    /// schema's migration serves every file written under it).
    void reading(const std::string& file) { file_ = file; }

    /// True when the files' schema is the program's: nothing to do.
    bool identity() const noexcept { return identity_; }
    /// What changed, one line each, for the open report.
    const std::vector<std::string>& changes() const noexcept { return changes_; }
    /// Records whose key or value was rewritten, and records dropped (of removed slots).
    std::uint64_t rewritten() const noexcept { return rewritten_; }
    std::uint64_t dropped() const noexcept { return dropped_; }

    /// Rewrites a stored record (bytes: nullptr for an erasure) for the program's schema;
    /// false when it belongs to a slot the program no longer has (it is to be dropped).
    bool rewrite(std::string& key, std::string* bytes) {
        if (identity_) return true;
        const auto at = address_of(key);
        if (!at || (at->space == key_space::run && at->primitive == history_primitive)) return true;
        if (at->slot >= slots_.size()) return true; // recovery's checks say what is wrong with it
        const std::uint16_t stored = at->slot;
        const std::uint16_t to = slots_[stored].to;
        if (to == removed) {
            ++dropped_;
            return false;
        }
        bool changed = to != stored;
        if (changed) store_big_endian(key.data() + (at->space == key_space::run ? 14 : 6), to);
        if (bytes && current_.slots[to].rewrite) {
            converted_ = false;
            if (!current_.slots[to].rewrite(key, stored, *bytes, *this))
                throw error(errc::corruption, "inmem: " + file_ + " holds a " + label(slots_[stored]) +
                                                  " record its family cannot read: " + describe_key(key));
            changed = changed || converted_;
        }
        if (changed) ++rewritten_;
        return true;
    }

    /// Forgets what the pieces of the last snapshot read left (a snapshot refused after its
    /// history was rewritten, and an older one read instead).
    void begin_snapshot() noexcept { history_.started = false; }

    /// A snapshot piece of run's history stream (history/history_store.hpp), rewritten;
    /// the pieces of one run come in order, and every piece holds whole records.
    std::string rewrite_history(std::uint64_t run, std::string_view piece) {
        if (identity_) return std::string(piece);
        if (run != history_.run || !history_.started) {
            history_ = history_state{};
            history_.run = run;
            history_.started = true;
        }
        std::string out;
        writer w(out);
        history_item item;
        for (std::size_t pos = 0, start = 0; history_.cursor.next(piece, pos, item); start = pos) {
            switch (item.kind) {
            case history_record::key: {
                std::string key;
                run_data_key_into(key, default_namespace, run, 0, 0, {});
                key.resize(13);
                key.append(item.bytes);
                const auto at = address_of(key);
                const std::uint16_t stored = at ? at->slot : 0;
                if (!at || !rewrite(key, nullptr)) {
                    history_.numbers.push_back(no_key);
                    history_.keys.emplace_back();
                    history_.stored.push_back(0);
                    break;
                }
                history_.numbers.push_back(history_.next++);
                history_.stored.push_back(stored);
                const std::string_view tail = std::string_view(key).substr(13);
                w.fixed(static_cast<std::uint8_t>(history_record::key));
                w.varint(tail.size());
                w.bytes(tail.data(), tail.size());
                history_.keys.push_back(std::move(key));
                break;
            }
            case history_record::value: {
                const std::uint32_t number = history_.numbers[item.key];
                if (number == no_key) break;
                std::string bytes(item.bytes);
                const std::string& key = history_.keys[item.key];
                const auto to = load_big_endian<std::uint16_t>(key.data() + 14);
                if (current_.slots[to].rewrite &&
                    !current_.slots[to].rewrite(key, history_.stored[item.key], bytes, *this))
                    throw error(errc::corruption, "inmem: " + file_ + " holds, in the history of run " +
                                                      std::to_string(run) + ", a record its family cannot read: " +
                                                      describe_key(key));
                added_.clear(); // (what old versions would derive, the latest already did)
                w.fixed(static_cast<std::uint8_t>(history_record::value));
                w.varint(number);
                w.varint(item.version - item.written);
                w.varint(bytes.size());
                w.bytes(bytes.data(), bytes.size());
                break;
            }
            default: out.append(piece.substr(start, pos - start)); break; // commits, compactions: as they are
            }
        }
        if (!history_.cursor.ok()) return std::string(piece); // damaged: the history's own load says so
        return out;
    }

    std::pair<std::size_t, std::size_t> log_types(std::uint8_t primitive) const override {
        for (const auto& log : logs_)
            if (log.primitive == primitive) return {log.stored, log.current};
        return {0, 0};
    }

    void add(std::string key, std::string bytes) const override { added_.emplace_back(std::move(key), std::move(bytes)); }

    /// Records the rewrites since the last call derived anew (type index entries), to be
    /// stored beside the record that made them; taken, they are forgotten.
    std::vector<std::pair<std::string, std::string>> take_added() { return std::exchange(added_, {}); }

    std::uint16_t slot_of(std::uint16_t stored) const override {
        return stored < slots_.size() && slots_[stored].to != removed ? slots_[stored].to : stored;
    }

    bool convert(std::uint16_t stored, std::string_view value, std::string& out) const override {
        if (stored >= slots_.size() || !slots_[stored].plan || slots_[stored].plan->identical()) return false;
        try {
            out = migrate_value(*slots_[stored].plan, value);
            converted_ = true;
        } catch (const error& e) {
            throw error(e.code(), "inmem: " + file_ + ": a " + label(slots_[stored]) + " value: " + bare(e));
        }
        return true;
    }

private:
    static constexpr std::uint16_t removed = 0xFFFF;
    static constexpr std::uint32_t no_key = 0xFFFFFFFF;

    struct slot_map {
        std::string name;
        std::uint8_t primitive = 0;
        std::uint16_t to = removed;
        std::optional<migration_plan> plan; // when the layout changed
    };
    // The running state of the run whose history pieces are being rewritten.
    struct history_state {
        std::uint64_t run = 0;
        bool started = false;
        history_cursor cursor;
        std::vector<std::uint32_t> numbers; // a stored key's number -> its new one (no_key: dropped)
        std::vector<std::string> keys;      // -> the whole key as the program's schema has it
        std::vector<std::uint16_t> stored;  // -> the slot the files gave it
        std::uint32_t next = 0;
    };

    static std::string joined(const std::vector<std::string>& names) {
        std::string out;
        for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
        return out;
    }

    // As the schema declares it: "kv<Note>", "events<ToolCall>".
    static std::string label(const schema_stamp::slot& s) { return label(s.primitive, s.name); }
    static std::string label(const slot_map& s) { return label(s.primitive, s.name); }
    static std::string label(std::uint8_t p, const std::string& name) {
        const std::string_view family = to_string(static_cast<primitive>(p));
        return (family == "?" ? "primitive " + std::to_string(p) : std::string(family)) + "<" + name + ">";
    }

    // An error's own text, without "inmem: " and the code's message that what() adds.
    static std::string bare(const error& e) {
        std::string why = e.what();
        if (why.starts_with("inmem: ")) why.erase(0, 7);
        const std::string suffix = ": " + e.code().message();
        if (why.ends_with(suffix)) why.resize(why.size() - suffix.size());
        return why;
    }

    [[noreturn]] void refuse(const std::string& why) const {
        throw error(errc::schema_mismatch, "inmem: " + file_ + " was written under another schema: " + why);
    }

    const schema_stamp& current_;
    std::string file_;
    bool identity_ = false;
    std::vector<slot_map> slots_; // by stored slot
    std::vector<std::string> changes_;
    std::uint64_t rewritten_ = 0, dropped_ = 0;
    mutable bool converted_ = false; // convert() changed the record rewrite() is at
    struct log_types_of {
        std::uint8_t primitive;
        std::size_t stored, current;
    };
    std::vector<log_types_of> logs_; // one-log families: their types' counts, stored and now
    mutable std::vector<std::pair<std::string, std::string>> added_;
    history_state history_;
};

} // namespace inmem::detail
