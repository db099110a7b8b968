#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "field_cast.h"
#include "typed_field.h"

using offpeak::cast_problem;
using offpeak::FieldType;
using offpeak::find_json_value;
using offpeak::JsonValue;
using offpeak::TimeFormat;
using offpeak::TypedField;

namespace {

using Kind = JsonValue::Kind;

// The problem of the value at "/v" in `record` as a field of `type`, "" when it reads.
std::string problem(FieldType type, const std::string& record,
                    TimeFormat format = TimeFormat::kRfc3339, bool decimal_comma = false) {
  TypedField field{"v", "/v", type, format, decimal_comma};
  std::string scratch;
  const auto found = cast_problem(field, find_json_value(record, {"v"}, scratch));
  return found.value_or("");
}

// Whether `json` (a value's JSON) reads as `type`.
bool reads(FieldType type, const std::string& json, TimeFormat format = TimeFormat::kRfc3339,
           bool decimal_comma = false) {
  return problem(type, "{\"v\":" + json + "}", format, decimal_comma).empty();
}

}  // namespace

TEST_CASE("a value is found as jsonb's #> finds it") {
  std::string scratch;
  const std::string record =
      R"({"a":{"b":[10,"x\u00e9\n",{"c":true}]},"a~/":1,"d":1,"d":2,"n":null})";
  const auto at = [&](std::vector<std::string> tokens) {
    const JsonValue v = find_json_value(record, tokens, scratch);
    return std::make_pair(v.kind, std::string(v.text));
  };
  CHECK(at({"a", "b", "0"}) == std::make_pair(Kind::kNumber, std::string("10")));
  CHECK(at({"a", "b", "1"}) == std::make_pair(Kind::kString, std::string("x\xc3\xa9\n")));
  CHECK(at({"a", "b", "-1", "c"}) == std::make_pair(Kind::kBoolean, std::string("true")));
  CHECK(at({"a", "b", " 1"}).first == Kind::kString);  // strtol skips spaces, as PostgreSQL
  CHECK(at({"a", "b", "3"}).first == Kind::kMissing);
  CHECK(at({"a", "b", "-4"}).first == Kind::kMissing);
  CHECK(at({"a", "b", "x"}).first == Kind::kMissing);
  CHECK(at({"a", "b", "0", "z"}).first == Kind::kMissing);
  CHECK(at({"a~/"}) == std::make_pair(Kind::kNumber, std::string("1")));
  CHECK(at({"d"}) == std::make_pair(Kind::kNumber, std::string("2")));  // the last, as jsonb
  CHECK(at({"n"}).first == Kind::kNull);
  CHECK(at({"a"}) ==
        std::make_pair(Kind::kObject, std::string(R"({"b":[10,"x\u00e9\n",{"c":true}]})")));
  CHECK(offpeak::json_pointer_tokens("/a~1b/~0/") == std::vector<std::string>{"a/b", "~", ""});
}

TEST_CASE("values at several paths are found in one pass as each alone") {
  const std::vector<std::string> records = {
      R"({"a":{"b":[10,"x\u00e9\n",{"c":true}]},"a~/":1,"d":1,"d":2,"n":null,"e\u0301":"s"})",
      R"([1,{"a":2}])", R"("text")", R"({})"};
  const std::vector<std::vector<std::string>> tokens = {
      {"a", "b", "1"}, {"a", "b", "-1", "c"}, {"a~/"},    {"d"}, {"n"}, {"missing"},
      {"a"},           {"e\xcc\x81"},         {"1", "a"}, {"0"}, {},    {"d", "x"}};
  std::vector<const std::vector<std::string>*> paths;
  for (const auto& t : tokens) paths.push_back(&t);
  std::vector<JsonValue> values;
  std::vector<std::string> scratch;
  std::string alone;
  for (const std::string& record : records) {
    offpeak::find_json_values(record, paths, values, scratch);
    REQUIRE(values.size() == tokens.size());
    for (std::size_t p = 0; p < tokens.size(); ++p) {
      const JsonValue expected = find_json_value(record, tokens[p], alone);
      INFO(record << " at path " << p);
      CHECK(values[p].kind == expected.kind);
      CHECK(values[p].text == expected.text);
    }
  }
  offpeak::find_json_values(records[0], paths, values, scratch);
  CHECK(values[3].text == "2");  // the last "d", as jsonb
  CHECK(values[7].text == "s");  // a name written with an escape
  CHECK(values[0].text == "x\xc3\xa9\n");
}

TEST_CASE("missing values and nulls read as NULL whatever the type") {
  for (const FieldType type : {FieldType::kNumeric, FieldType::kDate, FieldType::kBoolean}) {
    CHECK(problem(type, "{}").empty());
    CHECK(reads(type, "null"));
  }
  CHECK(reads(FieldType::kText, "{\"x\":[1]}"));
}

TEST_CASE("numeric takes numbers and strings of them") {
  for (const char* good : {"1", "-0.5", "1e300", "\"1.50\"", "\" 12 \"", "\"+.5\"", "\"5.\"",
                           "\"-1.5E-3\"", "\"1e999\""})
    CHECK(reads(FieldType::kNumeric, good));
  for (const char* bad :
       {"\"abc\"", "\"\"", "\" \"", "\"1,5\"", "\"1e1000\"", "\"NaN\"", "\"Infinity\"", "\"0x1F\"",
        "\"1_000\"", "\"1 2\"", "\".\"", "\"1e\"", "true", "[1]", "{}", "\"\\t1\""})
    CHECK_FALSE(reads(FieldType::kNumeric, bad));
  CHECK(reads(FieldType::kNumeric, "\"1,5\"", TimeFormat::kRfc3339, true));
  CHECK(reads(FieldType::kNumeric, "\"-0,25\"", TimeFormat::kRfc3339, true));
  CHECK_FALSE(reads(FieldType::kNumeric, "\"1.234,5\"", TimeFormat::kRfc3339, true));
  CHECK_FALSE(reads(FieldType::kNumeric, "\"" + std::string(1001, '1') + "\""));
  CHECK(reads(FieldType::kNumeric, "\"" + std::string(1000, '1') + "\""));
  CHECK(problem(FieldType::kNumeric, R"({"v":"abc"})") == "\"abc\" is not a number");
  CHECK(problem(FieldType::kNumeric, R"({"v":true})") == "true is a boolean, not a number");
}

TEST_CASE("bigint and integer take whole numbers in range") {
  for (const char* good : {"9223372036854775807", "-9223372036854775808", "\"+42\"", "\" 007 \"",
                           "1e3", "0", "-0", "\"-0\""})
    CHECK(reads(FieldType::kBigint, good));
  for (const char* bad :
       {"9223372036854775808", "-9223372036854775809", "1.5", "1.0", "100e-2", "\"1.0\"", "\"1e3\"",
        "\"abc\"", "\"\"", "true", "\"1234567890123456789012345678901\""})
    CHECK_FALSE(reads(FieldType::kBigint, bad));
  CHECK(problem(FieldType::kBigint, R"({"v":9223372036854775808})") ==
        "9223372036854775808 is out of bigint's range");
  CHECK(reads(FieldType::kInteger, "2147483647"));
  CHECK(reads(FieldType::kInteger, "\"-2147483648\""));
  CHECK_FALSE(reads(FieldType::kInteger, "2147483648"));
  CHECK_FALSE(reads(FieldType::kInteger, "\"-2147483649\""));
}

TEST_CASE("double precision takes numbers from 1e-307 to under 1e308") {
  for (const char* good :
       {"0", "0e-999", "1e-307", "9.999e307", "\"-1.5\"", "1.7976931348623157e307"})
    CHECK(reads(FieldType::kDouble, good));
  for (const char* bad : {"1e308", "-1e308", "9.99e-308", "1e-400", "\"1e400\"", "\"inf\""})
    CHECK_FALSE(reads(FieldType::kDouble, bad));
}

TEST_CASE("boolean takes true and false and their usual words") {
  for (const char* good : {"true", "false", "\"TRUE\"", "\" yes \"", "\"N\"", "\"off\"", "1", "0",
                           "\"1\"", "-0", "1e0"})
    CHECK(reads(FieldType::kBoolean, good));
  for (const char* bad : {"2", "1.0", "\"maybe\"", "\"tru\"", "\"\"", "[true]", "0.0"})
    CHECK_FALSE(reads(FieldType::kBoolean, bad));
}

TEST_CASE("date takes days that exist") {
  for (const char* good : {"\"2026-11-27\"", "\"2024-02-29\"", "\"0001-01-01\"", "\"9999-12-31\""})
    CHECK(reads(FieldType::kDate, good));
  for (const char* bad : {"\"2026-02-29\"", "\"2026-02-30\"", "\"2026-13-01\"", "\"0000-01-01\"",
                          "\"2026-1-1\"", "\"2026-11-27T00:00:00Z\"", "\" 2026-11-27\"", "20261127",
                          "\"10000-01-01\"", "\"2100-02-29\""})
    CHECK_FALSE(reads(FieldType::kDate, bad));
}

TEST_CASE("timestamptz takes RFC 3339 times or epoch counts in range") {
  for (const char* good : {"\"2026-11-27T14:30:00Z\"", "\"2026-11-27 14:30:00.123456789+05:30\"",
                           "\"0001-01-01T00:00:00-15:59\"", "\"9999-12-31T23:59:59Z\""})
    CHECK(reads(FieldType::kTimestamptz, good));
  for (const char* bad :
       {"\"2026-11-27T24:00:00Z\"", "\"2026-11-27T14:30:60Z\"", "\"2026-11-27T14:30:00\"",
        "\"2026-11-27T14:30:00+16:00\"", "\"2026-02-30T00:00:00Z\"", "\"2026-11-27t14:30:00z\"",
        "\"2026-11-27T14:30:00.1234567890Z\"", "1764277200000"})
    CHECK_FALSE(reads(FieldType::kTimestamptz, bad));
  const auto ms = TimeFormat::kEpochMillis;
  const auto s = TimeFormat::kEpochSeconds;
  for (const char* good : {"1764277200000", "\"1764277200000\"", "-62135596800000",
                           "253402300799999", "1764277200000.5", "0"})
    CHECK(reads(FieldType::kTimestamptz, good, ms));
  for (const char* bad : {"253402300800000", "-62135596800001", "1e20", "\"abc\"", "true",
                          "\"2026-11-27T14:30:00Z\""})
    CHECK_FALSE(reads(FieldType::kTimestamptz, bad, ms));
  CHECK(reads(FieldType::kTimestamptz, "1764277200.25", s));
  CHECK(reads(FieldType::kTimestamptz, "253402300799.999", s));
  CHECK_FALSE(reads(FieldType::kTimestamptz, "253402300800", s));
  CHECK(problem(FieldType::kTimestamptz, R"({"v":1e20})", ms) ==
        "1e20 is out of range for a time in epoch milliseconds (years 1 to 9999)");
}
