// What offpeak-load knows of the keys of a load: which of them the input has had, with the
// outcome of their first lines, and which rows a sweep found in the table with what content,
// and from when.

#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include <xxhash.h>

namespace offpeak {

// What the load knows of a key. kPending to kUnchanged, and kStale, are the states of keys the
// input has had (in_input); kInserted, kUpdated, kUnchanged and kStale the outcome of the
// key's first line.
enum class KeyState : std::uint8_t {
  kNone,       // nothing: not in the input so far, nor in a swept part of the table
  kStored,     // in the table, as a sweep read it, and not in the input so far
  kPending,    // in the input, its outcome not known yet
  kInserted,   // new to the table
  kUpdated,    // changed: staged, to be written at the end if the key's last line says so
  kUnchanged,  // the same as the table's row
  kUntracked,  // never kept: a line whose key the full table could not take
  kStale,      // older than the table's row, as its first line was: nothing written
};

// Whether the input has had a key in this state (its first line's outcome, or pending).
inline bool in_input(KeyState s) {
  return (s >= KeyState::kPending && s <= KeyState::kUnchanged) || s == KeyState::kStale;
}

// A swept row's day: the days from 2000-01-01 (UTC) to its fetched_at (PostgreSQL's binary
// timestamp, in microseconds from then), plus one; 0 when it has none, or one out of range.
// Two bytes a key tell a line older than its row without asking the server; a line of the
// row's own day still goes to the server, which compares to the microsecond.
inline std::uint16_t stored_day(std::int64_t micros) {
  constexpr std::int64_t kMicrosPerDay = std::int64_t{86400} * 1000000;
  if (micros < 0 || micros / kMicrosPerDay >= 0xffff) return 0;
  return static_cast<std::uint16_t>(micros / kMicrosPerDay + 1);
}

// Whether a line fetched at `micros` (PostgreSQL's binary timestamp) is older than the day
// `day` began, so older than a row fetched that day.
inline bool before_day(std::int64_t micros, std::uint16_t day) {
  constexpr std::int64_t kMicrosPerDay = std::int64_t{86400} * 1000000;
  return day != 0 && micros < (std::int64_t{day} - 1) * kMicrosPerDay;
}

// A key's identity: 64 bits name it among the keys of the input and the table, 64 more go
// into its content check.
struct KeyHash {
  std::uint64_t id = 0;
  std::uint64_t mix = 0;
};

// Region, source and key lie side by side in `whole`; with the sizes of the first two they
// name the key exactly.
inline KeyHash hash_key(std::string_view whole, std::size_t region_size, std::size_t source_size) {
  const XXH128_hash_t h = XXH3_128bits_withSeed(whole.data(), whole.size(),
                                                std::uint64_t{region_size} << 32 ^ source_size);
  return {h.low64, h.high64};
}

// What decides that a stored record is the same as a line's: the first 64 bits of its
// SHA-256, mixed with 64 more bits of the key's own hash. A changed record passes for the
// stored one only when those 64 bits of the two SHA-256s agree (one chance in 2^64), and a
// line passes for another key's row only when the id and this check both match (about one
// chance in 2^120).
inline std::uint64_t content_check(const KeyHash& key, std::string_view record_hash) {
  std::uint64_t prefix = 0;
  std::memcpy(&prefix, record_hash.data(), std::min(record_hash.size(), sizeof prefix));
  return prefix ^ key.mix;
}

// The content check a sweep stores for a row marked deleted (vanished.h), whose record_hash is
// no SHA-256: no line matches it, and it is no live row that the input lacks.
inline constexpr std::uint64_t kDeletedCheck = 0x6f66667064656c64;  // "offpdeld"

// The keys the load knows: 61 bits of each id with a 3-bit state in one 64-bit word, by
// open addressing, so that a lookup reads one cache line: 11 to 21 bytes a key. Keys that a
// sweep read from the table also have their content check and day, in parallel arrays that
// exist only once a sweep has happened (24 to 48 bytes a key). Two keys of one id (about one
// chance in 10^6 in a load of a million keys against a table of ten million) are still written as
// their lines say: the second one is staged, as a repeated line or as a changed record, and settled
// at the end by its text. Only the counts may then put a line under the wrong heading.
//
// The table never takes more than its limit, growing included: when a key would take it past
// the limit, the key is not kept (kUntracked), and the caller decides it another way.
class KeyTable {
 public:
  static constexpr std::size_t kDefaultMaxBytes = std::size_t{48} << 20;

  explicit KeyTable(std::size_t max_bytes = kDefaultMaxBytes)
      : max_bytes_(max_bytes), slots_(kFirstSlots) {}

  // Makes room for `more` keys with content checks and days at once, so that a sweep grows the
  // table once; false, changing nothing, when that would pass the limit.
  [[nodiscard]] bool reserve_stored(std::size_t more) {
    std::size_t capacity = slots_.size();
    while ((size_ + more) * 4 > capacity * 3) capacity *= 2;
    if (!fits(capacity, true)) return false;
    if (capacity != slots_.size() || checks_.empty()) rehash(capacity, true);
    return true;
  }

  // A key a sweep found in the table, with its content check, after reserve_stored made room
  // for the rows it counted; ignored when the input has had the key already. Rows added
  // after the count grow the table as any key does. False when the key found no room: the
  // table is then at its limit for good (it never shrinks, and a growth that does not fit now
  // never will), so a later line of the key is kUntracked, never kNone.
  [[nodiscard]] bool store(std::uint64_t id, std::uint64_t check, std::uint16_t day = 0) {
    const std::size_t slot = insert(id, KeyState::kStored);
    if (slot == kNoSlot) return false;
    if (state(slots_[slot]) == KeyState::kStored) {
      checks_[slot] = check;
      days_[slot] = day;
    }
    return true;
  }

  // A line of the input has the key: returns what was known before, and makes it kPending
  // when that was kNone or kStored. With kStored, `check` and `day` get what the sweep read.
  // kUntracked: the key was unknown, and the table is full.
  KeyState see(std::uint64_t id, std::uint64_t& check, std::uint16_t& day) {
    const std::size_t slot = find(id);
    if (slots_[slot] == 0)
      return insert(id, KeyState::kPending) == kNoSlot ? KeyState::kUntracked : KeyState::kNone;
    const KeyState before = state(slots_[slot]);
    if (before == KeyState::kStored) {
      check = checks_[slot];
      day = days_[slot];
      slots_[slot] = encode(id, KeyState::kPending);
    }
    return before;
  }
  KeyState see(std::uint64_t id, std::uint64_t& check) {
    std::uint16_t day = 0;
    return see(id, check, day);
  }

  // Brings the slot where the id belongs into the cache, ahead of a call that needs it: the
  // table is much larger than the cache, and keys come in no order.
  void prefetch(std::uint64_t id) const {
    const std::size_t slot = (id >> 3) & (slots_.size() - 1);
    __builtin_prefetch(&slots_[slot]);
    if (!checks_.empty()) {
      __builtin_prefetch(&checks_[slot]);
      __builtin_prefetch(&days_[slot]);
    }
  }

  // How many keys a sweep stored that the input has not had, but for those stored with the
  // check `except`.
  [[nodiscard]] std::size_t count_stored(std::uint64_t except) const {
    std::size_t count = 0;
    for (std::size_t i = 0; i < checks_.size(); ++i)
      count += slots_[i] != 0 && state(slots_[i]) == KeyState::kStored && checks_[i] != except;
    return count;
  }

  [[nodiscard]] KeyState get(std::uint64_t id) const {
    const std::uint64_t entry = slots_[find(id)];
    return entry == 0 ? KeyState::kNone : state(entry);
  }

  // Changes the state of a key in the table.
  void set(std::uint64_t id, KeyState new_state) {
    std::uint64_t& entry = slots_[find(id)];
    if (entry != 0) entry = encode(id, new_state);
  }

 private:
  static constexpr std::size_t kFirstSlots = std::size_t{1} << 16;
  static constexpr std::size_t kNoSlot = ~std::size_t{0};

  // An entry is never 0, which marks an empty slot: its state is never kNone.
  static std::uint64_t encode(std::uint64_t id, KeyState s) {
    return (id & ~std::uint64_t{7}) | static_cast<std::uint64_t>(s);
  }
  static KeyState state(std::uint64_t entry) { return static_cast<KeyState>(entry & 7); }

  // Bytes a slot takes, with a sweep's checks and days or without.
  static constexpr std::size_t slot_bytes(bool with_checks) {
    return sizeof(std::uint64_t) +
           (with_checks ? sizeof(std::uint64_t) + sizeof(std::uint16_t) : 0);
  }

  // Whether the table may have `capacity` slots, with checks or without, counting the old
  // arrays that a rehash holds while it fills the new ones.
  [[nodiscard]] bool fits(std::size_t capacity, bool with_checks) const {
    const std::size_t old = slots_.size() * slot_bytes(!checks_.empty());
    return capacity * slot_bytes(with_checks) + old <= max_bytes_;
  }

  // The slot of the id, or the empty slot where it belongs.
  [[nodiscard]] std::size_t find(std::uint64_t id) const {
    const std::uint64_t bits = id & ~std::uint64_t{7};
    const std::size_t mask = slots_.size() - 1;
    std::size_t slot = (id >> 3) & mask;
    while (slots_[slot] != 0 && (slots_[slot] & ~std::uint64_t{7}) != bits)
      slot = (slot + 1) & mask;
    return slot;
  }

  // The slot of the id, added with `s` when missing; kNoSlot when there is no room.
  std::size_t insert(std::uint64_t id, KeyState s) {
    std::size_t slot = find(id);
    if (slots_[slot] != 0) return slot;
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      const std::size_t capacity = slots_.size() * 2;
      if (!fits(capacity, !checks_.empty())) return kNoSlot;
      rehash(capacity, !checks_.empty());
      slot = find(id);
    }
    slots_[slot] = encode(id, s);
    ++size_;
    return slot;
  }

  void rehash(std::size_t capacity, bool with_checks) {
    std::vector<std::uint64_t> old_slots(capacity), old_checks(with_checks ? capacity : 0);
    std::vector<std::uint16_t> old_days(with_checks ? capacity : 0);
    old_slots.swap(slots_);
    old_checks.swap(checks_);
    old_days.swap(days_);
    for (std::size_t i = 0; i < old_slots.size(); ++i) {
      if (old_slots[i] == 0) continue;
      const std::size_t slot = find(old_slots[i]);
      slots_[slot] = old_slots[i];
      if (!old_checks.empty()) {
        checks_[slot] = old_checks[i];
        days_[slot] = old_days[i];
      }
    }
  }

  std::size_t max_bytes_;
  std::vector<std::uint64_t> slots_;
  std::vector<std::uint64_t> checks_;
  std::vector<std::uint16_t> days_;
  std::size_t size_ = 0;
};

}  // namespace offpeak
