// Holiday rules: the days a rule names in each year, and where observance moves them.
//
// The idea: a year's holidays are settled in two passes. Days that stay where their rule puts
// them are fixed first; only then are the days that fall off the trading week moved, in the
// order of their dates, each to the first day its observance allows. This is what makes
// substitute days come out as the exchanges publish them (UK Christmas on a Sunday moves past
// Boxing Day to the Tuesday) without any rule knowing about another.

#include "holiday_rules.h"

#include <algorithm>

namespace offpeak {
namespace {

using date::days;
using date::local_days;

int year_of(local_days day) { return int(date::year_month_day(day).year()); }

bool in_years(const DayRule& rule, int year) {
  return (rule.from_year == 0 || year >= rule.from_year) &&
         (rule.until_year == 0 || year <= rule.until_year);
}

// How many days one step of a search may take before giving up: a trading week has at
// least one trading day, and holidays do not fill a month.
constexpr int kMaxMove = 31;

// The day `observe` moves `day` to, or `day` itself. `taken` says whether a day is already
// a holiday (kNextFreeWeekday); `trading_day` whether a day trades at all.
local_days observed(Observe observe, local_days day, const DayTest& trading_weekday,
                    const DayTest& taken) {
  const date::weekday wd(day);
  switch (observe) {
    case Observe::kNone:
      return day;
    case Observe::kNearestWeekday:
      if (wd == date::Saturday) return day - days{1};
      if (wd == date::Sunday) return day + days{1};
      return day;
    case Observe::kSundayToMonday:
      return wd == date::Sunday ? day + days{1} : day;
    case Observe::kSundayToNextFree:
      if (wd != date::Sunday) return day;
      [[fallthrough]];
    case Observe::kNextWeekday:
    case Observe::kNextFreeWeekday: {
      if (trading_weekday(day)) return day;
      const bool free = observe != Observe::kNextWeekday;
      for (auto next = day + days{1}; next - day <= days{kMaxMove}; next += days{1})
        if (trading_weekday(next) && !(free && taken(next))) return next;
      return day;
    }
    case Observe::kPreviousTradingDay: {
      for (auto before = day; day - before <= days{kMaxMove}; before -= days{1})
        if (trading_weekday(before) && !taken(before)) return before;
      return day;
    }
  }
  return day;
}

// Each day `rule` names in [first_year, last_year], offset applied, before observance.
std::vector<local_days> raw_days(const DayRule& rule, int first_year, int last_year) {
  std::vector<local_days> out;
  if (rule.shape == DayRule::Shape::kDates) {
    for (const local_days day : rule.dates) {
      const int year = year_of(day);
      if (year >= first_year && year <= last_year && in_years(rule, year))
        out.push_back(day + days{rule.offset});
    }
    return out;
  }
  for (int year = first_year; year <= last_year; ++year)
    if (const auto day = rule_day(rule, year)) out.push_back(*day + days{rule.offset});
  return out;
}

}  // namespace

local_days western_easter(int year) {
  // The anonymous Gregorian algorithm (Meeus/Jones/Butcher).
  const int a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4;
  const int f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month = (h + l - 7 * m + 114) / 31, day = (h + l - 7 * m + 114) % 31 + 1;
  return local_days(date::year{year} / int(month) / day);
}

local_days orthodox_easter(int year) {
  // Meeus's Julian algorithm, then the Julian calendar's lag behind the Gregorian (13 days
  // from 1900 to 2099, one more each century not divisible by 400).
  const int a = year % 4, b = year % 7, c = year % 19;
  const int d = (19 * c + 15) % 30, e = (2 * a + 4 * b - d + 34) % 7;
  const int month = (d + e + 114) / 31, day = (d + e + 114) % 31 + 1;
  const int lag = year / 100 - year / 400 - 2;
  return local_days(date::year{year} / int(month) / day) + days{lag};
}

std::optional<local_days> rule_day(const DayRule& rule, int year) {
  if (!in_years(rule, year)) return std::nullopt;
  const date::year y{year};
  switch (rule.shape) {
    case DayRule::Shape::kFixed: {
      const date::year_month_day ymd{y, date::month{rule.month}, date::day{rule.day}};
      if (!ymd.ok()) return std::nullopt;  // 29 February in a common year
      return local_days(ymd);
    }
    case DayRule::Shape::kNthWeekday: {
      const date::year_month ym{y, date::month{rule.month}};
      if (rule.nth < 0) return local_days(ym / date::weekday_last(rule.weekday));
      const auto ymw = ym / date::weekday_indexed(rule.weekday, unsigned(rule.nth));
      if (!ymw.ok()) return std::nullopt;
      return local_days(ymw);
    }
    case DayRule::Shape::kEaster:
      return western_easter(year) + days{rule.easter_offset};
    case DayRule::Shape::kOrthodoxEaster:
      return orthodox_easter(year) + days{rule.easter_offset};
    case DayRule::Shape::kDates:
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<local_days> expand_holidays(const std::vector<DayRule>& rules, int first_year,
                                        int last_year, const DayTest& trading_weekday) {
  std::vector<local_days> fixed;
  std::vector<std::pair<Observe, local_days>> to_move;
  for (const DayRule& rule : rules)
    for (const local_days day : raw_days(rule, first_year, last_year)) {
      if (rule.observe == Observe::kNone || trading_weekday(day))
        fixed.push_back(day);
      else
        to_move.emplace_back(rule.observe, day);
    }
  std::sort(fixed.begin(), fixed.end());
  fixed.erase(std::unique(fixed.begin(), fixed.end()), fixed.end());
  const auto taken = [&](local_days day) {
    return std::binary_search(fixed.begin(), fixed.end(), day);
  };
  // Moved in date order: Christmas's substitute is settled before Boxing Day's.
  std::sort(to_move.begin(), to_move.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  for (const auto& [observe, day] : to_move) {
    const local_days moved = observed(observe, day, trading_weekday, taken);
    fixed.insert(std::lower_bound(fixed.begin(), fixed.end(), moved), moved);
    fixed.erase(std::unique(fixed.begin(), fixed.end()), fixed.end());
  }
  return fixed;
}

std::vector<TimedDay> expand_timed_days(const std::vector<DayRule>& rules, int first_year,
                                        int last_year, const DayTest& trading_day) {
  std::vector<TimedDay> out;
  const auto never = [](local_days) { return false; };
  for (const DayRule& rule : rules)
    for (const local_days day : raw_days(rule, first_year, last_year)) {
      const local_days moved = observed(rule.observe, day, trading_day, never);
      if (rule.shape == DayRule::Shape::kDates || trading_day(moved))
        out.push_back({moved, rule.time.value_or(std::chrono::minutes{0}), &rule});
    }
  return out;
}

}  // namespace offpeak
