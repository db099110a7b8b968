// offpeak-load's Prometheus metrics: the run's end, duration and exit code always, and each
// (region, source) pair's counts after a load that committed. A failed load's file keeps the
// last success times of the one it replaces (replace_metrics_file carries them over), so an
// alert on their age fires only when loads keep failing.

#include "load_metrics.h"

#include "error.h"
#include "pg_load.h"

namespace offpeak {

MetricsFile load_metrics(const LoadResult* result, int exit, double now, double run_seconds) {
  MetricsFile m;
  m.gauge("offpeak_load_last_run_timestamp_seconds", "When the last load ended, in Unix time.");
  m.gauge(kLoadLastSuccess,
          "When a load last committed, in Unix time: unlabelled for the run, labelled for the "
          "pairs it had lines of.");
  m.gauge("offpeak_load_duration_seconds", "How long the last load took.");
  m.gauge("offpeak_load_exit_code",
          "The last load's exit status (0 loaded, 65 bad lines, 69 or 75 database, 74 I/O).");
  m.gauge("offpeak_load_lines", "Input lines of the pair in the last load.");
  m.gauge("offpeak_load_inserted", "Rows the last load inserted.");
  m.gauge("offpeak_load_updated", "Rows the last load updated.");
  m.gauge("offpeak_load_unchanged", "Lines of the last load that matched their row.");
  m.gauge("offpeak_load_duplicates",
          "Lines of the last load that a later line of their key replaced.");
  m.gauge("offpeak_load_stale",
          "Lines of the last load older (by fetched_at) than their row, which they left alone.");
  m.gauge("offpeak_load_rejected", "Bad lines of the last load, under region=\"\" source=\"\".");
  m.gauge("offpeak_load_deleted",
          "Rows the last load marked deleted: of a complete run, missing from it. Only for pairs "
          "an end line declared complete.");
  m.set("offpeak_load_last_run_timestamp_seconds", {}, now);
  m.set("offpeak_load_duration_seconds", {}, run_seconds);
  m.set("offpeak_load_exit_code", {}, exit);
  if (exit != kExitOk || result == nullptr) return m;
  m.set(kLoadLastSuccess, {}, now);
  for (const PairCounts& p : result->pairs) {
    const Labels labels = {{"region", p.region}, {"source", p.source}};
    // Empty labels are no labels to Prometheus: bad lines' pair has the run's last_success.
    if (!p.region.empty() || !p.source.empty()) m.set(kLoadLastSuccess, labels, now);
    m.set("offpeak_load_lines", labels, static_cast<double>(p.counts.lines));
    m.set("offpeak_load_inserted", labels, static_cast<double>(p.counts.inserted));
    m.set("offpeak_load_updated", labels, static_cast<double>(p.counts.updated));
    m.set("offpeak_load_unchanged", labels, static_cast<double>(p.counts.unchanged));
    m.set("offpeak_load_duplicates", labels, static_cast<double>(p.counts.duplicates));
    m.set("offpeak_load_stale", labels, static_cast<double>(p.counts.stale));
    m.set("offpeak_load_rejected", labels, static_cast<double>(p.counts.rejected));
    if (p.complete) m.set("offpeak_load_deleted", labels, static_cast<double>(p.counts.deleted));
  }
  return m;
}

}  // namespace offpeak
