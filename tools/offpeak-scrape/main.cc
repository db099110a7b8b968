// offpeak-scrape: fetch a region's sources and print their records as NDJSON.

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "error.h"
#include "log.h"
#include "progress_line.h"
#include "scrape_command.h"
#include "tool_main.h"

namespace {

using namespace offpeak;

constexpr std::string_view kTool = "offpeak-scrape";

constexpr const char* kFooter = R"(Output: one JSON object per record on stdout,
  {"region":R,"source":S,"key":[...],"fetched_at":"...Z","record":{...}}
with each page's records written whole, in page order. Errors, warnings and one summary
line per source go to stderr as key=value text,
  offpeak-scrape: region=xnys source=bars status=ok pages=3 requests=3 retries=0 bytes=1234 \
    records=15 skipped=0 seconds=0.02
  offpeak-scrape: level=warning region=xnys source=bars status=retry msg="..."
or with --log-format json as one JSON object a line, {"time":...,"tool":...,"level":...,
the same fields}; a progress line too when stderr is a terminal and the format is text.

--metrics-file FILE writes Prometheus metrics for node_exporter's textfile collector at the
end of every run but a usage error or --dry-run, replacing FILE atomically: per source
offpeak_scrape_{last_run_timestamp_seconds,last_success_timestamp_seconds,duration_seconds,
exit_code,records,pages,bytes,retries,requests{code}}; last_success carries over from
FILE when a source fails.
--dry-run prints each source's first request instead, with the value of every {variable}
and ${VAR} it may use, secrets shown as ***. --limit N stops each source once it has
written N records and counts that as success: a quick look at a new source.

--cache-dir DIR (or $OFFPEAK_CACHE_DIR) keeps each request's last good response that had
an ETag or Last-Modified, and sends If-None-Match / If-Modified-Since next time: a 304 reuses
the kept body, so the records are the same and nothing is transferred; the summary counts
them as not_modified=N. DIR is created 0700 and must be the user's own and private.

TIME is RFC 3339 (2026-03-08T06:30:00Z) or "now"; DUR is a duration like 90s, 45m, 1h30m.
--at sets the session of {session_date} and the records' fetched_at, for reproducible runs;
the fetching itself happens now. --session DATE (YYYY-MM-DD, a trading day) sets the
session alone, for one-off runs and backfills. A region with off-peak windows and no
sessions has {session_date} too: the local date the window open at --at started.

Deadline: no request, retry or wait goes past --deadline (a TIME, or a DUR from now). By
default it is the end of the region's off-peak window at --at; when the region is not
off-peak then, offpeak-scrape refuses to start (exit 75) unless --deadline is given.

The config is --config FILE, else $OFFPEAK_CONFIG, else ./regions.toml,
else /etc/offpeak/regions.toml.

Exit status: 0 every source finished, 75 a source failed in a way worth retrying later
(timeouts, 429, 5xx, the deadline), 65 a source sent data that does not parse or lacks the
configured records, or fails its min_records / max_skipped rule (status=too_few_records,
too_many_skipped), 69 a source answered 401, 403, 404 or another final error, 74 output
error (also an unusable --cache-dir), 64 usage error, 78 configuration error (also an unset ${VAR}). With several
sources, the worst: 78, 69, 65, then 75.

Examples:
  offpeak-scrape xnys | jq -c 'select(.source == "bars") | .record'
  offpeak-scrape --dry-run --source bars xnys
  offpeak-scrape --limit 5 --source bars --deadline 1m xnys
  offpeak-scrape --deadline 20m xlon > xlon.ndjson)";

// Writes all of `data` to stdout, unbuffered: each page's lines go out as one piece.
Result<void> write_stdout(std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      return Error{kExitIoErr, fmt::format("cannot write to standard output: {}",
                                           std::strerror(n < 0 ? errno : EIO))};
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

int run(int argc, char** argv) {
  ScrapeCommand command;
  std::string at_text = "now";
  std::string log_format = "text";
  CLI::App app{"Fetch a region's HTTP sources and print their records as JSON lines.",
               std::string(kTool)};
  set_up_app(app, kTool, kFooter);
  app.add_option("--config", command.config, "Config file (regions.toml)")->type_name("FILE");
  app.add_option("--at", at_text, "The run's time: session and fetched_at (default: now)")
      ->type_name("TIME");
  app.add_option("--session", command.session,
                 "The session of {session_date} etc. (default: the last one closed at --at)")
      ->type_name("DATE");
  app.add_option("--source", command.sources, "Only this source; may be repeated")
      ->type_name("NAME");
  app.add_flag("--dry-run", command.dry_run,
               "Print each source's first request and its variables; fetch nothing");
  app.add_option("--limit", command.limit, "Stop each source after N records (a preview)")
      ->type_name("N");
  app.add_option("--deadline", command.deadline,
                 "Stop by this time, or after this long (default: end of off-peak)")
      ->type_name("TIME|DUR");
  app.add_option("--cache-dir", command.cache_dir,
                 "Send conditional requests; keep last good responses here")
      ->type_name("DIR");
  app.add_option("REGION", command.region, "The region whose sources to fetch")
      ->required()
      ->type_name("");
  add_log_and_metrics_options(app, log_format, command.metrics_file, "run");
  app.add_option("--status-file", command.status_file,
                 "Write the exit code and each source's status here (JSON) before exiting")
      ->type_name("FILE");

  if (const auto code = parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv)))
    return *code;
  const Log log(kTool, parse_log_format(log_format).value_or(LogFormat::kText));
  const auto at = parse_time_arg(at_text);
  if (!at)
    return log.usage_error(
        fmt::format("--at: invalid time \"{}\"; expected RFC 3339 in the years 1900 to 8999, like "
                    "2026-03-08T06:30:00Z, or now",
                    at_text));
  command.at = *at;
  command.fixed_at = at_text != "now";

  ProgressLine progress(log.format() == LogFormat::kText, std::chrono::milliseconds(250));
  const Console console = console_on(log, &progress, write_stdout);
  std::signal(SIGPIPE, SIG_IGN);
  return run_scrape_command(command, console);
}

}  // namespace

int main(int argc, char** argv) {
  return offpeak::run_tool(kTool, [&] { return run(argc, argv); });
}
