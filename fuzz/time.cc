// Fuzzes the parsers of times and durations: RFC 3339 (parse_rfc3339: --at, done-window
// files, timestamps in records) and the compact durations of regions.toml and the command
// lines (parse_duration).
//
// Besides the sanitizers, the round trip is the check: whatever parses formats to text that
// parses back to the same value, since the tools write what they read into state files.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "duration.h"
#include "fuzz_input.h"
#include "timestamp.h"

using offpeak::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto t = offpeak::parse_rfc3339(text)) {
    const std::string formatted = offpeak::format_rfc3339(*t);
    const auto again = offpeak::parse_rfc3339(formatted);
    check(again && *again == *t, "a parsed time formats to text that parses back to it");
  }

  if (const auto d = offpeak::parse_duration(text)) {
    check(d->count() >= 0, "a parsed duration is not negative");
    const auto again = offpeak::parse_duration(offpeak::format_duration(*d));
    check(again && *again == *d, "a parsed duration formats to text that parses back to it");
  }
  return 0;
}
