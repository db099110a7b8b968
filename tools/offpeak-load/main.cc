// offpeak-load: load offpeak-scrape's NDJSON into PostgreSQL, idempotently.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "load_cli.h"
#include "log.h"
#include "metrics.h"
#include "pg.h"
#include "pg_load.h"
#include "progress_line.h"
#include "reject_file.h"
#include "tool_main.h"

namespace {

using namespace offpeak;

constexpr std::string_view kTool = "offpeak-load";
constexpr int kLookupConnections = 2;

struct Options {
  std::optional<std::string> db;
  std::string table = "offpeak.records";
  std::string reject_file;
  std::uint64_t max_rejects = 1000;
  bool dry_run = false;
  bool json = false;
  std::string log_format = "text";
  std::string metrics_file;
  std::vector<std::string> files;
};

constexpr const char* kFooter = R"(Reads NDJSON lines as offpeak-scrape prints them,
  {"region":R,"source":S,"key":[...],"fetched_at":"...","record":{...}}
from the FILEs or standard input, and loads them in one transaction: new keys are inserted,
changed records updated, unchanged ones not written at all. Within the input the last line
of a key wins. Loading the same input twice changes nothing the second time.

The connection is --db (a conninfo string like "host=db dbname=market" or a URI like
postgresql://user@db/market), else $DATABASE_URL, else libpq's PG* variables, ~/.pgpass
and service files.

The table (offpeak.records by default), the offpeak.loads ledger and the offpeak schema
are created on first use.

Messages go to stderr as key=value text: one line per (region, source) of the input, then
the summary,
  offpeak-load: region=xnys source=bars status=ok lines=15 inserted=3 updated=1 unchanged=11 \
    duplicates=0 rejected=0
  offpeak-load: status=ok lines=15 inserted=3 updated=1 unchanged=11 duplicates=0 rejected=0 \
    load_id=7 table=offpeak.records seconds=0.1
(dry_run=true instead of load_id with --dry-run; bad lines count under region="" source="").
With --log-format json each is a JSON object, {"time":...,"tool":...,"level":..., the same
fields}, and so are errors.

--metrics-file FILE writes Prometheus metrics for node_exporter's textfile collector at the
end of every load but a usage error or --dry-run, replacing FILE atomically:
offpeak_load_{last_run_timestamp_seconds,last_success_timestamp_seconds,duration_seconds,
exit_code} for the run, and offpeak_load_{lines,inserted,updated,unchanged,duplicates,
rejected} and last_success per pair after a load; last_success carries over from FILE when
a load fails.

Exit status: 0 loaded, 64 usage error, 65 bad input lines (nothing loaded), 69 database
unavailable, 74 input or output error, 75 database unreachable or gone (try again),
78 configuration error.

Examples:
  offpeak-scrape xnys | offpeak-load --db postgresql://loader@db/market
  offpeak-load --table market.bars --reject-file bad.ndjson bars.ndjson
  offpeak-load --dry-run --json today.ndjson | jq .updated)";

// Parses the command line into `options`: nothing when the load should go on, else the exit
// code (0 after --help or --version, 64 after a usage error, which is reported).
std::optional<int> parse(int argc, char** argv, Options& options) {
  CLI::App app{"Load offpeak-scrape's NDJSON into PostgreSQL: idempotent, atomic, at COPY speed.",
               std::string(kTool)};
  set_up_app(app, kTool, kFooter);
  app.add_option("--db", options.db, "PostgreSQL connection string or URI")->type_name("CONNINFO");
  app.add_option("--table", options.table, "Target table (default: offpeak.records)")
      ->type_name("NAME");
  auto* reject = app.add_option("--reject-file", options.reject_file,
                                "Write bad lines here as JSON and load the good ones")
                     ->type_name("FILE");
  app.add_option("--max-rejects", options.max_rejects,
                 "With --reject-file: load nothing when more lines are bad (default: 1000)")
      ->type_name("N")
      ->needs(reject);
  app.add_flag("--dry-run", options.dry_run, "Compare and count, write nothing");
  app.add_flag("--json", options.json, "Print the summary as one JSON object on standard output");
  app.add_option("FILE", options.files, "Input files (default: standard input; - for it too)");
  add_log_and_metrics_options(app, options.log_format, options.metrics_file, "load");
  return parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv));
}

int run(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  const auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  Options options;
  if (const auto code = parse(argc, argv, options)) return *code;
  const Log log(kTool, parse_log_format(options.log_format).value_or(LogFormat::kText));

  // Every load that gets past its arguments ends here: the metrics file, then the exit code.
  const auto end_run = [&](int code, const LoadResult* loaded = nullptr) {
    if (options.metrics_file.empty() || options.dry_run) return code;
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    MetricsFile metrics = load_metrics(loaded, code, now, seconds());
    if (auto written = replace_metrics_file(metrics, options.metrics_file, kLoadLastSuccess);
        !written)
      log.write(
          LogLine(LogLevel::kWarning).add("msg", "--metrics-file: " + written.error().message));
    return code;
  };

  const auto inputs = open_inputs(options.files);
  if (!inputs) return log.usage_error(inputs.error().message);
  std::optional<RejectFile> rejects;
  if (!options.reject_file.empty()) {
    auto created = RejectFile::create(options.reject_file);
    if (!created) return end_run(log.error(created.error()));
    rejects.emplace(std::move(*created));
  }
  const Conninfo conninfo = choose_conninfo(options.db, std::getenv("DATABASE_URL"));
  auto db = PgConnection::connect(conninfo);
  if (!db) return end_run(log.error(db.error()));
  // Connections that look keys up beside the load's own; a server with no room for them
  // just makes the load slower.
  std::vector<std::unique_ptr<PgConnection>> lookup_connections;
  std::vector<PgConnection*> lookups;
  for (int i = 0; i < kLookupConnections; ++i) {
    auto lookup = PgConnection::connect(conninfo);
    if (!lookup) break;
    lookups.push_back(lookup->get());
    lookup_connections.push_back(std::move(*lookup));
  }

  ProgressLine progress(log.format() == LogFormat::kText, std::chrono::milliseconds(200));
  LoadEvents events;
  events.progress = [&](const LoadCounts& counts) {
    if (progress.due()) progress.show(progress_text(kTool, counts));
  };
  events.bad_line = [&](const BadLine& bad) {
    progress.clear();
    log.diagnostic({Severity::kError,
                    {bad.file.empty() ? "<stdin>" : bad.file, static_cast<int>(bad.line), 0},
                    "",
                    "",
                    bad.reason});
  };
  if (rejects) {
    events.reject = [&](std::string_view file, const InputLine& line, std::string_view reason) {
      return rejects->write(file, line, reason);
    };
    events.before_commit = [&] { return rejects->sync(); };
  }
  LoadOptions load_options{options.table, options.reject_file, options.max_rejects,
                           options.dry_run};
  apply_test_settings(load_options, [](const char* name) { return std::getenv(name); });
  const auto result = load_ndjson(**db, lookups, *inputs, load_options, events);
  progress.clear();
  if (!result) {
    if (result.error().exit == kExitUsage) return log.usage_error(result.error().message);
    return end_run(log.error(result.error()));
  }
  if (rejects)
    if (auto closed = rejects->close(); !closed)
      return end_run(log.error(closed.error()), &*result);

  const LoadSummary summary{options.table, options.dry_run, seconds()};
  for (const LogLine& line : summary_lines(*result, summary)) log.write(line);
  if (options.json) {
    const std::string json = summary_json(*result, summary);
    std::fwrite(json.data(), 1, json.size(), stdout);
    if (std::fflush(stdout) != 0 || std::ferror(stdout))
      return end_run(
          log.error(kExitIoErr, "cannot write to standard output (the load is committed)"),
          &*result);
  }
  return end_run(kExitOk, &*result);
}

}  // namespace

int main(int argc, char** argv) {
  return offpeak::run_tool(kTool, [&] { return run(argc, argv); });
}
