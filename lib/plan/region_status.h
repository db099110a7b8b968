#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "calendar.h"
#include "timestamp.h"

namespace offpeak {

// Where a region stands at an instant.
struct RegionStatus {
  const Region* region = nullptr;
  bool offpeak = false;
  std::optional<Interval> window;     // the current window, else the next one
  std::chrono::seconds remaining{0};  // until the window ends; 0 when not off-peak
};
[[nodiscard]] RegionStatus region_status(const Region& region, Instant at);

// `REGION@START`, start in UTC: the same for every instant inside the window.
[[nodiscard]] std::string window_id(const Region& region, const Interval& window);

}  // namespace offpeak
