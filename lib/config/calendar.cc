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

// The session of a trading day with `spans`, and the breaks between them.
TradingSession session_of(const Region& region, date::local_days day,
                          const std::vector<LocalSpan>& spans) {
  const auto at = [&](std::chrono::minutes m) { return local_to_instant(*region.zone, day, m); };
  TradingSession out{{day, at(spans.front().start), at(spans.back().end)}, {}};
  for (size_t i = 1; i < spans.size(); ++i)
    out.breaks.push_back({at(spans[i - 1].end), at(spans[i].start)});
  return out;
}

// The busy span of a trading day with `spans`: from its first open to its last close,
// widened by the margins.
Interval busy_span(const Region& region, date::local_days day,
                   const std::vector<LocalSpan>& spans) {
  return {local_to_instant(*region.zone, day, spans.front().start) - region.offpeak_before_open,
          local_to_instant(*region.zone, day, spans.back().end) + region.offpeak_after_close};
}

Coverage sessions_coverage(const Region& region, date::local_days first, date::local_days last) {
  const Interval known{midnight(region, first), midnight(region, last + date::days{1})};
  // Busy spans of days this far outside [first, last] can still reach into it (a session
  // may open the evening before its day).
  const auto margin = date::days{2} + date::ceil<date::days>(std::max(region.offpeak_before_open,
                                                                      region.offpeak_after_close));
  std::vector<Interval> busy;
  for (auto day = first - margin; day <= last + margin; day += date::days{1})
    if (const auto spans = region.day_sessions(day); !spans.empty())
      busy.push_back(busy_span(region, day, spans));

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
  if (!special_sessions.empty() && special_sessions.count(day)) return true;
  if (!weekdays_on(day)[date::weekday(day).c_encoding()]) return false;
  return !std::binary_search(holidays.begin(), holidays.end(), day);
}

const std::array<bool, 7>& Region::weekdays_on(date::local_days day) const {
  for (auto it = changes.rbegin(); it != changes.rend(); ++it)
    if (it->from <= day) return it->weekdays;
  return trading_weekdays;
}

const std::vector<LocalSpan>& Region::sessions_on(date::local_days day) const {
  for (auto it = changes.rbegin(); it != changes.rend(); ++it)
    if (it->from <= day) return it->sessions;
  return sessions;
}

std::vector<LocalSpan> Region::day_sessions(date::local_days day) const {
  if (sessions.empty()) return {};
  if (const auto special = special_sessions.find(day); special != special_sessions.end())
    return special->second;
  if (!is_trading_day(day)) return {};
  std::vector<LocalSpan> spans = sessions_on(day);
  // A late open drops the spans it passes and starts the one it falls in; an early close
  // the same from the other end.
  if (const auto it = late_opens.find(day); it != late_opens.end()) {
    std::erase_if(spans, [&](const LocalSpan& s) { return s.end <= it->second; });
    if (!spans.empty()) spans.front().start = std::max(spans.front().start, it->second);
  }
  if (const auto it = early_closes.find(day); it != early_closes.end()) {
    std::erase_if(spans, [&](const LocalSpan& s) { return s.start >= it->second; });
    if (!spans.empty()) spans.back().end = std::min(spans.back().end, it->second);
  }
  return spans;
}

std::optional<date::local_days> Region::horizon() const {
  if (calendar.exact_through != 0)
    return date::local_days(date::year{calendar.exact_through} / 12 / 31);
  if (sessions.empty() || holidays.empty()) return std::nullopt;
  return date::local_days(date::year_month_day(holidays.back()).year() / 12 / 31);
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
    const auto spans = region.day_sessions(day);
    if (spans.empty()) continue;
    const Session session = session_of(region, day, spans).session;
    if (session.close <= t) return session;
  }
  return std::nullopt;
}

std::vector<TradingSession> sessions_between(const Region& region, Instant from, Instant to) {
  std::vector<TradingSession> out;
  if (region.sessions.empty()) return out;
  // A session may open the evening before its day, or close after midnight.
  const auto last = local_date(*region.zone, to) + date::days{1};
  for (auto day = local_date(*region.zone, from) - date::days{1}; day <= last;
       day += date::days{1}) {
    const auto spans = region.day_sessions(day);
    if (spans.empty()) continue;
    TradingSession found = session_of(region, day, spans);
    if (found.session.close > from && found.session.open < to) out.push_back(std::move(found));
  }
  return out;
}

}  // namespace offpeak
