#include <catch2/catch.hpp>

#include <date/tz.h>

#include "calendar.h"
#include "config.h"

using namespace std::chrono_literals;
using offpeak::Instant;
using offpeak::Interval;

namespace {

Instant at(const char* text) {
  auto t = offpeak::parse_rfc3339(text);
  REQUIRE(t);
  return *t;
}

offpeak::Region region_from(const char* toml) {
  auto result = offpeak::parse_config(toml, "test.toml");
  for (const auto& d : result.diagnostics) FAIL(d.message);
  REQUIRE(result.config.regions.size() == 1);
  return result.config.regions.front();
}

// Every window id must be the same whatever instant inside it asks.
void check_windows_are_stable(const offpeak::Region& region, Instant from, Instant to) {
  const auto windows = offpeak::offpeak_windows(region, from, to);
  REQUIRE_FALSE(windows.empty());
  for (size_t i = 0; i < windows.size(); ++i) {
    const Interval& w = windows[i];
    CHECK(w.start < w.end);
    if (i > 0) CHECK(windows[i - 1].end < w.start);  // disjoint and not touching
    for (const Instant t : {w.start, w.start + (w.end - w.start) / 2, w.end - 1s}) {
      const auto found = offpeak::window_at(region, t);
      REQUIRE(found);
      CHECK(found->offpeak);
      CHECK(found->window == w);
    }
    const auto after = offpeak::window_at(region, w.end);
    REQUIRE(after);
    CHECK_FALSE(after->offpeak);
    CHECK(after->window.start > w.end);
  }
}

}  // namespace

TEST_CASE("local_to_instant: skipped times are the jump, repeated ones the first") {
  const auto* ny = date::locate_zone("America/New_York");
  const auto spring = date::local_days{date::year{2026} / 3 / 8};
  const auto fall = date::local_days{date::year{2026} / 11 / 1};
  CHECK(offpeak::local_to_instant(*ny, spring, 2h + 30min) == at("2026-03-08T07:00:00Z"));
  CHECK(offpeak::local_to_instant(*ny, spring, 3h) == at("2026-03-08T07:00:00Z"));
  CHECK(offpeak::local_to_instant(*ny, fall, 1h + 30min) == at("2026-11-01T05:30:00Z"));
  CHECK(offpeak::local_to_instant(*ny, fall, 2h) == at("2026-11-01T07:00:00Z"));
}

TEST_CASE("a window is reported whole from any instant inside it") {
  // Three weeks of holidays: the window must be followed well past the first stretch of
  // days the search looks at.
  const auto region = region_from(R"(
[regions.x]
timezone = "Europe/Berlin"
sessions = ["09:00-17:30"]
holidays = ["2026-07-06", "2026-07-07", "2026-07-08", "2026-07-09", "2026-07-10",
            "2026-07-13", "2026-07-14", "2026-07-15", "2026-07-16", "2026-07-17",
            "2026-07-20", "2026-07-21", "2026-07-22", "2026-07-23", "2026-07-24"]
)");
  const auto found = offpeak::window_at(region, at("2026-07-15T12:00:00Z"));
  REQUIRE(found);
  CHECK(found->offpeak);
  CHECK(found->window == Interval{at("2026-07-03T15:30:00Z"), at("2026-07-27T07:00:00Z")});
  check_windows_are_stable(region, at("2026-06-25T00:00:00Z"), at("2026-08-05T00:00:00Z"));
}

TEST_CASE("window ids are stable across DST changes and margins") {
  const auto region = region_from(R"(
[regions.x]
timezone = "Australia/Sydney"
sessions = ["10:00-12:00", "13:00-16:00"]
weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sun"]
early_closes = { "2026-04-03" = "12:00" }
late_opens = { "2026-10-05" = "13:00" }
offpeak_after_close = "1h30m"
offpeak_before_open = "3h"
)");
  check_windows_are_stable(region, at("2026-03-30T00:00:00Z"), at("2026-04-10T00:00:00Z"));
  check_windows_are_stable(region, at("2026-09-28T00:00:00Z"), at("2026-10-10T00:00:00Z"));
}

TEST_CASE("explicit windows join non-trading days and cross midnight") {
  const auto region = region_from(R"(
[regions.x]
timezone = "America/New_York"
offpeak = ["20:00-04:00", "12:00-13:00"]
holidays = ["2026-11-26"]
)");
  check_windows_are_stable(region, at("2026-11-20T00:00:00Z"), at("2026-12-02T00:00:00Z"));
  // Wednesday 20:00 EST through the Thanksgiving holiday to Friday 04:00 EST.
  const auto found = offpeak::window_at(region, at("2026-11-26T17:00:00Z"));
  REQUIRE(found);
  CHECK(found->window == Interval{at("2026-11-26T01:00:00Z"), at("2026-11-27T09:00:00Z")});
}

TEST_CASE("margins that cover the whole day leave no window, and no hang") {
  const auto region = region_from(R"(
[regions.x]
timezone = "UTC"
sessions = ["09:00-17:00"]
weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
offpeak_after_close = "8h"
offpeak_before_open = "8h"
)");
  CHECK_FALSE(offpeak::window_at(region, at("2026-01-01T00:00:00Z")));
  CHECK(offpeak::offpeak_windows(region, at("2026-01-01T00:00:00Z"), at("2027-01-01T00:00:00Z"))
            .empty());
}

TEST_CASE("a window of zero length is no window") {
  // 02:00-02:30 on the spring-forward day is skipped entirely in New York.
  const auto region = region_from(R"(
[regions.x]
timezone = "America/New_York"
offpeak = ["02:00-02:30"]
weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
)");
  const auto windows =
      offpeak::offpeak_windows(region, at("2026-03-07T12:00:00Z"), at("2026-03-09T12:00:00Z"));
  REQUIRE(windows.size() == 1);
  CHECK(windows[0] == Interval{at("2026-03-09T06:00:00Z"), at("2026-03-09T06:30:00Z")});
}

TEST_CASE("windows that touch are one window") {
  // 01:30 ends one listed window and starts the next; Friday's last window ends at the
  // midnight where Saturday, not a trading day, begins, and Monday's first window starts
  // where Sunday ends.
  const auto region = region_from(R"(
[regions.x]
timezone = "Asia/Tokyo"
offpeak = ["00:00-01:30", "01:30-03:00", "20:00-00:00"]
)");
  CHECK(offpeak::offpeak_windows(region, at("2026-06-09T00:00:00Z"), at("2026-06-10T00:00:00Z")) ==
        std::vector<Interval>{{at("2026-06-09T11:00:00Z"), at("2026-06-09T18:00:00Z")}});
  CHECK(offpeak::offpeak_windows(region, at("2026-06-13T00:00:00Z"), at("2026-06-13T00:00:01Z")) ==
        std::vector<Interval>{{at("2026-06-12T11:00:00Z"), at("2026-06-14T18:00:00Z")}});
  check_windows_are_stable(region, at("2026-06-09T00:00:00Z"), at("2026-06-16T00:00:00Z"));
}

TEST_CASE("last_session: the latest session closed at the instant, early closes applied") {
  const auto region = region_from(R"(
[regions.xnys]
timezone = "America/New_York"
sessions = ["09:30-16:00"]
holidays = ["2026-11-26"]
early_closes = { "2026-11-27" = "13:00" }
)");
  // Saturday after Thanksgiving: Friday's half day.
  auto s = offpeak::last_session(region, at("2026-11-28T12:00:00Z"));
  REQUIRE(s);
  CHECK(s->day == date::local_days{date::year{2026} / 11 / 27});
  CHECK(s->open == at("2026-11-27T14:30:00Z"));
  CHECK(s->close == at("2026-11-27T18:00:00Z"));
  // At the close itself the session counts; a second before, the previous one does.
  CHECK(offpeak::last_session(region, at("2026-11-27T18:00:00Z"))->day == s->day);
  // Thanksgiving is a holiday, so before Friday's close it is Wednesday's session.
  CHECK(offpeak::last_session(region, at("2026-11-27T17:59:59Z"))->day ==
        date::local_days{date::year{2026} / 11 / 25});
}

TEST_CASE("last_session: none for a region with explicit windows") {
  const auto region = region_from(R"(
[regions.fx]
timezone = "UTC"
offpeak = ["21:00-23:00"]
)");
  CHECK_FALSE(offpeak::last_session(region, at("2026-11-28T12:00:00Z")));
}
