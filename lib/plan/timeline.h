#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "calendar.h"
#include "timestamp.h"

namespace offpeak {

struct TimelineRequest {
  Instant from;  // the left edge of the picture
  int days = 2;  // its width, 1 to 14 days
  Instant at;    // marked as now when it is inside the picture
};

// Minutes per cell for `days`: the smallest of 15, 30, 60, 120, 180 and 360 that draws
// them in at most 100 cells.
[[nodiscard]] std::chrono::minutes timeline_cell_size(int days);

// A region's `count` cells from `from`: '#' a cell entirely off-peak, '+' partly, '.' not.
[[nodiscard]] std::string timeline_cells(const Region& region, Instant from,
                                         std::chrono::minutes cell, size_t count);

// The picture for people: UTC dates and hours, a row of cells per region, now marked above
// and below the rows, and a legend.
[[nodiscard]] std::string render_timeline(const std::vector<const Region*>& regions,
                                          const TimelineRequest& request);

}  // namespace offpeak
