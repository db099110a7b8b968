#pragma once

// What `offpeak-ledger status` shows: the last nights of the ledger, per region and window.

#include <string>
#include <vector>

#include "error.h"

namespace offpeak {

class PgConnection;

struct StatusQuery {
  int nights = 3;                    // windows that ended in the last `nights` days, or run on
  std::vector<std::string> regions;  // only these; all when empty
};

// One window: the fields of the table, and the same as one JSON object.
struct WindowStatus {
  std::string region;
  std::string window_id;
  std::string state;  // running, done, failed, missed; "failed (permanent)" in the table
  int attempts = 0;
  std::string hosts;     // comma-separated, in the order they tried
  std::string sources;   // "bars=15 quotes=0(too_few_records)"
  std::string duration;  // from the first attempt's start to the end, "1m30s"; "-" if none
  std::string error;
  std::string json;  // the whole row as one JSON object, no newline
};

// The windows of the query, newest first, then by region.
[[nodiscard]] Result<std::vector<WindowStatus>> read_status(PgConnection& db,
                                                            const StatusQuery& query);

// The windows as a table for people, a header line first.
[[nodiscard]] std::string status_table(const std::vector<WindowStatus>& windows);

}  // namespace offpeak
