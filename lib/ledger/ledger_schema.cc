// The ledger's tables, created on first use and versioned in a row of their own.
//
// Any number of hosts may start at once on an empty database, so creation is serialized by a
// transaction-level advisory lock (released at commit, and so safe behind PgBouncer's
// transaction pooling, unlike a session lock), and skipped without any DDL once the version
// row says the schema is there: a tick costs one small query.

#include <fmt/format.h>

#include "ledger.h"
#include "pg.h"

namespace offpeak {

namespace {

// The key of the advisory lock that serializes creating the schema.
constexpr long long kSchemaLockKey = 0x6f66667065616b01;  // "offpeak" and 1

constexpr const char* kSchemaSql = R"sql(
CREATE SCHEMA IF NOT EXISTS offpeak;
CREATE TABLE IF NOT EXISTS offpeak.ledger_version (
  component text PRIMARY KEY,
  version integer NOT NULL,
  updated timestamptz NOT NULL DEFAULT now()
);
-- One row per (region, window): its state now, and the current or last attempt.
CREATE TABLE IF NOT EXISTS offpeak.runs (
  region text NOT NULL,
  window_id text NOT NULL,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  attempt integer NOT NULL,
  host text NOT NULL,
  owner uuid,
  started timestamptz NOT NULL,
  finished timestamptz,
  state text NOT NULL CHECK (state IN ('running', 'done', 'failed', 'missed')),
  permanent boolean NOT NULL DEFAULT false,
  per_source boolean NOT NULL DEFAULT false,
  scrape_exit integer,
  load_exit integer,
  sources jsonb NOT NULL DEFAULT '{}',
  load_id bigint,
  error text,
  lease_until timestamptz,
  retry_at timestamptz,
  config_hash text NOT NULL DEFAULT '',
  PRIMARY KEY (region, window_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_owner ON offpeak.runs (owner);
CREATE INDEX IF NOT EXISTS runs_window_end ON offpeak.runs (window_end);
-- With sources spread over hosts, one claimable row per (region, window, source).
CREATE TABLE IF NOT EXISTS offpeak.run_sources (
  region text NOT NULL,
  window_id text NOT NULL,
  source text NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  host text,
  owner uuid,
  started timestamptz,
  finished timestamptz,
  state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'missed')),
  permanent boolean NOT NULL DEFAULT false,
  exit integer,
  status text,
  records bigint,
  error text,
  lease_until timestamptz,
  retry_at timestamptz,
  config_hash text NOT NULL DEFAULT '',
  PRIMARY KEY (region, window_id, source),
  FOREIGN KEY (region, window_id) REFERENCES offpeak.runs ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS run_sources_owner ON offpeak.run_sources (owner);
-- Every attempt, for the history: who ran it, when, and how it ended.
CREATE TABLE IF NOT EXISTS offpeak.run_attempts (
  region text NOT NULL,
  window_id text NOT NULL,
  source text NOT NULL DEFAULT '',
  attempt integer NOT NULL,
  host text NOT NULL,
  owner uuid NOT NULL,
  started timestamptz NOT NULL,
  finished timestamptz,
  state text NOT NULL CHECK (state IN ('running', 'done', 'failed')),
  scrape_exit integer,
  load_exit integer,
  error text,
  PRIMARY KEY (region, window_id, source, attempt),
  FOREIGN KEY (region, window_id) REFERENCES offpeak.runs ON DELETE CASCADE
);
)sql";

// Version 2: the ledger's clock, and backfills. Every statement of the ledger asks
// offpeak.ledger_now() for the time: the database's now(), unless the session sets
// offpeak.now (PGOPTIONS="-c offpeak.now=T", which offpeak-cron --at does so that tests can
// play a week in minutes; production never sets it). A backfill's row (window id
// REGION@session:DATE) is never claimed by a tick nor swept.
constexpr const char* kSchemaV2Sql = R"sql(
CREATE OR REPLACE FUNCTION offpeak.ledger_now() RETURNS timestamptz
  LANGUAGE sql STABLE
  AS $$ SELECT coalesce(nullif(current_setting('offpeak.now', true), '')::timestamptz, now()) $$;
ALTER TABLE offpeak.runs ADD COLUMN IF NOT EXISTS backfill boolean NOT NULL DEFAULT false;
)sql";

}  // namespace

Result<void> ensure_ledger_schema(PgConnection& db) {
  const std::string version_sql =
      "SELECT version FROM offpeak.ledger_version WHERE component = 'ledger'";
  const std::string exists_sql = "SELECT to_regclass('offpeak.ledger_version') IS NOT NULL";
  // The common case: the schema is there, and nothing is locked.
  auto exists = db.query(exists_sql);
  if (!exists) return std::move(exists).error();
  auto tx = Transaction::begin(db);
  if (!tx) return std::move(tx).error();
  if (exists->boolean(0, 0)) {
    auto version = db.query(version_sql);
    if (!version) return std::move(version).error();
    if (version->rows() > 0 && version->int64(0, 0) == kLedgerSchemaVersion) return tx->commit();
  }
  // Missing or older (or newer, refused below): create or migrate, one host at a time.
  if (auto locked = db.exec(fmt::format("SELECT pg_advisory_xact_lock({})", kSchemaLockKey));
      !locked)
    return locked;
  // 0: no ledger yet; else the version its row says (a ledger without one is version 1).
  // Read from pg_class, not with to_regclass: name lookups go through the backend's catalog
  // cache, which still remembers "no such table" from before the wait for the lock, while
  // the host that held it has created the ledger since (and migrating it again would take
  // locks that deadlock with its claims).
  long long found = 0;
  auto table = db.query(
      "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = 'offpeak' AND c.relname = 'ledger_version')");
  if (!table) return std::move(table).error();
  if (table->boolean(0, 0)) {
    auto version = db.query(version_sql);
    if (!version) return std::move(version).error();
    found = version->rows() > 0 ? version->int64(0, 0) : 1;
  }
  if (found < kLedgerSchemaVersion) {
    if (auto made = db.exec(kSchemaSql); !made) return made;
    if (auto migrated = db.exec(kSchemaV2Sql); !migrated) return migrated;
    auto added = db.query(
        "INSERT INTO offpeak.ledger_version (component, version) VALUES ('ledger', $1) "
        "ON CONFLICT (component) DO UPDATE SET version = excluded.version, updated = now()",
        {{std::to_string(kLedgerSchemaVersion)}});
    if (!added) return std::move(added).error();
  } else if (found > kLedgerSchemaVersion) {
    return Error{kExitConfig,
                 fmt::format("the ledger's schema in the database is version {}, newer than this "
                             "offpeak-ledger's {}: upgrade offpeak",
                             found, kLedgerSchemaVersion)};
  }
  return tx->commit();
}

}  // namespace offpeak
