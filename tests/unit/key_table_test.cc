#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "key_table.h"

using offpeak::before_day;
using offpeak::content_check;
using offpeak::hash_key;
using offpeak::kDeletedCheck;
using offpeak::KeyState;
using offpeak::KeyTable;
using offpeak::stored_day;

TEST_CASE("hash_key tells keys apart by where region and source end") {
  const auto a = hash_key("abc[1]", 2, 1);  // region "ab", source "c"
  const auto b = hash_key("abc[1]", 1, 2);  // region "a", source "bc"
  CHECK(a.id != b.id);
  CHECK(a.mix != b.mix);
  CHECK(hash_key("abc[1]", 2, 1).id == a.id);
  CHECK(hash_key("abc[2]", 2, 1).id != a.id);
}

TEST_CASE("content_check depends on the record's hash and on the key") {
  const auto key = hash_key("xnysbars[\"AAPL\"]", 4, 4);
  const auto other = hash_key("xnysbars[\"MSFT\"]", 4, 4);
  const std::string hash(32, 'a'), changed = std::string(31, 'a') + 'b', prefix = "b" + hash;
  CHECK(content_check(key, hash) == content_check(key, hash));
  CHECK(content_check(key, hash) != content_check(other, hash));
  CHECK(content_check(key, prefix) != content_check(key, hash));
  // Only the first 64 bits of the hash count; a short hash still gives a check.
  CHECK(content_check(key, changed) == content_check(key, hash));
  CHECK(content_check(key, "") == content_check(key, std::string(8, '\0')));
}

TEST_CASE("KeyTable keeps the state of each key the input has had") {
  KeyTable keys;
  std::uint64_t check = 0;
  CHECK(keys.get(42 << 3) == KeyState::kNone);
  CHECK(keys.see(42 << 3, check) == KeyState::kNone);
  CHECK(keys.get(42 << 3) == KeyState::kPending);
  CHECK(keys.see(42 << 3, check) == KeyState::kPending);
  keys.set(42 << 3, KeyState::kInserted);
  CHECK(keys.see(42 << 3, check) == KeyState::kInserted);
  keys.set(7 << 3, KeyState::kUpdated);  // not in the table: nothing changes
  CHECK(keys.get(7 << 3) == KeyState::kNone);
  // Ids are kept to their top 61 bits.
  CHECK(keys.get((42 << 3) | 5) == KeyState::kInserted);
}

TEST_CASE("KeyTable keeps to its limit and says which keys it could not take") {
  // 65,536 slots of 8 bytes to start with; growing to 131,072 takes 1 MiB with the old half
  // MiB beside it, which 1.5 MiB allows, and holds 98,304 keys; growing again would not fit.
  KeyTable keys(std::size_t{3} << 19);
  const auto id = [](std::uint64_t i) { return hash_key(std::to_string(i), 0, 0).id; };
  std::uint64_t check = 0;
  for (std::uint64_t i = 0; i < 98304; ++i) REQUIRE(keys.see(id(i), check) == KeyState::kNone);
  CHECK(keys.see(id(98304), check) == KeyState::kUntracked);
  CHECK(keys.see(id(98304), check) == KeyState::kUntracked);
  CHECK(keys.get(id(98304)) == KeyState::kNone);
  // The keys it has stay known, and their states can change.
  CHECK(keys.see(id(5), check) == KeyState::kPending);
  keys.set(id(5), KeyState::kUnchanged);
  CHECK(keys.get(id(5)) == KeyState::kUnchanged);
  // No room for a sweep's keys either: checks and rows triple the bytes a slot takes.
  CHECK_FALSE(keys.reserve_stored(1));
  KeyTable roomy(std::size_t{7} << 19);
  CHECK(roomy.reserve_stored(98304));
  CHECK_FALSE(roomy.reserve_stored(98305));
}

TEST_CASE("KeyTable gives a swept key's check to the first line that has it") {
  KeyTable keys;
  REQUIRE(keys.reserve_stored(2));
  CHECK(keys.store(8, 1111));
  CHECK(keys.get(8) == KeyState::kStored);
  std::uint64_t check = 0;
  CHECK(keys.see(8, check) == KeyState::kStored);
  CHECK(check == 1111);
  CHECK(keys.get(8) == KeyState::kPending);
  // A key the input has had already is not overwritten by a later sweep.
  keys.set(8, KeyState::kUpdated);
  CHECK(keys.store(8, 2222));
  CHECK(keys.get(8) == KeyState::kUpdated);
  CHECK(keys.store(16, 3333));
  CHECK(keys.store(16, 4444));  // one key, stored again: the last check counts
  CHECK(keys.see(16, check) == KeyState::kStored);
  CHECK(check == 4444);
}

TEST_CASE("KeyTable gives a swept key's day to the first line that has it") {
  KeyTable keys;
  REQUIRE(keys.reserve_stored(2));
  CHECK(keys.store(8, 1111, 9500));
  CHECK(keys.store(16, 2222));
  std::uint64_t check = 0;
  std::uint16_t day = 1;
  CHECK(keys.see(8, check, day) == KeyState::kStored);
  CHECK(check == 1111);
  CHECK(day == 9500);
  CHECK(keys.see(16, check, day) == KeyState::kStored);
  CHECK(day == 0);
  // A key the input has had gives no day.
  day = 7;
  CHECK(keys.see(8, check, day) == KeyState::kPending);
  CHECK(day == 7);
}

TEST_CASE("A swept row's day tells lines older than it, and nothing else") {
  constexpr std::int64_t day = std::int64_t{86400} * 1000000;
  // 2026-01-05T02:00:00Z, 9501 days from 2000-01-01
  const std::int64_t fetched = 9501 * day + 2 * 3600 * std::int64_t{1000000};
  const std::uint16_t stored = stored_day(fetched);
  CHECK(stored == 9502);
  CHECK(before_day(fetched - day, stored));     // the day before
  CHECK(before_day(9501 * day - 1, stored));    // a microsecond before the day began
  CHECK_FALSE(before_day(9501 * day, stored));  // the same day: the server decides
  CHECK_FALSE(before_day(fetched + 1, stored));
  CHECK_FALSE(before_day(0, 0));  // a row without fetched_at
  CHECK(stored_day(-1) == 0);     // before 2000: not kept
  CHECK(stored_day(std::int64_t{70000} * day) == 0);
}

TEST_CASE("KeyTable keeps states and checks as it grows") {
  KeyTable keys;
  const auto id = [](std::uint64_t i) { return hash_key(std::to_string(i), 0, 0).id; };
  constexpr std::uint64_t n = 300000;  // several doublings past the first 65536 slots
  REQUIRE(keys.reserve_stored(n / 2));
  for (std::uint64_t i = 0; i < n; i += 2) REQUIRE(keys.store(id(i), i * 3));
  std::uint64_t check = 0;
  for (std::uint64_t i = 1; i < n; i += 2) CHECK(keys.see(id(i), check) == KeyState::kNone);
  CHECK(keys.reserve_stored(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      check = 0;
      REQUIRE(keys.see(id(i), check) == KeyState::kStored);
      REQUIRE(check == i * 3);
    } else {
      REQUIRE(keys.get(id(i)) == KeyState::kPending);
    }
  }
}

TEST_CASE("KeyTable says which swept keys found no room past the rows reserved") {
  // 2 MiB: 65,536 slots with checks and rows beside the old ones, 49,152 keys; no room to
  // grow.
  KeyTable keys(std::size_t{1} << 21);
  const auto id = [](std::uint64_t i) { return hash_key(std::to_string(i), 0, 0).id; };
  REQUIRE(keys.reserve_stored(40000));
  // Rows another session added after the count: the sweep reads more than it reserved.
  std::uint64_t kept = 0;
  for (std::uint64_t i = 0; i < 50000; ++i) {
    if (keys.store(id(i), i)) {
      ++kept;
      REQUIRE(keys.get(id(i)) == KeyState::kStored);
    } else {
      REQUIRE(keys.get(id(i)) == KeyState::kNone);
    }
  }
  CHECK(kept == 49152);
}

TEST_CASE("KeyTable grows for swept keys past the rows reserved while its limit allows") {
  // 8 MiB: the 65,536 slots reserved hold 49,152 keys; the table doubles to take 60,000.
  KeyTable keys(std::size_t{8} << 20);
  const auto id = [](std::uint64_t i) { return hash_key(std::to_string(i), 0, 0).id; };
  REQUIRE(keys.reserve_stored(40000));
  for (std::uint64_t i = 0; i < 60000; ++i) REQUIRE(keys.store(id(i), i));
  std::uint64_t check = 0;
  for (std::uint64_t i = 0; i < 60000; ++i) {
    REQUIRE(keys.see(id(i), check) == KeyState::kStored);
    REQUIRE(check == i);
  }
}

TEST_CASE("KeyTable that could not keep a swept key takes no new key after it") {
  // What makes a sweep that found no room for some rows safe: the table never grows after
  // it, so a line of a key it dropped is never taken for a key the table does not have
  // (kNone, which a swept pair would insert), but is untracked, however many keys follow.
  KeyTable keys(std::size_t{1} << 21);
  const auto id = [](std::uint64_t i) { return hash_key(std::to_string(i), 0, 0).id; };
  REQUIRE(keys.reserve_stored(40000));
  std::vector<std::uint64_t> dropped;
  for (std::uint64_t i = 0; i < 50000; ++i)
    if (!keys.store(id(i), i)) dropped.push_back(i);
  REQUIRE(dropped.size() == 50000 - 49152);
  std::uint64_t check = 0;
  for (std::uint64_t i = 50000; i < 150000; ++i)
    REQUIRE(keys.see(id(i), check) == KeyState::kUntracked);
  CHECK_FALSE(keys.reserve_stored(1));
  CHECK_FALSE(keys.store(id(200000), 0));
  for (const std::uint64_t i : dropped) REQUIRE(keys.see(id(i), check) == KeyState::kUntracked);
  // The keys it kept stay known.
  CHECK(keys.see(id(0), check) == KeyState::kStored);
  CHECK(check == 0);
}
