#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "calendar.h"
#include "diagnostics.h"
#include "error.h"
#include "source.h"
#include "timestamp.h"

namespace offpeak {

// regions.toml, checked: every region valid, in the order the file defines them, and the
// HTTP sources offpeak-scrape fetches for them.
struct Config {
  std::vector<Region> regions;
  std::map<std::string, std::vector<Source>, std::less<>> sources;  // by region id, in order

  // The region called `id`, or nullptr.
  [[nodiscard]] const Region* find_region(std::string_view id) const;

  // For an unknown region `id`: the ids within two single-character edits of it, nearest
  // first.
  [[nodiscard]] std::vector<std::string> regions_like(std::string_view id) const;

  // The sources of region `id`, in config order; none when it lists none.
  [[nodiscard]] std::span<const Source> sources_of(std::string_view id) const;
};

struct ConfigResult {
  Config config;  // usable only when `diagnostics` has no errors
  std::vector<Diagnostic> diagnostics;
};

// The config file to read: `flag` (--config), else `env` ($OFFPEAK_CONFIG), else
// ./regions.toml, else /etc/offpeak/regions.toml when it exists. An Error (78) says where a
// config may be when none is found, or names a candidate that cannot be looked at.
[[nodiscard]] Result<std::string> find_config(std::string_view flag, const char* env);

// The largest config read: a few hundred regions take a tenth of it, and a config is read
// whole on every cron tick (a 100 MB one would take seconds and gigabytes).
inline constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

// The longest region id: its file names (.offpeak-scrape-ID.prom.XXXXXX the longest) must
// stay within the 255 bytes a file name may have, with room to spare.
inline constexpr std::size_t kMaxIdLength = 64;

// Reads and checks the config at `path`, collecting every problem rather than the first.
// Messages show the names and values they quote with control characters escaped (\n), so
// one problem stays one line. Calendar files' rules are worked out over `years` (all, by
// default; a tool that needs fewer reads faster).
[[nodiscard]] ConfigResult load_config(const std::string& path, RuleYears years = {});

// The same for config text already read; `path` names it in diagnostics. Text over
// kMaxConfigBytes is refused unread.
[[nodiscard]] ConfigResult parse_config(std::string_view text, const std::string& path,
                                        RuleYears years = {});

// Warnings about calendars that look wrong at `at`: a region whose calendar runs out before
// the end of the next year (a calendar file's `exact_through`; an inline calendar's holidays
// listed in the current and the next year), or a region with no off-peak window for a week.
[[nodiscard]] std::vector<Diagnostic> calendar_warnings(const Config& config, Instant at);

// For each region with a calendar file, a line saying which calendar and which of its years
// are published and which derived: "region \"xnys\": calendar XNYS (calendars/XNYS.toml):
// published through 2028, derived 2029 to 2030".
[[nodiscard]] std::vector<std::string> calendar_notes(const Config& config);

}  // namespace offpeak
