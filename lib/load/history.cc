// History on request (SCD type 2): the setting each table's loads remember, the history table,
// and the SQL that keeps a row's previous version when a load changes it.
//
// The idea: a changed row is written once, by the staged update's single UPDATE, so its
// previous version can be kept by the same statement. The UPDATE joins the table a second
// time; that second copy is read with the statement's snapshot, before the update, so RETURNING
// hands the old version straight to an INSERT into the history table. Unchanged and stale lines
// are never staged for writing, so they write no history, and a load with nothing changed
// costs nothing more with history on. The setting lives in offpeak.history_tables (schema
// version 3), so that offpeak-cron's loads keep history without being told each time.

#include "history.h"

#include <fmt/format.h>

#include "pg.h"

namespace offpeak {
namespace {

// PostgreSQL cuts longer names (NAMEDATALEN - 1).
constexpr int kMaxIdentifierBytes = 63;

// The columns of a history table, in the order history_close_sql fills them.
constexpr std::string_view kHistoryColumns =
    "region, source, key, record, record_hash, fetched_at, valid_from, valid_to, load_id, "
    "closed_by";

std::string history_table_ddl(const std::string& history) {
  return fmt::format(
      "CREATE TABLE IF NOT EXISTS {} ("
      "region text NOT NULL, source text NOT NULL, key text NOT NULL, record jsonb NOT NULL, "
      "record_hash bytea NOT NULL, fetched_at timestamptz, valid_from timestamptz NOT NULL, "
      "valid_to timestamptz NOT NULL, load_id bigint NOT NULL, closed_by bigint NOT NULL, "
      "PRIMARY KEY (region, source, key, closed_by))",
      history);
}

}  // namespace

std::string_view history_schema_ddl() {
  // target and history are schema-qualified and quoted as format('%I.%I') writes them.
  return R"(
      CREATE TABLE IF NOT EXISTS offpeak.history_tables (
        target text PRIMARY KEY,
        history text NOT NULL,
        since_load bigint NOT NULL,
        since timestamptz NOT NULL DEFAULT now());
    )";
}

Result<History> History::settle(PgConnection& db, const std::string& table, HistoryRequest request,
                                std::int64_t load_id) {
  // The table's own name, its history table's, and what is remembered, in one round trip.
  auto found = db.query(
      "SELECT format('%I.%I', n.nspname, c.relname), "
      "format('%I.%I', n.nspname, c.relname || '_history'), "
      "octet_length(c.relname || '_history'), h.history IS NOT NULL, "
      "h.history IS NOT NULL AND to_regclass(h.history) IS NOT NULL, h.history "
      "FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace "
      "LEFT JOIN offpeak.history_tables AS h ON h.target = format('%I.%I', n.nspname, c.relname) "
      "WHERE c.oid = $1::regclass",
      {{table}});
  if (!found) return std::move(found).error();
  const std::string target(found->text(0, 0));
  const bool remembered = found->boolean(0, 3);
  const bool exists = found->boolean(0, 4);
  History history;
  if (request == HistoryRequest::kOff) {
    if (remembered)
      if (auto forgot =
              db.query("DELETE FROM offpeak.history_tables WHERE target = $1", {{target}});
          !forgot)
        return std::move(forgot).error();
    return history;
  }
  if (request == HistoryRequest::kAsRemembered && !remembered) return history;
  if (remembered) {
    history.table_ = std::string(found->text(0, 5));
  } else {
    if (found->int64(0, 2) > kMaxIdentifierBytes)
      return Error{kExitUsage, fmt::format("--history: the history table of {} would be named {}, "
                                           "longer than PostgreSQL's {} bytes",
                                           target, found->text(0, 1), kMaxIdentifierBytes)};
    history.table_ = std::string(found->text(0, 1));
    if (auto kept = db.query(
            "INSERT INTO offpeak.history_tables (target, history, since_load) VALUES ($1, $2, $3)",
            {{target}, {history.table_}, {std::to_string(load_id)}});
        !kept)
      return std::move(kept).error();
  }
  // A history table dropped by hand comes back empty.
  if (!exists)
    if (auto created = db.exec(history_table_ddl(history.table_)); !created)
      return std::move(created).error();
  return history;
}

std::string history_written_sql(const std::string& table, const std::string& history,
                                std::string_view join, std::string_view changes) {
  // o is the row as it was before the statement: the version being replaced. A row marked
  // deleted (its hash 33 bytes, vanished.h) had its version closed when it was marked: when
  // it comes back, nothing more is closed.
  return fmt::format(
      "written AS (UPDATE {0} AS t SET record = l.record, record_hash = l.record_hash, "
      "fetched_at = l.fetched_at, changed_at = now(), deleted_at = NULL, load_id = $1 "
      "FROM last AS l JOIN {0} AS o ON o.region = l.region AND o.source = l.source AND "
      "o.key = l.key WHERE {1} AND {2} "
      "RETURNING l.region, l.source, l.first_state, l.key, o.record AS old_record, "
      "o.record_hash AS old_hash, o.fetched_at AS old_fetched_at, "
      "o.changed_at AS old_changed_at, o.load_id AS old_load_id), "
      "closed AS ({3}), ",
      table, join, changes,
      history_close_sql(history,
                        "SELECT region, source, key, old_record AS record, old_hash AS "
                        "record_hash, old_fetched_at AS fetched_at, old_changed_at AS changed_at, "
                        "old_load_id AS load_id FROM written WHERE old_load_id <> $1 AND "
                        "length(old_hash) = 32"));
}

std::string history_close_sql(const std::string& history, std::string_view rows) {
  return fmt::format(
      "INSERT INTO {} ({}) SELECT region, source, key, record, record_hash, fetched_at, "
      "changed_at, now(), load_id, $1 FROM ({}) AS closing",
      history, kHistoryColumns, rows);
}

}  // namespace offpeak
