// Calendar files: one market's trading calendar (calendars/XNYS.toml), which regions of
// regions.toml use with `calendar = "XNYS"`. The format is in docs/calendars.md.

#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calendar.h"
#include "diagnostics.h"

namespace offpeak {

// Where calendar files are looked for, in order, for the config at `config_path`: the
// calendars/ directory beside it, /etc/offpeak/calendars, then the shipped ones
// (share/offpeak/calendars). A file in an earlier one overrides a later one of the same name.
[[nodiscard]] std::vector<std::string> calendar_dirs(const std::string& config_path);

// The first DIR/CODE.toml of `dirs` that exists; nothing when none does.
[[nodiscard]] std::optional<std::string> find_calendar(const std::vector<std::string>& dirs,
                                                       std::string_view code);

// A calendar file read and checked: a Region with only its calendar set (zone, sessions,
// weekdays, changes, holidays, early closes, late opens, special sessions, `calendar`).
struct CalendarFile {
  std::optional<Region> calendar;  // nothing when `diagnostics` has errors
  std::vector<Diagnostic> diagnostics;
};
// Rules are worked out over `years`; explicit dates of other years are left out too.
[[nodiscard]] CalendarFile read_calendar_file(const std::string& path, std::string_view code,
                                              RuleYears years = {});

// The same for calendar text already read; `path` names it in diagnostics.
[[nodiscard]] CalendarFile parse_calendar(std::string_view text, const std::string& path,
                                          std::string_view code, RuleYears years = {});

}  // namespace offpeak
