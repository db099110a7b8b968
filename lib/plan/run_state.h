#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calendar.h"
#include "error.h"
#include "metrics.h"
#include "timestamp.h"

namespace offpeak {

// "Once per window": DIR/REGION.done holds, on its first line, the id of the last window
// whose run finished (window_id() in region_status.h).

// DIR/REGION.done.
[[nodiscard]] std::string done_path(const std::string& dir, const std::string& region_id);

// The id of the last window done, as DIR/REGION.done records it: empty when none is (a
// missing directory or file). An Error (74) "cannot read PATH: REASON" otherwise.
[[nodiscard]] Result<std::string> read_done(const std::string& dir, const std::string& region_id);

// Whether the window with `window_id` is done. A missing directory or file means not done,
// and so does a file naming another window; an Error (74) says why the file cannot be read.
[[nodiscard]] Result<bool> window_done(const std::string& dir, const std::string& region_id,
                                       const std::string& window_id);

// Writes `window_id` into DIR/REGION.done atomically (a temporary file, fsync, rename, fsync
// of DIR), creating DIR (one level) when it is missing. An Error (74) when it cannot.
[[nodiscard]] Result<void> write_done(const std::string& dir, const std::string& region_id,
                                      const std::string& window_id);

// Marks the window `region` is in at `at` done: an Error 65 when it is in none, 74 when the
// state cannot be written.
[[nodiscard]] Result<void> mark_done(const std::string& dir, const Region& region, Instant at);

// DIR/REGION.since: when a tick first planned the region with this state directory (the
// install, or the day the region was added to the config), as RFC 3339 on its first line.
// Returns it, or, when the file is missing or holds no time, writes `at` there and returns
// `at`. An Error (74) when it can be neither read nor written.
[[nodiscard]] Result<Instant> first_seen(const std::string& dir, const std::string& region_id,
                                         Instant at);

// How far behind a region's runs are at `at`: the windows that have ended since the last one
// done, or, for a region never done, since `first_seen` (so a fresh install misses nothing
// before its first tick), looking back at most kMissedWindowsLookback. The window `at` is in
// is not counted: it may still run.
inline constexpr std::chrono::hours kMissedWindowsLookback{14 * 24};
struct RunState {
  bool offpeak = false;
  bool done = false;  // the window `at` is in is done
  int missed_windows = 0;
  std::optional<Instant> last_done_start;  // the last window done, when one is recorded
};
// `done_window_id` is what read_done() gave; without `first_seen`, a region never done counts
// every window of the lookback.
[[nodiscard]] RunState run_state(const Region& region, std::string_view done_window_id, Instant at,
                                 std::optional<Instant> first_seen = {});

// What offpeak-plan --metrics-file writes of the regions at `at`, for alerts: each region's
// RunState and calendar horizon (Region::horizon) as gauges (first_seen() recording the
// regions seen for the first time), and when the plan ran. An Error (74) names a state file
// that cannot be read or written.
[[nodiscard]] Result<MetricsFile> run_state_metrics(const std::vector<const Region*>& regions,
                                                    const std::string& dir, Instant at);

}  // namespace offpeak
