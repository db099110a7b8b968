// Claiming windows and sources, and keeping a claim alive: the part of the ledger that makes
// "exactly once per window" hold across any number of hosts.
//
// A window is claimed by one INSERT ... ON CONFLICT DO UPDATE ... WHERE <claimable>
// RETURNING: PostgreSQL serializes contenders on the row, so of all the hosts of a tick
// exactly one gets the row back, and the others get nothing (never an error, which would
// abort their transaction). Rows another host is busy claiming are skipped (SKIP LOCKED)
// rather than waited for, so the hosts of a tick share the windows out. Every rule is in the
// statement and uses the server's clock, offpeak.ledger_now() (now(), or the tick's time
// when offpeak-cron --at sets offpeak.now): the budget (now + budget < window end), the
// retry's backoff, the lease. Sources spread over hosts are rows taken with FOR UPDATE SKIP LOCKED,
// so concurrent claimers take different ones instead of queueing behind each other. A heartbeat is
// an UPDATE on the owner's token that only succeeds while the lease runs: zero rows is the fence
// that stops a run whose claim was taken over.

#include <fmt/format.h>

#include "ledger.h"
#include "ledger_sql.h"
#include "pg.h"

namespace offpeak {

namespace {

// The tick's time, read once (clock), and the windows of $1-$5 that still have their budget
// left by it, once each, in a fixed order (so that concurrent claimers lock rows in the same
// order); all of them when `backfill` (SQL) is true.
std::string input_sql(std::string_view backfill) {
  return fmt::format(R"sql(
  clock AS MATERIALIZED (SELECT offpeak.ledger_now() AS now),
  input AS (
    SELECT DISTINCT ON (region, window_id) region, window_id, window_start, window_end
    FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[])
      AS i(region, window_id, window_start, window_end, budget_seconds)
    WHERE {} OR (SELECT now FROM clock) + make_interval(secs => budget_seconds) < window_end
    ORDER BY region, window_id
  ))sql",
                     backfill);
}

// The claim of whole windows: $6 host, $7 lease seconds, $8 config hash, $9 whether they are
// backfills (no budget rule; a finished backfill may be run again; a tick's claims and a
// backfill's never take each other's rows). The upsert's WHERE decides; before it, rows that
// exist and look claimable are locked with FOR UPDATE SKIP LOCKED, and those another host
// holds are left out: hosts of one tick share the windows out instead of queueing behind
// each other's locks.
//
// Those rows are looked up window by window through the primary key (a LATERAL subquery
// with a locking clause, which the planner cannot flatten into a join). As a join, its plan
// followed the row estimates for "claimable", which come from statistics taken while the
// leases ran: a few rows, so a nested loop that compared every window with every row, a
// million comparisons and 200 ms for 1,000 windows whenever autoanalyze had just run. The
// time is read once (clock), not for every row.
std::string window_claim_sql() {
  return fmt::format(R"sql(
WITH {},
taken AS MATERIALIZED (
  SELECT l.region, l.window_id
  FROM input i CROSS JOIN LATERAL (
    SELECT r.region, r.window_id FROM offpeak.runs r
    WHERE r.region = i.region AND r.window_id = i.window_id
      AND NOT r.per_source AND r.backfill = $9::boolean AND (
        (r.state = 'failed' AND (NOT r.permanent AND r.retry_at <= (SELECT now FROM clock)
                                 OR r.permanent AND r.config_hash <> $8))
        OR (r.state = 'running' AND r.lease_until < (SELECT now FROM clock))
        OR ($9::boolean AND r.state IN ('done', 'failed', 'missed')))
    FOR UPDATE OF r SKIP LOCKED
  ) l
),
candidates AS (
  SELECT i.* FROM input i
  WHERE NOT EXISTS (SELECT 1 FROM offpeak.runs r
                    WHERE r.region = i.region AND r.window_id = i.window_id)
     OR EXISTS (SELECT 1 FROM taken t WHERE t.region = i.region AND t.window_id = i.window_id)
),
claimed AS (
  INSERT INTO offpeak.runs AS r (region, window_id, window_start, window_end, attempt, host,
                                 owner, started, state, lease_until, config_hash, backfill)
  SELECT region, window_id, window_start, window_end, 1, $6, gen_random_uuid(), c.now,
         'running', c.now + make_interval(secs => $7::int), $8, $9::boolean
  FROM candidates, clock c
  ORDER BY region, window_id
  ON CONFLICT (region, window_id) DO UPDATE
    SET attempt = r.attempt + 1, host = excluded.host, owner = excluded.owner,
        started = excluded.started, finished = NULL, state = 'running', permanent = false,
        scrape_exit = NULL, load_exit = NULL, load_id = NULL,
        lease_until = excluded.lease_until, retry_at = NULL, config_hash = excluded.config_hash
    WHERE NOT r.per_source AND r.backfill = excluded.backfill AND (
      (r.state = 'failed' AND (NOT r.permanent AND r.retry_at <= excluded.started
                               OR r.permanent AND r.config_hash <> excluded.config_hash))
      OR (r.state = 'running' AND r.lease_until < excluded.started)
      OR (excluded.backfill AND r.state IN ('done', 'failed', 'missed')))
  RETURNING r.region, r.window_id, r.attempt, r.owner, r.host, r.started, r.lease_until
),
expired AS (
  UPDATE offpeak.run_attempts a
  SET state = 'failed', finished = (SELECT now FROM clock),
      error = 'lease expired; taken over by ' || c.host
  FROM claimed c
  WHERE a.region = c.region AND a.window_id = c.window_id AND a.source = ''
    AND a.attempt = c.attempt - 1 AND a.state = 'running'
),
recorded AS (
  INSERT INTO offpeak.run_attempts (region, window_id, attempt, host, owner, started, state)
  SELECT region, window_id, attempt, host, owner, started, 'running' FROM claimed
)
SELECT region, window_id, '', attempt, owner, {} FROM claimed ORDER BY region, window_id)sql",
                     input_sql("$9::boolean"), rfc3339_sql("lease_until"));
}

// Makes the windows' rows (marked per source) and their sources' rows, when missing: $6
// host, $7 config hash, $8 the sources. A window claimed whole gets no source rows.
std::string source_rows_sql() {
  return fmt::format(R"sql(
WITH {},
windows AS (
  INSERT INTO offpeak.runs (region, window_id, window_start, window_end, attempt, host, started,
                            state, per_source, config_hash)
  SELECT region, window_id, window_start, window_end, 0, $6, offpeak.ledger_now(), 'running', true, $7
  FROM input
  ON CONFLICT (region, window_id) DO NOTHING
)
INSERT INTO offpeak.run_sources (region, window_id, source, state)
SELECT i.region, i.window_id, s.source, 'pending'
FROM input i CROSS JOIN unnest($8::text[]) AS s(source)
WHERE NOT EXISTS (SELECT 1 FROM offpeak.runs r
                  WHERE r.region = i.region AND r.window_id = i.window_id AND NOT r.per_source)
ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING)sql",
                     input_sql("false"));
}

// The claim of sources: up to $9 claimable ones of the windows, skipping rows another
// claimer holds. $6 host, $7 lease seconds, $8 config hash.
std::string source_claim_sql() {
  return fmt::format(R"sql(
WITH {},
picked AS (
  SELECT s.region, s.window_id, s.source
  FROM offpeak.run_sources s JOIN input i USING (region, window_id)
  WHERE s.state = 'pending'
     OR (s.state = 'failed' AND (NOT s.permanent AND s.retry_at <= offpeak.ledger_now()
                                 OR s.permanent AND s.config_hash <> $8))
     OR (s.state = 'running' AND s.lease_until < offpeak.ledger_now())
  ORDER BY s.attempt, s.region, s.window_id, s.source
  LIMIT $9::int
  FOR UPDATE OF s SKIP LOCKED
),
claimed AS (
  UPDATE offpeak.run_sources s
  SET state = 'running', attempt = s.attempt + 1, host = $6, owner = gen_random_uuid(),
      started = offpeak.ledger_now(), finished = NULL, permanent = false, exit = NULL, status = NULL,
      records = NULL, lease_until = offpeak.ledger_now() + make_interval(secs => $7::int), retry_at = NULL,
      config_hash = $8
  FROM picked p
  WHERE s.region = p.region AND s.window_id = p.window_id AND s.source = p.source
  RETURNING s.region, s.window_id, s.source, s.attempt, s.owner, s.host, s.started,
            s.lease_until
),
expired AS (
  UPDATE offpeak.run_attempts a
  SET state = 'failed', finished = offpeak.ledger_now(), error = 'lease expired; taken over by ' || c.host
  FROM claimed c
  WHERE a.region = c.region AND a.window_id = c.window_id AND a.source = c.source
    AND a.attempt = c.attempt - 1 AND a.state = 'running'
),
recorded AS (
  INSERT INTO offpeak.run_attempts (region, window_id, source, attempt, host, owner, started,
                                    state)
  SELECT region, window_id, source, attempt, host, owner, started, 'running' FROM claimed
)
SELECT region, window_id, source, attempt, owner, {} FROM claimed
ORDER BY region, window_id, source)sql",
                     input_sql("false"), rfc3339_sql("lease_until"));
}

std::vector<Claim> claims_of(const PgResult& rows) {
  std::vector<Claim> claims;
  for (int i = 0; i < rows.rows(); ++i) {
    claims.push_back(Claim{std::string(rows.text(i, 0)), std::string(rows.text(i, 1)),
                           std::string(rows.text(i, 2)), static_cast<int>(rows.int64(i, 3)),
                           std::string(rows.text(i, 4)), std::string(rows.text(i, 5))});
  }
  return claims;
}

}  // namespace

Result<std::vector<Claim>> claim_windows(PgConnection& db,
                                         const std::vector<WindowRequest>& requests,
                                         const ClaimTerms& terms) {
  if (requests.empty()) return std::vector<Claim>{};
  auto params = window_arrays(requests);
  params.push_back(terms.host);
  params.push_back(std::to_string(terms.lease.count()));
  params.push_back(terms.config_hash);
  params.push_back(terms.backfill ? "true" : "false");
  std::vector<PgParam> bound;
  for (const auto& p : params) bound.push_back({p});
  auto rows = db.query(window_claim_sql(), bound);
  if (!rows) return std::move(rows).error();
  return claims_of(*rows);
}

Result<std::vector<Claim>> claim_sources(PgConnection& db,
                                         const std::vector<WindowRequest>& requests,
                                         const std::vector<std::string>& sources, int limit,
                                         const ClaimTerms& terms) {
  if (requests.empty() || sources.empty() || limit <= 0) return std::vector<Claim>{};
  const auto arrays = window_arrays(requests);
  const std::string lease = std::to_string(terms.lease.count());
  const std::string source_array = pg_text_array(sources);
  const std::string limit_text = std::to_string(limit);
  std::vector<PgParam> bound;
  for (const auto& p : arrays) bound.push_back({p});
  bound.push_back({terms.host});
  // The rows first, in a statement of their own: the claim's snapshot then sees them.
  std::vector<PgParam> rows_params = bound;
  rows_params.push_back({terms.config_hash});
  rows_params.push_back({source_array});
  auto made = db.query(source_rows_sql(), rows_params);
  if (!made) return std::move(made).error();
  bound.push_back({lease});
  bound.push_back({terms.config_hash});
  bound.push_back({limit_text});
  auto rows = db.query(source_claim_sql(), bound);
  if (!rows) return std::move(rows).error();
  return claims_of(*rows);
}

Result<bool> heartbeat(PgConnection& db, const std::string& token, std::chrono::seconds lease) {
  const std::string lease_text = std::to_string(lease.count());
  auto rows = db.query(R"sql(
WITH w AS (
  UPDATE offpeak.runs SET lease_until = offpeak.ledger_now() + make_interval(secs => $2::int)
  WHERE owner = $1::uuid AND state = 'running' AND lease_until >= offpeak.ledger_now()
  RETURNING 1
), s AS (
  UPDATE offpeak.run_sources SET lease_until = offpeak.ledger_now() + make_interval(secs => $2::int)
  WHERE owner = $1::uuid AND state = 'running' AND lease_until >= offpeak.ledger_now()
  RETURNING 1
)
SELECT (SELECT count(*) FROM w) + (SELECT count(*) FROM s))sql",
                       {{token}, {lease_text}});
  if (!rows) return std::move(rows).error();
  return rows->int64(0, 0) > 0;
}

}  // namespace offpeak
