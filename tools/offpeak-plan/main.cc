// offpeak-plan: which regions are in their off-peak window, and when the windows are; which
// of them a cron job should start now, and a picture of the next days for people. The modes
// live in lib/plan (plan_command.h); this file parses the options and picks the exit code.

#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "plan_command.h"  // with config.h and diagnostics.h
#include "tool_main.h"

namespace {

using namespace offpeak;

constexpr std::string_view kTool = "offpeak-plan";

constexpr const char* kFooter = R"(Modes:
  (default)       print the ids of the regions off-peak at --at, one per line
  --all           a table (with --json, lines) of every region, off-peak or not
  --due           print the regions to start at --at: off-peak, with their budget
                  (or --min-remaining, the larger) left and, with --state-dir, their
                  window not done yet
  --mark-done ID  record ID's window at --at as done in --state-dir; prints nothing
  --windows       list every off-peak window that meets [--from, --to)
  --sessions      list every trading session that meets [--from, --to): its local
                  date, open, close and breaks (with --json: times in UTC)
  --timeline      draw --days (default 2) from --from (default: the hour of --at),
                  a row per region: # off-peak, + partly, . not
  --check         check the config, report every problem, warn about stale calendars,
                  budgets longer than a window, and ${VAR}s the sources name that are
                  not set (errors with --env-file FILE: the file the service reads)

TIME is RFC 3339 (2026-03-08T06:30:00Z, 2026-03-08T01:30:00-05:00) or "now".
DUR is a duration like 90s, 45m, 1h30m.

The config is --config FILE, else $OFFPEAK_CONFIG, else ./regions.toml,
else /etc/offpeak/regions.toml.

--state-dir DIR holds DIR/ID.done, the id of the region's last window done. With it
the default mode, --json and --due leave out the regions whose window is done, and
--all shows them as done. A missing DIR or file means nothing is done.
--metrics-file FILE (with --state-dir) also writes, for alerts, Prometheus metrics of
every selected region: offpeak_plan_missed_windows (windows ended since the last one
done, or since the region's first tick), offpeak_plan_window_done, offpeak_plan_offpeak and when the plan ran.

Exit status: 0 something to report (or marked, or drawn), 1 no region off-peak
(or no window, or none due), 64 usage error, 65 --mark-done outside a window,
74 input/output error (stdout, a state file), 78 configuration error.
--log-format json writes errors and warnings on stderr as JSON objects.

Examples:
  offpeak-plan --min-remaining 45m        regions with 45 minutes of off-peak left
  offpeak-plan --all                      a table of every region, now
  offpeak-plan --json --at 2026-03-08T06:30:00Z
  offpeak-plan --windows --from 2026-12-24T00:00:00Z --to 2027-01-04T00:00:00Z
  offpeak-plan --sessions --region xhkg --from 2026-02-16T00:00:00Z --to 2026-02-21T00:00:00Z
  offpeak-plan --due --state-dir /var/lib/offpeak --at "$at"
  offpeak-plan --mark-done xnys --state-dir /var/lib/offpeak --at "$at"
  offpeak-plan --timeline --days 3        the next three days, for people)";

// The options and how they combine.
void add_options(CLI::App& app, PlanOptions& options) {
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
  auto* sessions =
      app.add_flag("--sessions", options.sessions, "List the trading sessions in [--from, --to)");
  auto* from = app.add_option("--from", options.from,
                              "Start of the --windows or --sessions range, or of the --timeline")
                   ->type_name("TIME");
  auto* to = app.add_option("--to", options.to, "End of the --windows or --sessions range")
                 ->type_name("TIME");
  auto* check = app.add_flag("--check", options.check, "Check the config and exit");
  auto* env_file = app.add_option("--env-file", options.env_file,
                                  "With --check: look up the sources' ${VAR}s in this file")
                       ->type_name("FILE");
  auto* due = app.add_flag("--due", options.due,
                           "Only regions with their budget left and their window not done");
  auto* with_sources = app.add_flag("--with-sources", options.with_sources,
                                    "Only regions that have sources (those offpeak-cron runs)");
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
  sessions->needs(from, to)->excludes(at, all, min_remaining, windows);
  check->excludes(windows, sessions, json, all, min_remaining, with_sources)->excludes("--region");
  due->excludes(all, windows, sessions, check, timeline);
  metrics_file->needs(state_dir)->excludes(mark_done);
  timeline->excludes(windows, sessions, check, json, all, min_remaining);
  days->needs(timeline);
  env_file->needs(check);
  state_dir->excludes(windows, sessions, check, timeline);
  mark_done->needs(state_dir)
      ->excludes(windows, sessions, check, timeline, due, json, all, min_remaining)
      ->excludes("--region");
  add_log_format_option(app, options.log_format);
}

int run(int argc, char** argv) {
  PlanOptions options;
  CLI::App app{
      "Say which market regions are in their off-peak window now, and when the next "
      "windows open.",
      std::string(kTool)};
  set_up_app(app, kTool, kFooter);
  add_options(app, options);
  if (const auto code = parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv)))
    return *code;
  const Log log(kTool, parse_log_format(options.log_format).value_or(LogFormat::kText));
  const auto fail = [&](const Error& e) { return log.fail(e); };

  const auto request = plan_request(options, parse_time_arg);
  if (!request) return fail(request.error());
  const auto path = find_config(options.config, std::getenv("OFFPEAK_CONFIG"));
  if (!path) return fail(path.error());
  const ConfigResult loaded = load_config(*path, rule_years(*request));
  for (const Diagnostic& d : loaded.diagnostics) log.diagnostic(d);
  if (has_errors(loaded.diagnostics)) return kExitConfig;

  if (request->mode == PlanMode::kCheck) {
    std::vector<Diagnostic> file_warnings;
    const auto env = check_environment(options, file_warnings);
    if (!env) return fail(env.error());
    for (const Diagnostic& d : file_warnings) log.diagnostic(d);
    const ConfigCheck check = check_config(loaded.config, *path, request->at, *env);
    for (const std::string& note : check.notes) log.message(LogLevel::kInfo, note);
    for (const Diagnostic& d : check.warnings) log.diagnostic(d);
    log.message(LogLevel::kInfo, check.summary);
    return has_errors(check.warnings) ? kExitConfig : kExitOk;
  }
  if (request->mode == PlanMode::kMarkDone) {
    const auto marked = mark_region_done(loaded.config, *path, *request);
    return marked ? kExitOk : fail(marked.error());
  }
  const auto output = plan_report(loaded.config, *path, *request);
  if (!output) return fail(output.error());
  for (const std::string& warning : output->warnings) log.message(LogLevel::kWarning, warning);
  const Report& report = output->report;
  std::fwrite(report.text.data(), 1, report.text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return log.error(kExitIoErr, "cannot write to standard output");
  return report.found ? kExitOk : kExitNothing;
}

}  // namespace

int main(int argc, char** argv) {
  return offpeak::run_tool(kTool, [&] { return run(argc, argv); });
}
