// How a window's attempts end in the ledger: finished (done or failed, with a backoff or as
// permanent), reset by an operator, or marked missed once the window has closed.
//
// Each is one guarded UPDATE, so the ledger never goes back on what it said: a finish counts
// only while its token still owns a running claim (a run taken over finishes into nothing);
// a sweep only takes windows the database's clock says are over and that no live lease
// holds. A source's finish locks its window's row first: finishes of sources of one window
// then follow each other, and the last one sees all the others and marks the window done.

#include <fmt/format.h>

#include "ledger.h"
#include "ledger_sql.h"
#include "pg.h"

namespace offpeak {

namespace {

bool permanent_exit(std::optional<int> code) {
  return code == kExitUnavailable || code == kExitConfig;
}

// The retry's time: `retry_base` doubled for each attempt after the first, at most
// `retry_max`; nothing for a success or a permanent failure. $9 and $10 of the statements.
constexpr const char* kRetryAtSql =
    "CASE WHEN $2 = 'failed' AND NOT $3::boolean THEN offpeak.ledger_now() + least("
    "make_interval(secs => $9::float8 * power(2, least(attempt - 1, 30))), "
    "make_interval(secs => $10::int)) END";

std::string finish_window_sql() {
  return fmt::format(R"sql(
WITH f AS (
  UPDATE offpeak.runs
  SET state = $2, finished = offpeak.ledger_now(), lease_until = NULL, permanent = $3::boolean,
      scrape_exit = nullif($4, '')::int, load_exit = nullif($5, '')::int, load_id = nullif($6, '')::bigint,
      sources = coalesce(nullif($7, '')::jsonb, sources), error = nullif($8, ''), retry_at = {}
  WHERE owner = $1::uuid AND state = 'running'
  RETURNING region, window_id, attempt, state, permanent, retry_at
), a AS (
  UPDATE offpeak.run_attempts a
  SET state = f.state, finished = offpeak.ledger_now(), scrape_exit = nullif($4, '')::int, load_exit = nullif($5, '')::int,
      error = nullif($8, '')
  FROM f
  WHERE a.region = f.region AND a.window_id = f.window_id AND a.source = ''
    AND a.attempt = f.attempt
)
SELECT region, window_id, '', state, permanent, coalesce({}, ''), state FROM f)sql",
                     kRetryAtSql, rfc3339_sql("retry_at"));
}

// A source's finish: $6 its record count, $7 its status word, else (when empty) those the
// scrape's status $11 (offpeak-scrape --status-file's "sources") gives for the source.
std::string finish_source_sql() {
  return fmt::format(R"sql(
WITH f AS (
  UPDATE offpeak.run_sources
  SET state = $2, finished = offpeak.ledger_now(), lease_until = NULL, permanent = $3::boolean,
      exit = coalesce(nullif(nullif($5, '')::int, 0), nullif($4, '')::int),
      records = coalesce(nullif($6, '')::bigint, (nullif($11, '')::jsonb -> source ->> 'records')::bigint),
      status = coalesce(nullif($7, ''), nullif($11, '')::jsonb -> source ->> 'status'),
      error = nullif($8, ''), retry_at = {}
  WHERE owner = $1::uuid AND state = 'running'
  RETURNING region, window_id, source, attempt, state, permanent, retry_at
), a AS (
  UPDATE offpeak.run_attempts a
  SET state = f.state, finished = offpeak.ledger_now(), scrape_exit = nullif($4, '')::int, load_exit = nullif($5, '')::int,
      error = nullif($8, '')
  FROM f
  WHERE a.region = f.region AND a.window_id = f.window_id AND a.source = f.source
    AND a.attempt = f.attempt
)
SELECT region, window_id, source, state, permanent, coalesce({}, '') FROM f)sql",
                     kRetryAtSql, rfc3339_sql("retry_at"));
}

// The window of a source's claim after a finish: done when every source is, failed for good
// when one failed for good, else still running. $3 the load's id.
constexpr const char* kWindowOfSourcesSql = R"sql(
UPDATE offpeak.runs r
SET sources = agg.sources,
    state = CASE WHEN agg.all_done THEN 'done' WHEN agg.any_permanent THEN 'failed'
                 ELSE 'running' END,
    permanent = agg.any_permanent AND NOT agg.all_done,
    finished = CASE WHEN agg.all_done OR agg.any_permanent THEN offpeak.ledger_now() END,
    error = agg.error, attempt = agg.attempts, load_id = coalesce(nullif($3, '')::bigint, r.load_id)
FROM (SELECT jsonb_object_agg(source, jsonb_build_object(
               'state', state, 'status', status, 'records', records, 'attempts', attempt,
               'host', host)) AS sources,
             bool_and(state = 'done') AS all_done,
             bool_or(state = 'failed' AND permanent) AS any_permanent,
             string_agg(source || ': ' || error, '; ' ORDER BY source)
               FILTER (WHERE state = 'failed') AS error,
             sum(attempt)::int AS attempts
      FROM offpeak.run_sources WHERE region = $1 AND window_id = $2) agg
WHERE r.region = $1 AND r.window_id = $2
RETURNING r.state)sql";

std::string optional_text(const std::optional<long long>& value) {
  return value ? std::to_string(*value) : std::string();
}

// The parameters shared by both finishes, $1-$10; $6 and $7 differ.
std::vector<std::string> finish_params(const Finish& f, bool permanent, bool source) {
  const auto code = [](std::optional<int> c) { return c ? std::to_string(*c) : std::string(); };
  return {f.token,
          f.done ? "done" : "failed",
          permanent ? "true" : "false",
          code(f.scrape_exit),
          code(f.load_exit),
          source ? optional_text(f.records) : optional_text(f.load_id),
          source ? f.status : f.sources_json,
          f.done ? std::string() : f.error,
          std::to_string(f.retry_base.count()),
          std::to_string(f.retry_max.count())};
}

// The parameters as libpq gets them: empty texts of numbers and JSON are NULLs, by nullif.
std::vector<PgParam> bound_params(const std::vector<std::string>& params) {
  std::vector<PgParam> bound;
  for (const auto& p : params) bound.push_back({p});
  return bound;
}

Result<std::optional<Finished>> finish_source(PgConnection& db, const Finish& f, bool permanent,
                                              std::string_view region, std::string_view window_id) {
  // The window's row first, so that the finishes of its sources follow one another.
  auto locked =
      db.query("SELECT 1 FROM offpeak.runs WHERE region = $1 AND window_id = $2 FOR UPDATE",
               {{region}, {window_id}});
  if (!locked) return std::move(locked).error();
  auto params = finish_params(f, permanent, true);
  params.push_back(f.sources_json);
  auto rows = db.query(finish_source_sql(), bound_params(params));
  if (!rows) return std::move(rows).error();
  if (rows->rows() == 0) return std::optional<Finished>{};
  Finished done{std::string(rows->text(0, 0)),
                std::string(rows->text(0, 1)),
                std::string(rows->text(0, 2)),
                std::string(rows->text(0, 3)),
                rows->boolean(0, 4),
                std::string(rows->text(0, 5)),
                ""};
  const std::string load_id = optional_text(f.load_id);
  auto window = db.query(kWindowOfSourcesSql, {{region}, {window_id}, {load_id}});
  if (!window) return std::move(window).error();
  done.window_state = window->rows() ? std::string(window->text(0, 0)) : "";
  return std::optional<Finished>{std::move(done)};
}

}  // namespace

Result<std::optional<Finished>> finish(PgConnection& db, const Finish& f) {
  std::optional<Transaction> own;
  if (!db.in_transaction()) {
    auto tx = Transaction::begin(db);
    if (!tx) return std::move(tx).error();
    own.emplace(std::move(*tx));
  }
  auto owned = db.query(
      "SELECT 'window', region, window_id FROM offpeak.runs "
      "WHERE owner = $1::uuid AND state = 'running' UNION ALL "
      "SELECT 'source', region, window_id FROM offpeak.run_sources "
      "WHERE owner = $1::uuid AND state = 'running'",
      {{f.token}});
  if (!owned) return std::move(owned).error();
  if (owned->rows() == 0) return std::optional<Finished>{};
  const bool permanent = !f.done && (permanent_exit(f.scrape_exit) || permanent_exit(f.load_exit));
  std::optional<Finished> result;
  if (owned->text(0, 0) == "source") {
    auto finished = finish_source(db, f, permanent, owned->text(0, 1), owned->text(0, 2));
    if (!finished) return std::move(finished).error();
    result = std::move(*finished);
  } else {
    const auto params = finish_params(f, permanent, false);
    auto rows = db.query(finish_window_sql(), bound_params(params));
    if (!rows) return std::move(rows).error();
    if (rows->rows() == 0) return std::optional<Finished>{};
    result = Finished{std::string(rows->text(0, 0)), std::string(rows->text(0, 1)),
                      std::string(rows->text(0, 2)), std::string(rows->text(0, 3)),
                      rows->boolean(0, 4),           std::string(rows->text(0, 5)),
                      std::string(rows->text(0, 6))};
  }
  if (own) {
    if (auto committed = own->commit(); !committed) return std::move(committed).error();
  }
  return result;
}

Result<int> reset(PgConnection& db, const std::string& region,
                  const std::optional<std::string>& window_id) {
  const std::string id = window_id.value_or("");
  auto rows = db.query(R"sql(
WITH w AS (
  UPDATE offpeak.runs
  SET permanent = false, retry_at = offpeak.ledger_now(),
      state = CASE WHEN per_source THEN 'running' ELSE state END
  WHERE region = $1 AND ($2 = '' OR window_id = $2) AND state = 'failed' AND window_end > offpeak.ledger_now()
  RETURNING 1
), s AS (
  UPDATE offpeak.run_sources s
  SET permanent = false, retry_at = offpeak.ledger_now()
  FROM offpeak.runs r
  WHERE s.region = $1 AND ($2 = '' OR s.window_id = $2) AND s.state = 'failed'
    AND r.region = s.region AND r.window_id = s.window_id AND r.window_end > offpeak.ledger_now()
  RETURNING 1
)
SELECT (SELECT count(*) FROM w) + (SELECT count(*) FROM s))sql",
                       {{region}, {id}});
  if (!rows) return std::move(rows).error();
  return static_cast<int>(rows->int64(0, 0));
}

Result<std::vector<Missed>> sweep(PgConnection& db) {
  auto rows = db.query(fmt::format(R"sql(
WITH closed AS (
  UPDATE offpeak.runs r
  SET state = 'missed', lease_until = NULL, finished = coalesce(r.finished, offpeak.ledger_now()),
      error = CASE
        WHEN r.state = 'running' AND NOT r.per_source THEN
          format('attempt %s on %s did not finish: its lease ran out at %s', r.attempt, r.host,
                 {})
          || coalesce('; before it: ' || r.error, '')
        WHEN r.state = 'running' THEN coalesce(r.error, 'not every source was done')
        ELSE coalesce(r.error, 'failed') END
  WHERE r.window_end <= offpeak.ledger_now() AND NOT r.backfill
    AND (r.state = 'failed' OR (r.state = 'running' AND (r.per_source OR r.lease_until < offpeak.ledger_now())))
    AND NOT EXISTS (SELECT 1 FROM offpeak.run_sources s
                    WHERE s.region = r.region AND s.window_id = r.window_id
                      AND s.state = 'running' AND s.lease_until >= offpeak.ledger_now())
  RETURNING r.region, r.window_id, r.error
), sources AS (
  UPDATE offpeak.run_sources s SET state = 'missed', lease_until = NULL
  FROM closed c
  WHERE s.region = c.region AND s.window_id = c.window_id AND s.state <> 'done'
), attempts AS (
  UPDATE offpeak.run_attempts a
  SET state = 'failed', finished = offpeak.ledger_now(), error = 'lease expired'
  FROM closed c
  WHERE a.region = c.region AND a.window_id = c.window_id AND a.state = 'running'
)
SELECT region, window_id, error FROM closed ORDER BY region, window_id)sql",
                                   rfc3339_sql("r.lease_until")));
  if (!rows) return std::move(rows).error();
  std::vector<Missed> missed;
  for (int i = 0; i < rows->rows(); ++i)
    missed.push_back({std::string(rows->text(i, 0)), std::string(rows->text(i, 1)),
                      std::string(rows->text(i, 2))});
  return missed;
}

}  // namespace offpeak
