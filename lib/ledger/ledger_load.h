#pragma once

// offpeak-load --ledger-token: the ledger's `done`, written in the load's own transaction.

#include <cstdint>
#include <functional>
#include <string>

#include "error.h"

namespace offpeak {

class PgConnection;

// What a load under a claim runs just before its COMMIT (LoadCommand::in_transaction): it
// records the claim `token` done, with the load's id and the scrape's per-source status, so
// that the ledger says done exactly when the data is committed.
//
// With `scrape_status_file` (offpeak-scrape --status-file), the window is done only when the
// scrape exited 0: a scrape that failed leaves its records to commit and the window to be
// recorded failed by offpeak-cron; a missing file means the scrape died and its output may be
// cut short, so the load fails with 75 and commits nothing. A claim that is no longer
// `token`'s (taken over after its lease ran out) fails the load with 75 too: the host that
// holds it now loads the window.
[[nodiscard]] std::function<Result<void>(PgConnection& db, std::int64_t load_id)> ledger_done_hook(
    std::string token, std::string scrape_status_file);

}  // namespace offpeak
