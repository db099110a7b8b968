#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <string>
#include <vector>

#include "calendar_file.h"
#include "holiday_rules.h"

using offpeak::DayRule;
using offpeak::Observe;

namespace {

date::local_days ymd(int y, unsigned m, unsigned d) {
  return date::local_days{date::year{y} / date::month{m} / date::day{d}};
}

bool monday_to_friday(date::local_days day) {
  const date::weekday wd(day);
  return wd != date::Saturday && wd != date::Sunday;
}

DayRule fixed(unsigned month, unsigned day, Observe observe) {
  DayRule rule;
  rule.shape = DayRule::Shape::kFixed;
  rule.month = month;
  rule.day = day;
  rule.observe = observe;
  return rule;
}

}  // namespace

TEST_CASE("Western and Orthodox Easter against published dates") {
  CHECK(offpeak::western_easter(2026) == ymd(2026, 4, 5));
  CHECK(offpeak::western_easter(2027) == ymd(2027, 3, 28));
  CHECK(offpeak::western_easter(2030) == ymd(2030, 4, 21));
  CHECK(offpeak::western_easter(2038) == ymd(2038, 4, 25));  // the latest possible
  CHECK(offpeak::orthodox_easter(2026) == ymd(2026, 4, 12));
  CHECK(offpeak::orthodox_easter(2027) == ymd(2027, 5, 2));
  CHECK(offpeak::orthodox_easter(2030) == ymd(2030, 4, 28));
}

TEST_CASE("n-th and last weekdays of a month, and no fifth one where a month has none") {
  DayRule rule;
  rule.shape = DayRule::Shape::kNthWeekday;
  rule.month = 5;
  rule.weekday = date::Monday;
  rule.nth = -1;
  CHECK(offpeak::rule_day(rule, 2026) == ymd(2026, 5, 25));  // US Memorial Day
  rule.month = 11;
  rule.weekday = date::Thursday;
  rule.nth = 4;
  CHECK(offpeak::rule_day(rule, 2027) == ymd(2027, 11, 25));  // Thanksgiving
  rule.month = 2;
  rule.weekday = date::Monday;
  rule.nth = 5;
  CHECK_FALSE(offpeak::rule_day(rule, 2026));
}

TEST_CASE("from and until bound a rule's years") {
  DayRule rule = fixed(6, 19, Observe::kNone);
  rule.from_year = 2022;
  rule.until_year = 2023;
  CHECK_FALSE(offpeak::rule_day(rule, 2021));
  CHECK(offpeak::rule_day(rule, 2022) == ymd(2022, 6, 19));
  CHECK_FALSE(offpeak::rule_day(rule, 2024));
}

TEST_CASE("observance: nearest weekday, Sunday to Monday, none") {
  const auto days = [](Observe observe, int year) {
    return offpeak::expand_holidays({fixed(7, 4, observe)}, year, year, monday_to_friday);
  };
  CHECK(days(Observe::kNearestWeekday, 2026) == std::vector{ymd(2026, 7, 3)});  // Saturday
  CHECK(days(Observe::kNearestWeekday, 2027) == std::vector{ymd(2027, 7, 5)});  // Sunday
  CHECK(days(Observe::kSundayToMonday, 2026) == std::vector{ymd(2026, 7, 4)});  // stays
  CHECK(days(Observe::kSundayToMonday, 2027) == std::vector{ymd(2027, 7, 5)});
  CHECK(days(Observe::kNone, 2027) == std::vector{ymd(2027, 7, 4)});
}

TEST_CASE("next free weekday: UK Christmas and Boxing Day substitutes") {
  const std::vector<DayRule> rules{fixed(12, 25, Observe::kNextFreeWeekday),
                                   fixed(12, 26, Observe::kNextFreeWeekday)};
  const auto year = [&](int y) { return offpeak::expand_holidays(rules, y, y, monday_to_friday); };
  // Christmas on a Saturday: Monday and Tuesday.
  CHECK(year(2027) == std::vector{ymd(2027, 12, 27), ymd(2027, 12, 28)});
  // Christmas on a Sunday: Boxing Day keeps Monday, Christmas moves to Tuesday.
  CHECK(year(2022) == std::vector{ymd(2022, 12, 26), ymd(2022, 12, 27)});
  // Boxing Day on a Saturday: Monday 28.
  CHECK(year(2026) == std::vector{ymd(2026, 12, 25), ymd(2026, 12, 28)});
}

TEST_CASE("a different trading week moves observed days to its own weekdays") {
  // Sunday to Thursday: Friday and Saturday are the weekend.
  const auto sunday_to_thursday = [](date::local_days day) {
    const date::weekday wd(day);
    return wd != date::Friday && wd != date::Saturday;
  };
  // 2026-09-25 is a Friday: the next day of that week is Sunday the 27th.
  CHECK(offpeak::expand_holidays({fixed(9, 25, Observe::kNextWeekday)}, 2026, 2026,
                                 sunday_to_thursday) == std::vector{ymd(2026, 9, 27)});
}

TEST_CASE("timed days: rule-made days that do not trade are left out, explicit ones kept") {
  DayRule eve = fixed(12, 24, Observe::kNone);
  eve.time = std::chrono::minutes{13 * 60};
  DayRule listed;
  listed.dates = {ymd(2027, 12, 25)};
  listed.time = std::chrono::minutes{12 * 60};
  const auto days = offpeak::expand_timed_days({eve, listed}, 2026, 2027, monday_to_friday);
  REQUIRE(days.size() == 3);
  CHECK(days[0].day == ymd(2026, 12, 24));
  CHECK(days[1].day == ymd(2027, 12, 24));
  CHECK(days[2].day == ymd(2027, 12, 25));  // a Saturday, kept for the reader to reject
}

TEST_CASE("previous trading day: the last business day before Christmas") {
  DayRule rule = fixed(12, 24, Observe::kPreviousTradingDay);
  rule.time = std::chrono::minutes{14 * 60 + 10};
  const auto days = offpeak::expand_timed_days({rule}, 2022, 2022, monday_to_friday);
  REQUIRE(days.size() == 1);
  CHECK(days[0].day == ymd(2022, 12, 23));  // 24 December 2022 is a Saturday
}

TEST_CASE("a calendar file with a change of trading week and an overnight session") {
  const auto file = offpeak::parse_calendar(R"(
timezone = "America/Chicago"
sessions = ["17:00-16:00"]
exact_through = 2030
[[changes]]
from = "2026-01-05"
weekdays = ["Mon", "Tue", "Wed", "Thu"]
)",
                                            "XTST.toml", "XTST");
  for (const auto& d : file.diagnostics) FAIL(d.message);
  REQUIRE(file.calendar);
  const auto& calendar = *file.calendar;
  CHECK(calendar.sessions.front().start == std::chrono::minutes{-7 * 60});
  CHECK(calendar.is_trading_day(ymd(2026, 1, 2)));        // Friday, before the change
  CHECK_FALSE(calendar.is_trading_day(ymd(2026, 1, 9)));  // Friday, after it
  CHECK(calendar.horizon() == ymd(2030, 12, 31));
}

// offpeak-plan works rules out only over the years around its request (rule_years): inside
// them, every shipped calendar must give the days a full read gives.
// Two spans: XNSE's 2025 Muhurat session lies inside the first and before the second.
TEST_CASE("shipped calendars read over a few years agree with a full read inside them") {
  const auto years = GENERATE(offpeak::RuleYears{2025, 2029}, offpeak::RuleYears{2027, 2029});
  const auto inside = [&](date::local_days day) {
    const int year = int(date::year_month_day(day).year());
    return year > years.first && year < years.last;
  };
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(OFFPEAK_SOURCE_DIR "/calendars")) {
    const std::string path = entry.path().string();
    const std::string code = entry.path().stem().string();
    INFO(path);
    const auto full = offpeak::read_calendar_file(path, code);
    const auto part = offpeak::read_calendar_file(path, code, years);
    for (const auto& d : full.diagnostics) FAIL(d.message);
    REQUIRE(full.calendar);
    REQUIRE(part.calendar);
    std::vector<date::local_days> full_days, part_days;
    std::copy_if(full.calendar->holidays.begin(), full.calendar->holidays.end(),
                 std::back_inserter(full_days), inside);
    std::copy_if(part.calendar->holidays.begin(), part.calendar->holidays.end(),
                 std::back_inserter(part_days), inside);
    CHECK(part_days == full_days);
    for (const auto& [full_map, part_map] :
         {std::pair(&full.calendar->early_closes, &part.calendar->early_closes),
          std::pair(&full.calendar->late_opens, &part.calendar->late_opens)}) {
      std::vector<std::pair<date::local_days, std::chrono::minutes>> a, b;
      for (const auto& day : *full_map)
        if (inside(day.first)) a.push_back(day);
      for (const auto& day : *part_map)
        if (inside(day.first)) b.push_back(day);
      CHECK(a == b);
    }
    std::vector<date::local_days> full_special, part_special;
    for (const auto& [day, spans] : full.calendar->special_sessions)
      if (inside(day)) full_special.push_back(day);
    for (const auto& [day, spans] : part.calendar->special_sessions)
      if (inside(day)) part_special.push_back(day);
    CHECK(part_special == full_special);
    ++files;
  }
  CHECK(files >= 27);
}
