#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config.h"
#include "console.h"
#include "diagnostics.h"
#include "error.h"
#include "plan.h"
#include "timestamp.h"

namespace offpeak {

// offpeak-plan's options as its command line gives them; which combine is CLI11's to check.
struct PlanOptions {
  std::string config;
  std::string at = "now";
  std::vector<std::string> regions;
  bool with_sources = false;  // only regions with sources: those offpeak-cron can run
  bool json = false;
  bool all = false;
  std::string min_remaining = "0s";
  bool windows = false;
  bool sessions = false;
  std::optional<std::string> from;
  std::string to;
  bool check = false;
  std::optional<std::string> env_file;
  bool due = false;
  std::optional<std::string> state_dir;
  std::optional<std::string> mark_done;
  std::optional<std::string> metrics_file;
  std::string log_format = "text";
  bool timeline = false;
  int days = 2;
};

enum class PlanMode { kNow, kWindows, kSessions, kTimeline, kCheck, kMarkDone };

// The options checked: the mode, and the times and duration they name.
struct PlanRequest {
  PlanMode mode = PlanMode::kNow;
  Instant at;
  std::chrono::seconds min_remaining{0};
  Instant from;  // kWindows, kSessions, kTimeline
  Instant to;    // kWindows, kSessions
  PlanOptions options;
};

// The years of calendar rules the request needs worked out: those of its --at, --from and
// --to, and one either side (observance moves days across New Year; windows reach into the
// days around); every year for --check, which checks every year's days.
[[nodiscard]] RuleYears rule_years(const PlanRequest& request);

// A TIME argument's instant, or nothing when the text is none ("now" reads the clock).
using TimeParser = std::function<std::optional<Instant>(const std::string& text)>;

// The request the options make, or the usage Error (64) that the first wrong one gets.
[[nodiscard]] Result<PlanRequest> plan_request(const PlanOptions& options,
                                               const TimeParser& parse_time);

// Where --check looks up the ${VAR}s the sources name: the environment offpeak-plan runs in
// (a variable missing there is a warning: the service may set it), or the --env-file the
// service reads (missing there, the night's run fails: an error).
struct CheckEnvironment {
  EnvLookup lookup;
  std::string name;  // "the environment", or the file's path
  bool required = false;
};

// The environment of --check: offpeak-plan's own, or with --env-file the file's settings
// (read as systemd reads them; the file's own warnings go to `warnings`). An Error (78) when
// the file cannot be read.
[[nodiscard]] Result<CheckEnvironment> check_environment(const PlanOptions& options,
                                                         std::vector<Diagnostic>& warnings);

// --check: the regions' calendars, warnings about them at `at`, budgets longer than a
// region's shortest window, the ${VAR}s not set, and the line that sums the config up.
struct ConfigCheck {
  std::vector<std::string> notes;    // which calendar each region uses, how far it is exact
  std::vector<Diagnostic> warnings;  // errors among them when a required ${VAR} is not set
  std::string summary;               // "PATH: 3 regions, 1 warning"
};
[[nodiscard]] ConfigCheck check_config(const Config& config, const std::string& path, Instant at,
                                       const CheckEnvironment& env);

// --mark-done ID: marks ID's window at --at done in --state-dir. An Error 64 when `config`
// (read from `path`) has no region ID, else as mark_done() in run_state.h.
[[nodiscard]] Result<void> mark_region_done(const Config& config, const std::string& path,
                                            const PlanRequest& request);

// What the reporting modes (default, --all, --due, --windows, --sessions, --timeline) print, with
// the warnings worth giving that do not fail the run (--metrics-file that cannot be written).
struct PlanOutput {
  Report report;
  std::vector<std::string> warnings;
};

// The report of the regions --region selects, and --metrics-file written. An Error 64 for a
// --region that is no region of `config` (read from `path`), 74 for a state file that cannot
// be read.
[[nodiscard]] Result<PlanOutput> plan_report(const Config& config, const std::string& path,
                                             const PlanRequest& request);

}  // namespace offpeak
