// Vanished records: the rows a complete run of a source did not return, marked deleted.

#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "error.h"
#include "key_decisions.h"

namespace offpeak {

class PgConnection;

// What an end line says, offpeak-scrape's last line of a complete run of a source:
//   {"offpeak":"end","region":R,"source":S,"complete":"source","records":N}
//   {"offpeak":"end","region":R,"source":S,"complete":"scope","scope_parts":P,
//    "scopes":[[...],...],"records":N}
struct EndLine {
  std::string region, source;
  std::size_t scope_parts = 0;      // 0: the whole source
  std::vector<std::string> scopes;  // minified, each without its closing ']'
  std::uint64_t records = 0;
};

// Whether a line is an end line rather than a record (it may still be a bad one).
[[nodiscard]] bool is_end_line(std::string_view text);
// The end line's content, or an Error (65) saying why it is a bad line.
[[nodiscard]] Result<EndLine> parse_end_line(std::string_view text);

// The schema version 3 steps of vanished records: offpeak.loads and offpeak.load_sources gain
// `deleted`; each table loaded into gains `deleted_at` (vanished_columns_ddl).
[[nodiscard]] std::string_view vanished_migration_ddl();
[[nodiscard]] std::string vanished_columns_ddl(const std::string& table);

using Pairs = std::map<std::pair<std::string, std::string>, Pair, std::less<>>;

// The complete runs of a load's input, and the marking of the rows they left out.
//
// A row is marked by setting deleted_at and putting a zero byte before its record_hash: a
// line never matches a marked row, so a record that comes back is written (and its
// deleted_at cleared) as a changed one, and the primary key's index tells live rows from
// marked ones without visiting the table.
class VanishedRows {
 public:
  // Merges the end line of a run into what is known of its (region, source).
  void add(EndLine end);
  // Whether an end line declared the pair's run complete.
  [[nodiscard]] bool declared(std::string_view region, std::string_view source) const;
  [[nodiscard]] bool any() const { return !runs_.empty(); }

  // What a marking needs of the load.
  struct Load {
    PgConnection* db = nullptr;  // in the load's transaction, no COPY running
    std::string table;           // quoted
    const KeyTable* keys = nullptr;
    std::uint64_t id_mask = ~std::uint64_t{0};
    std::int64_t load_id = 0;
    bool dry_run = false;
    bool table_was_empty = false;
    std::string history;  // the table's history table, quoted; "" when history is off
  };
  // For each pair declared complete, the keys of the live rows of its scope the input did
  // not have, read on `conn`: the load's own connection (load.db) or one outside its
  // transaction. Finds nothing, saying why in `skipped`, when the input had bad lines (whose
  // source cannot be told), when the table of keys overflowed (`keys_overflowed`), or for a
  // pair whose end lines count more records than its lines, or none at all.
  using KeysToMark = std::map<std::pair<std::string, std::string>, std::vector<std::string>>;
  [[nodiscard]] Result<KeysToMark> find(const Load& load, PgConnection& conn, const Pairs& pairs,
                                        bool keys_overflowed,
                                        std::vector<std::string>& skipped) const;
  // Marks the rows of the keys found, in the load's transaction, and counts them in each
  // pair's `deleted`.
  [[nodiscard]] static Result<void> mark(const Load& load, Pairs& pairs, const KeysToMark& found);

 private:
  struct Run {
    std::size_t scope_parts = 0;
    std::set<std::string, std::less<>> scopes;
    std::uint64_t records = 0;
    bool conflicting = false;  // end lines of the pair disagree on what is complete
  };
  [[nodiscard]] Result<std::vector<std::string>> vanished_keys(const Load& load, PgConnection& conn,
                                                               const Pair& pair,
                                                               const Run& run) const;
  [[nodiscard]] static Result<std::uint64_t> mark_keys(const Load& load, const Pair& pair,
                                                       const std::vector<std::string>& keys);

  std::map<std::pair<std::string, std::string>, Run, std::less<>> runs_;
};

}  // namespace offpeak
