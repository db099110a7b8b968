#pragma once

#include <string_view>

#include "metrics.h"

namespace offpeak {

struct LoadResult;

// The metric a failed load carries over from the file it replaces.
inline constexpr std::string_view kLoadLastSuccess = "offpeak_load_last_success_timestamp_seconds";

// --metrics-file: when the run ended and how, and, after a load (`result` given and `exit`
// 0), each pair's counts labelled region and source. `now` is Unix seconds.
[[nodiscard]] MetricsFile load_metrics(const LoadResult* result, int exit, double now,
                                       double run_seconds);

}  // namespace offpeak
