// Where a region stands at an instant, and the id of its windows: what the reports (plan.cc)
// and the run state (run_state.cc) both ask of a calendar. A window is named by its region
// and its start, so every instant inside it gets the same id, and the id of a done window
// recorded in a state file matches exactly while that window lasts.

#include "region_status.h"

namespace offpeak {

RegionStatus region_status(const Region& region, Instant at) {
  RegionStatus status{&region, false, std::nullopt, {}};
  if (const auto found = window_at(region, at)) {
    status.offpeak = found->offpeak;
    status.window = found->window;
    if (found->offpeak) status.remaining = found->window.end - at;
  }
  return status;
}

std::string window_id(const Region& region, const Interval& window) {
  return region.id + "@" + format_rfc3339(window.start);
}

}  // namespace offpeak
