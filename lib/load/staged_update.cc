// The staged final UPDATE. Changed records, and every further line of a key that the input
// had before, are staged in a temporary table by COPY during the load, numbered in input
// order, with their fetched_at and the state of their key's first line: i inserted, u
// changed, c unchanged, n not kept in the key table, s stale. At the end one statement takes each
// key's newest staged line (by fetched_at, then input order), writes it where it differs from
// the row and is not older than it, inserts it where the row is missing, and answers with a
// tally per (region, source) from which the counts are reconciled (key_decisions.h). With
// history on, the same statement keeps the previous version of each row it changes (history.h).

#include "staged_update.h"

#include <fmt/format.h>

#include "history.h"
#include "pg.h"
#include "pg_binary.h"

namespace offpeak {

Result<std::string> StagedLines::copy_sql(PgConnection& db) {
  if (!created_) {
    if (auto created = db.exec(
            "CREATE TEMPORARY TABLE offpeak_stage (n bigint, first_state text, region text, "
            "source text, key text, record jsonb, record_hash bytea, fetched_at timestamptz) "
            "ON COMMIT DROP");
        !created)
      return std::move(created).error();
    created_ = true;
  }
  return std::string("COPY pg_temp.offpeak_stage FROM STDIN (FORMAT binary)");
}

void StagedLines::write(CopyWriter& out, const Batch& batch, const Row& row, KeyState first) {
  out.row(8);
  out.int64_field(static_cast<std::int64_t>(++staged_));
  out.field(first == KeyState::kInserted    ? "i"
            : first == KeyState::kUpdated   ? "u"
            : first == KeyState::kUnchanged ? "c"
            : first == KeyState::kStale     ? "s"
                                            : "n");
  out.field(batch.region(row));
  out.field(batch.source(row));
  out.field(batch.key(row));
  out.jsonb_field(batch.record(row));
  out.field(row.hash_bytes());
  if (row.fetched_at == kNoFetchedAt) {
    out.null_field();
  } else {
    out.int64_field(row.fetched_at);
  }
}

namespace {

// The statement: the last staged line of each key against its row. For keys whose first line
// was changed ('u'), unchanged ('c') or stale ('s'), and keys the load did not keep ('n'),
// the row is as it was before the load, or missing; for keys the load inserted ('i'), as their
// first line made it. Rows are written where the last line differs, and inserted where missing: an
// 'i' key is missing only when its id was another key's, and its lines were taken for repeats (a
// dry run inserts none). The answer is what became of the keys of each kind, and how many the
// load did not keep, for each (region, source). A line older than its row (both with a
// fetched_at) is stale: it leaves a row it differs from alone. A dry run only compares.
std::string apply_sql(const std::string& table, const std::string& history, bool dry_run) {
  const std::string_view join = "t.region = l.region AND t.source = l.source AND t.key = l.key";
  const std::string_view older = "l.fetched_at < t.fetched_at";  // false when either is NULL
  std::string sql = fmt::format(
      "WITH last AS (SELECT DISTINCT ON (region, source, key) * FROM pg_temp.offpeak_stage "
      "ORDER BY region, source, key, fetched_at DESC NULLS LAST, n DESC), "
      "missing AS (SELECT * FROM last AS l WHERE {2}"
      "NOT EXISTS (SELECT FROM {0} AS t WHERE {1})), "
      "stale AS (SELECT l.region, l.source, l.first_state FROM last AS l JOIN {0} AS t ON {1} "
      "WHERE t.record_hash <> l.record_hash AND {3}), ",
      table, join, dry_run ? "first_state <> 'i' AND " : "", older);
  if (dry_run) {
    sql += fmt::format(
        "written AS (SELECT l.region, l.source, l.first_state FROM last AS l JOIN {0} AS t ON {1} "
        "WHERE t.record_hash <> l.record_hash AND NOT coalesce({2}, false)) ",
        table, join, older);
  } else if (!history.empty()) {
    // The same UPDATE, keeping each changed row's previous version (history.h).
    const std::string changes =
        fmt::format("t.record_hash <> l.record_hash AND NOT coalesce({}, false)", older);
    sql += history_written_sql(table, history, join, changes);
  } else {
    sql += fmt::format(
        "written AS (UPDATE {0} AS t SET record = l.record, record_hash = l.record_hash, "
        "fetched_at = l.fetched_at, changed_at = now(), deleted_at = NULL, load_id = $1 "
        "FROM last AS l WHERE {1} "
        "AND t.record_hash <> l.record_hash AND NOT coalesce({2}, false) "
        "RETURNING l.region, l.source, l.first_state), ",
        table, join, older);
  }
  if (!dry_run) {
    sql += fmt::format(
        "added AS (INSERT INTO {0} (region, source, key, record, record_hash, fetched_at, "
        "first_seen, changed_at, load_id) SELECT region, source, key, record, record_hash, "
        "fetched_at, now(), now(), $1 FROM missing) ",
        table);
  }
  sql +=
      "SELECT region, source, "
      "count(*) FILTER (WHERE kind = 'w' AND first_state = 'u'), "
      "count(*) FILTER (WHERE kind = 'w' AND first_state = 'c'), "
      "count(*) FILTER (WHERE kind = 'w' AND first_state = 'n'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'u'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'c'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'n'), "
      "count(*) FILTER (WHERE kind = 'l' AND first_state = 'n'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 'i'), "
      "count(*) FILTER (WHERE kind = 's' AND first_state = 'u'), "
      "count(*) FILTER (WHERE kind = 's' AND first_state = 'n'), "
      "count(*) FILTER (WHERE kind = 'w' AND first_state = 's'), "
      "count(*) FILTER (WHERE kind = 'm' AND first_state = 's'), "
      "count(*) FILTER (WHERE kind = 's' AND first_state = 's'), "
      "count(*) FILTER (WHERE kind = 'l' AND first_state = 's') "
      "FROM (SELECT 'w' AS kind, region, source, first_state FROM written "
      "UNION ALL SELECT 's', region, source, first_state FROM stale "
      "UNION ALL SELECT 'm', region, source, first_state FROM missing "
      "UNION ALL SELECT 'l', region, source, first_state FROM last) AS k "
      "GROUP BY region, source";
  return sql;
}

}  // namespace

Result<void> StagedLines::send(PgConnection& db, const std::string& table,
                               const std::string& history, bool dry_run, std::int64_t load_id) {
  if (staged_ == 0) return {};
  const std::string id = std::to_string(load_id);
  auto sent = db.send_query(apply_sql(table, history, dry_run),
                            dry_run ? std::vector<PgParam>{} : std::vector<PgParam>{{id}});
  sent_ = sent.ok();
  return sent;
}

Result<std::vector<StagedTally>> StagedLines::read(PgConnection& db) {
  std::vector<StagedTally> tallies;
  if (!sent_) return tallies;
  sent_ = false;
  auto tally = db.get_result();
  if (!tally) return std::move(tally).error();
  for (int row = 0; row < tally->rows(); ++row) {
    const auto n = [&](int column) { return tally->uint64(row, column + 2); };
    tallies.push_back({std::string(tally->text(row, 0)), std::string(tally->text(row, 1)), n(0),
                       n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8), n(9), n(10), n(11), n(12),
                       n(13)});
  }
  return tallies;
}

}  // namespace offpeak
