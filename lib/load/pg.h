#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "error.h"

struct pg_conn;
struct pg_result;

namespace offpeak {

// The connection string: --db when given, else $DATABASE_URL, else "" for libpq's own
// defaults (PG* variables, ~/.pgpass, service files). `origin` names where it came from.
struct Conninfo {
  std::string text;
  std::string origin;  // "--db", "DATABASE_URL" or "" for libpq's defaults
};
[[nodiscard]] Conninfo choose_conninfo(const std::optional<std::string>& flag,
                                       const char* database_url);

// `message` with every password of `conninfo` (as written and decoded) and $PGPASSWORD
// replaced by "********".
[[nodiscard]] std::string redact_passwords(std::string message, std::string_view conninfo);

// A result that frees itself, and typed reads of its text-format fields.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* result) : result_(result) {}

  [[nodiscard]] explicit operator bool() const { return result_ != nullptr; }
  [[nodiscard]] pg_result* get() const { return result_.get(); }
  [[nodiscard]] int rows() const;
  [[nodiscard]] bool is_null(int row, int column) const;
  // The field's text; a view into the result.
  [[nodiscard]] std::string_view text(int row, int column) const;
  // The field read as an integer, a boolean ("t"), or a bytea in binary.
  [[nodiscard]] std::int64_t int64(int row, int column) const;
  [[nodiscard]] std::uint64_t uint64(int row, int column) const;
  [[nodiscard]] bool boolean(int row, int column) const { return text(row, column) == "t"; }

 private:
  struct Deleter {
    void operator()(pg_result* result) const;
  };
  std::unique_ptr<pg_result, Deleter> result_;
};

// A parameter of a query: text, or binary with its type's OID. The connection sends exactly
// the bytes of `value`: text ones are copied and NUL-terminated on the way, since libpq reads
// text parameters as C strings.
struct PgParam {
  std::string_view value;
  unsigned int type = 0;  // 0: text, the server infers the type
  bool binary = false;
};

// One libpq connection. Every call returns the error it met instead of throwing; a database
// error's exit code is 75 when a retry may help, 69 when not, 78 for a mistake in the table.
class PgConnection {
 public:
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  [[nodiscard]] static Result<std::unique_ptr<PgConnection>> connect(const Conninfo& conninfo);

  // Runs SQL without parameters (several statements allowed).
  [[nodiscard]] Result<void> exec(const std::string& sql);
  // Runs one statement with parameters; the answer's rows are in text format.
  [[nodiscard]] Result<PgResult> query(const std::string& sql,
                                       const std::vector<PgParam>& params = {});

  // A query sent without waiting for its answer, and the wait for it; one at a time.
  [[nodiscard]] Result<void> send_query(const std::string& sql, const std::vector<PgParam>& params);
  [[nodiscard]] Result<PgResult> get_result();
  // Reads and drops the answer of a query sent and not read, if any: the connection is then
  // ready for the next.
  void discard_results();

  // COPY ... FROM STDIN: start, send data in pieces, end. CopyIn (pg_copy.h) drives these.
  [[nodiscard]] Result<void> copy_start(const std::string& sql);
  [[nodiscard]] Result<void> copy_put(std::string_view data);
  [[nodiscard]] Result<void> copy_end();
  // Ends a COPY in progress with an error, so that nothing of it is kept.
  void copy_abort();
  // COPY ... TO STDOUT: `data` gets the output piece by piece as it arrives (a row each, as
  // the server sends it).
  [[nodiscard]] Result<void> copy_out(const std::string& sql,
                                      const std::function<void(std::string_view)>& data);

  // Whether the connection is in a transaction (open, or failed and not yet rolled back).
  [[nodiscard]] bool in_transaction() const;

  // `name` as a quoted SQL identifier, by libpq's own escaping.
  [[nodiscard]] std::string quote_identifier(std::string_view name);
  // `text` as a quoted SQL string literal, by libpq's own escaping.
  [[nodiscard]] std::string quote_literal(std::string_view text);

 private:
  PgConnection(pg_conn* conn, std::string conninfo);
  [[nodiscard]] Error error_from(const pg_result* result) const;

  pg_conn* conn_;
  std::string conninfo_;  // kept only to redact its password from messages
};

// A transaction on a connection, rolled back unless committed: whatever path a load leaves
// by, its connection is out of the transaction.
class Transaction {
 public:
  [[nodiscard]] static Result<Transaction> begin(PgConnection& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction() { rollback(); }

  [[nodiscard]] Result<void> commit();
  void rollback();

 private:
  explicit Transaction(PgConnection& db) : db_(&db) {}
  PgConnection* db_;  // null once ended
};

}  // namespace offpeak
