// offpeak-scrape's run: the steps between a parsed command line and an exit code.
//
// The idea: the run is a table of contents, one call per step (the deadline, the config, the
// sources, their requests, the fetching, the summaries), and every way out goes through one
// place that says what went wrong and writes --metrics-file, so a run that fails early still
// leaves the figures cron's alerts read. The steps themselves are small functions a test can
// call; what the run shows goes through the caller's Console.

#include "scrape_command.h"

#include <algorithm>
#include <charconv>
#include <random>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "atomic_file.h"
#include "calendar.h"
#include "dependent.h"
#include "duration.h"
#include "scrape_status.h"

namespace offpeak {
namespace {

class CommandRun {
 public:
  CommandRun(const ScrapeCommand& command, const Console& console)
      : command_(command), console_(console) {}

  ExitCode run() {
    const auto time_left = parse_deadline(command_.deadline, command_.at);
    if (!time_left) return fail(time_left.error());
    const auto limit = parse_limit(command_.limit);
    if (!limit) return fail(limit.error());
    const auto config_path = find_config(command_.config, console_.env("OFFPEAK_CONFIG"));
    if (!config_path) return fail(config_path.error());
    const ConfigResult loaded = load_config(*config_path);
    for (const Diagnostic& d : loaded.diagnostics) console_.diagnostic(d);
    if (has_errors(loaded.diagnostics)) return end(kExitConfig);
    const Region* region = loaded.config.find_region(command_.region);
    if (!region) return fail(unknown_region(loaded.config, command_.region, *config_path));
    const auto session_day = parse_session(command_.session, *region);
    if (!session_day) return fail(session_day.error());
    auto sources = select_sources(loaded.config.sources_of(region->id), *region, command_.sources,
                                  *config_path);
    if (!sources) return fail(sources.error());
    // A dependent source's parents run too, whether --source named them or not.
    RunSources run_sources = with_parents(loaded.config.sources_of(region->id), *sources);
    for (const Source* s : run_sources.sources) source_names_.push_back(s->name);

    ScrapeOptions options;
    options.region = region;
    options.sources = std::move(run_sources.sources);
    options.inputs_only = std::move(run_sources.inputs_only);
    options.at = command_.at;
    options.fixed_fetched_at = command_.fixed_at;
    options.env = console_.env;
    options.limit = *limit;
    options.session_day = *session_day;
    // Every unset ${VAR} of every source, before anything is fetched.
    const auto problems = check_requests(options);
    for (const Diagnostic& d : problems) console_.diagnostic(d);
    if (has_errors(problems)) return end(kExitConfig);
    if (command_.dry_run) return dry_run(options);
    // A scrape must never run into trading hours: by default it ends with the off-peak window.
    const auto time = scrape_time_left(*region, command_.at, *time_left);
    if (!time) return fail(time.error());
    options.deadline = std::chrono::steady_clock::now() + *time;
    if (const auto base = retry_base_from_env(console_.env)) options.backoff.base = *base;
    options.seed = std::random_device{}();
    // Conditional requests, when there is a cache directory.
    std::optional<ResponseCache> cache;
    if (const std::string dir = cache_dir(); !dir.empty()) {
      auto opened = ResponseCache::open(dir);
      if (!opened) return fail(opened.error());
      cache.emplace(std::move(*opened));
      options.cache = &*cache;
    }
    return scrape(options);
  }

 private:
  ExitCode dry_run(const ScrapeOptions& options) {
    if (auto written = console_.write(describe_first_requests(options)); !written) {
      console_.error(written.error());
      return written.error().exit;
    }
    return kExitOk;
  }

  ExitCode scrape(const ScrapeOptions& options) {
    const std::string& region = options.region->id;
    ScrapeEvents events;
    events.write = console_.write;
    events.message = [&](Severity severity, std::string_view source, std::string_view status,
                         std::string_view message) {
      say(LogLine(severity == Severity::kError ? LogLevel::kError : LogLevel::kWarning)
              .add("region", region)
              .add("source", source)
              .add("status", status)
              .add("msg", message));
    };
    events.progress = [&](const std::vector<SourceSummary>& sources) {
      if (console_.progress && console_.progress->due())
        console_.progress->show(progress_text(region, sources));
    };
    const auto transport = make_curl_transport();
    report_ = run_scrape(*transport, options, events);
    if (console_.progress) console_.progress->clear();
    if (!report_->output) return fail({kExitIoErr, report_->output.error().message + "; stopped"});
    for (const SourceSummary& s : report_->sources) say(summary_log(region, s));
    return end(report_->exit);
  }

  // --cache-dir, else $OFFPEAK_CACHE_DIR, else "" (none).
  std::string cache_dir() const {
    if (!command_.cache_dir.empty()) return command_.cache_dir;
    const char* dir = console_.env("OFFPEAK_CACHE_DIR");
    return dir ? dir : "";
  }

  void say(const LogLine& line) const {
    if (console_.progress) console_.progress->clear();
    console_.log(line);
  }

  // Reports `error` and ends the run with its code; a usage error writes no metrics.
  ExitCode fail(const Error& error) {
    if (console_.progress) console_.progress->clear();
    console_.error(error);
    return error.exit == kExitUsage ? error.exit : end(error.exit);
  }

  // Every run that gets past its usage checks ends here: the status and metrics files, then
  // the code.
  ExitCode end(ExitCode code) {
    if (!command_.status_file.empty() && !command_.dry_run) {
      const std::string status =
          scrape_status_json(code, source_names_, report_ ? &*report_ : nullptr);
      if (auto written = write_atomically(command_.status_file, status); !written) {
        console_.error(written.error());
        code = worse(code, written.error().exit);
      }
    }
    if (command_.metrics_file.empty()) return code;
    const auto now = std::chrono::system_clock::now();
    const double run_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    MetricsFile metrics =
        scrape_metrics(command_.region, source_names_, report_ ? &*report_ : nullptr, code,
                       std::chrono::duration<double>(now.time_since_epoch()).count(), run_seconds);
    if (auto warning = write_run_metrics(metrics, command_.metrics_file, kScrapeLastSuccess))
      say(*warning);
    return code;
  }

  const ScrapeCommand& command_;
  const Console& console_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::vector<std::string> source_names_;
  std::optional<ScrapeReport> report_;
};

}  // namespace

Error unknown_region(const Config& config, std::string_view id, std::string_view config_path) {
  std::string message = fmt::format("no region \"{}\" in {}", id, config_path);
  if (const auto near = config.regions_like(id); !near.empty()) {
    message += fmt::format("; did you mean \"{}\"?", fmt::join(near, "\", \""));
  } else if (!config.regions.empty()) {
    std::string all;
    for (const Region& region : config.regions) all += (all.empty() ? "" : ", ") + region.id;
    message += "; it has: " + all;
  }
  return {kExitUsage, message};
}

ExitCode run_scrape_command(const ScrapeCommand& command, const Console& console) {
  return CommandRun(command, console).run();
}

Result<std::uint64_t> parse_limit(std::string_view text) {
  if (text.empty()) return std::uint64_t{0};
  std::uint64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n == 0)
    return Error{
        kExitUsage,
        fmt::format("--limit: invalid value \"{}\"; expected a number of records, 1 or more",
                    text)};
  return n;
}

Result<std::optional<date::local_days>> parse_session(std::string_view text, const Region& region) {
  if (text.empty()) return std::optional<date::local_days>();
  const auto number = [&](std::size_t at, std::size_t length) {
    unsigned n = 0;
    const char* end = text.data() + at + length;
    const auto [ptr, ec] = std::from_chars(text.data() + at, end, n);
    return ec == std::errc{} && ptr == end ? n : 0u;
  };
  const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-';
  const date::year_month_day ymd{date::year(shaped ? static_cast<int>(number(0, 4)) : 0),
                                 date::month(shaped ? number(5, 2) : 0),
                                 date::day(shaped ? number(8, 2) : 0)};
  if (!shaped || !ymd.ok() || ymd.year() < date::year{1900})
    return Error{kExitUsage,
                 fmt::format("--session: invalid date \"{}\"; expected YYYY-MM-DD", text)};
  const date::local_days day(ymd);
  if (template_session_on(region, day)) return std::optional(day);
  return Error{
      kExitUsage,
      region.sessions.empty()
          ? fmt::format("--session: no off-peak window of region \"{}\" starts on {}", region.id,
                        text)
          : fmt::format("--session: {} is not a trading day of region \"{}\"", text, region.id)};
}

Result<std::optional<std::chrono::seconds>> parse_deadline(std::string_view text, Instant at) {
  if (text.empty()) return std::optional<std::chrono::seconds>();
  std::chrono::seconds time_left{};
  if (const auto d = parse_duration(text)) {
    time_left = *d;
  } else if (const auto t = parse_rfc3339(text)) {
    time_left = *t - at;
  } else {
    return Error{kExitUsage, fmt::format("--deadline: invalid value \"{}\"; expected a time like "
                                         "2026-03-08T11:00:00Z or a duration like 45m",
                                         text)};
  }
  if (time_left <= std::chrono::seconds{0})
    return Error{kExitUsage, fmt::format("--deadline: {} leaves no time to scrape", text)};
  return std::optional(time_left);
}

Result<std::chrono::seconds> scrape_time_left(const Region& region, Instant at,
                                              std::optional<std::chrono::seconds> time_left) {
  if (time_left) return *time_left;
  const auto window = window_at(region, at);
  if (window && window->offpeak) return window->window.end - at;
  const std::string next =
      window ? fmt::format(" (the next window opens at {})", format_rfc3339(window->window.start))
             : "";
  return Error{kExitTempFail,
               fmt::format("region \"{}\" is not off-peak at {}{}; run it then, or give "
                           "--deadline to scrape anyway",
                           region.id, format_rfc3339(at), next)};
}

Result<std::vector<const Source*>> select_sources(std::span<const Source> sources,
                                                  const Region& region,
                                                  const std::vector<std::string>& names,
                                                  std::string_view config_path) {
  if (sources.empty())
    return Error{kExitConfig, fmt::format("{}: region \"{}\" has no [[regions.{}.sources]]",
                                          config_path, region.id, region.id)};
  const auto named = [&](const std::string& name) {
    return std::find(names.begin(), names.end(), name) != names.end();
  };
  for (const std::string& name : names) {
    if (std::any_of(sources.begin(), sources.end(),
                    [&](const Source& s) { return s.name == name; }))
      continue;
    std::string known;
    for (const Source& s : sources) known += (known.empty() ? "" : ", ") + s.name;
    return Error{kExitUsage, fmt::format("--source: region \"{}\" has no source \"{}\"; it has: {}",
                                         region.id, name, known)};
  }
  std::vector<const Source*> selected;
  for (const Source& s : sources)
    if (names.empty() || named(s.name)) selected.push_back(&s);
  return selected;
}

std::optional<std::chrono::milliseconds> retry_base_from_env(const EnvLookup& env) {
  const char* base = env("OFFPEAK_RETRY_BASE_MS");
  if (base == nullptr) return std::nullopt;
  long long ms = 0;
  const std::string_view text(base);
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc{} || end != text.data() + text.size() || ms < 0) return std::nullopt;
  return std::chrono::milliseconds{ms};
}

std::string progress_text(std::string_view region, const std::vector<SourceSummary>& sources) {
  std::int64_t pages = 0, done = 0;
  std::uint64_t records = 0, bytes = 0;
  for (const auto& s : sources) {
    pages += s.pages;
    records += s.records;
    bytes += s.bytes;
    done += s.status != "running";
  }
  return fmt::format("offpeak-scrape: {}: {}/{} sources done, {} pages, {} records, {:.1f} MB",
                     region, done, sources.size(), pages, records,
                     static_cast<double>(bytes) / 1e6);
}

LogLine summary_log(std::string_view region, const SourceSummary& s) {
  LogLine line;
  line.add("region", region)
      .add("source", s.name)
      .add("status", s.status)
      .add("pages", s.pages)
      .add("requests", s.requests)
      .add("retries", s.retries)
      .add("bytes", s.bytes)
      .add("records", s.records)
      .add("skipped", s.skipped);
  if (s.not_modified) line.add("not_modified", *s.not_modified);
  line.add("seconds", s.seconds, 2);
  return line;
}

MetricsFile scrape_metrics(std::string_view region, const std::vector<std::string>& sources,
                           const ScrapeReport* report, int exit, double now, double run_seconds) {
  MetricsFile m;
  m.gauge("offpeak_scrape_last_run_timestamp_seconds", "When the last run ended, in Unix time.");
  m.gauge(kScrapeLastSuccess, "When the source last finished without error, in Unix time.");
  m.gauge("offpeak_scrape_duration_seconds", "How long the source took in the last run.");
  m.gauge("offpeak_scrape_exit_code",
          "The source's exit status in the last run (0 ok, 75 temporary, 65 bad data, 69 "
          "unavailable, 74 output, 78 config).");
  m.gauge("offpeak_scrape_records", "Records written in the last run.");
  m.gauge("offpeak_scrape_pages", "Pages whose records were written in the last run.");
  m.gauge("offpeak_scrape_bytes", "Body bytes received in the last run, decoded.");
  m.gauge("offpeak_scrape_retries", "Retries in the last run.");
  m.gauge("offpeak_scrape_requests",
          "Finished requests of the last run by HTTP status, \"error\" for none.");
  const bool cached =
      report && std::any_of(report->sources.begin(), report->sources.end(),
                            [](const auto& s) { return s.not_modified.has_value(); });
  if (cached)
    m.gauge("offpeak_scrape_not_modified",
            "Requests of the last run answered 304 Not Modified, from --cache-dir.");
  const Labels of_region = {{"region", std::string(region)}};
  if (sources.empty()) {
    m.set("offpeak_scrape_last_run_timestamp_seconds", of_region, now);
    m.set("offpeak_scrape_duration_seconds", of_region, run_seconds);
    m.set("offpeak_scrape_exit_code", of_region, exit);
    return m;
  }
  for (const std::string& name : sources) {
    const Labels labels = {{"region", std::string(region)}, {"source", name}};
    const SourceSummary* s = nullptr;
    if (report)
      for (const SourceSummary& summary : report->sources)
        if (summary.name == name) s = &summary;
    const int source_exit = s ? s->exit : exit;
    m.set("offpeak_scrape_last_run_timestamp_seconds", labels, now);
    if (source_exit == kExitOk) m.set(kScrapeLastSuccess, labels, now);
    m.set("offpeak_scrape_duration_seconds", labels, s ? s->seconds : run_seconds);
    m.set("offpeak_scrape_exit_code", labels, source_exit);
    if (!s) continue;
    m.set("offpeak_scrape_records", labels, static_cast<double>(s->records));
    m.set("offpeak_scrape_pages", labels, static_cast<double>(s->pages));
    m.set("offpeak_scrape_bytes", labels, static_cast<double>(s->bytes));
    m.set("offpeak_scrape_retries", labels, static_cast<double>(s->retries));
    if (s->not_modified)
      m.set("offpeak_scrape_not_modified", labels, static_cast<double>(*s->not_modified));
    for (const auto& [code, count] : s->responses) {
      Labels with_code = labels;
      with_code.emplace_back("code", code);
      m.set("offpeak_scrape_requests", with_code, static_cast<double>(count));
    }
  }
  return m;
}

}  // namespace offpeak
