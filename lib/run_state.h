#pragma once

#include <string>

#include "calendar.h"
#include "timestamp.h"

namespace offpeak {

// "Once per window": DIR/REGION.done holds, on its first line, the id of the last window
// whose run finished (window_id() in plan.h).

// DIR/REGION.done.
[[nodiscard]] std::string done_path(const std::string& dir, const std::string& region_id);

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

}  // namespace offpeak
