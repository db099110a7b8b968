#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics.h"
#include "ndjson_input.h"
#include "pg.h"

namespace offpeak {

// One input: a file descriptor and the name messages give it ("" for standard input).
struct LoadInput {
  std::string name;
  int fd = 0;
};

struct LoadOptions {
  std::string table = "offpeak.records";  // TABLE or SCHEMA.TABLE, in SQL syntax
  bool keep_rejects = false;              // bad lines go to events.reject and the good ones load
  std::uint64_t max_rejects = 1000;  // with keep_rejects: more bad lines than this load nothing
  bool dry_run = false;              // compare and count, write nothing
  // The most the table of keys seen may take; lines of keys past it are decided at the end.
  std::size_t key_memory = std::size_t{48} << 20;
  // For tests: fewer bits of each key's id, so that many keys share one.
  std::uint64_t key_id_mask = ~std::uint64_t{0};
};

// What became of the input lines; lines = inserted + updated + unchanged + duplicates + rejected.
struct LoadCounts {
  std::uint64_t lines = 0;
  std::uint64_t inserted = 0;
  std::uint64_t updated = 0;
  std::uint64_t unchanged = 0;
  std::uint64_t duplicates = 0;  // lines whose key a later line of the input replaces
  std::uint64_t rejected = 0;
  std::uint64_t bytes = 0;  // input read so far, for progress
};

// What became of the lines of one (region, source) of the input. Bad lines count under
// region "" and source "": what they say cannot be trusted.
struct PairCounts {
  std::string region;
  std::string source;
  LoadCounts counts;  // without bytes
};

struct BadLine {
  std::string file;  // "" for standard input
  std::uint64_t line = 0;
  std::string reason;
};

// How the loader reports while it runs. Either may be empty.
struct LoadEvents {
  // A bad line, with keep_rejects. Returns false when it cannot be kept (the reject file
  // cannot be written), which stops the load.
  std::function<bool(std::string_view file, const InputLine& line, std::string_view reason)> reject;
  // After each batch of lines.
  std::function<void(const LoadCounts& counts)> progress;
};

enum class LoadStatus {
  kLoaded,          // committed (or, with dry_run, compared)
  kBadLines,        // bad lines without keep_rejects: nothing committed
  kTooManyRejects,  // more than max_rejects bad lines: nothing committed
  kRejectFailed,    // events.reject returned false: nothing committed
  kInputError,      // reading an input failed: nothing committed
  kBadTable,        // options.table is not a table name
  kDbError,         // PostgreSQL failed or went away: nothing committed
};

struct LoadResult {
  LoadStatus status = LoadStatus::kLoaded;
  LoadCounts counts;               // the pairs' sums
  std::vector<PairCounts> pairs;   // by region, then source
  std::int64_t load_id = 0;        // the offpeak.loads row
  std::vector<BadLine> bad_lines;  // the first kReportedBadLines, with kBadLines
  DbError db_error;                // with kDbError and kBadTable
  std::string input_error;         // with kInputError: "FILE: reason"
};

inline constexpr std::size_t kReportedBadLines = 10;

// The metric a failed load carries over from the file it replaces.
inline constexpr std::string_view kLoadLastSuccess = "offpeak_load_last_success_timestamp_seconds";

// --metrics-file: when the run ended and how, and, after a load (`result` given and `exit`
// 0), each pair's counts labelled region and source. `now` is Unix seconds.
[[nodiscard]] MetricsFile load_metrics(const LoadResult* result, int exit, double now,
                                       double run_seconds);

// Loads NDJSON lines into the table in one transaction on `db`, with its offpeak.loads row,
// creating the schema on first use. Inserts new keys, updates changed records and writes
// nothing for unchanged ones; within the input the last line of a key wins. `lookups` are
// further connections to the same database (none is fine) that compare keys in parallel.
[[nodiscard]] LoadResult load_ndjson(PgConnection& db, const std::vector<PgConnection*>& lookups,
                                     const std::vector<LoadInput>& inputs,
                                     const LoadOptions& options, const LoadEvents& events);

}  // namespace offpeak
