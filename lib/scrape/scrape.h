#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calendar.h"
#include "diagnostics.h"
#include "error.h"
#include "fetch.h"
#include "response_cache.h"
#include "retry.h"
#include "source.h"
#include "timestamp.h"
#include "url_template.h"

namespace offpeak {

struct ScrapeOptions {
  const Region* region = nullptr;
  std::vector<const Source*> sources;
  Instant at;                                   // picks the session of the {session_*} variables
  std::optional<date::local_days> session_day;  // --session: that day's session instead
  bool fixed_fetched_at = false;  // every record's fetched_at is `at` (--at given), not now
  SteadyTime deadline;            // no wait, retry or transfer goes past it
  Backoff backoff;
  std::uint64_t seed = 0;   // for the backoff jitter
  std::uint64_t limit = 0;  // --limit: records written per source at most, 0 for no limit
  const ResponseCache* cache = nullptr;  // --cache-dir: conditional requests, or none
  // Sources run only for the values their records give the dependent sources (`from`) of
  // `sources`: their records are not written (with_parents() in dependent.h).
  std::vector<const Source*> inputs_only;
  EnvLookup env;
};

// Skipped-record messages shown per source; the rest are counted in the summary.
inline constexpr std::uint64_t kSkippedShown = 10;

// One source's figures, as its summary line shows them.
struct SourceSummary {
  std::string name;
  std::int64_t pages = 0;     // pages whose records were written
  std::int64_t requests = 0;  // transfers started, retries and pages fetched ahead included
  std::int64_t retries = 0;
  std::uint64_t bytes = 0;  // decoded body bytes received
  std::uint64_t records = 0;
  std::uint64_t skipped = 0;                 // records left out, e.g. for a missing key field
  std::optional<std::int64_t> not_modified;  // 304s answered from the cache, when there is one
  // Finished transfers by HTTP status ("200", "503"), or "error" for those with none.
  std::map<std::string, std::int64_t> responses;
  ExitCode exit = kExitOk;
  std::string status = "running";
  double seconds = 0;
};

// What happens during the run, as it happens, for main to show.
struct ScrapeEvents {
  // Writes whole output lines; an Error when they could not be written ends the run.
  std::function<Result<void>(std::string_view lines)> write;
  // An error or warning about source `source`, secrets already masked. `status` says what
  // it is: "retry", "skipped", the status a failure gives the source, ...
  std::function<void(Severity severity, std::string_view source, std::string_view status,
                     std::string_view message)>
      message;
  // The figures so far, after every finished transfer.
  std::function<void(const std::vector<SourceSummary>& sources)> progress;
};

struct ScrapeReport {
  std::vector<SourceSummary> sources;
  Result<void> output;      // an Error when the run stopped because `write` failed
  ExitCode exit = kExitOk;  // the worst of the sources'
};

// Fetches every source of `options` concurrently over `transport`, writing each page's
// records in page order through events.write.
[[nodiscard]] ScrapeReport run_scrape(Transport& transport, const ScrapeOptions& options,
                                      const ScrapeEvents& events);

// The ${ENV} problems of the sources' first requests: an unset variable is a config error
// naming it, reported for every source before anything is fetched.
[[nodiscard]] std::vector<Diagnostic> check_requests(const ScrapeOptions& options);

// The session of the run's {session_*} variables: that of `session_day` when given, else
// the one at `at` (template_session()).
[[nodiscard]] std::optional<Session> run_session(const ScrapeOptions& options);

// --dry-run: each source's first request as it would be sent, secrets shown as ***.
[[nodiscard]] std::string describe_first_requests(const ScrapeOptions& options);

}  // namespace offpeak
