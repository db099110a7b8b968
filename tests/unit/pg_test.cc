#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "pg.h"
#include "pg_binary.h"

using offpeak::redact_passwords;

TEST_CASE("choose_conninfo: --db, then DATABASE_URL, then libpq's defaults") {
  using offpeak::choose_conninfo;
  CHECK(choose_conninfo(std::string("host=a"), "postgresql://b").text == "host=a");
  CHECK(choose_conninfo(std::string("host=a"), "postgresql://b").origin == "--db");
  CHECK(choose_conninfo(std::string(""), "postgresql://b").text == "");
  CHECK(choose_conninfo(std::nullopt, "postgresql://b").text == "postgresql://b");
  CHECK(choose_conninfo(std::nullopt, "postgresql://b").origin == "DATABASE_URL");
  CHECK(choose_conninfo(std::nullopt, "").origin == "");
  CHECK(choose_conninfo(std::nullopt, nullptr).text == "");
}

TEST_CASE("redact_passwords removes passwords in every form they are written") {
  unsetenv("PGPASSWORD");
  CHECK(redact_passwords("bad: \"postgresql://u:s3cret@[::1\"", "postgresql://u:s3cret@[::1") ==
        "bad: \"postgresql://u:********@[::1\"");
  CHECK(redact_passwords("x p%40ss y p@ss", "postgres://u:p%40ss@h/db") == "x ******** y ********");
  CHECK(redact_passwords("said hunter2", "host=h password=hunter2 user=u") == "said ********");
  CHECK(redact_passwords("said it's", "password = 'it\\'s' host=h") == "said ********");
  CHECK(redact_passwords("nothing secret", "host=h user=u") == "nothing secret");
  setenv("PGPASSWORD", "fromenv", 1);
  CHECK(redact_passwords("fromenv leaked", "") == "******** leaked");
  unsetenv("PGPASSWORD");
}

TEST_CASE("PgArrayBuilder writes PostgreSQL's binary array format") {
  offpeak::PgArrayBuilder array(offpeak::kTextOid);
  array.add("ab");
  array.add("");
  const std::string_view bytes = array.finish();
  const std::string expected(
      "\0\0\0\1"
      "\0\0\0\0"
      "\0\0\0\x19"
      "\0\0\0\2"
      "\0\0\0\1"
      "\0\0\0\2"
      "ab"
      "\0\0\0\0",
      30);
  CHECK(bytes == expected);
  array.clear();
  array.add("z");
  CHECK(array.finish().size() == 25);
}

TEST_CASE("PgParam sends exactly the bytes of its view, NUL-terminated or not") {
  bool server = false;
  for (const char* name : {"PGHOST", "PGPORT", "PGDATABASE", "PGSERVICE"})
    server |= std::getenv(name) != nullptr;
  if (!server) {
    WARN("no PostgreSQL server named (PGHOST): skipped");
    return;
  }
  auto db = offpeak::PgConnection::connect({"dbname=postgres", ""});
  REQUIRE(db.ok());
  const std::string buffer = "abcdef";
  const std::string_view prefix = std::string_view(buffer).substr(0, 3);
  const auto answer = (*db)->query("SELECT $1::text, length($2::text)", {{prefix}, {""}});
  REQUIRE(answer.ok());
  CHECK(answer->text(0, 0) == "abc");
  CHECK(answer->int64(0, 1) == 0);
}
