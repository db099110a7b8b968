#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <catch2/catch.hpp>

#include "ndjson_input.h"

using offpeak::InputLine;
using offpeak::LineParser;
using offpeak::LineReader;
using offpeak::NdjsonRecord;

namespace {

// Every line of `text`, read back through a LineReader on a temporary file.
std::vector<InputLine> read_lines(const std::string& text, std::vector<std::string>& storage) {
  std::FILE* file = std::tmpfile();
  REQUIRE(file != nullptr);
  REQUIRE(std::fwrite(text.data(), 1, text.size(), file) == text.size());
  REQUIRE(std::fflush(file) == 0);
  REQUIRE(lseek(fileno(file), 0, SEEK_SET) == 0);
  LineReader reader(fileno(file));
  std::vector<InputLine> lines;
  InputLine line;
  while (reader.next(line)) {
    storage.emplace_back(line.text);
    lines.push_back(line);
  }
  CHECK(reader.error().empty());
  std::fclose(file);
  for (std::size_t i = 0; i < lines.size(); ++i) lines[i].text = storage[i];
  return lines;
}

// Why `text` is bad as a whole line, or "" when it is good.
std::string problem(const std::string& text, bool complete = true) {
  static LineParser parser;
  NdjsonRecord record;
  const auto parsed = parser.parse({text, 1, complete, false}, record);
  return parsed ? "" : parsed.error().message;
}

NdjsonRecord parse_good(LineParser& parser, const std::string& text) {
  NdjsonRecord record;
  const auto parsed = parser.parse({text, 1, true, false}, record);
  INFO(text);
  INFO((parsed ? "" : parsed.error().message));
  REQUIRE(parsed);
  return record;
}

const std::string kGood =
    R"({"region":"xnys","source":"bars","key":["AAPL","2026-01-02"],"record":{"o":1}})";

}  // namespace

TEST_CASE("LineReader splits lines and marks a last line without a newline") {
  std::vector<std::string> storage;
  const auto lines = read_lines("a\n\nbc\r\nlast", storage);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].text == "a");
  CHECK(lines[1].text == "");
  CHECK(lines[2].text == "bc\r");
  CHECK(lines[3].text == "last");
  CHECK(lines[3].number == 4);
  CHECK(lines[2].complete);
  CHECK_FALSE(lines[3].complete);
}

TEST_CASE("LineReader reads nothing from empty input and lines across its blocks") {
  std::vector<std::string> storage;
  CHECK(read_lines("", storage).empty());
  const std::string big(3 << 20, 'x');
  const auto lines = read_lines(big + "\nend\n", storage);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].text.size() == big.size());
  CHECK(lines[1].text == "end");
  CHECK(lines[1].complete);
}

TEST_CASE("LineReader cuts an overlong line and goes on after it") {
  std::vector<std::string> storage;
  const std::string huge(offpeak::kMaxLineBytes + 100, 'x');
  const auto lines = read_lines("first\n" + huge + "\nafter\n", storage);
  REQUIRE(lines.size() == 3);
  CHECK(lines[1].truncated);
  CHECK(lines[1].text.size() == offpeak::kMaxLineBytes);
  CHECK(lines[2].text == "after");
  CHECK(lines[2].number == 3);
}

TEST_CASE("a good line gives region, source and the minified key and record") {
  LineParser parser;
  const auto r = parse_good(
      parser,
      R"( { "region" : "x\u006eys", "source":"bars", "key" : [ "AAPL" , 1 ], )"
      R"("fetched_at":"2026-01-03T00:00:00Z", "record" : { "o" : 1.50, "s" : "a b\"c" , "n":null } } )");
  CHECK(r.region == "xnys");
  CHECK(r.source == "bars");
  CHECK(r.key == R"(["AAPL",1])");
  CHECK(r.record == R"({"o":1.50,"s":"a b\"c","n":null})");
}

TEST_CASE("fields may come in any order, unknown ones are ignored") {
  LineParser parser;
  const auto r = parse_good(
      parser,
      R"({"record":{"a":[1,{"b":true}]},"extra":{"x":[]},"key":[2],"source":"s","region":"r"})");
  CHECK(r.record == R"({"a":[1,{"b":true}]})");
  CHECK(r.key == "[2]");
  CHECK(r.region == "r");
}

TEST_CASE("numbers beyond a double are good when jsonb can hold them") {
  LineParser parser;
  const auto r = parse_good(
      parser, R"({"region":"r","source":"s","key":[123456789012345678901234567890],)"
              R"("record":{"big":1e400,"tiny":1e-400,"long":0.12345678901234567890123456789}})");
  CHECK(r.key == "[123456789012345678901234567890]");
  CHECK(r.record == R"({"big":1e400,"tiny":1e-400,"long":0.12345678901234567890123456789})");
}

TEST_CASE("a record of several megabytes is a good line") {
  LineParser parser;
  std::string record = R"({"values":[)";
  for (int i = 0; i < 500000; ++i) record += std::to_string(i) + ",";
  record.back() = ']';
  record += "}";
  const auto r =
      parse_good(parser, R"({"region":"r","source":"s","key":["k"],"record":)" + record + "}");
  CHECK(r.record == record);
}

TEST_CASE("bad lines are reported with the reason") {
  CHECK(problem(kGood) == "");
  CHECK(problem("") == "empty line");
  CHECK(problem("   \r") == "empty line");
  CHECK(problem("not json") == "not valid JSON");
  CHECK(problem(R"({"region":"r",)") == "not valid JSON");
  CHECK(problem("[1,2]") == "not a JSON object");
  CHECK(problem(R"("text")") == "not a JSON object");
  CHECK(problem("123456789012345678901234567890") == "not a JSON object");
  CHECK(problem(kGood + " x") == "not valid JSON");
  CHECK(problem(kGood + "}") == "not valid JSON");
  CHECK(problem(kGood + kGood) == "not valid JSON");
  CHECK(problem(R"({"source":"s","key":[1],"record":{}})") == R"(missing "region")");
  CHECK(problem(R"({"region":"r","key":[1],"record":{}})") == R"(missing "source")");
  CHECK(problem(R"({"region":"r","source":"s","record":{}})") == R"(missing "key")");
  CHECK(problem(R"({"region":"r","source":"s","key":[1]})") == R"(missing "record")");
  CHECK(problem(R"({"region":1,"source":"s","key":[1],"record":{}})") ==
        R"("region" is not a string)");
  CHECK(problem(R"({"region":"r","source":null,"key":[1],"record":{}})") ==
        R"("source" is not a string)");
  CHECK(problem(R"({"region":"r","source":"s","key":"k","record":{}})") ==
        R"("key" is not an array)");
  CHECK(problem(R"({"region":"r","source":"s","key":[1],"record":[1]})") ==
        R"("record" is not an object)");
  CHECK(problem(R"({"region":"r","source":"s","key":[ ],"record":{}})") ==
        R"("key" is an empty array)");
  CHECK(problem(R"({"region":"r","region":"q","source":"s","key":[1],"record":{}})") ==
        R"("region" appears twice)");
  CHECK(problem(R"({"region":"r","source":"s","key":[1],"record":{"a":1,}})") == "not valid JSON");
  CHECK(problem(R"({"region":"r","source":"s","key":[1],"record":{"a":tru}})") == "not valid JSON");
}

TEST_CASE("a last line cut off is bad, a complete one without newline is good") {
  CHECK(problem(kGood, false) == "");
  CHECK(problem(kGood.substr(0, 40), false) ==
        "cut off: the input ends in the middle of this line");
}

TEST_CASE("what jsonb cannot store is a bad line") {
  CHECK(problem(std::string(R"({"region":"r","source":"s","key":[1],"record":{"a":")") +
                std::string(1, '\0') + "\"}}") == "NUL byte at column 53");
  CHECK(problem(R"({"region":"r","source":"s","key":[1],"record":{"a":"x\u0000"}})") ==
        R"(a string contains \u0000, which PostgreSQL cannot store)");
  CHECK(problem(R"({"region":"r\u0000","source":"s","key":[1],"record":{}})") ==
        R"("region" contains \u0000)");
  CHECK(problem(R"({"region":"r","source":"s","key":[1],"record":{"a":"\ud800"}})") ==
        "invalid string escape (such as a lone UTF-16 surrogate)");
  CHECK(problem("{\"region\":\"r\",\"source\":\"s\",\"key\":[1],\"record\":{\"a\":\"\xff\"}}") ==
        "invalid UTF-8");
  CHECK(problem("{\"region\":\"r\",\"source\":\"s\",\"key\":[1],\"record\":{\"a\":\"\t\"}}") ==
        "a control character inside a string is not escaped");
  CHECK(problem(R"({"region":"r","source":"s","key":[1],"record":{"a":1e131072}})") ==
        "number 1e131072 is out of PostgreSQL's range");
  CHECK(problem(R"({"region":"r","source":"s","key":[1],"record":{"a":01}})") ==
        "invalid number 01");
  std::string deep = R"({"region":"r","source":"s","key":[1],"record":{"a":)";
  deep += std::string(3000, '[') + std::string(3000, ']') + "}}";
  CHECK(problem(deep) == "nested deeper than 1024 levels");
}

TEST_CASE("an overlong line is bad") {
  LineParser parser;
  NdjsonRecord record;
  const auto parsed = parser.parse({"{", 7, true, true}, record);
  REQUIRE(!parsed);
  CHECK(parsed.error().exit == offpeak::kExitDataErr);
  CHECK(parsed.error().message == "longer than 8388608 bytes");
}

TEST_CASE("check_jsonb_number follows RFC 8259 and numeric's limits") {
  using offpeak::check_jsonb_number;
  for (const char* good : {"0", "-0", "12", "1.5", "-1.5e10", "1E+3", "1e131071", "9e131071",
                           "1e-16383", "0e99999999", "0.0000e5", "1e0000000000000005"})
    CHECK(check_jsonb_number(good));
  for (const char* out : {"1e131072", "1e-16384", "1.5e-16383", "0e-20000", "1e1073741823"})
    CHECK(check_jsonb_number(out).error().message ==
          fmt::format("number {} is out of PostgreSQL's range", out));
  for (const char* bad : {"01", "1.", ".5", "-", "1e", "1e+", "+1", "1.2.3", "0x10"})
    CHECK(check_jsonb_number(bad).error().message == fmt::format("invalid number {}", bad));
}

TEST_CASE("reject_json keeps the line, and bytes that are not UTF-8 in base64") {
  CHECK(offpeak::reject_json("", {"{\"a\":1", 3, true, false}, "not valid JSON") ==
        "{\"line\":3,\"reason\":\"not valid JSON\",\"text\":\"{\\\"a\\\":1\"}\n");
  CHECK(offpeak::reject_json("in.ndjson", {"x", 1, true, false}, "r") ==
        "{\"file\":\"in.ndjson\",\"line\":1,\"reason\":\"r\",\"text\":\"x\"}\n");
  CHECK(offpeak::reject_json("",
                             {"a\xff"
                              "b",
                              2, true, false},
                             "invalid UTF-8") ==
        "{\"line\":2,\"reason\":\"invalid UTF-8\",\"text\":\"a\xef\xbf\xbd"
        "b\","
        "\"base64\":\"Yf9i\"}\n");
  CHECK(offpeak::reject_json("", {"xx", 9, true, true}, "longer") ==
        "{\"line\":9,\"reason\":\"longer\",\"text\":\"xx\",\"truncated\":true}\n");
}
