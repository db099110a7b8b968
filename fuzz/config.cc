// Fuzzes regions.toml: parsing and checking (parse_config), the calendar warnings, and the
// calendar itself on whatever regions pass, so that fuzzed calendars reach window_at,
// offpeak_windows and last_session.
//
// The input is the file's text. Checked besides the sanitizers: every diagnostic formats,
// and on a config that passes the windows keep their documented shape: each nonempty, in
// order, apart, overlapping the range asked for, and window_at agreeing with offpeak_windows
// over the same week.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "calendar.h"
#include "config.h"
#include "diagnostics.h"
#include "fuzz_input.h"
#include "timestamp.h"

namespace {

using offpeak::Instant;
using offpeak::fuzz::check;

void check_windows(const offpeak::Region& region, Instant at) {
  const Instant to = at + date::days{8};
  const auto windows = offpeak::offpeak_windows(region, at, to);
  for (std::size_t i = 0; i < windows.size(); ++i) {
    check(windows[i].start < windows[i].end, "a window is not empty");
    check(windows[i].end > at && windows[i].start < to, "a window overlaps the range");
    if (i > 0) check(windows[i - 1].end < windows[i].start, "windows are in order and apart");
  }
  if (const auto now = offpeak::window_at(region, at)) {
    const offpeak::Interval& w = now->window;
    check(w.start < w.end, "window_at's window is not empty");
    check(now->offpeak ? w.start <= at && at < w.end : at < w.start,
          "window_at's window holds `at` or is the next");
    if (w.start < to)
      check(!windows.empty() && windows.front() == w, "window_at agrees with offpeak_windows");
  } else {
    check(windows.empty(), "no window_at means no window this week");
  }
  if (const auto session = offpeak::last_session(region, at))
    check(session->open < session->close && session->close <= at,
          "the last session closed at or before `at`");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const offpeak::ConfigResult result = offpeak::parse_config(text, "regions.toml");
  for (const offpeak::Diagnostic& d : result.diagnostics)
    check(!offpeak::format_diagnostic("offpeak-plan", d).empty(), "a diagnostic formats");
  if (offpeak::has_errors(result.diagnostics)) return 0;

  // Around the spring and autumn clock changes of Europe and North America, and a year end.
  static const Instant kTimes[] = {*offpeak::parse_rfc3339("2026-03-08T06:59:59Z"),
                                   *offpeak::parse_rfc3339("2026-03-29T01:00:00Z"),
                                   *offpeak::parse_rfc3339("2026-10-25T00:30:00Z"),
                                   *offpeak::parse_rfc3339("2026-12-31T23:59:59Z")};
  for (const Instant at : kTimes) {
    (void)offpeak::calendar_warnings(result.config, at);
    for (const offpeak::Region& region : result.config.regions) check_windows(region, at);
  }
  return 0;
}
