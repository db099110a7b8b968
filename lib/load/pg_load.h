#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"
#include "history.h"
#include "load_counts.h"
#include "load_metrics.h"
#include "ndjson_input.h"
#include "typed_views.h"

namespace offpeak {

class PgConnection;

// One input: a file descriptor and the name messages give it ("" for standard input).
struct LoadInput {
  std::string name;
  int fd = 0;
};

struct LoadOptions {
  std::string table = "offpeak.records";  // TABLE or SCHEMA.TABLE, in SQL syntax
  // Where bad lines go (named in messages): with one, bad lines go to events.reject and the
  // good ones load; without, any bad line loads nothing.
  std::string reject_file;
  std::uint64_t max_rejects = 1000;  // with reject_file: more bad lines than this load nothing
  bool dry_run = false;              // compare and count, write nothing
  std::string session;               // the window or session the load belongs to, or ""
  // --history on|off, or what the database remembers for the table.
  HistoryRequest history = HistoryRequest::kAsRemembered;
  // The most the table of keys seen may take; lines of keys past it are decided at the end.
  std::size_t key_memory = std::size_t{48} << 20;
  // For tests: fewer bits of each key's id, so that many keys share one.
  std::uint64_t key_id_mask = ~std::uint64_t{0};
  // The sources' typed declarations (--config): each line is checked against its source's,
  // and each source's view kept (typed_views.h).
  std::vector<TypedSource> typed{};
};

// A bad line, as reported without a reject file.
struct BadLine {
  std::string file;  // "" for standard input
  std::uint64_t line = 0;
  std::string reason;
};

inline constexpr std::size_t kReportedBadLines = 10;

// How the loader reports while it runs, and what it asks of its caller. Any may be empty.
struct LoadEvents {
  // A bad line, with a reject file. An error stops the load: nothing is loaded.
  std::function<Result<void>(std::string_view file, const InputLine& line, std::string_view reason)>
      reject;
  // The first kReportedBadLines bad lines, without a reject file.
  std::function<void(const BadLine& bad)> bad_line;
  // After each batch of lines.
  std::function<void(const LoadCounts& counts)> progress;
  // Just before COMMIT (and at the same point of a dry run): what must be safe before the
  // load is, such as the reject file on disk. An error rolls the load back.
  std::function<Result<void>()> before_commit;
  // Just before COMMIT, after before_commit, not in a dry run: writes on the load's
  // connection that must commit with the load or not at all (offpeak-ledger's `done`), given
  // the load's id. An error rolls the load back.
  std::function<Result<void>(PgConnection& db, std::int64_t load_id)> in_transaction;
  // For tests: after a pair's rows are counted for a sweep, before they are read.
  std::function<void()> sweep_counted;
};

struct LoadResult {
  LoadCounts counts;                  // the pairs' sums
  std::vector<PairCounts> pairs;      // by region, then source
  std::int64_t load_id = 0;           // the offpeak.loads row
  std::vector<std::string> warnings;  // what the load left undone and why, such as a marking
};

// Loads NDJSON lines into the table in one transaction on `db`, with its offpeak.loads row,
// creating the schema on first use. Inserts new keys, updates changed records and writes
// nothing for unchanged ones; within the input the newest line of a key wins (by fetched_at,
// then the last), and a line older than its key's row is stale: it writes nothing. `lookups` are
// further connections to the same database (none is fine) that compare keys in parallel. After
// the end line of a complete run of a source, the rows of its scope that the input lacks are
// marked deleted (vanished.h).
//
// Fails, loading nothing, with the error a person reads: 64 for a --table that is no table
// name, 65 for bad lines (too many of them with a reject file), 74 when an input cannot be
// read or events.reject or events.before_commit fail, and the database's own (69, 75, 78).
// Every connection is left out of any transaction, COPY or query, whatever happens.
[[nodiscard]] Result<LoadResult> load_ndjson(PgConnection& db,
                                             const std::vector<PgConnection*>& lookups,
                                             const std::vector<LoadInput>& inputs,
                                             const LoadOptions& options, const LoadEvents& events);

}  // namespace offpeak
