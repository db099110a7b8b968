#include <catch2/catch.hpp>

#include "duration.h"

using namespace std::chrono_literals;
using offpeak::format_duration;
using offpeak::parse_duration;

TEST_CASE("parse_duration reads units largest first") {
  CHECK(parse_duration("90s") == 90s);
  CHECK(parse_duration("30m") == 30min);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("2d1s") == 48h + 1s);
  CHECK(parse_duration("0m") == 0s);
  CHECK(parse_duration("1h0m5s") == 1h + 5s);
}

TEST_CASE("parse_duration refuses ambiguous or misordered text") {
  for (const char* text : {"", "45", "m", "1x", "30m1h", "1h1h", "1h 30m", "-5m", "1.5h",
                           "99999999999999999999s", "3661d"}) {
    INFO(text);
    CHECK_FALSE(parse_duration(text));
  }
}

TEST_CASE("format_duration writes what parse_duration reads") {
  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(63h + 30min) == "2d15h30m");
  CHECK(format_duration(-90min) == "-1h30m");
  for (const std::chrono::seconds d : {1s, 3540s, 86400s, 360001s})
    CHECK(parse_duration(format_duration(d)) == d);
}
