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
// crosses midnight into the next day (explicit off-peak windows only).
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
  std::chrono::seconds offpeak_after_close{0};
  std::chrono::seconds offpeak_before_open{0};
  std::chrono::seconds budget{0};  // how long the region's scrape needs inside a window
  SourcePos pos;                   // where the region's table is defined

  [[nodiscard]] bool is_trading_day(date::local_days day) const;
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

// The latest session that closed at or before t. Nothing for a region without sessions
// (explicit off-peak windows) or with none in the five years before t.
[[nodiscard]] std::optional<Session> last_session(const Region& region, Instant t);

}  // namespace offpeak
