// Off-peak windows of a trading calendar.
//
// The idea: over a run of local days the off-peak set is easy to compute exactly (the
// complement of the days' busy spans, or the union of explicit windows and closed days),
// but only inside the stretch those days cover. A window touching the edge of that
// stretch may go on beyond it (a long weekend, a holiday), so the stretch grows, doubling,
// until every window asked about ends strictly inside it. Windows are thus always reported
// whole, whatever instant asks, which keeps window ids stable.

#include "calendar.h"

#include <algorithm>

#include <date/tz.h>

namespace offpeak {
namespace {

using std::chrono::seconds;

// How far a window is followed before it is reported clipped: a region off-peak for more
// than this is a config that has lost its trading days, not a market.
constexpr date::days kSearchLimit{366 * 5};

// The off-peak instants of a run of days, exact inside `known`.
struct Coverage {
  Interval known;
  std::vector<Interval> offpeak;  // sorted, disjoint, non-empty, within `known`
};

Instant midnight(const Region& region, date::local_days day) {
  return local_to_instant(*region.zone, day, seconds{0});
}

// Sorts, joins overlapping and touching intervals, drops empty ones.
std::vector<Interval> merged(std::vector<Interval> intervals) {
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.start < b.start; });
  std::vector<Interval> out;
  for (const Interval& iv : intervals) {
    if (iv.end <= iv.start) continue;
    if (!out.empty() && iv.start <= out.back().end)
      out.back().end = std::max(out.back().end, iv.end);
    else
      out.push_back(iv);
  }
  return out;
}

// The day's trading, from its first open to its last close (late opens and early closes
// applied).
Interval trading_span(const Region& region, date::local_days day) {
  auto open = region.sessions.front().start;
  auto close = region.sessions.back().end;
  if (auto it = region.late_opens.find(day); it != region.late_opens.end()) open = it->second;
  if (auto it = region.early_closes.find(day); it != region.early_closes.end()) close = it->second;
  return {local_to_instant(*region.zone, day, open), local_to_instant(*region.zone, day, close)};
}

// The day's busy span: its trading widened by the margins.
Interval busy_span(const Region& region, date::local_days day) {
  const Interval trading = trading_span(region, day);
  return {trading.start - region.offpeak_before_open, trading.end + region.offpeak_after_close};
}

Coverage sessions_coverage(const Region& region, date::local_days first, date::local_days last) {
  const Interval known{midnight(region, first), midnight(region, last + date::days{1})};
  // Busy spans of days this far outside [first, last] can still reach into it.
  const auto margin = date::days{1} + date::ceil<date::days>(std::max(region.offpeak_before_open,
                                                                      region.offpeak_after_close));
  std::vector<Interval> busy;
  for (auto day = first - margin; day <= last + margin; day += date::days{1})
    if (region.is_trading_day(day)) busy.push_back(busy_span(region, day));

  Coverage coverage{known, {}};
  Instant free_from = known.start;
  for (const Interval& span : merged(std::move(busy))) {
    if (span.start > free_from)
      coverage.offpeak.push_back({free_from, std::min(span.start, known.end)});
    free_from = std::max(free_from, span.end);
    if (free_from >= known.end) break;
  }
  if (free_from < known.end) coverage.offpeak.push_back({free_from, known.end});
  return coverage;
}

Coverage explicit_coverage(const Region& region, date::local_days first, date::local_days last) {
  const Interval known{midnight(region, first), midnight(region, last + date::days{1})};
  std::vector<Interval> free;
  // The day before `first` contributes its windows that cross midnight.
  for (auto day = first - date::days{1}; day <= last; day += date::days{1}) {
    for (const LocalSpan& span : region.offpeak) {
      const auto end_day = span.end <= span.start ? day + date::days{1} : day;
      free.push_back({local_to_instant(*region.zone, day, span.start),
                      local_to_instant(*region.zone, end_day, span.end)});
    }
    if (!region.is_trading_day(day))
      free.push_back({midnight(region, day), midnight(region, day + date::days{1})});
  }
  Coverage coverage{known, {}};
  for (Interval iv : merged(std::move(free))) {
    iv.start = std::max(iv.start, known.start);
    iv.end = std::min(iv.end, known.end);
    if (iv.start < iv.end) coverage.offpeak.push_back(iv);
  }
  return coverage;
}

Coverage coverage(const Region& region, date::local_days first, date::local_days last) {
  return region.sessions.empty() ? explicit_coverage(region, first, last)
                                 : sessions_coverage(region, first, last);
}

}  // namespace

bool Region::is_trading_day(date::local_days day) const {
  if (!trading_weekdays[date::weekday(day).c_encoding()]) return false;
  return !std::binary_search(holidays.begin(), holidays.end(), day);
}

Instant local_to_instant(const date::time_zone& zone, date::local_days day,
                         std::chrono::seconds time_of_day) {
  // choose::earliest gives the first of a repeated time; for a skipped time the date
  // library answers the instant of the transition, which is the rule offpeak documents.
  return zone.to_sys(date::local_seconds(day) + time_of_day, date::choose::earliest);
}

date::local_days local_date(const date::time_zone& zone, Instant t) {
  return date::floor<date::days>(zone.to_local(t));
}

std::vector<Interval> offpeak_windows(const Region& region, Instant from, Instant to) {
  const auto from_day = local_date(*region.zone, from);
  const auto to_day = local_date(*region.zone, to);
  auto first = from_day - date::days{1};
  auto last = to_day + date::days{1};
  for (date::days step{7};; step *= 2) {
    const Coverage c = coverage(region, first, last);
    std::vector<Interval> windows;
    bool open_before = false, open_after = false;
    for (const Interval& w : c.offpeak) {
      if (w.end <= from || w.start >= to) continue;
      open_before |= w.start == c.known.start;
      open_after |= w.end == c.known.end;
      windows.push_back(w);
    }
    open_before &= from_day - first < kSearchLimit;
    open_after &= last - to_day < kSearchLimit;
    if (!open_before && !open_after) return windows;
    if (open_before) first -= step;
    if (open_after) last += step;
  }
}

std::optional<WindowAt> window_at(const Region& region, Instant t) {
  for (date::days horizon{7}; horizon <= kSearchLimit; horizon *= 2) {
    const auto windows = offpeak_windows(region, t, t + horizon);
    if (!windows.empty()) return WindowAt{windows.front().start <= t, windows.front()};
  }
  return std::nullopt;
}

std::optional<Session> last_session(const Region& region, Instant t) {
  if (region.sessions.empty()) return std::nullopt;
  const auto today = local_date(*region.zone, t);
  for (auto day = today; today - day <= kSearchLimit; day -= date::days{1}) {
    if (!region.is_trading_day(day)) continue;
    const Interval trading = trading_span(region, day);
    if (trading.end <= t) return Session{day, trading.start, trading.end};
  }
  return std::nullopt;
}

}  // namespace offpeak
