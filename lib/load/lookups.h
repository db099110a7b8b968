#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "error.h"
#include "key_decisions.h"

namespace offpeak {

class PgConnection;

// The planner settings every query of a load runs under: LOCAL to the load's transaction on
// `db`, for the session on the lookup connections.
[[nodiscard]] Result<void> set_planner(PgConnection& db, const std::vector<PgConnection*>& lookups);

// Sends one query that compares `rows` (lines of `batch`) with `table`; read_lookup then
// sets each row's outcome: kInserted (no row), kUpdated (another hash), kStale (another hash,
// and a line older than its row: only `with_fetched_at`, when the primary key's index has
// fetched_at) or kUnchanged. `rows` is sorted near the index's order, which the answer
// refers to.
[[nodiscard]] Result<void> send_lookup(PgConnection& conn, const std::string& table,
                                       const Batch& batch, std::vector<Row*>& rows,
                                       bool with_fetched_at);
[[nodiscard]] Result<void> read_lookup(PgConnection& conn, std::vector<Row*>& rows);

// The rows of `table` as the planner estimates them: its size now, at the rows per page last
// measured (by ANALYZE, VACUUM or an index build); nothing when never measured. A catalog
// read, where counting a pair's rows reads its whole index.
[[nodiscard]] Result<std::optional<std::uint64_t>> estimate_table_rows(PgConnection& conn,
                                                                       const std::string& table);

// The rows of `pair` in `table`, counted as far as `limit`.
[[nodiscard]] Result<std::uint64_t> count_pair_rows(PgConnection& conn, const std::string& table,
                                                    const Pair& pair, std::uint64_t limit);

// Reads every key and hash of `pair` in `table` into `keys` (ids cut by `id_mask`), with the
// day of each row's fetched_at when the primary key's index has it (`with_fetched_at`), after
// keys.reserve_stored made room for the rows counted. True when every row found a place;
// false when rows that other sessions added meanwhile did not fit: the pair's keys must then
// still be looked up. `in_transaction`: `conn` is the load's own connection.
[[nodiscard]] Result<bool> sweep_pair(PgConnection& conn, bool in_transaction,
                                      const std::string& table, const Pair& pair, KeyTable& keys,
                                      std::uint64_t id_mask, bool with_fetched_at);

}  // namespace offpeak
