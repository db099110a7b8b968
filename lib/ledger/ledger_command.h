#pragma once

// offpeak-ledger's subcommands, as its main fills them in from the command line.

#include <optional>
#include <string>
#include <vector>

#include "console.h"

namespace offpeak {

struct LedgerCommand {
  std::string action;  // claim, heartbeat, finish, reset, sweep, status
  std::optional<std::string> db;
  bool json = false;  // claim, sweep, status: JSON lines on stdout

  // claim
  std::vector<std::string> files;    // windows as offpeak-plan --json lines; stdin when none
  std::string host;                  // default: the host's name
  std::string lease = "5m";          // also heartbeat's
  std::string config_file;           // its SHA-256 is the config hash
  std::vector<std::string> sources;  // claim these sources, not whole windows
  int limit = 1;                     // sources (--source, claim = "sources"): how many
  bool backfill = false;             // a backfill's windows: no budget rule, never swept
  bool dry_run = false;              // say what would be claimed and why not; write nothing

  // heartbeat, finish
  std::string token;
  std::string state;  // finish: done or failed
  std::optional<int> scrape_exit;
  std::optional<int> load_exit;
  std::optional<long long> load_id;
  std::optional<long long> records;
  std::string status;
  std::string sources_json;
  std::string error;
  std::string retry_base = "10m";
  std::string retry_max = "2h";

  // reset, status
  std::string region;
  std::optional<std::string> window_id;
  int nights = 3;
  std::string metrics_file;  // status: also write the ledger's metrics here
  std::vector<std::string> regions;
};

// Runs the subcommand and returns the tool's exit code: 0 when it did its work, 1 when there
// was none (no claim won, the lease or claim was lost, nothing to reset), else the error's.
[[nodiscard]] int run_ledger_command(const LedgerCommand& command, const Console& console);

}  // namespace offpeak
