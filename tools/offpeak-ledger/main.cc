// offpeak-ledger: the run ledger in PostgreSQL: claim windows exactly once across hosts,
// keep the claim alive, record how it ended, and show the last nights.

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "error.h"
#include "ledger_command.h"
#include "log.h"
#include "tool_main.h"

namespace {

using namespace offpeak;

constexpr std::string_view kTool = "offpeak-ledger";

constexpr const char* kFooter =
    R"(Every attempt at a region's window is recorded in offpeak.runs (and
offpeak.run_attempts, offpeak.run_sources) of the database the data goes to; the tables are
created on first use. Hosts that run the same tick against one database coordinate through
it: each window is claimed by exactly one of them, and every time is the database's.

  claim      reads windows as `offpeak-plan --due --json` prints them (FILEs or stdin) and
             claims those that are claimable: never claimed, failed and due for a retry,
             or running with their lease run out; and only while now() + budget < window
             end. Prints one line per claim won: REGION WINDOW SOURCE ATTEMPT TOKEN
             LEASE_UNTIL (SOURCE "-" for a whole window). With --source, claims at most
             --limit of those sources instead of whole windows; so too for the windows
             of regions with claim = "sources" (their lines list their sources).
             --dry-run claims nothing: one line per window (or source), REGION WINDOW
             SOURCE VERDICT: claimable, done, held by HOST until T, failed_permanent,
             backoff until T, no_budget or missed; exit 1 when nothing is claimable.
  heartbeat  renews the lease of --token; exit 1 when the claim was lost: stop the run.
  finish     records --state done or failed for --token; 69 or 78 as an exit code is a
             permanent failure, not retried in that window until the config hash changes
             or `reset`; other failures are retried after --retry-base, doubling up to
             --retry-max. Exit 1 when the claim was taken over (nothing recorded).
  reset      an operator's: makes --region's failed open windows (or --window) claimable.
  sweep      marks missed the windows that closed without done, with the last reason.
  status     the last --nights per region and window: state, attempts, hosts, sources
             with their record counts, duration, error; --json for one object a line.
             --metrics-file FILE also writes, per region, offpeak_ledger_windows{state},
             offpeak_ledger_missed_windows and offpeak_ledger_permanent_failures (since
             its last done window), offpeak_ledger_last_done_timestamp_seconds.

The connection is --db, else $DATABASE_URL, else libpq's PG* variables and files.

Exit status: 0 done, 1 nothing to do (no claim won, claim or lease lost, nothing to reset),
64 usage error, 65 bad window lines, 69 database unavailable, 74 input or output error,
75 database unreachable (try again), 78 configuration error.

Examples:
  offpeak-plan --due --json | offpeak-ledger claim --config /etc/offpeak/regions.toml
  offpeak-ledger heartbeat --token "$token"
  offpeak-ledger finish --token "$token" --state failed --scrape-exit 75 --error "503"
  offpeak-ledger status --nights 7 --region xnys)";

Result<void> write_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return Error{kExitIoErr, "cannot write to standard output"};
  return {};
}

void add_sub_options(CLI::App& app, LedgerCommand& c) {
  auto* claim = app.add_subcommand("claim", "Claim the claimable windows (or sources) given");
  claim->add_option("FILE", c.files, "Windows as offpeak-plan --json lines (default: stdin)");
  claim->add_option("--host", c.host, "This host's name in the ledger (default: hostname)")
      ->type_name("NAME");
  claim->add_option("--lease", c.lease, "How long a claim holds without a heartbeat (5m)")
      ->type_name("DURATION");
  claim->add_option("--config", c.config_file, "regions.toml: its hash unblocks permanent failures")
      ->type_name("FILE");
  claim->add_option("--source", c.sources, "Claim sources of the windows, not whole windows")
      ->type_name("NAME");
  claim
      ->add_option("--limit", c.limit,
                   "Claim at most N sources, of --source or of regions "
                   "with claim = \"sources\" (default: 1)")
      ->type_name("N");
  claim->add_flag("--dry-run", c.dry_run,
                  "Say per window (or source) whether it could be claimed now, and why not; "
                  "write nothing");
  claim->add_flag("--json", c.json, "Print each claim as a JSON object");
  claim->add_flag("--backfill", c.backfill,
                  "Past sessions (offpeak-cron --backfill): no budget rule, never swept");

  auto* beat = app.add_subcommand("heartbeat", "Renew a claim's lease; exit 1 when it was lost");
  beat->add_option("--token", c.token, "The claim's token")->type_name("TOKEN")->required();
  beat->add_option("--lease", c.lease, "The new lease, from now (5m)")->type_name("DURATION");

  auto* finish = app.add_subcommand("finish", "Record how a claimed run ended");
  finish->add_option("--token", c.token, "The claim's token")->type_name("TOKEN")->required();
  finish->add_option("--state", c.state, "done or failed")->type_name("STATE")->required();
  finish->add_option("--scrape-exit", c.scrape_exit, "offpeak-scrape's exit code")->type_name("N");
  finish->add_option("--load-exit", c.load_exit, "offpeak-load's exit code")->type_name("N");
  finish->add_option("--load-id", c.load_id, "The load's id in offpeak.loads")->type_name("N");
  finish->add_option("--sources-json", c.sources_json, "Per-source status and records")
      ->type_name("JSON");
  finish->add_option("--records", c.records, "A source's claim: its record count")->type_name("N");
  finish->add_option("--status", c.status, "A source's claim: its status word")->type_name("WORD");
  finish->add_option("--error", c.error, "What went wrong (secrets are masked)")->type_name("TEXT");
  finish->add_option("--retry-base", c.retry_base, "First retry after (10m)")
      ->type_name("DURATION");
  finish->add_option("--retry-max", c.retry_max, "Longest wait between retries (2h)")
      ->type_name("DURATION");

  auto* reset = app.add_subcommand("reset", "Make a region's failed windows claimable now");
  reset->add_option("--region", c.region, "The region")->type_name("ID")->required();
  reset->add_option("--window", c.window_id, "Only this window")->type_name("WINDOW_ID");

  auto* sweep = app.add_subcommand("sweep", "Mark missed the windows that closed without done");
  sweep->add_flag("--json", c.json, "Print each window missed as a JSON object");

  auto* status = app.add_subcommand("status", "Show the last nights, per region and window");
  status->add_option("--nights", c.nights, "How many nights back (default: 3)")->type_name("N");
  status->add_option("--region", c.regions, "Only this region (repeatable)")->type_name("ID");
  status->add_flag("--json", c.json, "One JSON object per window");
  status
      ->add_option("--metrics-file", c.metrics_file,
                   "Also write the ledger's states per region as Prometheus metrics")
      ->type_name("FILE");
}

int run(int argc, char** argv) {
  LedgerCommand command;
  std::string log_format = "text";
  CLI::App app{"Record offpeak's runs in PostgreSQL and claim each window exactly once.",
               std::string(kTool)};
  set_up_app(app, kTool, kFooter);
  app.add_option("--db", command.db, "PostgreSQL connection string or URI")->type_name("CONNINFO");
  add_log_format_option(app, log_format);
  add_sub_options(app, command);
  app.require_subcommand(1);
  if (const auto code = parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv)))
    return *code;
  command.action = app.get_subcommands().front()->get_name();
  const Log log(kTool, parse_log_format(log_format).value_or(LogFormat::kText));
  const Console console = console_on(log, nullptr, write_stdout);
  return run_ledger_command(command, console);
}

}  // namespace

int main(int argc, char** argv) {
  return offpeak::run_tool(kTool, [&] { return run(argc, argv); });
}
