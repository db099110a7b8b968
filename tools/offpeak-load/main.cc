// offpeak-load: load offpeak-scrape's NDJSON into PostgreSQL, idempotently.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "diagnostics.h"
#include "json_text.h"
#include "log.h"
#include "metrics.h"
#include "ndjson_input.h"
#include "pg.h"
#include "pg_load.h"
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

// The live progress line, at most a few times a second, only for a person watching.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO) == 1) {}
  ~Progress() { clear(); }

  void update(const LoadCounts& counts) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(200)) return;
    last_ = now;
    std::cerr << fmt::format("\r\033[K{}: {} lines, {:.1f} MB read...", kTool, counts.lines,
                             static_cast<double>(counts.bytes) / 1e6)
              << std::flush;
    shown_ = true;
  }
  void clear() {
    if (shown_) std::cerr << "\r\033[K" << std::flush;
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace

int main(int argc, char** argv) {
  const auto started = std::chrono::steady_clock::now();
  Options options;
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

  if (const auto code = parse_args(app, kTool, argc, argv, log_format_in_args(argc, argv)))
    return *code;
  const Log log(kTool, parse_log_format(options.log_format).value_or(LogFormat::kText));
  const auto usage_error = [&](std::string_view message) { return log.usage_error(message); };

  // Every load that gets past its arguments ends here: the metrics file, then the exit code.
  const LoadResult* loaded = nullptr;
  const auto end_run = [&](int code) {
    if (options.metrics_file.empty() || options.dry_run) return code;
    const auto now = std::chrono::system_clock::now();
    const double run_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    MetricsFile metrics = load_metrics(
        loaded, code, std::chrono::duration<double>(now.time_since_epoch()).count(), run_seconds);
    if (auto written = replace_metrics_file(metrics, options.metrics_file, kLoadLastSuccess);
        !written)
      log.write(
          LogLine(LogLevel::kWarning).add("msg", "--metrics-file: " + written.error().message));
    return code;
  };
  const auto error = [&](int code, std::string_view message) {
    return end_run(log.error(code, message));
  };

  // Every input opens before the database is touched: a typo costs no connection.
  std::vector<LoadInput> inputs;
  if (options.files.empty()) options.files.push_back("-");
  for (const std::string& file : options.files) {
    if (file == "-") {
      inputs.push_back({"", STDIN_FILENO});
      continue;
    }
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return usage_error(fmt::format("cannot open {}: {}", file, std::strerror(errno)));
    inputs.push_back({file, fd});
  }
  std::FILE* rejects = nullptr;
  if (!options.reject_file.empty()) {
    rejects = std::fopen(options.reject_file.c_str(), "w");
    if (rejects == nullptr)
      return error(kExitIoErr, fmt::format("--reject-file: cannot create {}: {}",
                                           options.reject_file, std::strerror(errno)));
  }

  const Conninfo conninfo = choose_conninfo(options.db, std::getenv("DATABASE_URL"));
  DbError connect_error;
  const auto db = PgConnection::connect(conninfo, connect_error);
  if (!db) return error(connect_error.exit_code, connect_error.message);
  // Connections that look keys up beside the load's own; a server with no room for them
  // just makes the load slower.
  std::vector<std::unique_ptr<PgConnection>> lookup_connections;
  std::vector<PgConnection*> lookups;
  for (int i = 0; i < kLookupConnections; ++i) {
    auto lookup = PgConnection::connect(conninfo, connect_error);
    if (!lookup) break;
    lookups.push_back(lookup.get());
    lookup_connections.push_back(std::move(lookup));
  }

  Progress progress(log.format() == LogFormat::kText);
  LoadEvents events;
  events.progress = [&](const LoadCounts& counts) { progress.update(counts); };
  events.reject = [&](std::string_view file, const InputLine& line, std::string_view reason) {
    const std::string text = reject_json(file, line, reason);
    return std::fwrite(text.data(), 1, text.size(), rejects) == text.size();
  };
  LoadOptions load_options{options.table, rejects != nullptr, options.max_rejects, options.dry_run};
  // For tests only: a small table of keys fills up after a few thousand lines, and ids of
  // few bits make keys share them.
  const auto test_setting = [](const char* name, std::uint64_t& value) {
    const char* setting = std::getenv(name);
    if (setting == nullptr) return false;
    const std::string_view text(setting);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size();
  };
  if (std::uint64_t bytes = 0; test_setting("OFFPEAK_LOAD_KEY_MEMORY", bytes))
    load_options.key_memory = bytes;
  if (std::uint64_t bits = 0; test_setting("OFFPEAK_LOAD_KEY_BITS", bits) && bits < 64)
    load_options.key_id_mask = (std::uint64_t{1} << bits) - 1;
  const LoadResult result = load_ndjson(*db, lookups, inputs, load_options, events);
  loaded = &result;
  progress.clear();
  if (rejects != nullptr && (std::fclose(rejects) != 0) && result.status == LoadStatus::kLoaded)
    return error(kExitIoErr, fmt::format("--reject-file: cannot write {}", options.reject_file));

  const LoadCounts& c = result.counts;
  switch (result.status) {
    case LoadStatus::kLoaded:
      break;
    case LoadStatus::kBadLines:
      for (const BadLine& bad : result.bad_lines)
        log.diagnostic({Severity::kError,
                        {bad.file.empty() ? "<stdin>" : bad.file, static_cast<int>(bad.line), 0},
                        "",
                        "",
                        bad.reason});
      return error(kExitDataErr,
                   fmt::format("{} bad line{} in {} lines; nothing loaded (with --reject-file FILE "
                               "the good lines load and the bad ones go to FILE)",
                               c.rejected, c.rejected == 1 ? "" : "s", c.lines));
    case LoadStatus::kTooManyRejects:
      return error(kExitDataErr,
                   fmt::format("more than {} bad lines (--max-rejects); nothing loaded; the bad "
                               "lines so far are in {}",
                               options.max_rejects, options.reject_file));
    case LoadStatus::kRejectFailed:
      return error(kExitIoErr, fmt::format("--reject-file: cannot write {}; nothing loaded",
                                           options.reject_file));
    case LoadStatus::kInputError:
      return error(kExitIoErr, fmt::format("cannot read {}; nothing loaded", result.input_error));
    case LoadStatus::kBadTable:
      return usage_error(result.db_error.message);
    case LoadStatus::kDbError:
      return error(result.db_error.exit_code,
                   fmt::format("{}; nothing loaded", result.db_error.message));
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto add_counts = [](LogLine& line, const LoadCounts& counts) {
    line.add("status", "ok")
        .add("lines", counts.lines)
        .add("inserted", counts.inserted)
        .add("updated", counts.updated)
        .add("unchanged", counts.unchanged)
        .add("duplicates", counts.duplicates)
        .add("rejected", counts.rejected);
  };
  for (const PairCounts& pair : result.pairs) {
    LogLine line;
    line.add("region", pair.region).add("source", pair.source);
    add_counts(line, pair.counts);
    log.write(line);
  }
  LogLine summary;
  add_counts(summary, c);
  if (options.dry_run) {
    summary.add("dry_run", true);
  } else {
    summary.add("load_id", std::int64_t{result.load_id});
  }
  summary.add("table", options.table).add("seconds", seconds, 1);
  log.write(summary);
  if (options.json) {
    const std::string json = fmt::format(
        "{{\"lines\":{},\"inserted\":{},\"updated\":{},\"unchanged\":{},\"duplicates\":{},"
        "\"rejected\":{},\"load_id\":{},\"dry_run\":{},\"table\":{},\"seconds\":{:.3f}}}\n",
        c.lines, c.inserted, c.updated, c.unchanged, c.duplicates, c.rejected,
        options.dry_run ? std::string("null") : std::to_string(result.load_id),
        options.dry_run ? "true" : "false", json_string(options.table), seconds);
    std::fwrite(json.data(), 1, json.size(), stdout);
    if (std::fflush(stdout) != 0 || std::ferror(stdout))
      return error(kExitIoErr, "cannot write to standard output (the load is committed)");
  }
  return end_run(kExitOk);
}
