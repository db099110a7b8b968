#pragma once

// offpeak-scrape's run as the tool does it: from its parsed command line to its exit code.

#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config.h"
#include "console.h"
#include "diagnostics.h"
#include "error.h"
#include "log.h"
#include "metrics.h"
#include "scrape.h"
#include "timestamp.h"
#include "url_template.h"

namespace offpeak {

// The command line, parsed.
struct ScrapeCommand {
  std::string config;                // --config, or "" to look for one
  Instant at;                        // --at: the session, and the records' fetched_at
  bool fixed_at = false;             // --at named a time ("now" does not fix fetched_at)
  std::vector<std::string> sources;  // --source: only these, in the config's order
  bool dry_run = false;
  std::string limit;     // --limit N: records per source, or "" for all
  std::string session;   // --session DATE: the {session_*} variables' day, or "" for --at's
  std::string deadline;  // --deadline TIME|DUR, or "" for the end of off-peak
  std::string region;
  std::string metrics_file;  // --metrics-file, or ""
  std::string cache_dir;     // --cache-dir, or "" for $OFFPEAK_CACHE_DIR, or none
  std::string status_file;   // --status-file, or ""
};

// Fetches the command's sources of its region, writing their records through the console,
// and returns the exit code: the worst of the sources' (error.h). Every run that gets past
// its usage checks, except --dry-run, ends by writing --metrics-file.
[[nodiscard]] ExitCode run_scrape_command(const ScrapeCommand& command, const Console& console);

// A usage error for region `id`, which `config` lacks: the ids like it as "did you mean",
// else every id it has.
[[nodiscard]] Error unknown_region(const Config& config, std::string_view id,
                                   std::string_view config_path);

// --limit as a number of records, 1 or more; 0 (no limit) when `text` is empty. A usage
// error for anything else.
[[nodiscard]] Result<std::uint64_t> parse_limit(std::string_view text);

// --session as a local date of `region` with a session (or, without sessions, an off-peak
// window starting on it); nothing when `text` is empty. A usage error for a text that is not
// a date YYYY-MM-DD, or a day without one.
[[nodiscard]] Result<std::optional<date::local_days>> parse_session(std::string_view text,
                                                                    const Region& region);

// --deadline as the time left after `at`: a DUR, or a TIME less `at`; nothing when `text` is
// empty. A usage error when it is neither, or leaves no time.
[[nodiscard]] Result<std::optional<std::chrono::seconds>> parse_deadline(std::string_view text,
                                                                         Instant at);

// The time the run has from `at`: `time_left` when --deadline gave it, else until the end of
// the region's off-peak window; 75 when the region is not off-peak at `at`.
[[nodiscard]] Result<std::chrono::seconds> scrape_time_left(
    const Region& region, Instant at, std::optional<std::chrono::seconds> time_left);

// The region's sources named by --source (all when `names` is empty), in the config's order.
// 78 when the region has none (`config_path` names the file), 64 for a name it lacks.
[[nodiscard]] Result<std::vector<const Source*>> select_sources(
    std::span<const Source> sources, const Region& region, const std::vector<std::string>& names,
    std::string_view config_path);

// OFFPEAK_RETRY_BASE_MS, for tests only: a backoff base smaller than 1 s keeps retry tests
// fast. Nothing when it is unset or not a number of milliseconds.
[[nodiscard]] std::optional<std::chrono::milliseconds> retry_base_from_env(const EnvLookup& env);

// The progress line: "offpeak-scrape: xnys: 1/2 sources done, 3 pages, 15 records, 0.1 MB".
[[nodiscard]] std::string progress_text(std::string_view region,
                                        const std::vector<SourceSummary>& sources);

// A source's summary: region=xnys source=bars status=ok pages=3 requests=3 retries=0
// bytes=1234 records=15 skipped=0 seconds=0.02.
[[nodiscard]] LogLine summary_log(std::string_view region, const SourceSummary& s);

// The metric a failed run carries over from the file it replaces.
inline constexpr std::string_view kScrapeLastSuccess =
    "offpeak_scrape_last_success_timestamp_seconds";

// --metrics-file: each source's figures, labelled region and source, from `report`, or
// without it (the run stopped before fetching) just when it ran and how it ended. A run
// that stopped before it knew its sources has samples labelled region alone. `now` is
// Unix seconds.
[[nodiscard]] MetricsFile scrape_metrics(std::string_view region,
                                         const std::vector<std::string>& sources,
                                         const ScrapeReport* report, int exit, double now,
                                         double run_seconds);

}  // namespace offpeak
