#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "calendar.h"
#include "diagnostics.h"
#include "timestamp.h"

namespace offpeak {

// regions.toml, checked: every region valid, in the order the file defines them.
struct Config {
  std::vector<Region> regions;

  // The region called `id`, or nullptr.
  [[nodiscard]] const Region* find_region(std::string_view id) const;
};

struct ConfigResult {
  Config config;  // usable only when `diagnostics` has no errors
  std::vector<Diagnostic> diagnostics;
};

// The config file to read: `flag` (--config), else `env` ($OFFPEAK_CONFIG), else
// ./regions.toml, else /etc/offpeak/regions.toml when it exists. Empty when none is found.
[[nodiscard]] std::string choose_config_path(std::string_view flag, const char* env);

// Reads and checks the config at `path`, collecting every problem rather than the first.
[[nodiscard]] ConfigResult load_config(const std::string& path);

// The same for config text already read; `path` names it in diagnostics.
[[nodiscard]] ConfigResult parse_config(std::string_view text, const std::string& path);

// Warnings about calendars that look wrong at `at`: a region with sessions and no holidays
// listed in the current or the next year, or a region with no off-peak window for a week.
[[nodiscard]] std::vector<Diagnostic> calendar_warnings(const Config& config, Instant at);

}  // namespace offpeak
