// What a claim would grant now, and why not, without claiming: offpeak-cron --dry-run's view
// of the ledger.
//
// The key idea is to ask the claim's own questions in the claim's order, but in a plain
// SELECT: done, held by a live lease, failed for good under the same config, waiting for its
// retry, then the budget rule; whatever passes all of them is claimable. Being a read, it
// takes no row lock and so cannot slow a tick down; it may be a moment out of date, which a
// dry run can afford. The clock is read as offpeak.ledger_now() reads it, but inline, so that
// a database without a ledger (nothing created by a dry run) is answered too.

#include <fmt/format.h>

#include "ledger.h"
#include "ledger_sql.h"
#include "pg.h"

namespace offpeak {

namespace {

// The windows $1-$5, each once per source given as $6 (window ids) and $7 (sources) for it,
// else once whole; with the budget rule's answer.
constexpr const char* kUnitsSql = R"sql(
WITH clock AS (
  SELECT coalesce(nullif(current_setting('offpeak.now', true), '')::timestamptz, now()) AS now
), input AS (
  SELECT DISTINCT ON (region, window_id) region, window_id, window_end,
         (SELECT now FROM clock) + make_interval(secs => budget_seconds) < window_end AS budget_ok
  FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[])
    AS i(region, window_id, window_start, window_end, budget_seconds)
  ORDER BY region, window_id
), units AS (
  SELECT i.region, i.window_id, i.budget_ok, coalesce(s.source, '') AS source
  FROM input i
  LEFT JOIN unnest($6::text[], $7::text[]) AS s(window_id, source) ON s.window_id = i.window_id
))sql";

// The verdict of each unit against the ledger's rows; $8 the config hash.
std::string peek_sql() {
  return fmt::format(R"sql({},
states AS (
  SELECT u.*, x.*
  FROM units u
  LEFT JOIN offpeak.runs r ON r.region = u.region AND r.window_id = u.window_id
  LEFT JOIN offpeak.run_sources s
    ON s.region = u.region AND s.window_id = u.window_id AND s.source = u.source
  LEFT JOIN LATERAL (
    SELECT r.state, r.host, r.lease_until, r.retry_at, r.permanent, r.config_hash, r.error
    WHERE u.source = '' OR NOT r.per_source
    UNION ALL
    SELECT s.state, s.host, s.lease_until, s.retry_at, s.permanent, s.config_hash, s.error
    WHERE u.source <> '' AND r.per_source
  ) x ON true
)
SELECT region, window_id, source,
  CASE WHEN state = 'done' THEN 'done'
       WHEN state = 'missed' THEN 'missed'
       WHEN state = 'running' AND lease_until >= (SELECT now FROM clock) THEN 'held'
       WHEN state = 'failed' AND permanent AND config_hash = $8 THEN 'failed_permanent'
       WHEN state = 'failed' AND NOT permanent AND retry_at > (SELECT now FROM clock) THEN 'backoff'
       WHEN NOT budget_ok THEN 'no_budget'
       ELSE 'claimable' END,
  coalesce(host, ''),
  coalesce(CASE WHEN state = 'running' THEN {} WHEN state = 'failed' THEN {} END, ''),
  coalesce(error, '')
FROM states ORDER BY region, window_id, source)sql",
                     kUnitsSql, rfc3339_sql("lease_until"), rfc3339_sql("retry_at"));
}

// Without a ledger only the budget rule can say no.
std::string no_ledger_sql() {
  return fmt::format(R"sql({}
SELECT region, window_id, source, CASE WHEN budget_ok THEN 'claimable' ELSE 'no_budget' END,
       '', '', '' FROM units ORDER BY region, window_id, source)sql",
                     kUnitsSql);
}

}  // namespace

Result<std::vector<Peek>> peek(PgConnection& db, const std::vector<WindowRequest>& requests,
                               const ClaimTerms& terms) {
  if (requests.empty()) return std::vector<Peek>{};
  auto exists = db.query("SELECT to_regclass('offpeak.run_sources') IS NOT NULL");
  if (!exists) return std::move(exists).error();
  const bool ledger = exists->boolean(0, 0);
  std::vector<std::string> unit_windows, unit_sources;
  for (const auto& r : requests)
    for (const auto& source : r.sources) {
      unit_windows.push_back(r.window_id);
      unit_sources.push_back(source);
    }
  auto params = window_arrays(requests);
  params.push_back(pg_text_array(unit_windows));
  params.push_back(pg_text_array(unit_sources));
  if (ledger) params.push_back(terms.config_hash);
  std::vector<PgParam> bound;
  for (const auto& p : params) bound.push_back({p});
  auto rows = db.query(ledger ? peek_sql() : no_ledger_sql(), bound);
  if (!rows) return std::move(rows).error();
  std::vector<Peek> peeks;
  for (int i = 0; i < rows->rows(); ++i) {
    Peek p;
    p.region = rows->text(i, 0);
    p.window_id = rows->text(i, 1);
    p.source = rows->text(i, 2);
    p.verdict = rows->text(i, 3);
    p.host = rows->text(i, 4);
    p.until = rows->text(i, 5);
    p.error = rows->text(i, 6);
    peeks.push_back(std::move(p));
  }
  return peeks;
}

}  // namespace offpeak
