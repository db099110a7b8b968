// The ledger's states as Prometheus metrics, for node_exporter's textfile collector and the
// alert rules in cron/offpeak-alerts.yml (a window missed, a permanent failure).
//
// The key idea: counts run "since the region's last done window", so that an alert fires on
// the first missed window or permanent failure and clears by itself once a window of the
// region is done again; every host of a fleet writes the same figures, read from the one
// ledger, and the alerts aggregate them with max().

#include "ledger_metrics.h"

#include <string>

#include "ledger_sql.h"
#include "pg.h"

namespace offpeak {

namespace {

constexpr const char* kStates[] = {"running", "done", "failed", "missed"};

// $1 nights, $2 regions (text[]; all when empty).
constexpr const char* kMetricsSql = R"sql(
WITH r AS (
  SELECT region, state, permanent, window_end, finished FROM offpeak.runs
  WHERE NOT backfill AND (cardinality($2::text[]) = 0 OR region = ANY($2::text[]))
), d AS (
  SELECT region, max(window_end) FILTER (WHERE state = 'done') AS done_end,
         max(finished) FILTER (WHERE state = 'done') AS done_at
  FROM r GROUP BY region
)
SELECT d.region,
  count(*) FILTER (WHERE r.state = 'running'),
  count(*) FILTER (WHERE r.state = 'done' AND r.window_end > offpeak.ledger_now() - make_interval(days => $1::int)),
  count(*) FILTER (WHERE r.state = 'failed' AND r.window_end > offpeak.ledger_now() - make_interval(days => $1::int)),
  count(*) FILTER (WHERE r.state = 'missed' AND r.window_end > offpeak.ledger_now() - make_interval(days => $1::int)),
  count(*) FILTER (WHERE r.state = 'missed' AND (d.done_end IS NULL OR r.window_end > d.done_end)),
  count(*) FILTER (WHERE r.permanent AND r.state IN ('failed', 'missed')
                     AND (d.done_end IS NULL OR r.window_end > d.done_end)),
  coalesce(extract(epoch FROM d.done_at), 0)::bigint,
  extract(epoch FROM offpeak.ledger_now())::bigint
FROM d JOIN r USING (region)
GROUP BY d.region, d.done_end, d.done_at
ORDER BY d.region)sql";

}  // namespace

Result<MetricsFile> ledger_metrics(PgConnection& db, const StatusQuery& query) {
  auto rows =
      db.query(kMetricsSql, {{std::to_string(query.nights)}, {pg_text_array(query.regions)}});
  if (!rows) return std::move(rows).error();
  MetricsFile file;
  file.gauge("offpeak_ledger_windows",
             "Windows of the last nights in the run ledger, by state (running: any).");
  file.gauge("offpeak_ledger_missed_windows",
             "Windows that closed without done since the region's last done window.");
  file.gauge("offpeak_ledger_permanent_failures",
             "Windows failed for good (exit 69 or 78) since the region's last done window.");
  file.gauge("offpeak_ledger_last_done_timestamp_seconds",
             "When the region's last done window finished, in Unix time (0: never).");
  file.gauge("offpeak_ledger_last_run_timestamp_seconds",
             "The ledger's clock when these figures were read, in Unix time.");
  for (int i = 0; i < rows->rows(); ++i) {
    const std::string region(rows->text(i, 0));
    for (int s = 0; s < 4; ++s)
      file.set("offpeak_ledger_windows", {{"region", region}, {"state", kStates[s]}},
               static_cast<double>(rows->int64(i, 1 + s)));
    file.set("offpeak_ledger_missed_windows", {{"region", region}},
             static_cast<double>(rows->int64(i, 5)));
    file.set("offpeak_ledger_permanent_failures", {{"region", region}},
             static_cast<double>(rows->int64(i, 6)));
    file.set("offpeak_ledger_last_done_timestamp_seconds", {{"region", region}},
             static_cast<double>(rows->int64(i, 7)));
  }
  auto now = db.query("SELECT extract(epoch FROM offpeak.ledger_now())::bigint");
  if (!now) return std::move(now).error();
  file.set("offpeak_ledger_last_run_timestamp_seconds", {}, static_cast<double>(now->int64(0, 0)));
  return file;
}

}  // namespace offpeak
