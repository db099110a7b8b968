// RFC 3339 timestamps. The grammar is fixed-width, so it is checked field by field here:
// date::parse accepts one-digit months and cannot take `Z` and `-05:00` in one format, and a
// scheduler should not guess. Calendar validity and arithmetic come from the date library.

#include "timestamp.h"

#include <date/date.h>
#include <fmt/format.h>

namespace offpeak {
namespace {

// Reads `width` digits at `pos`; -1 when any is not a digit.
int digits(std::string_view s, size_t pos, size_t width) {
  if (pos + width > s.size()) return -1;
  int value = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

bool is_at(std::string_view s, size_t pos, std::string_view chars) {
  return pos < s.size() && chars.find(s[pos]) != std::string_view::npos;
}

}  // namespace

std::optional<Instant> parse_rfc3339(std::string_view s) {
  // 2026-03-08T06:30:00[.fraction](Z|+HH:MM|-HH:MM)
  const int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
  const int hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return {};
  if (!is_at(s, 4, "-") || !is_at(s, 7, "-") || !is_at(s, 10, "Tt ") || !is_at(s, 13, ":") ||
      !is_at(s, 16, ":"))
    return {};
  const date::year_month_day ymd{date::year{year}, date::month(unsigned(month)),
                                 date::day(unsigned(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 59) return {};

  size_t pos = 19;
  if (is_at(s, pos, ".")) {
    ++pos;
    const size_t first_digit = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == first_digit) return {};
  }

  std::chrono::seconds offset{0};
  if (is_at(s, pos, "Zz")) {
    ++pos;
  } else if (is_at(s, pos, "+-")) {
    const int oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (oh < 0 || om < 0 || !is_at(s, pos + 3, ":") || oh > 23 || om > 59) return {};
    offset = std::chrono::hours(oh) + std::chrono::minutes(om);
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return {};
  }
  if (pos != s.size()) return {};

  const auto local = date::sys_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
                     std::chrono::seconds(second);
  // An offset can move the time out of the years 0000-9999, which format_rfc3339 cannot write.
  const Instant t = Instant(local.time_since_epoch()) - offset;
  constexpr date::year_month_day kFirst{date::year{0}, date::January, date::day{1}};
  constexpr date::year_month_day kEnd{date::year{10000}, date::January, date::day{1}};
  if (t < date::sys_days(kFirst) || t >= date::sys_days(kEnd)) return {};
  return t;
}

std::string format_rfc3339(Instant t) {
  const auto day = date::floor<date::days>(t);
  const date::year_month_day ymd(day);
  const date::hh_mm_ss hms(t - day);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()), hms.hours().count(), hms.minutes().count(),
                     hms.seconds().count());
}

}  // namespace offpeak
