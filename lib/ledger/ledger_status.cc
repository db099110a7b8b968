// Reading the ledger back for people and scripts: each window of the last nights with its
// state, attempts, hosts, sources and their record counts, duration and last error.
//
// The server does the assembling: one query joins a window's row with its attempts (for the
// hosts and the first start) and renders both the table's cells and the JSON object, so the
// two forms cannot disagree and the JSON is PostgreSQL's own.

#include "ledger_status.h"

#include <algorithm>

#include <fmt/format.h>

#include "duration.h"
#include "ledger_sql.h"
#include "pg.h"

namespace offpeak {

namespace {

std::string status_sql() {
  return fmt::format(R"sql(
SELECT r.region, r.window_id,
       r.state || CASE WHEN r.permanent THEN ' (permanent)' ELSE '' END,
       r.attempt,
       coalesce(h.hosts, r.host),
       coalesce(CASE WHEN r.per_source THEN ps.cells ELSE
                (SELECT string_agg(key || '=' || coalesce(value->>'records', '?')
                                   || CASE WHEN coalesce(value->>'status', 'ok') = 'ok' THEN ''
                                           ELSE '(' || (value->>'status') || ')' END,
                                   ' ' ORDER BY key)
                 FROM jsonb_each(r.sources)) END, ''),
       coalesce(extract(epoch FROM r.finished - coalesce(h.first_start, r.started))::bigint::text,
                ''),
       coalesce(r.error, ''),
       jsonb_build_object(
         'region', r.region, 'window_id', r.window_id,
         'window_start', {}, 'window_end', {},
         'state', r.state, 'permanent', r.permanent, 'attempts', r.attempt,
         'hosts', coalesce(h.host_list, jsonb_build_array(r.host)),
         'sources', CASE WHEN r.per_source THEN coalesce(ps.objects, '{{}}') ELSE r.sources END,
         'per_source', r.per_source,
         'started', {}, 'finished', {},
         'duration_seconds', extract(epoch FROM r.finished - coalesce(h.first_start, r.started)),
         'scrape_exit', r.scrape_exit, 'load_exit', r.load_exit, 'load_id', r.load_id,
         'retry_at', {}, 'lease_until', {}, 'error', r.error)::text
FROM offpeak.runs r
LEFT JOIN LATERAL (
  SELECT string_agg(host, ',' ORDER BY first) AS hosts,
         jsonb_agg(host ORDER BY first) AS host_list,
         min(first) AS first_start
  FROM (SELECT host, min(started) AS first FROM offpeak.run_attempts a
        WHERE a.region = r.region AND a.window_id = r.window_id GROUP BY host) by_host
) h ON true
LEFT JOIN LATERAL (
  -- A window claimed source by source: each source's state now (done: its records).
  SELECT string_agg(s.source || '=' || CASE
           WHEN s.state = 'done' THEN coalesce(s.records::text, '?')
             || CASE WHEN coalesce(s.status, 'ok') = 'ok' THEN '' ELSE '(' || s.status || ')' END
           WHEN s.state = 'running' THEN 'running@' || s.host
           WHEN s.state = 'failed' THEN 'failed' || coalesce('(' || s.status || ')', '')
             || CASE WHEN s.permanent THEN '(permanent)' ELSE '' END
           ELSE s.state END, ' ' ORDER BY s.source) AS cells,
         jsonb_object_agg(s.source, jsonb_build_object(
           'state', s.state, 'status', s.status, 'records', s.records, 'attempts', s.attempt,
           'host', s.host, 'permanent', s.permanent, 'lease_until', {},
           'retry_at', {}, 'error', s.error)) AS objects
  FROM offpeak.run_sources s WHERE s.region = r.region AND s.window_id = r.window_id
) ps ON r.per_source
WHERE (r.window_end > offpeak.ledger_now() - make_interval(days => $1::int) OR r.state = 'running')
  AND (cardinality($2::text[]) = 0 OR r.region = ANY($2::text[]))
ORDER BY r.window_start DESC, r.region)sql",
                     rfc3339_sql("r.window_start"), rfc3339_sql("r.window_end"),
                     rfc3339_sql("coalesce(h.first_start, r.started)"), rfc3339_sql("r.finished"),
                     rfc3339_sql("r.retry_at"), rfc3339_sql("r.lease_until"),
                     rfc3339_sql("s.lease_until"), rfc3339_sql("s.retry_at"));
}

using Row = std::vector<std::string>;

// Columns padded to their widest cell, two spaces apart; the last one, the error, runs on.
std::string render(const std::vector<Row>& rows) {
  std::vector<std::size_t> widths(rows.front().size(), 0);
  for (const Row& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  std::string out;
  for (const Row& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(widths[i] - row[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + '\n';
  }
  return out;
}

}  // namespace

Result<std::vector<WindowStatus>> read_status(PgConnection& db, const StatusQuery& query) {
  const std::string nights = std::to_string(query.nights);
  const std::string regions = pg_text_array(query.regions);
  auto rows = db.query(status_sql(), {{nights}, {regions}});
  if (!rows) return std::move(rows).error();
  std::vector<WindowStatus> windows;
  for (int i = 0; i < rows->rows(); ++i) {
    WindowStatus w;
    w.region = rows->text(i, 0);
    w.window_id = rows->text(i, 1);
    w.state = rows->text(i, 2);
    w.attempts = static_cast<int>(rows->int64(i, 3));
    w.hosts = rows->text(i, 4);
    w.sources = rows->text(i, 5);
    const std::string_view seconds = rows->text(i, 6);
    w.duration = seconds.empty() ? "-" : format_duration(std::chrono::seconds(rows->int64(i, 6)));
    w.error = rows->text(i, 7);
    w.json = rows->text(i, 8);
    windows.push_back(std::move(w));
  }
  return windows;
}

std::string status_table(const std::vector<WindowStatus>& windows) {
  std::vector<Row> rows = {
      {"REGION", "WINDOW", "STATE", "ATTEMPTS", "HOSTS", "SOURCES", "DURATION", "ERROR"}};
  for (const auto& w : windows) {
    // The window id is REGION@START: the column shows the start only.
    const auto at = w.window_id.find('@');
    rows.push_back({w.region, at == std::string::npos ? w.window_id : w.window_id.substr(at + 1),
                    w.state, std::to_string(w.attempts), w.hosts,
                    w.sources.empty() ? "-" : w.sources, w.duration,
                    w.error.empty() ? "-" : w.error});
  }
  return render(rows);
}

}  // namespace offpeak
