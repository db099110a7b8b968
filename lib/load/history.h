#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "error.h"

namespace offpeak {

class PgConnection;

// What a load's command line asks of a table's history (offpeak-load --history on|off).
enum class HistoryRequest {
  kAsRemembered,  // no --history: what the database remembers for the table
  kOn,            // keep history from this load on, and remember it
  kOff,           // stop keeping it, and remember that; the history table stays
};

// Part of the version 3 schema: offpeak.history_tables, one row per table that keeps history.
[[nodiscard]] std::string_view history_schema_ddl();

// A table's history (SCD type 2): whether the load keeps it, and where. When it is on, every
// row the load changes leaves its previous version in the history table, with valid_from (the
// row's changed_at), valid_to (the load's time), load_id (the load that wrote the version) and
// closed_by (the load that replaced it).
class History {
 public:
  // In the load's transaction, after the table's lock: applies `request` to what the database
  // remembers for `table` (quoted SQL), creating the history table (<table>_history, in the
  // table's schema) where it is on and missing. `load_id` is the load, remembered as the one
  // that turned history on. A table whose history table's name would be cut (more than 63
  // bytes) is a usage error (64) when history is asked for.
  [[nodiscard]] static Result<History> settle(PgConnection& db, const std::string& table,
                                              HistoryRequest request, std::int64_t load_id);

  [[nodiscard]] bool on() const { return !table_.empty(); }
  // The history table, quoted and schema-qualified; "" when history is off.
  [[nodiscard]] const std::string& table() const { return table_; }

 private:
  std::string table_;
};

// The staged update's writing step when history is on: the CTE `written`, which updates the
// rows of `table` that the staged lines `last` change (`changes`: the condition on t, the row,
// and l, the line) and answers l.region, l.source, l.first_state, then the CTE `closed`, which
// keeps each row's previous version in `history`. A version the load itself wrote (a key
// inserted earlier in the same load) is not history: nobody saw it. Parameter $1 is the load.
[[nodiscard]] std::string history_written_sql(const std::string& table, const std::string& history,
                                              std::string_view join, std::string_view changes);

// Also how marking vanished records deleted (vanished.h) keeps history: an INSERT that closes, in
// `history`, the versions of the rows listed by the query `rows` (columns region, source, key,
// record, record_hash, fetched_at, changed_at, load_id, as the rows were before being marked),
// closed by load $1 at the load's time. A row marked deleted keeps its content and is left out of
// the as-of query (docs/records.md); when it comes back its changed_at must be set to the
// load's time, so that its new version starts then, and a row already marked must not be
// closed again by a later change.
[[nodiscard]] std::string history_close_sql(const std::string& history, std::string_view rows);

}  // namespace offpeak
