#include <catch2/catch.hpp>

#include "json_text.h"
#include "vanished.h"

using offpeak::EndLine;
using offpeak::is_end_line;
using offpeak::json_array_prefix;
using offpeak::parse_end_line;

TEST_CASE("json_array_prefix: a minified array's first parts, strings and nesting skipped") {
  CHECK(json_array_prefix(R"(["a","b","c"])", 1) == R"(["a")");
  CHECK(json_array_prefix(R"(["a","b","c"])", 2) == R"(["a","b")");
  CHECK(json_array_prefix(R"(["a","b","c"])", 3) == R"(["a","b","c")");
  CHECK_FALSE(json_array_prefix(R"(["a","b","c"])", 4));
  CHECK(json_array_prefix(R"(["a,]\"",[1,{"x":[2,3]}],7])", 2) == R"(["a,]\"",[1,{"x":[2,3]}])");
  CHECK(json_array_prefix(R"([1],"fetched_at":"x"})", 1) == "[1");
  CHECK_FALSE(json_array_prefix("[]", 1));
  CHECK_FALSE(json_array_prefix(R"({"a":1})", 1));
  CHECK_FALSE(json_array_prefix("[1,2]", 0));
  CHECK_FALSE(json_array_prefix(R"(["unterminated)", 1));
}

TEST_CASE("is_end_line tells end lines from records by their first field") {
  CHECK(is_end_line(R"({"offpeak":"end","region":"r"})"));
  CHECK(is_end_line(R"(  {"offpeak":1})"));
  CHECK_FALSE(is_end_line(R"({"region":"r","source":"s","key":[1],"record":{"offpeak":1}})"));
  CHECK(is_end_line(R"({ "offpeak" : "end"})"));
  CHECK_FALSE(is_end_line(R"({"region":"r","offpeak":"end"})"));
  CHECK_FALSE(is_end_line(""));
}

TEST_CASE("parse_end_line reads both forms, scopes minified without their ']'") {
  const auto source =
      parse_end_line(R"({"offpeak":"end","region":"xnys","source":"bars","complete":"source",)"
                     R"("records":6,"later":{"x":1}})");
  REQUIRE(source.ok());
  CHECK(source->region == "xnys");
  CHECK(source->source == "bars");
  CHECK(source->scope_parts == 0);
  CHECK(source->scopes.empty());
  CHECK(source->records == 6);

  const auto scope = parse_end_line(
      R"({"offpeak": "end", "region": "xnys", "source": "bars", "complete": "scope", )"
      R"("scope_parts": 2, "scopes": [["2026-11-27", 1], ["d\u00e9", 2]], "records": 3})");
  REQUIRE(scope.ok());
  CHECK(scope->scope_parts == 2);
  CHECK(scope->scopes == std::vector<std::string>{R"(["2026-11-27",1)", R"(["d\u00e9",2)"});
}

TEST_CASE("parse_end_line: what makes an end line bad") {
  const auto reason = [](const std::string& text) {
    const auto end = parse_end_line(text);
    REQUIRE_FALSE(end.ok());
    CHECK(end.error().exit == offpeak::kExitDataErr);
    return end.error().message;
  };
  CHECK(reason(R"({"offpeak":"end","region":"r")") == "end line: not a JSON object");
  CHECK(
      reason(R"({"offpeak":"begin","region":"r","source":"s","complete":"source","records":1})") ==
      R"(end line: "offpeak" must be "end")");
  CHECK(reason(R"({"offpeak":"end","region":"r","complete":"source","records":1})") ==
        R"(end line: needs "region" and "source")");
  CHECK(reason(R"({"offpeak":"end","region":"r","source":"s","complete":"source"})") ==
        R"(end line: needs "records", the run's count)");
  CHECK(reason(R"({"offpeak":"end","region":"r","source":"s","complete":"all","records":1})") ==
        R"(end line: "complete" must be "source" or "scope")");
  CHECK(reason(R"({"offpeak":"end","region":"r","source":"s","complete":"source","records":-1})") ==
        R"(end line: "records" is not a whole number)");
  CHECK(reason(R"({"offpeak":"end","region":"r","source":"s","complete":"scope","records":1,)"
               R"("scopes":[["a"]]})") == R"(end line: "scope_parts" must be 1 or more)");
  CHECK(reason(R"({"offpeak":"end","region":"r","source":"s","complete":"scope","records":1,)"
               R"("scope_parts":1,"scopes":[["a","b"]]})") ==
        R"(end line: scope ["a","b"] must have 1 key part)");
  CHECK(reason(R"({"offpeak":"end","region":"r","source":"s","complete":"scope","records":1,)"
               R"("scope_parts":1,"scopes":["a"]})") ==
        "end line: each scope must be an array of key parts");
}
