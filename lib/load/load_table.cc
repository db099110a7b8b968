// The target table of a load, apart from its rows: resolving the name given, creating the
// schema and refusing a newer one, the advisory lock that makes loads of one table queue, the
// take-over of an empty table for a fast first load, and the load's offpeak.loads row.
//
// The idea of the take-over: a table that is empty when the load holds its lock is truncated
// once more by the load's own transaction, which lets COPY write its rows frozen, and its
// primary key is dropped and built again in one sorted pass before the commit. Readers of the
// empty table wait for the first load; nobody ever sees the table without its key.

#include "load_table.h"

#include <unistd.h>

#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "history.h"
#include "pg.h"
#include "vanished.h"

namespace offpeak {
namespace {

// The schema version this loader creates and understands. Version 1 had no fetched_at and
// no offpeak.load_sources, version 2 no offpeak.history_tables, no deleted counts nor
// deleted_at (vanished.h); older databases are migrated in place.
constexpr int kSchemaVersion = 3;
// Advisory lock keys: "offp" in the high half; the low half is 0 for the schema, or the
// table's OID.
constexpr long long kLockTag = 0x6f666670LL << 32;
// PostgreSQL's epoch, 2000-01-01, in Unix microseconds: binary timestamps count from it.
constexpr std::int64_t kPgEpochMicros = 946684800LL * 1000000;

// Version 1 as the first release created it, where missing; migrate_to_2 follows.
std::string schema_ddl(const std::string& table, const std::string& table_schema) {
  std::string ddl = std::string(R"(
      CREATE SCHEMA IF NOT EXISTS offpeak;
      CREATE TABLE IF NOT EXISTS offpeak.schema_version (
        version integer PRIMARY KEY,
        applied_at timestamptz NOT NULL DEFAULT now());
      INSERT INTO offpeak.schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;
      CREATE TABLE IF NOT EXISTS offpeak.loads (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        started timestamptz NOT NULL,
        finished timestamptz,
        host text NOT NULL,
        target text NOT NULL,
        input_lines bigint NOT NULL DEFAULT 0,
        inserted bigint NOT NULL DEFAULT 0,
        updated bigint NOT NULL DEFAULT 0,
        unchanged bigint NOT NULL DEFAULT 0,
        duplicates bigint NOT NULL DEFAULT 0,
        rejected bigint NOT NULL DEFAULT 0,
        status text NOT NULL);
    )");
  if (!table_schema.empty()) ddl += fmt::format("CREATE SCHEMA IF NOT EXISTS {};\n", table_schema);
  ddl += fmt::format(R"(
      CREATE TABLE IF NOT EXISTS {} (
        region text NOT NULL,
        source text NOT NULL,
        key text NOT NULL,
        record jsonb NOT NULL,
        record_hash bytea NOT NULL,
        first_seen timestamptz NOT NULL,
        changed_at timestamptz NOT NULL,
        load_id bigint NOT NULL,
        fetched_at timestamptz,
        deleted_at timestamptz,
        PRIMARY KEY (region, source, key) INCLUDE (record_hash, fetched_at));
    )",
                     table);
  return ddl;
}

// Version 1 to 2, in place: offpeak.loads gains stale and session, offpeak.load_sources a
// row per (region, source) of each load. Adding columns without defaults that need writing
// rewrites no table.
constexpr std::string_view kMigrateTo2 = R"(
      ALTER TABLE offpeak.loads ADD COLUMN IF NOT EXISTS stale bigint NOT NULL DEFAULT 0,
        ADD COLUMN IF NOT EXISTS session text;
      CREATE TABLE IF NOT EXISTS offpeak.load_sources (
        load_id bigint NOT NULL REFERENCES offpeak.loads (id) ON DELETE CASCADE,
        region text NOT NULL,
        source text NOT NULL,
        input_lines bigint NOT NULL,
        inserted bigint NOT NULL,
        updated bigint NOT NULL,
        unchanged bigint NOT NULL,
        duplicates bigint NOT NULL,
        stale bigint NOT NULL,
        rejected bigint NOT NULL,
        PRIMARY KEY (load_id, region, source));
      CREATE INDEX IF NOT EXISTS load_sources_region_source
        ON offpeak.load_sources (region, source, load_id);
      INSERT INTO offpeak.schema_version (version) VALUES (2) ON CONFLICT DO NOTHING;
    )";

// Version 2 to 3: the tables that keep history (history.h) and the deleted counts
// (vanished.h). An older loader would load without them, so it must refuse the database.
std::string migrate_to_3() {
  return std::string(history_schema_ddl()) + std::string(vanished_migration_ddl()) +
         "INSERT INTO offpeak.schema_version (version) VALUES (3) ON CONFLICT DO NOTHING;";
}

constexpr std::size_t kMaxIdentifierBytes = 63;

}  // namespace

Result<TargetTable> TargetTable::resolve(PgConnection& db, const std::string& name) {
  // parse_ident reads the name exactly as SQL would, quotes and case folding included.
  auto parts =
      db.query("SELECT array_length(p, 1), p[1], p[2] FROM parse_ident($1) AS p", {{name}});
  if (!parts) return Error{kExitUsage, "--table: " + parts.error().message};
  const std::string_view count = parts->text(0, 0);
  if (count != "1" && count != "2")
    return Error{kExitUsage, fmt::format("--table: \"{}\" is not TABLE or SCHEMA.TABLE", name)};
  // PostgreSQL cuts a longer name to 63 bytes (NAMEDATALEN - 1), loading into another table.
  for (int part = 1; part <= (count == "1" ? 1 : 2); ++part)
    if (const auto size = parts->text(0, part).size(); size > kMaxIdentifierBytes)
      return Error{kExitUsage,
                   fmt::format("--table: \"{}\" is {} bytes long; PostgreSQL names have at "
                               "most {}",
                               parts->text(0, part), size, kMaxIdentifierBytes)};
  TargetTable table;
  table.name_ = name;
  if (count == "1") {
    table.quoted_ = db.quote_identifier(parts->text(0, 1));
  } else {
    table.schema_ = db.quote_identifier(parts->text(0, 1));
    table.quoted_ = table.schema_ + "." + db.quote_identifier(parts->text(0, 2));
  }
  return table;
}

Result<void> TargetTable::ensure_schema(PgConnection& db) const {
  // Records are UTF-8, checked as such: a database in another encoding would refuse, in the
  // middle of the COPY, a character it has no equivalent for (or any \u escape beyond ASCII).
  auto encoding = db.query(
      "SELECT pg_encoding_to_char(encoding) FROM pg_database "
      "WHERE datname = current_database()");
  if (!encoding) return std::move(encoding).error();
  if (encoding->text(0, 0) != "UTF8")
    return Error{kExitConfig,
                 fmt::format("the database's encoding is {}; offpeak-load needs a UTF8 database",
                             encoding->text(0, 0))};
  // Version 3 is there when offpeak.load_sources (with deleted) and offpeak.history_tables
  // are, and the table has fetched_at and deleted_at.
  auto found = db.query(
      "SELECT to_regclass('offpeak.schema_version') IS NOT NULL AND "
      "to_regclass('offpeak.loads') IS NOT NULL AND "
      "to_regclass('offpeak.load_sources') IS NOT NULL AND to_regclass($1) IS NOT NULL AND "
      "to_regclass('offpeak.history_tables') IS NOT NULL AND "
      "EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) AND "
      "attname = 'fetched_at' AND NOT attisdropped) AND "
      "EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) AND "
      "attname = 'deleted_at' AND NOT attisdropped) AND "
      "EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass('offpeak.load_sources') AND "
      "attname = 'deleted' AND NOT attisdropped)",
      {{quoted_}});
  if (!found) return std::move(found).error();
  if (!found->boolean(0, 0))
    if (auto migrated = create_or_migrate(db); !migrated) return migrated;
  auto version = db.query("SELECT max(version) FROM offpeak.schema_version");
  if (!version) return std::move(version).error();
  if (const auto v = version->int64(0, 0); v > kSchemaVersion)
    return Error{kExitConfig, fmt::format("the offpeak schema is at version {}; this offpeak-load "
                                          "knows version {} at most: upgrade offpeak-load",
                                          v, kSchemaVersion)};
  return {};
}

Result<void> TargetTable::create_or_migrate(PgConnection& db) const {
  // IF NOT EXISTS alone still races (two creators collide in the catalog): first runs queue.
  if (auto locked = db.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kLockTag)); !locked)
    return locked;
  if (auto created = db.exec(schema_ddl(quoted_, schema_)); !created) return created;
  auto version = db.query("SELECT max(version) FROM offpeak.schema_version");
  if (!version) return std::move(version).error();
  if (version->int64(0, 0) < 2)
    if (auto migrated = db.exec(std::string(kMigrateTo2)); !migrated) return migrated;
  if (version->int64(0, 0) < 3)
    if (auto migrated = db.exec(migrate_to_3()); !migrated) return migrated;
  // Every table loaded into gets fetched_at and deleted_at, the first time a loader of their
  // version loads it.
  if (version->int64(0, 0) > kSchemaVersion) return {};
  if (auto added = db.exec(
          fmt::format("ALTER TABLE {} ADD COLUMN IF NOT EXISTS fetched_at timestamptz", quoted_));
      !added)
    return added;
  return db.exec(vanished_columns_ddl(quoted_));
}

Result<void> TargetTable::lock(PgConnection& db, bool dry_run) {
  // Loads of one table queue here until the one before them commits; a load of another
  // table passes.
  const std::string lock =
      fmt::format("SELECT pg_advisory_xact_lock({} | $1::regclass::oid::bigint)", kLockTag);
  if (auto locked = db.query(lock, {{quoted_}}); !locked) return std::move(locked).error();
  auto state = db.query(fmt::format("SELECT NOT EXISTS (SELECT FROM {}), "
                                    "(extract(epoch FROM now()) * 1000000)::bigint, "
                                    "EXISTS (SELECT FROM pg_constraint WHERE confrelid = "
                                    "$1::regclass), "
                                    "EXISTS (SELECT FROM pg_index i JOIN pg_attribute a ON "
                                    "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                                    "WHERE i.indrelid = $1::regclass AND i.indisprimary AND "
                                    "a.attname = 'fetched_at')",
                                    quoted_),
                        {{quoted_}});
  if (!state) return std::move(state).error();
  was_empty_ = state->boolean(0, 0);
  now_ = state->int64(0, 1) - kPgEpochMicros;
  const bool referenced = state->boolean(0, 2);
  key_has_fetched_at_ = state->boolean(0, 3);
  // A table that foreign keys refer to cannot be truncated, and is loaded as it is.
  if (was_empty_ && !referenced && !dry_run) return take_over(db);
  return {};
}

Result<void> TargetTable::take_over(PgConnection& db) {
  // No reader pays for setting the rows' hint bits later, and a reload finds every hash in
  // the primary key's index without visiting the table. The lock comes before the second
  // look, so that no row another session commits meanwhile can be truncated away.
  if (auto locked = db.exec(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", quoted_));
      !locked)
    return locked;
  auto still = db.query(fmt::format("SELECT NOT EXISTS (SELECT FROM {})", quoted_));
  if (!still) return std::move(still).error();
  was_empty_ = still->boolean(0, 0);
  if (!was_empty_) return {};
  if (auto truncated = db.exec(fmt::format("TRUNCATE {}", quoted_)); !truncated) return truncated;
  truncated_ = true;
  return set_primary_key_aside(db);
}

Result<void> TargetTable::set_primary_key_aside(PgConnection& db) {
  // Into a table that is empty, truncated and locked, the rows go faster without the primary
  // key's index, which is then built again in one sorted pass, inside the same transaction:
  // the load keeps its keys unique.
  auto key = db.query(
      "SELECT conname, pg_get_constraintdef(oid), "
      "(SELECT setting::bigint FROM pg_settings WHERE name = 'maintenance_work_mem') "
      "FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'",
      {{quoted_}});
  if (!key) return std::move(key).error();
  if (key->rows() != 1) return {};
  const std::string name = db.quote_identifier(key->text(0, 0));
  if (auto dropped = db.exec(fmt::format("ALTER TABLE {} DROP CONSTRAINT {}", quoted_, name));
      !dropped)
    return dropped;
  add_primary_key_ =
      fmt::format("ALTER TABLE {} ADD CONSTRAINT {} {}", quoted_, name, key->text(0, 1));
  // A million keys sort in memory in about 100 MB (the setting is in kB).
  if (key->int64(0, 2) < 256 * 1024)
    add_primary_key_ = "SET LOCAL maintenance_work_mem = '256MB'; " + add_primary_key_;
  return {};
}

Result<void> TargetTable::rebuild_primary_key(PgConnection& db) const {
  if (add_primary_key_.empty()) return {};
  return db.exec(add_primary_key_);
}

Result<std::int64_t> TargetTable::start_load_row(PgConnection& db,
                                                 const std::string& session) const {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "unknown");
  auto id = db.query(
      "INSERT INTO offpeak.loads (started, host, target, status, session) "
      "VALUES (now(), $1, $2, 'running', nullif($3, '')) RETURNING id",
      {{host}, {name_}, {session}});
  if (!id) return std::move(id).error();
  return id->int64(0, 0);
}

namespace {

// The query parameters of an offpeak.loads id and counts, in the order of the ledger's columns.
std::vector<std::string> count_values(std::int64_t id, const LoadCounts& c) {
  return {std::to_string(id),        std::to_string(c.lines),     std::to_string(c.inserted),
          std::to_string(c.updated), std::to_string(c.unchanged), std::to_string(c.duplicates),
          std::to_string(c.stale),   std::to_string(c.rejected),  std::to_string(c.deleted)};
}

std::vector<PgParam> params_of(const std::vector<std::string>& values) {
  std::vector<PgParam> params;
  for (const std::string& v : values) params.push_back({v});
  return params;
}

}  // namespace

Result<void> TargetTable::finish_load_row(PgConnection& db, std::int64_t id, const LoadCounts& c,
                                          const std::vector<PairCounts>& pairs) const {
  std::vector<std::string> values = count_values(id, c);
  values.emplace_back(c.rejected > 0 ? "loaded with rejects" : "loaded");
  auto updated = db.query(
      "UPDATE offpeak.loads SET finished = clock_timestamp(), input_lines = $2, inserted = $3, "
      "updated = $4, unchanged = $5, duplicates = $6, stale = $7, rejected = $8, deleted = $9, "
      "status = $10 "
      "WHERE id = $1",
      params_of(values));
  if (!updated) return std::move(updated).error();
  for (const PairCounts& pair : pairs) {
    values = count_values(id, pair.counts);
    values.push_back(pair.region);
    values.push_back(pair.source);
    auto added = db.query(
        "INSERT INTO offpeak.load_sources (load_id, input_lines, inserted, updated, unchanged, "
        "duplicates, stale, rejected, deleted, region, source) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        params_of(values));
    if (!added) return std::move(added).error();
  }
  return {};
}

}  // namespace offpeak
