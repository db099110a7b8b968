#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <sys/stat.h>

#include "config.h"
#include "plan.h"
#include "run_state.h"
#include "temp_dir.h"

namespace {

namespace fs = std::filesystem;
using offpeak::Instant;

Instant at(const char* text) { return *offpeak::parse_rfc3339(text); }

std::string read(const fs::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

const offpeak::Config& config() {
  static const auto result = offpeak::parse_config(R"(
[regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]
budget = "45m"
[regions.xlon]
timezone = "Europe/London"
sessions = ["08:00-16:30"]
)",
                                                   "r.toml");
  REQUIRE(result.diagnostics.empty());
  return result.config;
}

std::vector<const offpeak::Region*> all_regions() {
  return offpeak::select_regions(config(), {}).regions;
}

offpeak::Report due(const TempDir& dir, Instant t) {
  offpeak::NowRequest request{t, {}, false, false, true, dir.str()};
  auto report = offpeak::report_now(all_regions(), request);
  REQUIRE(report);
  return std::move(report).value();
}

// The window_done() of `dir`'s state for xnys; fails the test on an error.
bool xnys_done(const std::string& dir, const std::string& window_id) {
  const auto done = offpeak::window_done(dir, "xnys", window_id);
  REQUIRE(done);
  return *done;
}

}  // namespace

TEST_CASE("a missing directory or file means not done; only the window's id means done") {
  TempDir dir;
  CHECK_FALSE(xnys_done(dir.str() + "/missing", "xnys@X"));
  CHECK_FALSE(xnys_done(dir.str(), "xnys@X"));
  write(dir / "xnys.done", "xnys@X\n");
  CHECK(xnys_done(dir.str(), "xnys@X"));
  CHECK_FALSE(xnys_done(dir.str(), "xnys@Y"));
  write(dir / "xnys.done", "xnys@X");  // no newline at the end
  CHECK(xnys_done(dir.str(), "xnys@X"));
  write(dir / "xnys.done", "xnys@X\nwritten by hand\n");  // only the first line counts
  CHECK(xnys_done(dir.str(), "xnys@X"));
  write(dir / "xnys.done", "");
  CHECK_FALSE(xnys_done(dir.str(), "xnys@X"));
}

TEST_CASE("a state file that cannot be read is an error naming it") {
  TempDir dir;
  fs::create_directory(dir / "xnys.done");
  const auto state = offpeak::window_done(dir.str(), "xnys", "xnys@X");
  REQUIRE_FALSE(state);
  CHECK(state.error().exit == offpeak::kExitIoErr);
  CHECK(state.error().message == "cannot read " + dir.str() + "/xnys.done: Is a directory");
}

TEST_CASE("write_done replaces the file and leaves no temporary file behind") {
  TempDir dir;
  REQUIRE(offpeak::write_done(dir.str(), "xnys", "xnys@A"));
  REQUIRE(offpeak::write_done(dir.str(), "xnys", "xnys@B"));
  CHECK(read(dir / "xnys.done") == "xnys@B\n");
  CHECK(std::distance(fs::directory_iterator(dir.str()), fs::directory_iterator()) == 1);
  struct stat st {};
  REQUIRE(::stat((dir / "xnys.done").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
}

TEST_CASE("write_done creates the directory, one level only") {
  TempDir dir;
  REQUIRE(offpeak::write_done(dir.str() + "/state", "xnys", "xnys@A"));
  CHECK(read(dir / "state/xnys.done") == "xnys@A\n");
  const auto nested = offpeak::write_done(dir.str() + "/a/b", "xnys", "xnys@A");
  REQUIRE_FALSE(nested);
  CHECK(nested.error().exit == offpeak::kExitIoErr);
  CHECK(nested.error().message ==
        "cannot create directory " + dir.str() + "/a/b: No such file or directory");
  write(dir / "file", "");
  const auto in_file = offpeak::write_done(dir.str() + "/file", "xnys", "xnys@A");
  REQUIRE_FALSE(in_file);
  CHECK(in_file.error().exit == offpeak::kExitIoErr);
  CHECK(in_file.error().message ==
        "cannot create " + dir.str() + "/file/.xnys.done.XXXXXX: Not a directory");
}

TEST_CASE("mark_done writes the current window's id, and refuses outside a window") {
  TempDir dir;
  const auto& xnys = *config().find_region("xnys");
  // Tuesday 2026-12-01 at 23:00Z: the window from Tuesday's close (21:00Z).
  CHECK(offpeak::mark_done(dir.str(), xnys, at("2026-12-01T23:00:00Z")));
  CHECK(read(dir / "xnys.done") == "xnys@2026-12-01T21:00:00Z\n");
  const auto trading = offpeak::mark_done(dir.str(), xnys, at("2026-12-01T15:00:00Z"));
  REQUIRE_FALSE(trading);
  CHECK(trading.error().exit == offpeak::kExitDataErr);
  CHECK(trading.error().message ==
        "region \"xnys\" is not off-peak at 2026-12-01T15:00:00Z: no window to mark done");
  CHECK(read(dir / "xnys.done") == "xnys@2026-12-01T21:00:00Z\n");
}

TEST_CASE("due: a region runs once per window, again in the next one") {
  TempDir dir;
  const auto night = at("2026-12-02T02:00:00Z");  // both regions off-peak
  CHECK(due(dir, night).text == "xnys\nxlon\n");
  REQUIRE(offpeak::mark_done(dir.str(), *config().find_region("xnys"), night));
  auto report = due(dir, night + std::chrono::hours(1));
  CHECK(report.text == "xlon\n");
  CHECK(report.found);
  REQUIRE(offpeak::mark_done(dir.str(), *config().find_region("xlon"), night));
  report = due(dir, night);
  CHECK(report.text.empty());
  CHECK_FALSE(report.found);
  // The next night is a new window for both.
  CHECK(due(dir, night + std::chrono::hours(24)).text == "xnys\nxlon\n");
}

TEST_CASE("due leaves out a region with less than its budget left") {
  TempDir dir;
  // xnys's window ends at its open, 14:30Z; its budget is 45m. xlon trades then.
  CHECK(due(dir, at("2026-12-02T13:45:00Z")).text == "xnys\n");
  const auto late = due(dir, at("2026-12-02T13:45:01Z"));
  CHECK(late.text.empty());
  CHECK_FALSE(late.found);
  // The larger of budget and --min-remaining counts.
  offpeak::NowRequest request{
      at("2026-12-02T13:00:00Z"), std::chrono::hours(2), false, false, true, std::nullopt};
  CHECK(offpeak::report_now(all_regions(), request)->text.empty());
  request.min_remaining = std::chrono::minutes(1);
  CHECK(offpeak::report_now(all_regions(), request)->text == "xnys\n");
}

TEST_CASE("all with a state dir shows done, and an unreadable file stops the report") {
  TempDir dir;
  const auto night = at("2026-12-02T02:00:00Z");
  REQUIRE(offpeak::write_done(dir.str(), "xnys", "xnys@2026-12-01T21:00:00Z"));
  offpeak::NowRequest request{night, {}, true, true, false, dir.str()};
  const auto report = offpeak::report_now(all_regions(), request).value();
  CHECK(report.text.find("\"region\":\"xnys\"") != std::string::npos);
  CHECK(report.text.find("\"budget_seconds\":2700,\"done\":true}") != std::string::npos);
  CHECK(report.text.find("\"budget_seconds\":0,\"done\":false}") != std::string::npos);
  CHECK(report.found);
  fs::remove(dir / "xlon.done");
  fs::create_directory(dir / "xlon.done");
  const auto unreadable = offpeak::report_now(all_regions(), request);
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().exit == offpeak::kExitIoErr);
  CHECK(unreadable.error().message == "cannot read " + dir.str() + "/xlon.done: Is a directory");
}

// xnys closes at 16:00 New York (21:00Z) and opens at 09:30 (14:30Z) on weekdays: its windows
// run 21:00Z to 14:30Z the next weekday, and from Friday's close to Monday's open.
TEST_CASE("run_state counts the windows ended since the last one done") {
  const offpeak::Region& xnys = *config().find_region("xnys");
  const auto state = [&](const char* done, const char* when) {
    return offpeak::run_state(xnys, done, at(when));
  };

  SECTION("the window done is the current one") {
    const auto s = state("xnys@2026-12-01T21:00:00Z", "2026-12-01T23:00:00Z");
    CHECK(s.offpeak);
    CHECK(s.done);
    CHECK(s.missed_windows == 0);
    CHECK(s.last_done_start == at("2026-12-01T21:00:00Z"));
  }
  SECTION("trading after the window done: nothing missed yet") {
    const auto s = state("xnys@2026-12-01T21:00:00Z", "2026-12-02T15:00:00Z");
    CHECK_FALSE(s.offpeak);
    CHECK_FALSE(s.done);
    CHECK(s.missed_windows == 0);
  }
  SECTION("the window in progress is not counted, the ended ones are") {
    // Tuesday's window done; Wednesday's ended; Thursday's is open.
    CHECK(state("xnys@2026-12-01T21:00:00Z", "2026-12-03T23:00:00Z").missed_windows == 1);
    // ... and Thursday's ended too, in Friday's trading hours.
    CHECK(state("xnys@2026-12-01T21:00:00Z", "2026-12-04T15:00:00Z").missed_windows == 2);
    // The weekend is one window: Friday's close to Monday's open.
    CHECK(state("xnys@2026-12-01T21:00:00Z", "2026-12-07T15:00:00Z").missed_windows == 3);
  }
  SECTION("no window done counts every window of the last 14 days") {
    const auto s = state("", "2026-12-04T15:00:00Z");
    CHECK_FALSE(s.last_done_start.has_value());
    // 14 days back from Friday 2026-12-04: windows ending on the ten weekdays from
    // 2026-11-23 to 2026-12-04 (Thanksgiving, 2026-11-26, is a trading day in this config,
    // which lists no holidays), the weekend's counted once: 10 windows.
    CHECK(s.missed_windows == 10);
  }
  SECTION("never done: the windows ended since the first tick, not the whole lookback") {
    // First seen on Wednesday evening, in Wednesday's window: it and Thursday's have ended
    // by Friday's trading hours; the ten before the first tick are not counted.
    const auto seen = at("2026-12-02T23:00:00Z");
    CHECK(offpeak::run_state(xnys, "", at("2026-12-04T15:00:00Z"), seen).missed_windows == 2);
    CHECK(offpeak::run_state(xnys, "", at("2026-12-02T23:30:00Z"), seen).missed_windows == 0);
    // Once a window is done, the count starts there, whenever the region was first seen.
    CHECK(offpeak::run_state(xnys, "xnys@2026-12-01T21:00:00Z", at("2026-12-04T15:00:00Z"), seen)
              .missed_windows == 2);
  }
  SECTION("a file naming no window of this region records none") {
    CHECK_FALSE(state("xlon@2026-12-01T17:30:00Z", "2026-12-01T23:00:00Z").last_done_start);
    CHECK_FALSE(state("garbage", "2026-12-01T23:00:00Z").done);
  }
}

TEST_CASE("first_seen records the first tick once and reads it back after") {
  TempDir dir;
  const std::string state = dir.str() + "/state";
  CHECK(*offpeak::first_seen(state, "xnys", at("2026-12-01T23:00:00Z")) ==
        at("2026-12-01T23:00:00Z"));
  CHECK(*offpeak::first_seen(state, "xnys", at("2026-12-05T23:00:00Z")) ==
        at("2026-12-01T23:00:00Z"));
  write(dir / "state" / "xnys.since", "not a time\n");
  CHECK(*offpeak::first_seen(state, "xnys", at("2026-12-06T23:00:00Z")) ==
        at("2026-12-06T23:00:00Z"));
  fs::create_directory(dir / "state" / "xlon.since");
  const auto unreadable = offpeak::first_seen(state, "xlon", at("2026-12-06T23:00:00Z"));
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().message == "cannot read " + state + "/xlon.since: Is a directory");
}

TEST_CASE("run_state_metrics writes every region's state as gauges") {
  TempDir dir;
  write(dir / "xnys.done", "xnys@2026-12-01T21:00:00Z\n");
  const auto metrics =
      offpeak::run_state_metrics(all_regions(), dir.str(), at("2026-12-03T23:00:00Z"));
  REQUIRE(metrics);
  const std::string text = metrics->text();
  CHECK_THAT(text, Catch::Contains("offpeak_plan_last_run_timestamp_seconds 1796338800\n"));
  CHECK_THAT(text, Catch::Contains("offpeak_plan_offpeak{region=\"xnys\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("offpeak_plan_window_done{region=\"xnys\"} 0\n"));
  CHECK_THAT(text, Catch::Contains("offpeak_plan_missed_windows{region=\"xnys\"} 1\n"));
  CHECK_THAT(text, Catch::Contains(
                       "offpeak_plan_last_done_window_start_timestamp_seconds{region=\"xnys\"} "
                       "1796158800\n"));
  CHECK_THAT(text, !Catch::Contains("last_done_window_start_timestamp_seconds{region=\"xlon\"}"));

  // xlon, never done and seen for the first time now, has missed nothing; the tick is
  // recorded as its first.
  CHECK_THAT(text, Catch::Contains("offpeak_plan_missed_windows{region=\"xlon\"} 0\n"));
  CHECK(read(dir / "xlon.since") == "2026-12-03T23:00:00Z\n");

  fs::create_directory(dir / "xlon.done");
  const auto unreadable =
      offpeak::run_state_metrics(all_regions(), dir.str(), at("2026-12-03T23:00:00Z"));
  REQUIRE_FALSE(unreadable);
  CHECK(unreadable.error().message == "cannot read " + dir.str() + "/xlon.done: Is a directory");
}
