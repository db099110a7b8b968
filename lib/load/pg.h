#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace offpeak {

// What went wrong talking to PostgreSQL, ready to print: any password is already removed.
struct DbError {
  int exit_code = 0;  // kExitUnavailable, kExitTempFail (a retry may help) or kExitConfig
  std::string message;
  std::string sqlstate;  // empty when the server sent none
};

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

// A result that frees itself.
struct PgResultDeleter {
  void operator()(pg_result* result) const;
};
using PgResult = std::unique_ptr<pg_result, PgResultDeleter>;

// A parameter of a query: text, or binary with its type's OID.
struct PgParam {
  std::string_view value;
  unsigned int type = 0;  // 0: text, the server infers the type
  bool binary = false;
};

// One libpq connection. Every call returns the error it met instead of throwing.
class PgConnection {
 public:
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects with `conninfo`; on failure returns nothing and sets `error`.
  [[nodiscard]] static std::unique_ptr<PgConnection> connect(const Conninfo& conninfo,
                                                             DbError& error);

  // Runs SQL without parameters (several statements allowed).
  [[nodiscard]] std::optional<DbError> exec(const std::string& sql);
  // Runs one statement with parameters; `result` gets its rows (text format).
  [[nodiscard]] std::optional<DbError> query(const std::string& sql,
                                             const std::vector<PgParam>& params,
                                             PgResult* result = nullptr);

  // A query sent without waiting for its answer, and the wait for it; one at a time.
  [[nodiscard]] std::optional<DbError> send_query(const std::string& sql,
                                                  const std::vector<PgParam>& params);
  [[nodiscard]] std::optional<DbError> get_result(PgResult* result);

  // COPY ... FROM STDIN: start, send data in pieces, end.
  [[nodiscard]] std::optional<DbError> copy_start(const std::string& sql);
  [[nodiscard]] std::optional<DbError> copy_put(std::string_view data);
  [[nodiscard]] std::optional<DbError> copy_end();
  // Ends a COPY in progress with an error, so that nothing of it is kept.
  void copy_abort();
  // COPY ... TO STDOUT: `data` gets the output piece by piece as it arrives (a row each, as
  // the server sends it).
  [[nodiscard]] std::optional<DbError> copy_out(const std::string& sql,
                                                const std::function<void(std::string_view)>& data);

  // `name` as a quoted SQL identifier, by libpq's own escaping.
  [[nodiscard]] std::string quote_identifier(std::string_view name);

 private:
  PgConnection(pg_conn* conn, std::string conninfo);
  [[nodiscard]] DbError error_from(const pg_result* result, std::string_view context) const;

  pg_conn* conn_;
  std::string conninfo_;  // kept only to redact its password from messages
};

// Builders of PostgreSQL's binary formats (big-endian), for COPY and array parameters.
void put_int16(std::string& out, std::int16_t value);
void put_int32(std::string& out, std::int32_t value);
void put_int64(std::string& out, std::int64_t value);

// A one-dimensional array parameter in binary format, filled element by element.
class PgArrayBuilder {
 public:
  PgArrayBuilder(unsigned int element_type);
  void add(std::string_view element);
  // The finished array; the builder can then be reused after clear().
  [[nodiscard]] std::string_view finish();
  void clear();

 private:
  std::string data_;
  std::int32_t count_ = 0;
};

// Type OIDs the loader sends in binary.
inline constexpr unsigned int kTextOid = 25, kByteaOid = 17, kInt8Oid = 20, kTextArrayOid = 1009,
                              kByteaArrayOid = 1001;

}  // namespace offpeak
