// Rules that name days of a calendar year: fixed dates with an observance, the n-th or last
// weekday of a month, offsets from Western or Orthodox Easter, and lists of explicit dates.

#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>

namespace offpeak {

// Where a rule's day goes when it falls on a day that does not trade.
enum class Observe {
  kNone,                // stays: a holiday on a weekend is simply not a trading day lost
  kNearestWeekday,      // Saturday -> Friday, Sunday -> Monday
  kSundayToMonday,      // Sunday -> Monday; Saturday is not observed
  kSundayToNextFree,    // Sunday -> the next trading weekday not already a holiday (Japan, HK)
  kNextWeekday,         // a day off the trading week -> the next day of the trading week
  kNextFreeWeekday,     // the same, also skipping days other rules already made holidays
  kPreviousTradingDay,  // a day that does not trade -> the trading day before it
};

struct DayRule {
  enum class Shape { kFixed, kNthWeekday, kEaster, kOrthodoxEaster, kDates };
  std::string name;
  Shape shape = Shape::kDates;
  unsigned month = 1;                    // kFixed, kNthWeekday
  unsigned day = 1;                      // kFixed
  date::weekday weekday = date::Monday;  // kNthWeekday
  int nth = 1;                           // kNthWeekday: 1..5, or -1 for the last
  int easter_offset = 0;                 // kEaster, kOrthodoxEaster: days from Easter Sunday
  std::vector<date::local_days> dates;   // kDates
  int offset = 0;                        // days added to the shape's date
  Observe observe = Observe::kNone;
  int from_year = 0;                         // inclusive; 0 = no limit
  int until_year = 0;                        // inclusive; 0 = no limit
  std::optional<std::chrono::minutes> time;  // early closes and late opens
};

// Western (Gregorian) Easter Sunday of `year`.
[[nodiscard]] date::local_days western_easter(int year);

// Orthodox Easter Sunday of `year` (Julian computus), as a Gregorian date.
[[nodiscard]] date::local_days orthodox_easter(int year);

// The day `rule` names in `year`, before observance; nothing when it names none (a 5th
// weekday a month lacks, a year outside from/until). Not for kDates.
[[nodiscard]] std::optional<date::local_days> rule_day(const DayRule& rule, int year);

// Whether a date trades as far as the trading week goes (weekdays, not holidays).
using DayTest = std::function<bool(date::local_days)>;

// The holidays `rules` give over [first_year, last_year], sorted and unique. Days that keep
// their date come first, so that a substitute (kNextFreeWeekday) never lands on another
// rule's own day: UK Christmas on a Sunday is observed on Tuesday, after Boxing Day.
[[nodiscard]] std::vector<date::local_days> expand_holidays(const std::vector<DayRule>& rules,
                                                            int first_year, int last_year,
                                                            const DayTest& trading_weekday);

// The days (with the rule's time) early-close or late-open rules give over the years, on
// trading days only: a rule-made day that does not trade is left out. Explicit dates are
// kept whatever they fall on, for the caller to check.
struct TimedDay {
  date::local_days day;
  std::chrono::minutes time;
  const DayRule* rule;
};
[[nodiscard]] std::vector<TimedDay> expand_timed_days(const std::vector<DayRule>& rules,
                                                      int first_year, int last_year,
                                                      const DayTest& trading_day);

}  // namespace offpeak
