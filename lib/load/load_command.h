#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"
#include "log.h"
#include "pg_load.h"

namespace offpeak {

// Opens the input files, "-" for standard input (the default when there are none): every
// input opens before the database is touched, so a typo costs no connection. A file that
// cannot be opened is a usage error (64).
[[nodiscard]] Result<std::vector<LoadInput>> open_inputs(std::vector<std::string> files);

// The settings tests make through the environment, read by `getenv`:
// OFFPEAK_LOAD_KEY_MEMORY (bytes the table of keys may take: it fills up after a few thousand
// lines when small) and OFFPEAK_LOAD_KEY_BITS (bits of each key's id kept: few make keys
// share ids). Values that are not numbers are ignored.
void apply_test_settings(LoadOptions& options,
                         const std::function<const char*(const char*)>& getenv);

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
