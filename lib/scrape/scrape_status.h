#pragma once

// offpeak-scrape --status-file: how the run ended, for offpeak-load --scrape-status, which
// reads it once its input has ended.

#include <string>
#include <vector>

#include "scrape.h"

namespace offpeak {

// The status as one JSON object and a newline: {"exit":N,"sources":{"NAME":{"status":S,
// "records":N,"skipped":N,"exit":N},...}}. Sources the run did not reach (it stopped before
// fetching, `report` is null) have status "not_run" and no figures.
[[nodiscard]] std::string scrape_status_json(int exit, const std::vector<std::string>& sources,
                                             const ScrapeReport* report);

}  // namespace offpeak
