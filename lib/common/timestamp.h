#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace offpeak {

// An instant, to the second. Every time offpeak computes with is one of these, in UTC.
using Instant = std::chrono::sys_seconds;

// Parses RFC 3339 (`2026-03-08T06:30:00Z`, `2026-03-08T01:30:00-05:00`); a fraction of a
// second is dropped. Returns nothing when the text is not a valid time.
[[nodiscard]] std::optional<Instant> parse_rfc3339(std::string_view text);

// `2026-03-08T07:00:00Z`.
[[nodiscard]] std::string format_rfc3339(Instant t);

}  // namespace offpeak
