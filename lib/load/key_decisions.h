#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "key_table.h"
#include "load_counts.h"
#include "sha256.h"

namespace offpeak {

struct NdjsonRecord;

// Flush a batch at this many lines or bytes of line data, whichever comes first.
inline constexpr std::size_t kBatchRows = 16384;
inline constexpr std::size_t kBatchBytes = std::size_t{8} << 20;

// A (region, source) of the input: how many of its lines the load has seen, and whether its
// rows in the table have been swept into the key table.
struct Pair {
  std::string region, source;
  LoadCounts counts;            // what became of the pair's lines
  std::uint64_t changed = 0;    // keys first staged as changed: not yet counted
  std::uint64_t untracked = 0;  // lines staged with no key state: not yet counted
  std::uint64_t lines = 0;      // lines not superseded within their batch, which a sweep weighs
  std::uint64_t next_look = 0;  // consider a sweep when the expected lines reach this
  bool swept = false;
};

// A line's fetched_at when it has none: older than any time, so that a line with one wins.
inline constexpr std::int64_t kNoFetchedAt = std::numeric_limits<std::int64_t>::min();

// A good line, its text in the batch's arena.
struct Row {
  std::uint64_t id = 0;     // of region, source and key: KeyHash::id
  std::uint64_t check = 0;  // content_check of the key and record
  Sha256Digest hash;
  std::int64_t fetched_at = kNoFetchedAt;  // PostgreSQL's binary timestamp
  Pair* pair = nullptr;                    // its region and source
  std::uint32_t offset = 0;  // region, source, key and record follow each other in the arena
  std::uint32_t region_size = 0, source_size = 0, key_size = 0, record_size = 0;
  bool superseded = false;   // a later line of this batch has the same key
  bool untracked = false;    // its key did not fit in the table of keys: settled at the end
  bool seen_before = false;  // an earlier batch had the key
  KeyState outcome = KeyState::kNone;

  [[nodiscard]] std::string_view hash_bytes() const {
    return {reinterpret_cast<const char*>(hash.data()), hash.size()};
  }
};

// Lines on their way to the table. A batch is submitted (lookups sent) and completed (answers
// read, rows written) later, while the next batch is read.
struct Batch {
  std::string arena;
  std::vector<Row> rows;
  std::vector<Row*> live;            // not superseded, in input order
  std::vector<Row*> in_transaction;  // looked up inside the load's transaction
  std::vector<Row*> outside;         // looked up by lookup connection `lookup`
  std::size_t lookup = 0;

  // Adds a good line of `pair` fetched at `fetched_at` (or kNoFetchedAt): its text to the
  // arena, its key's id (cut by `id_mask`, which tests narrow) and its record's SHA-256.
  void add(const NdjsonRecord& record, std::int64_t fetched_at, Pair& pair, Sha256& sha,
           std::uint64_t id_mask);

  [[nodiscard]] std::string_view region(const Row& r) const {
    return {arena.data() + r.offset, r.region_size};
  }
  [[nodiscard]] std::string_view source(const Row& r) const {
    return {arena.data() + r.offset + r.region_size, r.source_size};
  }
  [[nodiscard]] std::string_view key(const Row& r) const {
    return {arena.data() + r.offset + r.region_size + r.source_size, r.key_size};
  }
  // Region, source and key side by side: one text that names the key.
  [[nodiscard]] std::string_view whole_key(const Row& r) const {
    return {arena.data() + r.offset, std::size_t{r.region_size} + r.source_size + r.key_size};
  }
  [[nodiscard]] std::string_view record(const Row& r) const {
    return {arena.data() + r.offset + r.region_size + r.source_size + r.key_size, r.record_size};
  }
  [[nodiscard]] bool same_key(const Row& x, const Row& y) const {
    return x.id == y.id && x.region_size == y.region_size && x.source_size == y.source_size &&
           whole_key(x) == whole_key(y);
  }
  [[nodiscard]] bool full() const {
    return rows.size() >= kBatchRows || arena.size() >= kBatchBytes;
  }
  void clear();
};

// Newest wins within a batch: of the lines of a key, the one with the latest fetched_at, the
// last of them on a tie (lines without one are older than any with one). Marks each other
// line superseded and counts it as a duplicate of its pair. `slots` is scratch space, kept between
// batches.
void supersede_repeats(Batch& batch, std::vector<std::int32_t>& slots);

// Decides a line from what the key table knew of its key before (`before`, and with kStored
// the stored content check and day): sets its outcome and flags, counts it as a duplicate
// when an earlier batch had the key, and returns true when only a lookup in the table can tell.
[[nodiscard]] bool classify(Row& row, KeyState before, std::uint64_t stored_check,
                            bool table_was_empty, std::uint16_t stored_day = 0);

// What becomes of a decided line: nothing (unchanged), a new row, or a staged line that the
// final UPDATE settles by each key's last line. `first` is the state it is staged with.
enum class Write { kNothing, kInsert, kStage };
struct LineWrite {
  Write write = Write::kNothing;
  KeyState first = KeyState::kNone;
};
// `known` is what the key table now holds for the line's key.
[[nodiscard]] LineWrite write_of(const Row& row, KeyState known);

// Counts a written line under its pair, as far as its fate is known, and keeps its outcome
// in the key table for later lines of its key.
void count_written(Row& row, const LineWrite& write, KeyTable& keys);

// What the final UPDATE did for one pair's staged keys, by the state of their first line:
// u changed, c unchanged, n not kept, i inserted, s stale.
struct StagedTally {
  std::string region, source;
  std::uint64_t written_u = 0, written_c = 0, written_n = 0;  // rows updated
  std::uint64_t missing_u = 0, missing_c = 0, missing_n = 0;  // rows inserted
  std::uint64_t keys_n = 0;                                   // keys the load did not keep
  std::uint64_t missing_i = 0;             // keys taken for another's repeats, inserted after all
  std::uint64_t stale_u = 0, stale_n = 0;  // rows left alone: their fetched_at is newer
  // Keys whose first line was stale: written, inserted, still stale, and all of them.
  std::uint64_t written_s = 0, missing_s = 0, stale_s = 0, keys_s = 0;
};

// Moves a pair's counts to their final values from the tally of its staged keys: afterwards
// its lines are the sum of its other counts.
void reconcile(Pair& pair, const StagedTally& tally);

// The pairs' counts summed.
template <typename Pairs>
LoadCounts sum_counts(const Pairs& pairs) {
  LoadCounts totals;
  for (const auto& [name, pair] : pairs) {
    totals.lines += pair.counts.lines;
    totals.inserted += pair.counts.inserted;
    totals.updated += pair.counts.updated;
    totals.unchanged += pair.counts.unchanged;
    totals.duplicates += pair.counts.duplicates;
    totals.stale += pair.counts.stale;
    totals.rejected += pair.counts.rejected;
    totals.deleted += pair.counts.deleted;
  }
  return totals;
}

}  // namespace offpeak
