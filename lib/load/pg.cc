// A thin layer over libpq: connecting, running statements, COPY, and turning every failure
// into a message and an exit code.
//
// Two ideas carry it. Errors are sorted by whether trying again may help (the server is
// restarting, the connection dropped: 75) or not (no such database, wrong password: 69; a
// mistake in the table or the connection string: 78), from the SQLSTATE the server sends, or
// for a failed connection, from whether the server answered at all. And no message leaves this
// file with a password in it: libpq quotes connection strings in some of its errors, so every
// message is scrubbed of the passwords the connection string and $PGPASSWORD hold.

#include "pg.h"

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "diagnostics.h"

namespace offpeak {

Conninfo choose_conninfo(const std::optional<std::string>& flag, const char* database_url) {
  if (flag) return {*flag, "--db"};
  if (database_url != nullptr && *database_url != '\0') return {database_url, "DATABASE_URL"};
  return {"", ""};
}

namespace {

// Passwords written in a connection string, found without libpq's parser: they must be
// removed even from the message that says the string cannot be parsed.
std::vector<std::string> written_passwords(std::string_view conninfo) {
  std::vector<std::string> found;
  // postgresql://user:PASSWORD@host...: the userinfo ends at the last '@' before the path.
  for (const std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (conninfo.substr(0, scheme.size()) != scheme) continue;
    std::string_view rest = conninfo.substr(scheme.size());
    rest = rest.substr(0, rest.find_first_of("/?"));
    const auto at = rest.rfind('@');
    if (at == std::string_view::npos) break;
    const std::string_view userinfo = rest.substr(0, at);
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos)
      found.emplace_back(userinfo.substr(colon + 1));
  }
  // password=VALUE or password = 'VALUE' in key=value form.
  for (std::size_t pos = conninfo.find("password"); pos != std::string_view::npos;
       pos = conninfo.find("password", pos + 1)) {
    std::size_t i = pos + 8;
    while (i < conninfo.size() && conninfo[i] == ' ') ++i;
    if (i >= conninfo.size() || conninfo[i] != '=') continue;
    ++i;
    while (i < conninfo.size() && conninfo[i] == ' ') ++i;
    std::string value;
    if (i < conninfo.size() && conninfo[i] == '\'') {
      for (++i; i < conninfo.size() && conninfo[i] != '\''; ++i)
        value += conninfo[i] == '\\' && i + 1 < conninfo.size() ? conninfo[++i] : conninfo[i];
    } else {
      while (i < conninfo.size() && conninfo[i] != ' ') value += conninfo[i++];
    }
    found.push_back(value);
    // Also the raw text, escapes and all, which is what a parse error quotes.
    found.emplace_back(conninfo.substr(pos + 8, i - pos - 8));
  }
  return found;
}

std::string one_line(std::string_view message) {
  // libpq's messages span lines ("connection to server ... failed: ...\n\tIs the server
  // running...?\n"); diagnostics are one line each.
  std::string out;
  std::size_t start = 0;
  while (start < message.size()) {
    auto end = message.find('\n', start);
    if (end == std::string_view::npos) end = message.size();
    std::string_view part = message.substr(start, end - start);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\r')) part.remove_suffix(1);
    if (!part.empty()) {
      if (!out.empty()) out += "; ";
      // The server's labels have two spaces after them: "FATAL:  ...", "DETAIL:  ...".
      for (auto label = part.find(":  "); label != std::string_view::npos;
           label = part.find(":  ")) {
        out += part.substr(0, label + 2);
        part.remove_prefix(label + 3);
      }
      out += part;
    }
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string redact_passwords(std::string message, std::string_view conninfo) {
  std::vector<std::string> secrets = written_passwords(conninfo);
  if (const char* env = std::getenv("PGPASSWORD")) secrets.emplace_back(env);
  // What libpq itself makes of the string: a URI's password percent-decoded, for one.
  if (PQconninfoOption* options = PQconninfoParse(std::string(conninfo).c_str(), nullptr)) {
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o)
      if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr)
        secrets.emplace_back(o->val);
    PQconninfoFree(options);
  }
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (auto pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 8))
      message.replace(pos, secret.size(), "********");
  }
  return message;
}

void PgResult::Deleter::operator()(pg_result* result) const { PQclear(result); }

int PgResult::rows() const { return PQntuples(result_.get()); }

bool PgResult::is_null(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string_view PgResult::text(int row, int column) const {
  return {PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
}

std::int64_t PgResult::int64(int row, int column) const {
  const std::string_view t = text(row, column);
  std::int64_t value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);
  return value;
}

std::uint64_t PgResult::uint64(int row, int column) const {
  const std::string_view t = text(row, column);
  std::uint64_t value = 0;
  std::from_chars(t.data(), t.data() + t.size(), value);
  return value;
}

PgConnection::PgConnection(pg_conn* conn, std::string conninfo)
    : conn_(conn), conninfo_(std::move(conninfo)) {}

PgConnection::~PgConnection() { PQfinish(conn_); }

Result<std::unique_ptr<PgConnection>> PgConnection::connect(const Conninfo& conninfo) {
  const std::string where = conninfo.origin.empty() ? "" : conninfo.origin + ": ";
  char* parse_error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(conninfo.text.c_str(), &parse_error)) {
    PQconninfoFree(options);
  } else {
    std::string message = parse_error ? one_line(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return Error{kExitConfig,
                 redact_passwords(where + "invalid connection string: " + message, conninfo.text)};
  }
  // dbname with expand_dbname takes a whole conninfo string or URI, the way psql reads it.
  const char* keywords[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {conninfo.text.c_str(), "offpeak-load", nullptr};
  pg_conn* conn = PQconnectdbParams(keywords, values, 1);
  if (conn == nullptr) return Error{kExitTempFail, "cannot connect to PostgreSQL: out of memory"};
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = one_line(PQerrorMessage(conn));
    PQfinish(conn);
    // libpq gives no SQLSTATE for a failed connection. A server that answered with a FATAL
    // said no for good (no such database or role, wrong password), unless it is starting,
    // stopping or full; no answer at all (refused, timed out) may pass.
    const bool answered = message.find("FATAL:") != std::string::npos;
    const bool transient = message.find("starting up") != std::string::npos ||
                           message.find("shutting down") != std::string::npos ||
                           message.find("recovery") != std::string::npos ||
                           message.find("too many") != std::string::npos;
    return Error{answered && !transient ? kExitUnavailable : kExitTempFail,
                 redact_passwords("cannot connect to PostgreSQL: " + message, conninfo.text)};
  }
  // Notices ("schema already exists, skipping") are for people at psql, not for a
  // loader's output.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<PgConnection>(new PgConnection(conn, conninfo.text));
}

Error PgConnection::error_from(const pg_result* result) const {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view sqlstate = state ? state : "";
  std::string text = result && *PQresultErrorMessage(result) ? PQresultErrorMessage(result)
                                                             : PQerrorMessage(conn_);
  const std::string_view cls = sqlstate.substr(0, 2);
  ExitCode code = kExitUnavailable;
  if (PQstatus(conn_) == CONNECTION_BAD || cls == "08" || cls == "53" || cls == "40" ||
      sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03" || sqlstate == "55P03" ||
      sqlstate == "23505") {
    // The connection is gone or the server is shutting down, restarting or out of room; a
    // deadlock or a row another writer added meanwhile: all worth another run.
    code = kExitTempFail;
  } else if (cls == "42") {
    // Permissions, or a --table whose columns are not the loader's.
    code = kExitConfig;
  }
  std::string message = one_line(text);
  for (const std::string_view prefix : {"ERROR: ", "FATAL: "})
    if (message.substr(0, prefix.size()) == prefix) message.erase(0, prefix.size());
  return {code, redact_passwords(std::move(message), conninfo_)};
}

namespace {

bool succeeded(const PgResult& result) {
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

}  // namespace

Result<void> PgConnection::exec(const std::string& sql) {
  const PgResult result(PQexec(conn_, sql.c_str()));
  if (succeeded(result)) return {};
  return error_from(result.get());
}

namespace {

// PQexecParams' parallel arrays. libpq reads a text parameter up to its NUL whatever its
// length says, so text parameters are copied into NUL-terminated strings of their own.
struct ParamArrays {
  std::vector<std::string> texts;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  std::vector<unsigned int> types;

  explicit ParamArrays(const std::vector<PgParam>& params) {
    texts.reserve(params.size());
    for (const PgParam& p : params) {
      if (p.binary) {
        values.push_back(p.value.data());
      } else {
        values.push_back(texts.emplace_back(p.value).c_str());
      }
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
      types.push_back(p.type);
    }
  }
};

}  // namespace

Result<PgResult> PgConnection::query(const std::string& sql, const std::vector<PgParam>& params) {
  const ParamArrays a(params);
  PgResult result(PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), a.types.data(),
                               a.values.data(), a.lengths.data(), a.formats.data(), 0));
  if (!succeeded(result)) return error_from(result.get());
  return result;
}

Result<void> PgConnection::send_query(const std::string& sql, const std::vector<PgParam>& params) {
  const ParamArrays a(params);
  if (PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(params.size()), a.types.data(),
                        a.values.data(), a.lengths.data(), a.formats.data(), 0) == 1)
    return {};
  return error_from(nullptr);
}

Result<PgResult> PgConnection::get_result() {
  std::optional<Error> error;
  PgResult kept;
  while (PgResult result{PQgetResult(conn_)}) {
    if (!error && !succeeded(result))
      error = error_from(result.get());
    else if (!kept)
      kept = std::move(result);
  }
  if (error) return std::move(*error);
  if (!kept) return error_from(nullptr);
  return kept;
}

void PgConnection::discard_results() {
  if (PQstatus(conn_) == CONNECTION_BAD) return;
  while (PgResult result{PQgetResult(conn_)}) {
    // A COPY left open is ended, so that the results after it come.
    const auto status = PQresultStatus(result.get());
    if (status == PGRES_COPY_IN) PQputCopyEnd(conn_, "abandoned");
    if (status == PGRES_COPY_OUT) {
      char* buffer = nullptr;
      while (PQgetCopyData(conn_, &buffer, 0) > 0) PQfreemem(buffer);
    }
  }
}

Result<void> PgConnection::copy_start(const std::string& sql) {
  const PgResult result(PQexec(conn_, sql.c_str()));
  if (result && PQresultStatus(result.get()) == PGRES_COPY_IN) return {};
  return error_from(result.get());
}

Result<void> PgConnection::copy_put(std::string_view data) {
  if (PQputCopyData(conn_, data.data(), static_cast<int>(data.size())) == 1) return {};
  return error_from(nullptr);
}

Result<void> PgConnection::copy_end() {
  if (PQputCopyEnd(conn_, nullptr) != 1) return error_from(nullptr);
  std::optional<Error> error;
  while (PgResult result{PQgetResult(conn_)}) {
    if (!error && PQresultStatus(result.get()) != PGRES_COMMAND_OK)
      error = error_from(result.get());
  }
  if (error) return std::move(*error);
  return {};
}

void PgConnection::copy_abort() {
  if (PQputCopyEnd(conn_, "load abandoned") != 1) return;
  while (PgResult result{PQgetResult(conn_)}) {
  }
}

Result<void> PgConnection::copy_out(const std::string& sql,
                                    const std::function<void(std::string_view)>& data) {
  {
    const PgResult result(PQexec(conn_, sql.c_str()));
    if (!result || PQresultStatus(result.get()) != PGRES_COPY_OUT) return error_from(result.get());
  }
  char* buffer = nullptr;
  int size = 0;
  while ((size = PQgetCopyData(conn_, &buffer, 0)) > 0) {
    data({buffer, static_cast<std::size_t>(size)});
    PQfreemem(buffer);
  }
  // -1 ends the COPY, and its result follows; -2 is a broken connection.
  std::optional<Error> error;
  if (size == -2) error = error_from(nullptr);
  while (PgResult result{PQgetResult(conn_)}) {
    if (!error && PQresultStatus(result.get()) != PGRES_COMMAND_OK)
      error = error_from(result.get());
  }
  if (error) return std::move(*error);
  return {};
}

bool PgConnection::in_transaction() const {
  const auto status = PQtransactionStatus(conn_);
  return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

std::string PgConnection::quote_identifier(std::string_view name) {
  char* quoted = PQescapeIdentifier(conn_, name.data(), name.size());
  if (quoted == nullptr) return {};
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

std::string PgConnection::quote_literal(std::string_view text) {
  char* quoted = PQescapeLiteral(conn_, text.data(), text.size());
  if (quoted == nullptr) return {};
  std::string out = quoted;
  PQfreemem(quoted);
  return out;
}

Result<Transaction> Transaction::begin(PgConnection& db) {
  if (auto begun = db.exec("BEGIN"); !begun) return std::move(begun).error();
  return Transaction(db);
}

Result<void> Transaction::commit() {
  PgConnection* db = std::exchange(db_, nullptr);
  return db->exec("COMMIT");
}

void Transaction::rollback() {
  PgConnection* db = std::exchange(db_, nullptr);
  if (db == nullptr) return;
  // Whatever is still running on the connection ends first: a COPY, an unread answer.
  db->discard_results();
  if (db->in_transaction()) (void)db->exec("ROLLBACK");
}

}  // namespace offpeak
