#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <stdlib.h>

#include "plan_command.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using offpeak::PlanMode;
using offpeak::PlanOptions;

offpeak::Instant at(const char* text) { return *offpeak::parse_rfc3339(text); }

// RFC 3339, or "now", which is always 2026-12-01T12:00:00Z here.
std::optional<offpeak::Instant> parse_time(const std::string& text) {
  if (text == "now") return at("2026-12-01T12:00:00Z");
  return offpeak::parse_rfc3339(text);
}

offpeak::Result<offpeak::PlanRequest> request(const PlanOptions& options) {
  return offpeak::plan_request(options, parse_time);
}

// The usage error the options get; fails the test when they get none.
std::string usage_error(const PlanOptions& options) {
  const auto checked = request(options);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().exit == offpeak::kExitUsage);
  return checked.error().message;
}

PlanOptions at_night() {
  PlanOptions options;
  options.at = "2026-12-02T02:00:00Z";  // both regions off-peak
  return options;
}

const offpeak::Config& config() {
  static const auto result = offpeak::parse_config(R"(
[regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]
holidays = ["2026-12-25", "2027-01-01"]
[regions.xlon]
timezone = "Europe/London"
sessions = ["08:00-16:30"]
)",
                                                   "r.toml");
  REQUIRE(result.diagnostics.empty());
  return result.config;
}

}  // namespace

TEST_CASE("plan_request: the mode the options choose") {
  PlanOptions options = at_night();
  CHECK(request(options)->mode == PlanMode::kNow);
  options.due = true;
  CHECK(request(options)->mode == PlanMode::kNow);
  options.timeline = true;
  CHECK(request(options)->mode == PlanMode::kTimeline);
  options = at_night();
  options.check = true;
  CHECK(request(options)->mode == PlanMode::kCheck);
  options = at_night();
  options.mark_done = "xnys";
  CHECK(request(options)->mode == PlanMode::kMarkDone);
  options = {};
  options.windows = true;
  options.from.emplace("2026-12-01T00:00:00Z");
  options.to = "2026-12-02T00:00:00Z";
  const auto windows = request(options);
  REQUIRE(windows);
  CHECK(windows->mode == PlanMode::kWindows);
  CHECK(windows->from == at("2026-12-01T00:00:00Z"));
  CHECK(windows->to == at("2026-12-02T00:00:00Z"));
}

TEST_CASE("plan_request: the first wrong option, in the order they are read") {
  PlanOptions options;
  options.at = "tomorrow";
  options.min_remaining = "soon";
  CHECK(usage_error(options) ==
        "--at: invalid time \"tomorrow\"; expected RFC 3339 in the years 1900 to 8999, like "
        "2026-03-08T06:30:00Z, or now");
  options.at = "2026-12-02T02:00:00Z";
  CHECK(usage_error(options) ==
        "--min-remaining: invalid duration \"soon\"; expected one like 90s, 45m or 1h30m");
  options.min_remaining = "45m";
  CHECK(request(options)->min_remaining == std::chrono::minutes(45));
  options.from.emplace("2026-12-01T00:00:00Z");
  CHECK(usage_error(options) == "--from requires --windows, --sessions or --timeline");
}

// --windows from `from` to `to`.
PlanOptions windows(const std::string& from, const std::string& to) {
  PlanOptions options;
  options.windows = true;
  options.from = from;
  options.to = to;
  return options;
}

TEST_CASE("plan_request: --windows needs a range that is one") {
  const char* day = "2026-12-02T00:00:00Z";
  CHECK(usage_error(windows(day, day)) == "--to must be later than --from");
  CHECK_THAT(usage_error(windows(day, "later")), Catch::StartsWith("--to: invalid time \"later\""));
  CHECK_THAT(usage_error(windows("", day)), Catch::StartsWith("--from: invalid time \"\""));
}

TEST_CASE("plan_request: --timeline starts at the hour of --at unless --from says") {
  PlanOptions options;
  options.timeline = true;
  options.at = "2026-12-02T02:45:10Z";
  CHECK(request(options)->from == at("2026-12-02T02:00:00Z"));
  options.from.emplace("2026-12-01T12:30:00Z");
  CHECK(request(options)->from == at("2026-12-01T12:30:00Z"));
  options.from.emplace("noon");
  CHECK_THAT(usage_error(options), Catch::StartsWith("--from: invalid time \"noon\""));
  options.days = 15;
  CHECK(usage_error(options) == "--days: 15 is out of range; expected 1 to 14");
  options.days = 0;
  CHECK(usage_error(options) == "--days: 0 is out of range; expected 1 to 14");
}

TEST_CASE("rule_years: the years of the request's times and one either side") {
  const auto years = [](const PlanOptions& options) {
    const auto got = offpeak::rule_years(*request(options));
    return std::pair(got.first, got.last);
  };
  PlanOptions now;
  now.at = "2026-12-31T23:00:00Z";
  CHECK(years(now) == std::pair(2025, 2027));
  PlanOptions sessions;
  sessions.sessions = true;
  sessions.at = "2026-12-01T12:00:00Z";
  sessions.from = "1995-01-01T00:00:00Z";
  sessions.to = "2030-01-01T00:00:00Z";
  CHECK(years(sessions) == std::pair(1994, 2031));
  sessions.from = "1989-06-01T00:00:00Z";  // before the first year rules have
  sessions.to = "2120-01-01T00:00:00Z";
  CHECK(years(sessions) == std::pair(offpeak::kFirstRuleYear, offpeak::kLastRuleYear));
  PlanOptions timeline;
  timeline.timeline = true;
  timeline.at = "2026-12-25T00:00:00Z";
  timeline.days = 14;  // into January 2027
  CHECK(years(timeline) == std::pair(2025, 2028));
  PlanOptions check;
  check.check = true;
  check.at = "2026-12-01T12:00:00Z";
  CHECK(years(check) == std::pair(offpeak::kFirstRuleYear, offpeak::kLastRuleYear));
}

TEST_CASE("check_config sums the config up and counts its warnings") {
  // xlon lists no holidays for 2026 nor 2027; xnys lists both years.
  const auto check = offpeak::check_config(config(), "r.toml", at("2026-06-01T00:00:00Z"), {});
  CHECK(check.warnings.size() == 2);
  CHECK(check.summary == "r.toml: 2 regions, 2 warnings");

  const auto one = offpeak::parse_config(R"([regions.x]
timezone = "UTC"
sessions = ["09:00-17:00"]
holidays = ["2026-12-25"]
)",
                                         "one.toml");
  REQUIRE(one.diagnostics.empty());
  CHECK(offpeak::check_config(one.config, "one.toml", at("2026-06-01T00:00:00Z"), {}).summary ==
        "one.toml: 1 region, 1 warning");
  CHECK(offpeak::check_config(one.config, "one.toml", at("2025-06-01T00:00:00Z"), {}).summary ==
        "one.toml: 1 region, 1 warning");
}

TEST_CASE("check_config names each ${VAR} not set and each budget no window fits") {
  const auto parsed = offpeak::parse_config(R"([regions.x]
timezone = "UTC"
sessions = ["09:00-17:00"]
holidays = ["2026-12-25", "2027-12-24"]
budget = "17h"

[[regions.x.sources]]
name = "bars"
url = "${BASE}/bars?key=${KEY}"
headers = { Authorization = "Bearer ${TOKEN}" }
records = ""
key = ["id"]
)",
                                            "x.toml");
  REQUIRE(parsed.diagnostics.empty());
  const std::map<std::string, std::string> set = {{"BASE", "http://h"}, {"KEY", ""}};
  offpeak::CheckEnvironment env{[&](const char* name) -> const char* {
                                  const auto found = set.find(name);
                                  return found == set.end() ? nullptr : found->second.c_str();
                                },
                                "the environment"};
  std::vector<std::string> lines;
  const auto messages = [&](const offpeak::ConfigCheck& check) {
    lines.clear();
    for (const auto& d : check.warnings) lines.push_back(offpeak::format_diagnostic("t", d));
    return lines;
  };
  const auto check =
      offpeak::check_config(parsed.config, "x.toml", at("2026-06-01T00:00:00Z"), env);
  CHECK(messages(check) ==
        std::vector<std::string>{
            "t: warning: x.toml:1:10: region \"x\": budget: 17h is longer than the window from "
            "2026-06-01T17:00:00Z to 2026-06-02T09:00:00Z: no run fits in it",
            "t: warning: x.toml:7:1: region \"x\": url: source \"bars\": ${KEY} is empty in the "
            "environment",
            "t: warning: x.toml:7:1: region \"x\": headers: source \"bars\": ${TOKEN} is not set "
            "in the environment"});
  CHECK(check.summary == "x.toml: 1 region, 3 warnings");

  env.name = "offpeak.env";
  env.required = true;
  const auto required =
      offpeak::check_config(parsed.config, "x.toml", at("2026-06-01T00:00:00Z"), env);
  CHECK(offpeak::has_errors(required.warnings));
  CHECK(required.summary == "x.toml: 1 region, 2 errors, 1 warning");
}

TEST_CASE("mark_region_done: an unknown region is a usage error, else the window is marked") {
  TempDir dir;
  PlanOptions options = at_night();
  options.state_dir = dir / "state";
  options.mark_done = "xtks";
  const auto unknown = offpeak::mark_region_done(config(), "r.toml", *request(options));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().exit == offpeak::kExitUsage);
  CHECK(unknown.error().message == "--mark-done: no region \"xtks\" in r.toml");

  options.mark_done = "xnys";
  REQUIRE(offpeak::mark_region_done(config(), "r.toml", *request(options)));
  std::ifstream in(dir / "state/xnys.done");
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == "xnys@2026-12-01T21:00:00Z\n");

  options.at = "2026-12-02T15:00:00Z";  // New York trades
  const auto trading = offpeak::mark_region_done(config(), "r.toml", *request(options));
  REQUIRE_FALSE(trading);
  CHECK(trading.error().exit == offpeak::kExitDataErr);
}

TEST_CASE("plan_report: the selected regions, and an unknown one is a usage error") {
  PlanOptions options = at_night();
  options.regions = {"xlon"};
  const auto report = offpeak::plan_report(config(), "r.toml", *request(options));
  REQUIRE(report);
  CHECK(report->report.text == "xlon\n");
  CHECK(report->report.found);
  CHECK(report->warnings.empty());

  options.regions = {"xlon", "xtks"};
  const auto unknown = offpeak::plan_report(config(), "r.toml", *request(options));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().exit == offpeak::kExitUsage);
  CHECK(unknown.error().message == "--region: no region \"xtks\" in r.toml");
}

TEST_CASE("plan_report: --metrics-file that cannot be written is a warning, not a failure") {
  TempDir dir;
  PlanOptions options = at_night();
  options.due = true;
  options.state_dir = dir / "state";
  options.metrics_file = dir / "plan.prom";
  const auto written = offpeak::plan_report(config(), "r.toml", *request(options));
  REQUIRE(written);
  CHECK(written->warnings.empty());
  CHECK(fs::exists(dir / "plan.prom"));

  options.metrics_file = dir / "missing/plan.prom";
  const auto unwritten = offpeak::plan_report(config(), "r.toml", *request(options));
  REQUIRE(unwritten);
  CHECK(unwritten->report.text == "xnys\nxlon\n");
  REQUIRE(unwritten->warnings.size() == 1);
  CHECK_THAT(unwritten->warnings[0],
             Catch::StartsWith("--metrics-file: cannot create " + (dir / "missing/").string()));
}

TEST_CASE("plan_report: a state file that cannot be read fails the run (74)") {
  TempDir dir;
  fs::create_directories(dir / "state/xlon.done");
  PlanOptions options = at_night();
  options.due = true;
  options.state_dir = dir / "state";
  const auto report = offpeak::plan_report(config(), "r.toml", *request(options));
  REQUIRE_FALSE(report);
  CHECK(report.error().exit == offpeak::kExitIoErr);
  CHECK(report.error().message ==
        "cannot read " + (dir / "state/xlon.done").string() + ": Is a directory");
}
