#pragma once

// offpeak-load's run as the tool does it: from its parsed command line to its exit code, and
// the steps of it a test can call alone.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console.h"
#include "diagnostics.h"
#include "error.h"
#include "log.h"
#include "pg_load.h"

namespace offpeak {

// The command line, parsed.
struct LoadCommand {
  std::optional<std::string> db;  // --db, else $DATABASE_URL, else libpq's defaults
  std::string table = "offpeak.records";
  std::string reject_file;  // --reject-file, or ""
  std::uint64_t max_rejects = 1000;
  bool dry_run = false;
  std::string session;                                     // --session, or ""
  HistoryRequest history = HistoryRequest::kAsRemembered;  // --history on|off
  std::string config;              // --config: regions.toml, for the sources' typed views
  bool json = false;               // --json: the summary on stdout too
  std::string metrics_file;        // --metrics-file, or ""
  std::vector<std::string> files;  // the inputs; none for standard input, "-" for it too
  // Run in the load's transaction just before COMMIT (LoadEvents::in_transaction), e.g. the
  // ledger's `done` for --ledger-token; an error rolls the load back.
  std::function<Result<void>(PgConnection& db, std::int64_t load_id)> in_transaction;
};

// Loads the command's inputs into its table and returns the exit code. Every run that gets
// past its usage checks, except --dry-run, ends by writing --metrics-file.
[[nodiscard]] ExitCode run_load_command(const LoadCommand& command, const Console& console);

// Opens the input files, "-" for standard input (the default when there are none): every
// input opens before the database is touched, so a typo costs no connection. A file that
// cannot be opened is a usage error (64).
[[nodiscard]] Result<std::vector<LoadInput>> open_inputs(std::vector<std::string> files);

// The settings tests make through the environment, read by `getenv`:
// OFFPEAK_LOAD_KEY_MEMORY (bytes the table of keys may take: it fills up after a few thousand
// lines when small) and OFFPEAK_LOAD_KEY_BITS (bits of each key's id kept: few make keys
// share ids). Values that are not numbers are ignored.
void apply_test_settings(LoadOptions& options, const EnvLookup& getenv);

// How a load's summary is told: the table as given, whether it was a dry run, how long it took.
struct LoadSummary {
  std::string table;
  bool dry_run = false;
  double seconds = 0;
};

// The log lines after a load: one per (region, source), then the summary.
[[nodiscard]] std::vector<LogLine> summary_lines(const LoadResult& result,
                                                 const LoadSummary& summary);
// --json: the summary as one JSON object and a newline.
[[nodiscard]] std::string summary_json(const LoadResult& result, const LoadSummary& summary);
// The live progress line's text: "TOOL: N lines, X.Y MB read...".
[[nodiscard]] std::string progress_text(std::string_view tool, const LoadCounts& counts);

}  // namespace offpeak
