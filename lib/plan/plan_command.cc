// offpeak-plan's modes, from the options as typed to what the tool prints: checking the
// options into a request, the --check summary, --mark-done, and the reports with the
// --metrics-file they may write. The tool's main only parses, calls these in order and turns
// their Errors into exit codes, so each mode's decisions and messages are tested here.
//
// The checks keep the order a person reads the command line in: --at, --min-remaining, then
// the range of --windows or --timeline, so the first problem named is the first one typed.

#include "plan_command.h"

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "calendar.h"
#include "duration.h"
#include "env_file.h"
#include "metrics.h"
#include "run_state.h"
#include "timeline.h"
#include "url_template.h"

namespace offpeak {
namespace {

Error usage(std::string message) { return {kExitUsage, std::move(message)}; }

Error bad_time(std::string_view flag, std::string_view text) {
  return usage(
      fmt::format("{}: invalid time \"{}\"; expected RFC 3339 in the years 1900 to 8999, like "
                  "2026-03-08T06:30:00Z, or now",
                  flag, text));
}

PlanMode mode_of(const PlanOptions& options) {
  if (options.check) return PlanMode::kCheck;
  if (options.mark_done) return PlanMode::kMarkDone;
  if (options.timeline) return PlanMode::kTimeline;
  if (options.windows) return PlanMode::kWindows;
  if (options.sessions) return PlanMode::kSessions;
  return PlanMode::kNow;
}

// [--from, --to) of --windows or --sessions, or the picture's left edge for --timeline.
Result<void> check_range(PlanRequest& request, const TimeParser& parse_time) {
  const PlanOptions& options = request.options;
  if (options.from && !options.windows && !options.sessions && !options.timeline)
    return usage("--from requires --windows, --sessions or --timeline");
  if (!options.to.empty() && !options.windows && !options.sessions)
    return usage("--to requires --windows or --sessions");
  if (request.mode == PlanMode::kWindows || request.mode == PlanMode::kSessions) {
    const auto from = parse_time(options.from.value_or(""));
    if (!from) return bad_time("--from", options.from.value_or(""));
    const auto to = parse_time(options.to);
    if (!to) return bad_time("--to", options.to);
    if (*to <= *from) return usage("--to must be later than --from");
    request.from = *from;
    request.to = *to;
  }
  if (request.mode == PlanMode::kTimeline) {
    if (options.days < 1 || options.days > 14)
      return usage(fmt::format("--days: {} is out of range; expected 1 to 14", options.days));
    // By default the picture starts at the hour --at is in.
    request.from = std::chrono::floor<std::chrono::hours>(request.at);
    if (options.from) {
      const auto from = parse_time(*options.from);
      if (!from) return bad_time("--from", *options.from);
      request.from = *from;
    }
  }
  return {};
}

// --metrics-file: the selected regions' run state. Unreadable state fails the run (74); a
// file that cannot be written is only worth a warning, not the night's run.
Result<void> write_metrics(const std::vector<const Region*>& regions, const PlanRequest& request,
                           std::vector<std::string>& warnings) {
  const PlanOptions& options = request.options;
  auto metrics = run_state_metrics(regions, options.state_dir.value_or(""), request.at);
  if (!metrics) return std::move(metrics).error();
  if (auto written = write_atomically(*options.metrics_file, metrics->text()); !written)
    warnings.push_back("--metrics-file: " + written.error().message);
  return {};
}

// A budget longer than one of the region's windows in the two weeks from `at` (a short
// night before a holiday, a lunch break) is never met there: that window is skipped.
std::optional<Diagnostic> budget_warning(const Region& region, Instant at) {
  if (region.budget <= std::chrono::seconds{0}) return std::nullopt;
  const auto windows = offpeak_windows(region, at, at + std::chrono::days{14});
  const Interval* shortest = nullptr;
  for (const Interval& window : windows)
    if (!shortest || window.end - window.start < shortest->end - shortest->start)
      shortest = &window;
  if (!shortest || shortest->end - shortest->start >= region.budget) return std::nullopt;
  return Diagnostic{Severity::kWarning, region.pos, region.id, "budget",
                    fmt::format("{} is longer than the window from {} to {}: no run fits in it",
                                format_duration(region.budget), format_rfc3339(shortest->start),
                                format_rfc3339(shortest->end))};
}

// Each ${VAR} of the region's sources that `env` does not set, or sets to "".
void check_variables(const Config& config, const Region& region, const CheckEnvironment& env,
                     std::vector<Diagnostic>& out) {
  for (const Source& source : config.sources_of(region.id)) {
    std::vector<std::pair<std::string, std::string>> templates = {{"url", source.url}};
    for (const auto& [name, value] : source.headers) templates.emplace_back("headers", value);
    if (!source.body.empty()) templates.emplace_back("body", source.body);
    for (const auto& [key, text] : templates)
      for (const std::string& name : env_variables(text)) {
        const char* value = env.lookup ? env.lookup(name.c_str()) : nullptr;
        if (value && *value) continue;
        out.push_back({env.required ? Severity::kError : Severity::kWarning, source.pos, region.id,
                       key,
                       fmt::format("source \"{}\": ${{{}}} is {} in {}", source.name, name,
                                   value ? "empty" : "not set", env.name)});
      }
  }
}

}  // namespace

RuleYears rule_years(const PlanRequest& request) {
  if (request.mode == PlanMode::kCheck) return {};
  Instant first = request.at, last = request.at;
  if (request.mode == PlanMode::kWindows || request.mode == PlanMode::kSessions) {
    first = std::min(first, request.from);
    last = std::max(last, request.to);
  } else if (request.mode == PlanMode::kTimeline) {
    first = std::min(first, request.from);
    last = std::max(last, request.from + date::days{std::max(request.options.days, 0)});
  }
  const auto year = [](Instant t) {
    return int(date::year_month_day(date::floor<date::days>(t)).year());
  };
  return {std::clamp(year(first) - 1, kFirstRuleYear, kLastRuleYear),
          std::clamp(year(last) + 1, kFirstRuleYear, kLastRuleYear)};
}

Result<PlanRequest> plan_request(const PlanOptions& options, const TimeParser& parse_time) {
  PlanRequest request;
  request.mode = mode_of(options);
  request.options = options;
  const auto at = parse_time(options.at);
  if (!at) return bad_time("--at", options.at);
  request.at = *at;
  const auto min_remaining = parse_duration(options.min_remaining);
  if (!min_remaining)
    return usage(
        fmt::format("--min-remaining: invalid duration \"{}\"; expected one like 90s, 45m or 1h30m",
                    options.min_remaining));
  request.min_remaining = *min_remaining;
  if (auto range = check_range(request, parse_time); !range) return std::move(range).error();
  return request;
}

Result<CheckEnvironment> check_environment(const PlanOptions& options,
                                           std::vector<Diagnostic>& warnings) {
  if (!options.env_file)
    return CheckEnvironment{[](const char* name) { return std::getenv(name); }, "the environment"};
  auto read = read_env_file(*options.env_file);
  if (!read) return std::move(read).error();
  warnings = std::move(read->warnings);
  // The lookup keeps the file's values alive as long as it is kept.
  auto file = std::make_shared<const EnvFile>(std::move(*read));
  return CheckEnvironment{[file](const char* name) -> const char* {
                            const auto found = file->values.find(name);
                            return found == file->values.end() ? nullptr : found->second.c_str();
                          },
                          *options.env_file, true};
}

ConfigCheck check_config(const Config& config, const std::string& path, Instant at,
                         const CheckEnvironment& env) {
  ConfigCheck check{{}, calendar_warnings(config, at), {}};
  for (const std::string& note : calendar_notes(config)) check.notes.push_back(path + ": " + note);
  for (const Region& region : config.regions) {
    if (auto warning = budget_warning(region, at)) check.warnings.push_back(std::move(*warning));
    check_variables(config, region, env, check.warnings);
  }
  const auto plural = [](size_t n) { return n == 1 ? "" : "s"; };
  const size_t regions = config.regions.size();
  size_t errors = 0;
  for (const Diagnostic& d : check.warnings) errors += d.severity == Severity::kError;
  const size_t warnings = check.warnings.size() - errors;
  check.summary = fmt::format("{}: {} region{}, ", path, regions, plural(regions));
  if (errors > 0) check.summary += fmt::format("{} error{}, ", errors, plural(errors));
  check.summary += fmt::format("{} warning{}", warnings, plural(warnings));
  return check;
}

Result<void> mark_region_done(const Config& config, const std::string& path,
                              const PlanRequest& request) {
  const PlanOptions& options = request.options;
  const std::string id = options.mark_done.value_or("");
  const Region* region = config.find_region(id);
  if (!region) return usage(fmt::format("--mark-done: no region \"{}\" in {}", id, path));
  return mark_done(options.state_dir.value_or(""), *region, request.at);
}

Result<PlanOutput> plan_report(const Config& config, const std::string& path,
                               const PlanRequest& request) {
  const PlanOptions& options = request.options;
  RegionSelection selection = select_regions(config, options.regions);
  if (!selection.unknown.empty())
    return usage(fmt::format("--region: no region \"{}\" in {}", selection.unknown.front(), path));
  if (options.with_sources)
    std::erase_if(selection.regions,
                  [&](const Region* region) { return config.sources_of(region->id).empty(); });

  PlanOutput output;
  Report& report = output.report;
  if (request.mode == PlanMode::kTimeline) {
    report.text = render_timeline(selection.regions, {request.from, options.days, request.at});
    report.found = true;  // a picture is always something to report
  } else if (request.mode == PlanMode::kWindows) {
    report = report_windows(selection.regions, {request.from, request.to, options.json});
  } else if (request.mode == PlanMode::kSessions) {
    report = report_sessions(selection.regions, {request.from, request.to, options.json});
  } else {
    SourceClaims source_claims;
    for (const Region* region : selection.regions) {
      if (!region->claim_by_source) continue;
      auto& names = source_claims[region->id];
      // A source kept only as its dependents' input runs with them (offpeak-scrape --source).
      for (const Source& source : config.sources_of(region->id))
        if (source.emit) names.push_back(source.name);
    }
    auto now = report_now(selection.regions,
                          {request.at, request.min_remaining, options.all, options.json,
                           options.due, options.state_dir},
                          source_claims);
    if (!now) return std::move(now).error();
    report = std::move(*now);
  }
  if (options.metrics_file)
    if (auto written = write_metrics(selection.regions, request, output.warnings); !written)
      return std::move(written).error();
  return output;
}

}  // namespace offpeak
