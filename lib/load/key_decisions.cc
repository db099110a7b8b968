// What the loader decides about each line from what it knows of the keys, with no database:
// which lines repeat a key within their batch, which are new, changed or unchanged by the
// key table, which must be looked up, what is written for each, and how the counts come out
// once the final UPDATE has settled the staged lines.
//
// The idea that keeps the counts right: every line is counted exactly once, as soon as its
// fate is certain. Lines whose fate only the final UPDATE knows (changed records, repeats of
// a key from an earlier batch, keys the table of keys could not take) are counted from its
// tally, and a key's earlier lines turn into its duplicates.

#include "key_decisions.h"

#include <algorithm>

#include "ndjson_input.h"

namespace offpeak {

void Batch::add(const NdjsonRecord& record, std::int64_t fetched_at, Pair& pair, Sha256& sha,
                std::uint64_t id_mask) {
  Row row;
  row.fetched_at = fetched_at;
  row.offset = static_cast<std::uint32_t>(arena.size());
  row.region_size = static_cast<std::uint32_t>(record.region.size());
  row.source_size = static_cast<std::uint32_t>(record.source.size());
  row.key_size = static_cast<std::uint32_t>(record.key.size());
  row.record_size = static_cast<std::uint32_t>(record.record.size());
  for (const std::string_view part : {record.region, record.source, record.key, record.record})
    arena.append(part);
  const KeyHash key = hash_key(whole_key(row), row.region_size, row.source_size);
  row.id = key.id & id_mask;
  row.hash = sha.digest({record.record});
  row.check = content_check(key, row.hash_bytes());
  row.pair = &pair;
  ++pair.counts.lines;
  rows.push_back(row);
}

void Batch::clear() {
  arena.clear();
  rows.clear();
  live.clear();
  in_transaction.clear();
  outside.clear();
}

void supersede_repeats(Batch& batch, std::vector<std::int32_t>& slots) {
  std::size_t capacity = 1;
  while (capacity < batch.rows.size() * 2) capacity *= 2;
  slots.assign(capacity, -1);
  for (std::size_t i = 0; i < batch.rows.size(); ++i) {
    Row& row = batch.rows[i];
    std::size_t slot = row.id & (capacity - 1);
    while (slots[slot] >= 0 && !batch.same_key(batch.rows[slots[slot]], row))
      slot = (slot + 1) & (capacity - 1);
    if (slots[slot] < 0) {
      slots[slot] = static_cast<std::int32_t>(i);
      continue;
    }
    ++row.pair->counts.duplicates;  // the same key, so the same pair
    Row& kept = batch.rows[slots[slot]];
    if (kept.fetched_at > row.fetched_at) {
      row.superseded = true;
    } else {
      kept.superseded = true;
      slots[slot] = static_cast<std::int32_t>(i);
    }
  }
}

bool classify(Row& row, KeyState before, std::uint64_t stored_check, bool table_was_empty,
              std::uint16_t stored_day) {
  row.outcome = KeyState::kInserted;
  row.seen_before = in_input(before);
  if (before == KeyState::kUntracked) {
    // With the table of keys full, whether the key is new, or has come before, only the
    // end tells.
    row.untracked = true;
  } else if (row.seen_before) {
    // An earlier batch's line becomes the duplicate; this one is staged and decides at the
    // end, when the key's last line is known.
    ++row.pair->counts.duplicates;
  } else if (before == KeyState::kStored) {
    // A changed record is only likely to be in the table: its staged line settles it. One
    // fetched before the day of the row's fetched_at is stale for certain: nothing to stage.
    const bool older = row.fetched_at != kNoFetchedAt && before_day(row.fetched_at, stored_day);
    row.outcome = stored_check == row.check ? KeyState::kUnchanged
                  : older                   ? KeyState::kStale
                                            : KeyState::kUpdated;
  } else if (!table_was_empty && !row.pair->swept) {
    // Only a lookup tells. (A key new to this load and to a table that was empty when the
    // load began, or to its pair's swept keys, is new: it stays kInserted.)
    return true;
  }
  return false;
}

LineWrite write_of(const Row& row, KeyState known) {
  // New keys go straight into the table. A changed record, and any line of a key that an
  // earlier line had, are staged: whether the key's row is written depends on its last line,
  // which only the end of the input tells. So a key whose lines change back and forth within
  // the input is written once at most, and not at all when its last line matches the table.
  if (row.untracked) return {Write::kStage, KeyState::kUntracked};
  if (row.seen_before) return {Write::kStage, known};
  if (row.outcome == KeyState::kUpdated) return {Write::kStage, KeyState::kUpdated};
  if (row.outcome == KeyState::kInserted) return {Write::kInsert, KeyState::kInserted};
  return {};
}

void count_written(Row& row, const LineWrite& write, KeyTable& keys) {
  LoadCounts& counts = row.pair->counts;
  if (row.untracked) {
    ++row.pair->untracked;
    return;
  }
  if (!row.seen_before) {
    if (write.write == Write::kInsert) ++counts.inserted;
    if (write.write == Write::kStage) ++row.pair->changed;
    if (write.write == Write::kNothing)
      ++(row.outcome == KeyState::kStale ? counts.stale : counts.unchanged);
    keys.set(row.id, row.outcome);
  }
}

void reconcile(Pair& pair, const StagedTally& t) {
  // Keys first staged as changed, and keys not kept, are counted now; keys first counted
  // unchanged may turn out updated, or deleted meanwhile and inserted again. Only keys that
  // share an id can make the unchanged count fall below zero, their lines having been taken
  // for repeats: those are moved back from the duplicates, and the counts still add up.
  LoadCounts& counts = pair.counts;
  counts.updated += t.written_u + t.written_c + t.written_n;
  counts.inserted += t.missing_u + t.missing_c + t.missing_n + t.missing_i;
  // Keys whose newest line is older than their row are stale; only keys first staged as
  // changed or not kept can be, a key first unchanged having matched its row. A key first
  // counted stale whose last line was newer than its row, or matched it, is not.
  counts.stale += t.stale_u + t.stale_n;
  const std::uint64_t unchanged_s = t.keys_s - t.written_s - t.missing_s - t.stale_s;
  // (Never below zero: only keys sharing an id, of two pairs, could take it there.)
  counts.stale -= std::min<std::uint64_t>(counts.stale, t.written_s + t.missing_s + unchanged_s);
  counts.updated += t.written_s;
  counts.inserted += t.missing_s;
  counts.unchanged += unchanged_s;
  const std::int64_t unchanged =
      static_cast<std::int64_t>(counts.unchanged + pair.changed + t.keys_n) -
      static_cast<std::int64_t>(t.written_u + t.missing_u + t.written_n + t.missing_n +
                                t.written_c + t.missing_c + t.stale_u + t.stale_n);
  const std::int64_t duplicates = static_cast<std::int64_t>(counts.duplicates + pair.untracked) -
                                  static_cast<std::int64_t>(t.keys_n + t.missing_i) +
                                  std::min<std::int64_t>(unchanged, 0);
  counts.unchanged = static_cast<std::uint64_t>(std::max<std::int64_t>(unchanged, 0));
  counts.duplicates = static_cast<std::uint64_t>(std::max<std::int64_t>(duplicates, 0));
  pair.changed = pair.untracked = 0;
}

}  // namespace offpeak
