#pragma once

// offpeak-ledger status --metrics-file: the ledger's states as Prometheus metrics, per region.

#include "error.h"
#include "ledger_status.h"
#include "metrics.h"

namespace offpeak {

class PgConnection;

// Per region of the ledger (backfills left out; only `query.regions` when given):
//   offpeak_ledger_windows{region,state}  windows of the last `query.nights` nights by state
//                                         (running counted whenever it ended)
//   offpeak_ledger_missed_windows{region}      windows missed since the region's last done
//   offpeak_ledger_permanent_failures{region}  windows failed for good since its last done
//   offpeak_ledger_last_done_timestamp_seconds{region}  when its last done window finished
// and offpeak_ledger_last_run_timestamp_seconds, the ledger's clock when they were read.
[[nodiscard]] Result<MetricsFile> ledger_metrics(PgConnection& db, const StatusQuery& query);

}  // namespace offpeak
