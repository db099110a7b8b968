// offpeak-load: load offpeak-scrape's NDJSON into PostgreSQL, idempotently.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "error.h"
#include "ledger_load.h"
#include "load_command.h"
#include "log.h"
#include "progress_line.h"
#include "tool_main.h"

namespace {

using namespace offpeak;

constexpr std::string_view kTool = "offpeak-load";

constexpr const char* kFooter = R"(Reads NDJSON lines as offpeak-scrape prints them,
  {"region":R,"source":S,"key":[...],"fetched_at":"...","record":{...}}
from the FILEs or standard input, and loads them in one transaction: new keys are inserted,
changed records updated, unchanged ones not written at all. The newest line of a key wins, by
fetched_at, then the last: a line older than its row is stale and writes nothing. Loading the
same input twice changes nothing the second time. See docs/records.md.

--history on keeps every previous version of a changed record in TABLE_history (valid_from,
valid_to, the load that wrote it), from that load on; the table remembers it, so later loads
need not say it again, until --history off (which keeps TABLE_history as it is).

The connection is --db (a conninfo string like "host=db dbname=market" or a URI like
postgresql://user@db/market), else $DATABASE_URL, else libpq's PG* variables, ~/.pgpass
and service files.

With --config FILE (regions.toml), a line whose source declares typed fields is a bad line
when a field's value does not fit its type, and each such source has a view in the schema
offpeak_views, "REGION.SOURCE", with its key parts and typed columns (docs/records.md).

The table (offpeak.records by default), the offpeak.loads and offpeak.load_sources ledger
and the offpeak schema are created on first use, and migrated in place from older versions.

Messages go to stderr as key=value text: one line per (region, source) of the input, then
the summary,
  offpeak-load: region=xnys source=bars status=ok lines=15 inserted=3 updated=1 unchanged=11 \
    duplicates=0 stale=0 rejected=0
  offpeak-load: status=ok lines=15 inserted=3 updated=1 unchanged=11 duplicates=0 stale=0 \
    rejected=0 load_id=7 table=offpeak.records seconds=0.1
(dry_run=true instead of load_id with --dry-run; bad lines count under region="" source="").
With --log-format json each is a JSON object, {"time":...,"tool":...,"level":..., the same
fields}, and so are errors.

--metrics-file FILE writes Prometheus metrics for node_exporter's textfile collector at the
end of every load but a usage error or --dry-run, replacing FILE atomically:
offpeak_load_{last_run_timestamp_seconds,last_success_timestamp_seconds,duration_seconds,
exit_code} for the run, and offpeak_load_{lines,inserted,updated,unchanged,duplicates,
stale,rejected} and last_success per pair after a load; last_success carries over from FILE when
a load fails.

Exit status: 0 loaded, 64 usage error, 65 bad input lines (nothing loaded), 69 database
unavailable, 74 input or output error, 75 database unreachable or gone (try again),
78 configuration error.

Examples:
  offpeak-scrape xnys | offpeak-load --db postgresql://loader@db/market
  offpeak-load --table market.bars --reject-file bad.ndjson bars.ndjson
  offpeak-load --dry-run --json today.ndjson | jq .updated)";

// --history on|off: remembered for the table, so later loads keep doing it.
void add_history_option(CLI::App& app, HistoryRequest& history) {
  app.add_option_function<std::string>(
         "--history",
         [&history](const std::string& value) {
           history = value == "on" ? HistoryRequest::kOn : HistoryRequest::kOff;
         },
         "Keep (on) or stop keeping (off) the previous versions of changed records in "
         "TABLE_history; remembered for the table (default: as remembered, first off)")
      ->type_name("on|off")
      ->check(CLI::IsMember({"on", "off"}).description(""));
}

// Writes `text` to stdout and flushes it.
Result<void> write_stdout(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    return Error{kExitIoErr, "cannot write to standard output"};
  return {};
}

int run(int argc, char** argv) {
  LoadCommand command;
  std::string log_format = "text";
  CLI::App app{"Load offpeak-scrape's NDJSON into PostgreSQL: idempotent, atomic, at COPY speed.",
               std::string(kTool)};
  set_up_app(app, kTool, kFooter);
  app.add_option("--db", command.db, "PostgreSQL connection string or URI")->type_name("CONNINFO");
  app.add_option("--table", command.table, "Target table (default: offpeak.records)")
      ->type_name("NAME");
  auto* reject = app.add_option("--reject-file", command.reject_file,
                                "Write bad lines here as JSON and load the good ones")
                     ->type_name("FILE");
  app.add_option("--max-rejects", command.max_rejects,
                 "With --reject-file: load nothing when more lines are bad (default: 1000)")
      ->type_name("N")
      ->needs(reject);
  app.add_flag("--dry-run", command.dry_run, "Compare and count, write nothing");
  app.add_option("--session", command.session,
                 "The window or session the load belongs to, kept in offpeak.loads")
      ->type_name("LABEL");
  add_history_option(app, command.history);
  app.add_option("--config", command.config,
                 "regions.toml: check each line against its source's typed fields, and keep "
                 "the sources' views")
      ->type_name("FILE");
  app.add_flag("--json", command.json, "Print the summary as one JSON object on standard output");
  std::string ledger_token, scrape_status;
  auto* token = app.add_option("--ledger-token", ledger_token,
                               "Record this offpeak-ledger claim done in the load's transaction")
                    ->type_name("TOKEN");
  app.add_option("--scrape-status", scrape_status,
                 "With --ledger-token: done only if this offpeak-scrape --status-file says exit 0")
      ->type_name("FILE")
      ->needs(token);
  app.add_option("FILE", command.files, "Input files (default: standard input; - for it too)");
  add_log_and_metrics_options(app, log_format, command.metrics_file, "load");

  if (const auto code = parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv)))
    return *code;
  if (!ledger_token.empty()) command.in_transaction = ledger_done_hook(ledger_token, scrape_status);
  const Log log(kTool, parse_log_format(log_format).value_or(LogFormat::kText));
  ProgressLine progress(log.format() == LogFormat::kText, std::chrono::milliseconds(200));
  const Console console = console_on(log, &progress, write_stdout);
  return run_load_command(command, console);
}

}  // namespace

int main(int argc, char** argv) {
  return offpeak::run_tool(kTool, [&] { return run(argc, argv); });
}
