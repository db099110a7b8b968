#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error.h"
#include "load_counts.h"

namespace offpeak {

class PgConnection;

// The table a load writes to, and what the load does to it besides writing rows: its schema,
// the lock that queues loads of it, the take-over of an empty table, and the load's row in
// offpeak.loads.
class TargetTable {
 public:
  // `name` (TABLE or SCHEMA.TABLE, in SQL syntax) read as PostgreSQL reads it; a usage error
  // (64, "--table: ...") when it is not a table name.
  [[nodiscard]] static Result<TargetTable> resolve(PgConnection& db, const std::string& name);

  // Creates the offpeak schema, offpeak.loads, offpeak.load_sources, offpeak.history_tables
  // and the table where missing, migrates a schema at version 1 or 2 to 3 in place, and
  // refuses a schema newer than
  // this loader's (78), or a database whose encoding is not UTF8 (78).
  [[nodiscard]] Result<void> ensure_schema(PgConnection& db) const;

  // In the load's transaction: waits for the loads of the table before it, then looks at
  // the table. One that is empty is taken over, unless `dry_run`: truncated again, so that
  // COPY may freeze its rows, and its primary key set aside until rebuild_primary_key().
  [[nodiscard]] Result<void> lock(PgConnection& db, bool dry_run);
  // The primary key, built again in one sorted pass when lock() set it aside.
  [[nodiscard]] Result<void> rebuild_primary_key(PgConnection& db) const;

  // The load's offpeak.loads row: started (its id) with its session ("" for none), then
  // finished with its counts, and a row of offpeak.load_sources for each of `pairs`.
  [[nodiscard]] Result<std::int64_t> start_load_row(PgConnection& db,
                                                    const std::string& session) const;
  [[nodiscard]] Result<void> finish_load_row(PgConnection& db, std::int64_t id,
                                             const LoadCounts& counts,
                                             const std::vector<PairCounts>& pairs) const;

  // The table's name quoted for SQL, possibly schema-qualified.
  [[nodiscard]] const std::string& sql() const { return quoted_; }
  // Whether the table was empty when the load took its lock, and truncated by it.
  [[nodiscard]] bool was_empty() const { return was_empty_; }
  [[nodiscard]] bool truncated() const { return truncated_; }
  // Whether the primary key's index has fetched_at beside record_hash (tables made by
  // schema version 3 have), so that a sweep reads it from the index alone (lookups.h).
  [[nodiscard]] bool key_has_fetched_at() const { return key_has_fetched_at_; }
  // The transaction's start, in PostgreSQL's binary timestamp form.
  [[nodiscard]] std::int64_t now() const { return now_; }

 private:
  TargetTable() = default;
  [[nodiscard]] Result<void> create_or_migrate(PgConnection& db) const;
  [[nodiscard]] Result<void> take_over(PgConnection& db);
  [[nodiscard]] Result<void> set_primary_key_aside(PgConnection& db);

  std::string name_;    // as given, for the ledger
  std::string quoted_;  // quoted, possibly schema-qualified
  std::string schema_;  // quoted schema, empty when the name has none
  bool was_empty_ = false;
  bool truncated_ = false;
  bool key_has_fetched_at_ = false;
  std::string add_primary_key_;  // the statement that builds it again, when set aside
  std::int64_t now_ = 0;
};

}  // namespace offpeak
