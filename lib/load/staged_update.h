#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "error.h"
#include "key_decisions.h"

namespace offpeak {

class CopyWriter;
class PgConnection;

// The lines whose fate only the end of the input tells, kept in a temporary table of the
// load's transaction, and the one UPDATE that settles them by each key's last line.
class StagedLines {
 public:
  // The COPY that stages lines; creates the temporary table on first use.
  [[nodiscard]] Result<std::string> copy_sql(PgConnection& db);
  // Encodes a line of `batch` as staged, with the state of its key's first line.
  void write(CopyWriter& out, const Batch& batch, const Row& row, KeyState first);
  [[nodiscard]] bool empty() const { return staged_ == 0; }

  // Writes each staged key's last line where it differs from the row (inserting it where the
  // row is missing), stamped with `load_id`, keeping the rows' previous versions in the
  // `history` table unless it is ""; with `dry_run` only compares. In two steps, so that
  // other work can run while the server writes: the statement sent (nothing when no line is
  // staged), then its answer read: what became of the keys, per pair.
  [[nodiscard]] Result<void> send(PgConnection& db, const std::string& table,
                                  const std::string& history, bool dry_run, std::int64_t load_id);
  [[nodiscard]] Result<std::vector<StagedTally>> read(PgConnection& db);

 private:
  bool created_ = false;
  std::uint64_t staged_ = 0;  // lines staged so far, which numbers them
  bool sent_ = false;         // the statement is sent, its answer not read
};

}  // namespace offpeak
