#include <catch2/catch.hpp>

#include <string>

#include "key_table.h"

using offpeak::content_check;
using offpeak::hash_key;
using offpeak::KeyState;
using offpeak::KeyTable;

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

TEST_CASE("KeyTable gives a swept key's check to the first line that has it") {
  KeyTable keys;
  keys.store(8, 1111);
  CHECK(keys.get(8) == KeyState::kStored);
  std::uint64_t check = 0;
  CHECK(keys.see(8, check) == KeyState::kStored);
  CHECK(check == 1111);
  CHECK(keys.get(8) == KeyState::kPending);
  // A key the input has had already is not overwritten by a later sweep.
  keys.set(8, KeyState::kUpdated);
  keys.store(8, 2222);
  CHECK(keys.get(8) == KeyState::kUpdated);
  keys.store(16, 3333);
  keys.store(16, 4444);  // one key, stored again: the last check counts
  CHECK(keys.see(16, check) == KeyState::kStored);
  CHECK(check == 4444);
}

TEST_CASE("KeyTable keeps states and checks as it grows") {
  KeyTable keys;
  const auto id = [](std::uint64_t i) { return hash_key(std::to_string(i), 0, 0).id; };
  constexpr std::uint64_t n = 300000;  // several doublings past the first 65536 slots
  for (std::uint64_t i = 0; i < n; i += 2) keys.store(id(i), i * 3);
  std::uint64_t check = 0;
  for (std::uint64_t i = 1; i < n; i += 2) CHECK(keys.see(id(i), check) == KeyState::kNone);
  keys.reserve(n);
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
