// offpeak-plan: which regions are in their off-peak window, and when the windows are; which
// of them a cron job should start now, and a picture of the next days for people.

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "atomic_file.h"
#include "config.h"
#include "diagnostics.h"
#include "duration.h"
#include "metrics.h"
#include "plan.h"
#include "run_state.h"
#include "timeline.h"
#include "timestamp.h"
#include "tool_main.h"

namespace {

using namespace offpeak;

constexpr std::string_view kTool = "offpeak-plan";

struct Options {
  std::string config;
  std::string at = "now";
  std::vector<std::string> regions;
  bool json = false;
  bool all = false;
  std::string min_remaining = "0s";
  bool windows = false;
  std::string from;
  std::string to;
  bool check = false;
  bool due = false;
  std::string state_dir;
  std::string mark_done;
  std::string metrics_file;
  std::string log_format = "text";
  bool timeline = false;
  int days = 2;
};

constexpr const char* kFooter = R"(Modes:
  (default)       print the ids of the regions off-peak at --at, one per line
  --all           a table (with --json, lines) of every region, off-peak or not
  --due           print the regions to start at --at: off-peak, with their budget
                  (or --min-remaining, the larger) left and, with --state-dir, their
                  window not done yet
  --mark-done ID  record ID's window at --at as done in --state-dir; prints nothing
  --windows       list every off-peak window that meets [--from, --to)
  --timeline      draw --days (default 2) from --from (default: the hour of --at),
                  a row per region: # off-peak, + partly, . not
  --check         check the config, report every problem, warn about stale calendars

TIME is RFC 3339 (2026-03-08T06:30:00Z, 2026-03-08T01:30:00-05:00) or "now".
DUR is a duration like 90s, 45m, 1h30m.

The config is --config FILE, else $OFFPEAK_CONFIG, else ./regions.toml,
else /etc/offpeak/regions.toml.

--state-dir DIR holds DIR/ID.done, the id of the region's last window done. With it
the default mode, --json and --due leave out the regions whose window is done, and
--all shows them as done. A missing DIR or file means nothing is done.
--metrics-file FILE (with --state-dir) also writes, for alerts, Prometheus metrics of
every selected region: offpeak_plan_missed_windows (windows ended since the last one
done), offpeak_plan_window_done, offpeak_plan_offpeak and when the plan ran.

Exit status: 0 something to report (or marked, or drawn), 1 no region off-peak
(or no window, or none due), 64 usage error, 65 --mark-done outside a window,
74 input/output error (stdout, a state file), 78 configuration error.
--log-format json writes errors and warnings on stderr as JSON objects.

Examples:
  offpeak-plan --min-remaining 45m        regions with 45 minutes of off-peak left
  offpeak-plan --all                      a table of every region, now
  offpeak-plan --json --at 2026-03-08T06:30:00Z
  offpeak-plan --windows --from 2026-12-24T00:00:00Z --to 2027-01-04T00:00:00Z
  offpeak-plan --due --state-dir /var/lib/offpeak --at "$at"
  offpeak-plan --mark-done xnys --state-dir /var/lib/offpeak --at "$at"
  offpeak-plan --timeline --days 3        the next three days, for people)";

std::string bad_time(std::string_view flag, std::string_view text) {
  return fmt::format(
      "{}: invalid time \"{}\"; expected RFC 3339 in the years 1900 to 8999, like "
      "2026-03-08T06:30:00Z, or now",
      flag, text);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{
      "Say which market regions are in their off-peak window now, and when the next "
      "windows open.",
      std::string(kTool)};
  set_up_app(app, kTool, kFooter);
  app.add_option("--config", options.config, "Config file (regions.toml)")->type_name("FILE");
  auto* at =
      app.add_option("--at", options.at, "The time to plan for (default: now)")->type_name("TIME");
  app.add_option("--region", options.regions, "Only this region; may be repeated")->type_name("ID");
  auto* json = app.add_flag("--json", options.json, "One JSON object per line");
  auto* all = app.add_flag("--all", options.all, "Every region, off-peak or not");
  auto* min_remaining = app.add_option("--min-remaining", options.min_remaining,
                                       "Leave out regions whose window ends sooner than this")
                            ->type_name("DUR");
  auto* windows = app.add_flag("--windows", options.windows, "List the windows in [--from, --to)");
  auto* from =
      app.add_option("--from", options.from, "Start of the --windows range or of the --timeline")
          ->type_name("TIME");
  auto* to = app.add_option("--to", options.to, "End of the --windows range")->type_name("TIME");
  auto* check = app.add_flag("--check", options.check, "Check the config and exit");
  auto* due = app.add_flag("--due", options.due,
                           "Only regions with their budget left and their window not done");
  auto* state_dir =
      app.add_option("--state-dir", options.state_dir, "Where the done windows are recorded")
          ->type_name("DIR");
  auto* mark_done = app.add_option("--mark-done", options.mark_done,
                                   "Record the window of this region at --at as done")
                        ->type_name("ID");
  auto* metrics_file =
      app.add_option("--metrics-file", options.metrics_file,
                     "With --state-dir: write the regions' run state as Prometheus metrics")
          ->type_name("FILE");
  auto* timeline =
      app.add_flag("--timeline", options.timeline, "Draw the windows of the next days");
  auto* days = app.add_option("--days", options.days, "Days --timeline draws, 1 to 14 (default: 2)")
                   ->type_name("N");
  windows->needs(from, to)->excludes(at, all, min_remaining);
  to->needs(windows);
  check->excludes(windows, json, all, min_remaining)->excludes("--region");
  due->excludes(all, windows, check, timeline);
  metrics_file->needs(state_dir)->excludes(mark_done);
  timeline->excludes(windows, check, json, all, min_remaining);
  days->needs(timeline);
  state_dir->excludes(windows, check, timeline);
  mark_done->needs(state_dir)
      ->excludes(windows, check, timeline, due, json, all, min_remaining)
      ->excludes("--region");

  add_log_format_option(app, options.log_format);
  if (const auto code = parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv)))
    return *code;
  const Log log(kTool, parse_log_format(options.log_format).value_or(LogFormat::kText));
  const auto usage_error = [&](std::string_view message) { return log.usage_error(message); };
  const auto print_diagnostics = [&](const std::vector<Diagnostic>& diagnostics) {
    for (const Diagnostic& d : diagnostics) log.diagnostic(d);
  };

  const auto at_time = parse_time_arg(options.at);
  if (!at_time) return usage_error(bad_time("--at", options.at));
  const auto min_left = parse_duration(options.min_remaining);
  if (!min_left)
    return usage_error(
        fmt::format("--min-remaining: invalid duration \"{}\"; expected one like 90s, 45m or 1h30m",
                    options.min_remaining));
  if (from->count() > 0 && !options.windows && !options.timeline)
    return usage_error("--from requires --windows or --timeline");
  std::optional<Instant> from_time, to_time;
  if (options.windows) {
    from_time = parse_time_arg(options.from);
    if (!from_time) return usage_error(bad_time("--from", options.from));
    to_time = parse_time_arg(options.to);
    if (!to_time) return usage_error(bad_time("--to", options.to));
    if (*to_time <= *from_time) return usage_error("--to must be later than --from");
  }
  if (options.timeline) {
    if (options.days < 1 || options.days > 14)
      return usage_error(fmt::format("--days: {} is out of range; expected 1 to 14", options.days));
    // By default the picture starts at the hour --at is in.
    from_time = std::chrono::floor<std::chrono::hours>(*at_time);
    if (from->count() > 0) from_time = parse_time_arg(options.from);
    if (!from_time) return usage_error(bad_time("--from", options.from));
  }

  const auto found = find_config(options.config, std::getenv("OFFPEAK_CONFIG"));
  if (!found) return log.error(found.error());
  const std::string& path = *found;
  const ConfigResult loaded = load_config(path);
  print_diagnostics(loaded.diagnostics);
  if (has_errors(loaded.diagnostics)) return kExitConfig;
  const Config& config = loaded.config;

  if (options.check) {
    const auto warnings = calendar_warnings(config, *at_time);
    print_diagnostics(warnings);
    const auto plural = [](size_t n) { return n == 1 ? "" : "s"; };
    log.message(LogLevel::kInfo, fmt::format("{}: {} region{}, {} warning{}", path,
                                             config.regions.size(), plural(config.regions.size()),
                                             warnings.size(), plural(warnings.size())));
    return kExitOk;
  }

  if (mark_done->count() > 0) {
    const Region* region = config.find_region(options.mark_done);
    if (!region)
      return usage_error(
          fmt::format("--mark-done: no region \"{}\" in {}", options.mark_done, path));
    const MarkDone marked = offpeak::mark_done(options.state_dir, *region, *at_time);
    switch (marked.outcome) {
      case MarkDone::Outcome::kMarked:
        return kExitOk;
      case MarkDone::Outcome::kNotOffpeak:
        return log.error(kExitDataErr, marked.message);
      case MarkDone::Outcome::kWriteFailed:
        return log.error(kExitIoErr, marked.message);
    }
  }

  const RegionSelection selection = select_regions(config, options.regions);
  if (!selection.unknown.empty())
    return usage_error(
        fmt::format("--region: no region \"{}\" in {}", selection.unknown.front(), path));

  Report report;
  if (options.timeline) {
    report.text = render_timeline(selection.regions, {*from_time, options.days, *at_time});
    report.found = true;  // a picture is always something to report
  } else if (options.windows) {
    report = report_windows(selection.regions, {*from_time, *to_time, options.json});
  } else {
    NowRequest request{*at_time, *min_left, options.all, options.json, options.due, std::nullopt};
    if (state_dir->count() > 0) request.state_dir = options.state_dir;
    report = report_now(selection.regions, request);
  }
  if (!report.error.empty()) return log.error(kExitIoErr, report.error);
  // Metrics that cannot be written are worth a warning, not the night's run.
  if (metrics_file->count() > 0) {
    RunStateMetrics metrics = run_state_metrics(selection.regions, options.state_dir, *at_time);
    if (!metrics.error.empty()) return log.error(kExitIoErr, metrics.error);
    if (auto written = write_atomically(options.metrics_file, metrics.file.text()); !written)
      log.message(LogLevel::kWarning, "--metrics-file: " + written.error().message);
  }

  std::fwrite(report.text.data(), 1, report.text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return log.error(kExitIoErr, "cannot write to standard output");
  return report.found ? kExitOk : kExitNothing;
}
