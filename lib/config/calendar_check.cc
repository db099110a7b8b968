// What `offpeak-plan --check` says about calendars: which years each calendar file has from
// its exchange and which it derives, and warnings about calendars that are running out.
//
// The one idea: a calendar's horizon (Region::horizon) is the single measure of staleness, the
// same one --metrics-file exports for alerts. A calendar file states it (`exact_through`); for
// an inline calendar it is the last year it lists holidays for, which is what --check has
// always looked at.

#include <algorithm>

#include <fmt/format.h>

#include "config.h"

namespace offpeak {
namespace {

// The inline calendar's check: each of this year and the next lists a holiday.
void check_inline_years(const Region& region, date::year this_year,
                        std::vector<Diagnostic>& warnings) {
  for (const date::year year : {this_year, this_year + date::years{1}}) {
    const auto listed =
        std::any_of(region.holidays.begin(), region.holidays.end(),
                    [&](date::local_days day) { return date::year_month_day(day).year() == year; });
    if (!listed)
      warnings.push_back(
          {Severity::kWarning, region.pos, region.id, "holidays",
           fmt::format("none listed for {}; is the calendar out of date?", int(year))});
  }
}

// The calendar file's check: exact at least through the end of the next year.
void check_horizon(const Region& region, date::year this_year, std::vector<Diagnostic>& warnings) {
  const CalendarInfo& calendar = region.calendar;
  if (calendar.exact_through == 0) {
    warnings.push_back(
        {Severity::kWarning, region.pos, region.id, "calendar",
         fmt::format("{} does not say how far it is exact (exact_through)", calendar.file)});
    return;
  }
  const int next_year = int(this_year) + 1;
  if (calendar.exact_through < next_year)
    warnings.push_back(
        {Severity::kWarning, region.pos, region.id, "calendar",
         fmt::format("{} is exact only through {}; update it once the exchange publishes {}",
                     calendar.file, calendar.exact_through, calendar.exact_through + 1)});
}

}  // namespace

std::vector<Diagnostic> calendar_warnings(const Config& config, Instant at) {
  std::vector<Diagnostic> warnings;
  for (const Region& region : config.regions) {
    // Every market sleeps at least once a week; one that does not has margins too wide.
    const auto next = window_at(region, at);
    if (!next || next->window.start > at + date::days{8})
      warnings.push_back({Severity::kWarning, region.pos, region.id, "",
                          fmt::format("no off-peak window in the 8 days from {}; do the margins "
                                      "around the sessions cover whole days?",
                                      format_rfc3339(at))});
    if (region.sessions.empty()) continue;
    const date::year this_year = date::year_month_day(local_date(*region.zone, at)).year();
    if (region.calendar.code.empty())
      check_inline_years(region, this_year, warnings);
    else
      check_horizon(region, this_year, warnings);
  }
  return warnings;
}

std::vector<std::string> calendar_notes(const Config& config) {
  std::vector<std::string> notes;
  for (const Region& region : config.regions) {
    const CalendarInfo& calendar = region.calendar;
    if (calendar.code.empty()) continue;
    const int published = calendar.published_through, exact = calendar.exact_through;
    std::string years = published != 0 ? fmt::format("published through {}", published)
                                       : std::string("no year marked published");
    if (exact > published && published != 0)
      years += exact == published + 1 ? fmt::format(", derived {}", exact)
                                      : fmt::format(", derived {} to {}", published + 1, exact);
    else if (exact != 0 && exact != published)
      years += fmt::format(", exact through {}", exact);
    notes.push_back(fmt::format("region \"{}\": calendar {} ({}): {}", region.id, calendar.code,
                                calendar.file, years));
  }
  return notes;
}

}  // namespace offpeak
