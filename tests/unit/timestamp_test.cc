#include <catch2/catch.hpp>

#include "timestamp.h"

using offpeak::format_rfc3339;
using offpeak::parse_rfc3339;

TEST_CASE("parse_rfc3339 reads UTC and offset times to the second") {
  const auto t = parse_rfc3339("2026-03-08T06:30:00Z");
  REQUIRE(t);
  CHECK(format_rfc3339(*t) == "2026-03-08T06:30:00Z");
  CHECK(parse_rfc3339("2026-03-08T01:30:00-05:00") == t);
  CHECK(parse_rfc3339("2026-03-08T12:00:00+05:30") == t);
  CHECK(parse_rfc3339("2026-03-08t06:30:00z") == t);
  CHECK(parse_rfc3339("2026-03-08T06:30:00.999Z") == t);
  CHECK(parse_rfc3339("2026-03-08 06:30:00Z") == t);
}

TEST_CASE("parse_rfc3339 refuses what is not a time") {
  for (const char* text :
       {"", "now", "2026-03-08", "2026-3-8T06:30:00Z", "2026-03-08T06:30Z", "2026-03-08T06:30:00",
        "2026-02-30T00:00:00Z", "2026-03-08T24:00:00Z", "2026-03-08T06:60:00Z",
        "2026-03-08T06:30:60Z", "2026-03-08T06:30:00Zjunk", "2026-03-08T06:30:00.Z",
        "2026-03-08T06:30:00+5:30", "2026-03-08T06:30:00+24:00", "2026-03-08X06:30:00Z"}) {
    INFO(text);
    CHECK_FALSE(parse_rfc3339(text));
  }
}

TEST_CASE("format_rfc3339 writes whole seconds in UTC, also before 1970") {
  CHECK(format_rfc3339(offpeak::Instant{}) == "1970-01-01T00:00:00Z");
  CHECK(format_rfc3339(*parse_rfc3339("1969-12-31T23:59:59Z")) == "1969-12-31T23:59:59Z");
  CHECK(format_rfc3339(*parse_rfc3339("2027-01-01T00:00:00+14:00")) == "2026-12-31T10:00:00Z");
}

TEST_CASE("parse_rfc3339 refuses a time its offset moves out of the years 0000-9999") {
  // Found by fuzz/time: format_rfc3339 wrote these as "-001-12-31T23:59:00Z" and
  // "10000-01-01T00:00:59Z", which do not parse back.
  CHECK_FALSE(parse_rfc3339("0000-01-01T00:00:00+00:01"));
  CHECK_FALSE(parse_rfc3339("9999-12-31T23:59:59-00:01"));
  CHECK(format_rfc3339(*parse_rfc3339("0000-01-01T00:01:00+00:01")) == "0000-01-01T00:00:00Z");
  CHECK(format_rfc3339(*parse_rfc3339("9999-12-31T23:59:59Z")) == "9999-12-31T23:59:59Z");
}
