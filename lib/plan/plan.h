#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "calendar.h"
#include "config.h"
#include "error.h"
#include "timestamp.h"

namespace offpeak {

// The regions named on the command line, in config order; all of them when none is named.
struct RegionSelection {
  std::vector<const Region*> regions;
  std::vector<std::string> unknown;  // names that are no region of the config
};
[[nodiscard]] RegionSelection select_regions(const Config& config,
                                             const std::vector<std::string>& ids);

// What `offpeak-plan` prints, and whether it found anything to report.
struct Report {
  std::string text;
  bool found = false;
};

struct NowRequest {
  Instant at;
  std::chrono::seconds min_remaining{0};  // regions whose window ends sooner are left out
  bool all = false;                       // every region, off-peak or not
  bool json = false;                      // JSON lines instead of ids or a table
  bool due = false;                       // also leave out regions with less than their budget left
  std::optional<std::string> state_dir;   // leave out (--all: mark) regions whose window is done
};
// The sources of the regions whose claim is "sources", by region id.
using SourceClaims = std::map<std::string, std::vector<std::string>, std::less<>>;
// The regions off-peak at `at`; found when one of them has `min_remaining` (with `due`, also
// its budget) left and, with `state_dir`, its window is not done. With json, the lines of the
// regions in `source_claims` carry "claim":"sources" and "sources":[...], so that
// offpeak-ledger claims their sources one by one. An Error (74) names a state file that cannot
// be read.
[[nodiscard]] Result<Report> report_now(const std::vector<const Region*>& regions,
                                        const NowRequest& request,
                                        const SourceClaims& source_claims = {});

struct WindowsRequest {
  Instant from;
  Instant to;
  bool json = false;
};
// Every window that intersects [from, to), whole, by region in config order, then start.
[[nodiscard]] Report report_windows(const std::vector<const Region*>& regions,
                                    const WindowsRequest& request);

// Every trading session that meets [from, to), by region in config order, then open: its
// local date, open, close and breaks.
[[nodiscard]] Report report_sessions(const std::vector<const Region*>& regions,
                                     const WindowsRequest& request);

}  // namespace offpeak
