#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "calendar.h"
#include "metrics.h"
#include "timestamp.h"

namespace offpeak {

// "Once per window": DIR/REGION.done holds, on its first line, the id of the last window
// whose run finished (window_id() in plan.h).

// DIR/REGION.done.
[[nodiscard]] std::string done_path(const std::string& dir, const std::string& region_id);

// The id of the last window done, as DIR/REGION.done records it: empty when none is.
struct DoneRecord {
  std::string window_id;
  std::string error;  // "cannot read PATH: REASON"; empty when the file was read or missing
};
[[nodiscard]] DoneRecord read_done(const std::string& dir, const std::string& region_id);

// Whether the window with `window_id` is done; `error` says why the file could not be read.
// A missing directory or file means not done, and so does a file naming another window.
struct DoneState {
  bool done = false;
  std::string error;  // "cannot read PATH: REASON"; empty when the file was read or missing
};
[[nodiscard]] DoneState window_done(const std::string& dir, const std::string& region_id,
                                    const std::string& window_id);

// Writes `window_id` into DIR/REGION.done atomically (a temporary file, fsync, rename, fsync
// of DIR), creating DIR (one level) when it is missing. Empty on success, else the error.
[[nodiscard]] std::string write_done(const std::string& dir, const std::string& region_id,
                                     const std::string& window_id);

// Marks the window `region` is in at `at` done.
struct MarkDone {
  enum class Outcome { kMarked, kNotOffpeak, kWriteFailed };
  Outcome outcome = Outcome::kMarked;
  std::string message;  // why not, when not marked
};
[[nodiscard]] MarkDone mark_done(const std::string& dir, const Region& region, Instant at);

// How far behind a region's runs are at `at`: the windows that have ended since the last one
// done, looking back at most kMissedWindowsLookback (so a region never done counts every
// window that ended in that time). The window `at` is in is not counted: it may still run.
inline constexpr std::chrono::hours kMissedWindowsLookback{14 * 24};
struct RunState {
  bool offpeak = false;
  bool done = false;  // the window `at` is in is done
  int missed_windows = 0;
  std::optional<Instant> last_done_start;  // the last window done, when one is recorded
};
[[nodiscard]] RunState run_state(const Region& region, const DoneRecord& record, Instant at);

// What offpeak-plan --metrics-file writes of the regions at `at`, for alerts: each region's
// RunState as gauges, and when the plan ran. `error` names a state file that cannot be read.
struct RunStateMetrics {
  MetricsFile file;
  std::string error;
};
[[nodiscard]] RunStateMetrics run_state_metrics(const std::vector<const Region*>& regions,
                                                const std::string& dir, Instant at);

}  // namespace offpeak
