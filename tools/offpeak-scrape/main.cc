// offpeak-scrape: fetch a region's sources and print their records as NDJSON.

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <date/date.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "calendar.h"
#include "config.h"
#include "diagnostics.h"
#include "duration.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "scrape.h"
#include "timestamp.h"
#include "tool_main.h"

namespace {

using namespace offpeak;

constexpr std::string_view kTool = "offpeak-scrape";

struct Options {
  std::string config;
  std::string at = "now";
  std::vector<std::string> sources;
  bool dry_run = false;
  std::string deadline;
  std::string region;
  std::string log_format = "text";
  std::string metrics_file;
};

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
--dry-run prints each source's first request instead, secrets shown as ***.

TIME is RFC 3339 (2026-03-08T06:30:00Z) or "now"; DUR is a duration like 90s, 45m, 1h30m.
--at sets the session of {session_date} and the records' fetched_at, for reproducible runs;
the fetching itself happens now.

Deadline: no request, retry or wait goes past --deadline (a TIME, or a DUR from now). By
default it is the end of the region's off-peak window at --at; when the region is not
off-peak then, offpeak-scrape refuses to start (exit 75) unless --deadline is given.

The config is --config FILE, else $OFFPEAK_CONFIG, else ./regions.toml,
else /etc/offpeak/regions.toml.

Exit status: 0 every source finished, 75 a source failed in a way worth retrying later
(timeouts, 429, 5xx, the deadline), 65 a source sent data that does not parse or lacks the
configured records, 69 a source answered 401, 403, 404 or another final error, 74 output
error, 64 usage error, 78 configuration error (also an unset ${VAR}). With several
sources, the worst: 78, 69, 65, then 75.

Examples:
  offpeak-scrape xnys | jq -c 'select(.source == "bars") | .record'
  offpeak-scrape --dry-run --source bars xnys
  offpeak-scrape --deadline 20m xlon > xlon.ndjson)";

// Writes all of `data` to stdout, unbuffered: each page's lines go out as one piece.
bool write_stdout(std::string_view data, int& error_number) {
  while (!data.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_number = n < 0 ? errno : EIO;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// The live progress line on a terminal: redrawn at most a few times a second, erased
// before any other message.
class Progress {
 public:
  Progress(std::string region, bool enabled) : region_(std::move(region)), enabled_(enabled) {}

  void show(const std::vector<SourceSummary>& sources) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(250)) return;
    last_ = now;
    std::int64_t pages = 0, done = 0;
    std::uint64_t records = 0, bytes = 0;
    for (const auto& s : sources) {
      pages += s.pages;
      records += s.records;
      bytes += s.bytes;
      done += s.status != "running";
    }
    std::cerr << fmt::format("\r\033[K{}: {}: {}/{} sources done, {} pages, {} records, {:.1f} MB",
                             kTool, region_, done, sources.size(), pages, records,
                             static_cast<double>(bytes) / 1e6)
              << std::flush;
    shown_ = true;
  }

  void clear() {
    if (!shown_) return;
    std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  std::string region_;
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Fetch a region's HTTP sources and print their records as JSON lines.",
               std::string(kTool)};
  set_up_app(app, kTool, kFooter);
  app.add_option("--config", options.config, "Config file (regions.toml)")->type_name("FILE");
  app.add_option("--at", options.at, "The run's time: session and fetched_at (default: now)")
      ->type_name("TIME");
  app.add_option("--source", options.sources, "Only this source; may be repeated")
      ->type_name("NAME");
  app.add_flag("--dry-run", options.dry_run, "Print each source's first request; fetch nothing");
  app.add_option("--deadline", options.deadline,
                 "Stop by this time, or after this long (default: end of off-peak)")
      ->type_name("TIME|DUR");
  app.add_option("REGION", options.region, "The region whose sources to fetch")
      ->required()
      ->type_name("");

  add_log_and_metrics_options(app, options.log_format, options.metrics_file, "run");

  if (const auto code = parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv)))
    return *code;
  const Log log(kTool, parse_log_format(options.log_format).value_or(LogFormat::kText));
  const auto usage_error = [&](std::string_view message) { return log.usage_error(message); };

  // Every run that gets past its arguments ends here: the metrics file, then the exit code.
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::string> source_names;
  const ScrapeReport* report = nullptr;
  const auto end_run = [&](int code) {
    if (options.metrics_file.empty()) return code;
    const auto now = std::chrono::system_clock::now();
    const double run_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    MetricsFile metrics =
        scrape_metrics(options.region, source_names, report, code,
                       std::chrono::duration<double>(now.time_since_epoch()).count(), run_seconds);
    if (auto written = replace_metrics_file(metrics, options.metrics_file, kScrapeLastSuccess);
        !written)
      log.write(
          LogLine(LogLevel::kWarning).add("msg", "--metrics-file: " + written.error().message));
    return code;
  };
  const auto error = [&](int code, std::string_view message) {
    return end_run(log.error(code, message));
  };

  const auto at = parse_time_arg(options.at);
  if (!at)
    return usage_error(
        fmt::format("--at: invalid time \"{}\"; expected RFC 3339 in the years 1900 to 8999, like "
                    "2026-03-08T06:30:00Z, or now",
                    options.at));
  // --deadline as the time left from --at, which the run then gets on the real clock.
  std::optional<std::chrono::seconds> time_left;
  if (!options.deadline.empty()) {
    if (const auto d = parse_duration(options.deadline)) {
      time_left = *d;
    } else if (const auto t = parse_rfc3339(options.deadline)) {
      time_left = *t - *at;
    } else {
      return usage_error(fmt::format(
          "--deadline: invalid value \"{}\"; expected a time like 2026-03-08T11:00:00Z or a "
          "duration like 45m",
          options.deadline));
    }
    if (*time_left <= std::chrono::seconds{0})
      return usage_error(fmt::format("--deadline: {} leaves no time to scrape", options.deadline));
  }

  const auto config_path = find_config(options.config, std::getenv("OFFPEAK_CONFIG"));
  if (!config_path) return error(config_path.error().exit, config_path.error().message);
  const std::string& path = *config_path;
  const ConfigResult loaded = load_config(path);
  for (const Diagnostic& d : loaded.diagnostics) log.diagnostic(d);
  if (has_errors(loaded.diagnostics)) return end_run(kExitConfig);

  const Region* region = loaded.config.find_region(options.region);
  if (!region) return usage_error(fmt::format("no region \"{}\" in {}", options.region, path));
  const auto region_sources = loaded.config.sources_of(region->id);
  if (region_sources.empty())
    return error(kExitConfig, fmt::format("{}: region \"{}\" has no [[regions.{}.sources]]", path,
                                          region->id, region->id));

  ScrapeOptions scrape;
  scrape.region = region;
  scrape.at = *at;
  scrape.fixed_fetched_at = options.at != "now";
  scrape.env = [](const char* name) { return std::getenv(name); };
  for (const std::string& name : options.sources) {
    const Source* found = nullptr;
    for (const Source& s : region_sources)
      if (s.name == name) found = &s;
    if (!found) {
      std::string known;
      for (const Source& s : region_sources) known += (known.empty() ? "" : ", ") + s.name;
      return usage_error(fmt::format("--source: region \"{}\" has no source \"{}\"; it has: {}",
                                     region->id, name, known));
    }
  }
  // In the config's order, whatever the order of the flags.
  for (const Source& s : region_sources) {
    if (options.sources.empty() ||
        std::find(options.sources.begin(), options.sources.end(), s.name) != options.sources.end())
      scrape.sources.push_back(&s);
  }
  for (const Source* s : scrape.sources) source_names.push_back(s->name);

  // Every unset ${VAR} of every source, before anything is fetched.
  const auto problems = check_requests(scrape);
  for (const Diagnostic& d : problems) log.diagnostic(d);
  if (has_errors(problems)) return end_run(kExitConfig);

  std::signal(SIGPIPE, SIG_IGN);
  int write_errno = 0;
  if (options.dry_run) {
    if (!write_stdout(describe_first_requests(scrape), write_errno))
      return log.error(kExitIoErr, fmt::format("cannot write to standard output: {}",
                                               std::strerror(write_errno)));
    return kExitOk;
  }

  // A scrape must never run into trading hours: by default it ends with the off-peak window.
  if (!time_left) {
    const auto window = window_at(*region, *at);
    if (!window || !window->offpeak) {
      const std::string next = window ? fmt::format(" (the next window opens at {})",
                                                    format_rfc3339(window->window.start))
                                      : "";
      return error(kExitTempFail,
                   fmt::format("region \"{}\" is not off-peak at {}{}; run it then, or give "
                               "--deadline to scrape anyway",
                               region->id, format_rfc3339(*at), next));
    }
    time_left = window->window.end - *at;
  }
  scrape.deadline = std::chrono::steady_clock::now() + *time_left;

  // For tests only: a smaller backoff base than 1 s keeps retry tests fast.
  if (const char* base = std::getenv("OFFPEAK_RETRY_BASE_MS")) {
    long long ms = 0;
    const std::string_view text(base);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec == std::errc{} && end == text.data() + text.size() && ms >= 0)
      scrape.backoff.base = std::chrono::milliseconds{ms};
  }
  scrape.seed = std::random_device{}();

  Progress progress(region->id, isatty(STDERR_FILENO) == 1 && log.format() == LogFormat::kText);
  ScrapeEvents events;
  events.write = [&](std::string_view lines) { return write_stdout(lines, write_errno); };
  events.message = [&](Severity severity, std::string_view source, std::string_view status,
                       std::string_view message) {
    progress.clear();
    log.write(LogLine(severity == Severity::kError ? LogLevel::kError : LogLevel::kWarning)
                  .add("region", region->id)
                  .add("source", source)
                  .add("status", status)
                  .add("msg", message));
  };
  events.progress = [&](const std::vector<SourceSummary>& sources) { progress.show(sources); };

  const auto transport = make_curl_transport();
  const ScrapeReport result = run_scrape(*transport, scrape, events);
  report = &result;
  progress.clear();
  if (result.output_failed)
    return error(kExitIoErr, fmt::format("cannot write to standard output: {}; stopped",
                                         std::strerror(write_errno)));
  for (const SourceSummary& s : result.sources) log.write(summary_log(region->id, s));
  return end_run(result.exit);
}
