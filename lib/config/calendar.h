#pragma once

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <date/date.h>

#include "diagnostics.h"
#include "timestamp.h"

namespace date {
class time_zone;
}

namespace offpeak {

// Local clock time within a day, as minutes since midnight. `end <= start` means the span
// crosses midnight into the next day (explicit off-peak windows only). A trading session that
// opens the evening before its trading date (CME Globex) starts at a negative time.
struct LocalSpan {
  std::chrono::minutes start{0};
  std::chrono::minutes end{0};
  bool operator==(const LocalSpan&) const = default;
};

// A half-open interval of instants: t is inside when start <= t < end.
struct Interval {
  Instant start;
  Instant end;
  bool operator==(const Interval&) const = default;
};

// The regular trading week from a date on: a calendar's [[changes]] (Tel Aviv moving from
// Sunday-Thursday to Monday-Friday).
struct TradingWeek {
  date::local_days from;
  std::array<bool, 7> weekdays{};  // indexed by weekday::c_encoding(), Sunday = 0
  std::vector<LocalSpan> sessions;
};

// The years a calendar file's rules may be worked out for, and the years it may name.
inline constexpr int kFirstRuleYear = 1990;
inline constexpr int kLastRuleYear = 2099;

// The years a calendar file's rules are worked out for when it is read: all of them, or
// those a tool needs (offpeak-plan: the years around its --at, --from and --to), since
// working out a century of rules costs more than the rest of reading a config.
struct RuleYears {
  int first = kFirstRuleYear;
  int last = kLastRuleYear;
};

// Where a region's calendar comes from and how far it is exact.
struct CalendarInfo {
  std::string code;           // "XNYS"; empty for a calendar inline in regions.toml
  std::string file;           // the calendar file read
  std::string name;           // the exchange's name, as the file gives it
  int published_through = 0;  // last year the exchange published; 0 when not said
  int exact_through = 0;      // last year the file is exact for; 0 when not said
};

// One market region's trading calendar, as regions.toml describes it.
struct Region {
  std::string id;
  const date::time_zone* zone = nullptr;
  std::vector<LocalSpan> sessions;  // trading sessions, in order; empty when `offpeak` is given
  std::vector<LocalSpan> offpeak;   // explicit daily off-peak windows
  std::array<bool, 7> trading_weekdays{};  // indexed by weekday::c_encoding(), Sunday = 0
  std::vector<date::local_days> holidays;  // sorted, unique
  std::map<date::local_days, std::chrono::minutes> early_closes;
  std::map<date::local_days, std::chrono::minutes> late_opens;
  std::vector<TradingWeek> changes;  // sorted by `from`; before the first, the fields above
  std::map<date::local_days, std::vector<LocalSpan>> special_sessions;  // trade on closed days
  CalendarInfo calendar;
  std::chrono::seconds offpeak_after_close{0};
  std::chrono::seconds offpeak_before_open{0};
  std::chrono::seconds budget{0};  // how long the region's scrape needs inside a window
  bool claim_by_source = false;    // claim = "sources": hosts claim its sources one by one
  SourcePos pos;                   // where the region's table is defined

  [[nodiscard]] bool is_trading_day(date::local_days day) const;

  // The day's trading spans, late opens and early closes applied; none when it does not trade.
  [[nodiscard]] std::vector<LocalSpan> day_sessions(date::local_days day) const;

  // The regular week in force on `day`.
  [[nodiscard]] const std::array<bool, 7>& weekdays_on(date::local_days day) const;
  [[nodiscard]] const std::vector<LocalSpan>& sessions_on(date::local_days day) const;

  // The last day the calendar is exact for: 31 December of the calendar file's
  // `exact_through`, or of the last year an inline calendar lists holidays for. Nothing for a
  // region without sessions or holidays.
  [[nodiscard]] std::optional<date::local_days> horizon() const;
};

// The instant a local date and time of day name in `zone`. A time the clock skips (spring
// forward) is the instant of the jump; a time it repeats (fall back) is its first occurrence.
[[nodiscard]] Instant local_to_instant(const date::time_zone& zone, date::local_days day,
                                       std::chrono::seconds time_of_day);

// The local date in `zone` at instant t.
[[nodiscard]] date::local_days local_date(const date::time_zone& zone, Instant t);

// The off-peak windows that intersect [from, to), each with its full extent, in order.
[[nodiscard]] std::vector<Interval> offpeak_windows(const Region& region, Instant from, Instant to);

struct WindowAt {
  bool offpeak = false;  // t is inside `window`; otherwise `window` is the next to open
  Interval window;
};

// The off-peak window that contains t, or the next one. Nothing when the region has no
// off-peak time for years after t (its sessions and margins cover every day).
[[nodiscard]] std::optional<WindowAt> window_at(const Region& region, Instant t);

// A trading day's session, from its first open to its last close.
struct Session {
  date::local_days day;  // local date
  Instant open;
  Instant close;
};

// A session with the breaks between its spans, in order.
struct TradingSession {
  Session session;
  std::vector<Interval> breaks;
};

// The sessions that meet [from, to), in order.
[[nodiscard]] std::vector<TradingSession> sessions_between(const Region& region, Instant from,
                                                           Instant to);

// The latest session that closed at or before t. Nothing for a region without sessions
// (explicit off-peak windows) or with none in the five years before t.
[[nodiscard]] std::optional<Session> last_session(const Region& region, Instant t);

}  // namespace offpeak
