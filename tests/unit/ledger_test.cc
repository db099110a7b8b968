// The ledger's pieces that need no server: masking secrets in error texts, and the array
// literals lists travel in. The claims themselves are tested against PostgreSQL in
// tests/ledger/run.py.

#include <cstdlib>

#include <catch2/catch.hpp>

#include "ledger.h"
#include "ledger_sql.h"

using offpeak::mask_secrets;

TEST_CASE("mask_secrets masks the password of a URL's userinfo") {
  CHECK(mask_secrets("GET https://bob:hunter2@api.example/v1 failed", "") ==
        "GET https://bob:********@api.example/v1 failed");
  CHECK(mask_secrets("https://bob@api.example/v1", "") == "https://bob@api.example/v1");
}

TEST_CASE("mask_secrets masks secret parameters and keeps the others") {
  CHECK(mask_secrets("https://api.example/v1?symbol=AAPL&apiKey=abc123&limit=5", "") ==
        "https://api.example/v1?symbol=AAPL&apiKey=********&limit=5");
  CHECK(mask_secrets("401 for token=xyz; retrying", "") == "401 for token=********; retrying");
  CHECK(mask_secrets("host=db password='p a ss' dbname=m", "") ==
        "host=db password=******** dbname=m");
  CHECK(mask_secrets("key=K1 monkey=banana", "") == "key=******** monkey=banana");
}

TEST_CASE("mask_secrets masks header values to the end of their line") {
  CHECK(mask_secrets("sent Authorization: Bearer abc.def\nthen 401", "") ==
        "sent Authorization: ********\nthen 401");
  CHECK(mask_secrets("X-Api-Token: s3cr3t", "") == "X-Api-Token: ********");
  CHECK(mask_secrets("status: 503", "") == "status: 503");
}

TEST_CASE("mask_secrets masks the connection's password wherever it appears") {
  CHECK(mask_secrets("cannot connect: sekrit rejected", "postgresql://u:sekrit@db/m") ==
        "cannot connect: ******** rejected");
}

TEST_CASE("pg_text_array quotes and escapes each element") {
  CHECK(offpeak::pg_text_array({}) == "{}");
  CHECK(offpeak::pg_text_array({"a", "b c", "q\"uote", "back\\slash", ""}) ==
        R"({"a","b c","q\"uote","back\\slash",""})");
}
