// How the loader learns what the table holds for the input's keys: by lookups, one query per
// batch with its keys and hashes as array parameters, answered with the lines whose key is
// missing or whose hash differs; or by a sweep, one COPY that reads every key and hash of a
// (region, source) pair from the primary key's index into the key table, so that its lines
// are compared on the client (and, where the index has each row's fetched_at, its day: a line
// fetched before it is stale on the client too).
//
// A sweep trusts the count it made room for only as far as the key table agrees: rows that
// another session adds between the count and the COPY grow the table, and past its limit
// find no room. The table then takes no new key for the rest of the load, so every line of
// such a key is untracked and settled at the end; and the pair is not taken as swept, so that
// a key the table lacks is looked up rather than inserted even if that ever changed.

#include "lookups.h"

#include <algorithm>

#include <fmt/format.h>

#include "pg.h"
#include "pg_binary.h"

namespace offpeak {

Result<void> set_planner(PgConnection& db, const std::vector<PgConnection*>& lookups) {
  // The batch's keys are always few against a large table, which is a nested loop over the
  // primary key; a sweep or a count of a pair's rows reads the primary key's index alone.
  // That holds whatever the statistics of a table that grows during the load say, or when it
  // has none yet. And with plans made so costly, the server would compile each query for
  // tens of milliseconds.
  const std::string_view planner =
      "SET {0}enable_hashjoin = off; SET {0}enable_mergejoin = off; "
      "SET {0}enable_seqscan = off; SET {0}enable_bitmapscan = off; SET {0}jit = off";
  if (auto set = db.exec(fmt::format(fmt::runtime(planner), "LOCAL ")); !set) return set;
  for (PgConnection* lookup : lookups)
    if (auto set = lookup->exec(fmt::format(fmt::runtime(planner), "")); !set) return set;
  return {};
}

Result<void> send_lookup(PgConnection& conn, const std::string& table, const Batch& batch,
                         std::vector<Row*>& rows, bool with_fetched_at) {
  // Near the index's order, consecutive lookups share its pages. Region, source and key are
  // compared as one text: the index's order exactly when region and source are the same
  // throughout, as they mostly are.
  std::sort(rows.begin(), rows.end(),
            [&](const Row* x, const Row* y) { return batch.whole_key(*x) < batch.whole_key(*y); });
  PgArrayBuilder regions(kTextOid), sources(kTextOid), keys(kTextOid), hashes(kByteaOid),
      times(kTimestamptzOid);
  std::string time;
  for (const Row* row : rows) {
    regions.add(batch.region(*row));
    sources.add(batch.source(*row));
    keys.add(batch.key(*row));
    hashes.add(row->hash_bytes());
    if (!with_fetched_at) continue;
    time.clear();
    put_int64(time, row->fetched_at);
    if (row->fetched_at == kNoFetchedAt)
      times.add_null();
    else
      times.add(time);
  }
  // 0: no row; 1: another hash; 2: another hash, and the line older than the row (stale),
  // told where the index holds fetched_at beside the hash, so that the lookup reads no more
  // than the index.
  const std::string sql = fmt::format(
      "SELECT i.n, CASE WHEN t.record_hash IS NULL THEN 0 {} ELSE 1 END "
      "FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[]{}) WITH ORDINALITY "
      "AS i(region, source, key, hash{}, n) "
      "LEFT JOIN {} AS t ON t.region = i.region AND t.source = i.source AND t.key = i.key "
      "WHERE t.record_hash IS DISTINCT FROM i.hash",
      with_fetched_at ? "WHEN i.fetched_at < t.fetched_at THEN 2" : "",
      with_fetched_at ? ", $5::timestamptz[]" : "", with_fetched_at ? ", fetched_at" : "", table);
  std::vector<PgParam> params = {{regions.finish(), kTextArrayOid, true},
                                 {sources.finish(), kTextArrayOid, true},
                                 {keys.finish(), kTextArrayOid, true},
                                 {hashes.finish(), kByteaArrayOid, true}};
  if (with_fetched_at) params.push_back({times.finish(), kTimestamptzArrayOid, true});
  return conn.send_query(sql, params);
}

Result<void> read_lookup(PgConnection& conn, std::vector<Row*>& rows) {
  // Only the lines whose key is missing or whose hash differs come back.
  auto differing = conn.get_result();
  if (!differing) return std::move(differing).error();
  for (Row* row : rows) row->outcome = KeyState::kUnchanged;
  for (int i = 0; i < differing->rows(); ++i) {
    const auto index = differing->uint64(i, 0);
    if (index < 1 || index > rows.size()) continue;
    const auto found = differing->uint64(i, 1);
    rows[index - 1]->outcome = found == 0   ? KeyState::kInserted
                               : found == 2 ? KeyState::kStale
                                            : KeyState::kUpdated;
  }
  return {};
}

Result<std::optional<std::uint64_t>> estimate_table_rows(PgConnection& conn,
                                                         const std::string& table) {
  auto estimate = conn.query(
      "SELECT CASE WHEN relpages > 0 AND reltuples >= 0 THEN ceil(reltuples / relpages * "
      "(pg_relation_size(oid) / current_setting('block_size')::int))::bigint END "
      "FROM pg_class WHERE oid = $1::regclass",
      {{table}});
  if (!estimate) return std::move(estimate).error();
  if (estimate->is_null(0, 0)) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(estimate->uint64(0, 0));
}

Result<std::uint64_t> count_pair_rows(PgConnection& conn, const std::string& table,
                                      const Pair& pair, std::uint64_t limit) {
  const std::string limit_text = std::to_string(limit);
  auto count = conn.query(fmt::format("SELECT count(*) FROM (SELECT FROM {} WHERE region = "
                                      "$1 AND source = $2 LIMIT $3) AS s",
                                      table),
                          {{pair.region}, {pair.source}, {limit_text}});
  if (!count) return std::move(count).error();
  return count->uint64(0, 0);
}

Result<bool> sweep_pair(PgConnection& conn, bool in_transaction, const std::string& table,
                        const Pair& pair, KeyTable& keys, std::uint64_t id_mask,
                        bool with_fetched_at) {
  // COPY takes no parameters: the pair reaches its query as settings, which are parameters
  // of their own statement. On the load's own connection they last as long as its
  // transaction.
  if (auto set = conn.query("SELECT set_config('offpeak.sweep_region', $1, $3), "
                            "set_config('offpeak.sweep_source', $2, $3)",
                            {{pair.region}, {pair.source}, {in_transaction ? "true" : "false"}});
      !set)
    return std::move(set).error();

  std::string whole = pair.region + pair.source;
  const std::size_t prefix = whole.size();
  bool all_kept = true;
  // Keys go into the table a few dozen at a time, each prefetched first.
  struct Found {
    std::uint64_t id, check;
    std::uint16_t day;
  };
  std::vector<Found> found;
  const auto store = [&] {
    for (const Found& f : found) keys.prefetch(f.id);
    for (const Found& f : found) all_kept &= keys.store(f.id, f.check, f.day);
    found.clear();
  };
  CopyReader reader;
  bool well_formed = true;
  const std::size_t columns = with_fetched_at ? 3 : 2;
  const auto row = [&](const std::vector<std::string_view>& fields) {
    // key, record_hash, and fetched_at (8 bytes) or NULL
    if (fields.size() != columns || (columns == 3 && !fields[2].empty() && fields[2].size() != 8)) {
      well_formed = false;
      return;
    }
    whole.resize(prefix);
    whole.append(fields[0]);
    const KeyHash key = hash_key(whole, pair.region.size(), pair.source.size());
    const bool live = fields[1].size() == sizeof(Sha256Digest);  // else marked: vanished.h
    const std::uint16_t day = columns == 3 && !fields[2].empty()
                                  ? stored_day(static_cast<std::int64_t>(big_endian(fields[2])))
                                  : 0;
    found.push_back({key.id & id_mask, live ? content_check(key, fields[1]) : kDeletedCheck, day});
    if (found.size() == 32) store();
  };
  // Both read from the primary key's index alone.
  const std::string sql = fmt::format(
      "COPY (SELECT key, record_hash{} FROM {} WHERE "
      "region = current_setting('offpeak.sweep_region') AND "
      "source = current_setting('offpeak.sweep_source')) TO STDOUT (FORMAT binary)",
      with_fetched_at ? ", fetched_at" : "", table);
  if (auto copied =
          conn.copy_out(sql, [&](std::string_view data) { well_formed &= reader.take(data, row); });
      !copied)
    return std::move(copied).error();
  store();
  if (!well_formed || !reader.complete())
    return Error{kExitTempFail, "unexpected COPY data while reading keys"};
  return all_kept;
}

}  // namespace offpeak
