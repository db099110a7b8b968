#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace offpeak {

// Parses a duration written as whole units, largest first, each at most once:
// `90s`, `30m`, `1h30m`, `2d`, `0m`. A bare number is refused: minutes or seconds?
[[nodiscard]] std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// The same notation back, largest units first: `2d15h30m`, `45s`, `0s`. Negative durations
// get a leading `-`.
[[nodiscard]] std::string format_duration(std::chrono::seconds d);

}  // namespace offpeak
