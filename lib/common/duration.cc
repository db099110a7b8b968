// Durations in the compact notation people write in configs and on command lines
// (`1h30m`). Units must come largest first and once each, so `30m1h` or `1h1h` is a
// typo caught rather than a schedule silently changed.

#include "duration.h"

#include <array>

#include <fmt/format.h>

namespace offpeak {
namespace {

struct Unit {
  char name;
  std::chrono::seconds length;
};

constexpr std::array<Unit, 4> kUnits{{
    {'d', std::chrono::hours(24)},
    {'h', std::chrono::hours(1)},
    {'m', std::chrono::minutes(1)},
    {'s', std::chrono::seconds(1)},
}};

// Ten years is far beyond any schedule; the limit keeps arithmetic from overflowing.
constexpr std::chrono::seconds kMaxDuration = std::chrono::hours(24 * 3660);

}  // namespace

std::optional<std::chrono::seconds> parse_duration(std::string_view text) {
  if (text.empty()) return {};
  std::chrono::seconds total{0};
  size_t pos = 0;
  size_t next_unit = 0;  // units before this one were used already, or are out of order
  while (pos < text.size()) {
    long long value = 0;
    const size_t first_digit = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      value = value * 10 + (text[pos] - '0');
      if (value > kMaxDuration.count()) return {};
      ++pos;
    }
    if (pos == first_digit || pos == text.size()) return {};
    size_t unit = next_unit;
    while (unit < kUnits.size() && kUnits[unit].name != text[pos]) ++unit;
    if (unit == kUnits.size()) return {};
    total += kUnits[unit].length * value;
    if (total > kMaxDuration) return {};
    next_unit = unit + 1;
    ++pos;
  }
  return total;
}

std::string format_duration(std::chrono::seconds d) {
  if (d.count() == 0) return "0s";
  std::string text = d.count() < 0 ? "-" : "";
  auto rest = d.count() < 0 ? -d : d;
  for (const Unit& unit : kUnits) {
    const auto count = rest / unit.length;
    if (count > 0) text += fmt::format("{}{}", count, unit.name);
    rest -= unit.length * count;
  }
  return text;
}

}  // namespace offpeak
