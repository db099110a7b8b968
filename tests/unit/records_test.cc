#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "ndjson_input.h"
#include "records.h"
#include "source.h"

namespace {

using offpeak::Format;
using offpeak::PageKind;
using PageResult = offpeak::Result<offpeak::PageRecords>;
using offpeak::Source;

const offpeak::Instant kAt = *offpeak::parse_rfc3339("2026-11-27T22:00:00Z");

Source make_source(Format format, std::string records, std::vector<std::string> key) {
  Source s;
  s.name = "bars";
  s.format = format;
  s.records = std::move(records);
  s.key = std::move(key);
  return s;
}

PageResult extract(const Source& source, std::string body) {
  offpeak::RecordExtractor extractor(source, "xnys");
  return extractor.extract(body, kAt);
}

// The output line of a record with key `key` (the inside of the key array).
std::string line(std::string_view key, std::string_view record) {
  return std::string(R"({"region":"xnys","source":"bars","key":[)") + std::string(key) +
         R"(],"fetched_at":"2026-11-27T22:00:00Z","record":)" + std::string(record) + "}\n";
}

// The lines of a page that must extract without a data error.
std::string lines(const Source& source, std::string body) {
  PageResult r = extract(source, std::move(body));
  INFO((r ? "" : r.error().message));
  REQUIRE(r.ok());
  return r->lines;
}

// The data error of a page that must fail.
std::string error(const Source& source, std::string body) {
  PageResult r = extract(source, std::move(body));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().exit == offpeak::kExitDataErr);
  return r.error().message;
}

}  // namespace

TEST_CASE("records: a Polygon results array, minified in field order, with its next_url") {
  Source s = make_source(Format::kJson, "/results", {"T", "t"});
  s.paginate.kind = PageKind::kJsonLink;
  s.paginate.next = "/next_url";
  PageResult r = extract(s, R"({"ticker":"AAPL","resultsCount":2,"results":[
    {"T":"AAPL","v":70790813,"vw":131.6292,"o":130.465,"c":130.15,"h":133.41,"l":129.89,"t":1673298000000,"n":645365},
    { "T" : "MSFT" , "v" : 1.50E+3 , "t" : 1673298000000 , "x" : [ 1 , { "b" : null , "a" : true } ] }
  ],"next_url":"https://api.polygon.io/v2/aggs?cursor=bGlt\u0026x=1"})");
  REQUIRE(r.ok());
  CHECK(
      r->lines ==
      line(
          R"("AAPL",1673298000000)",
          R"({"T":"AAPL","v":70790813,"vw":131.6292,"o":130.465,"c":130.15,"h":133.41,"l":129.89,"t":1673298000000,"n":645365})") +
          line(R"("MSFT",1673298000000)",
               R"({"T":"MSFT","v":1.50E+3,"t":1673298000000,"x":[1,{"b":null,"a":true}]})"));
  CHECK(r->found == 2);
  CHECK(r->written == 2);
  CHECK(r->skipped.empty());
  CHECK(r->next == "https://api.polygon.io/v2/aggs?cursor=bGlt&x=1");
}

TEST_CASE("records: the document itself is the records with pointer \"\"") {
  Source s = make_source(Format::kJson, "", {"id"});
  CHECK(lines(s, R"([{"id":1},{"id":2}])") == line("1", R"({"id":1})") + line("2", R"({"id":2})"));
  CHECK(lines(s, "[]").empty());
  CHECK(lines(s, "\xEF\xBB\xBF[{\"id\":3}]") == line("3", R"({"id":3})"));
}

TEST_CASE("records: Binance-style rows are named by columns, a row of another length is skipped") {
  Source s = make_source(Format::kJson, "", {"open_time"});
  s.columns = {"open_time", "open", "close", "close_time"};
  PageResult r = extract(s, R"([[1499040000000,"0.01634790","0.80000000",1499644799999],
                                [1499040060000,"0.1","0.2"],
                                [1499040120000,"0.3","0.4",1499644800000,"extra"],
                                [1499040180000,"0.5","0.6",1499644860000]])");
  REQUIRE(r.ok());
  CHECK(
      r->lines ==
      line(
          "1499040000000",
          R"({"open_time":1499040000000,"open":"0.01634790","close":"0.80000000","close_time":1499644799999})") +
          line(
              "1499040180000",
              R"({"open_time":1499040180000,"open":"0.5","close":"0.6","close_time":1499644860000})"));
  CHECK(r->found == 4);
  CHECK(r->skipped == std::vector<std::string>{"record 2: 3 values for 4 columns",
                                               "record 3: 5 values for 4 columns"});
}

TEST_CASE("records: Alpha Vantage's date-keyed object, each member's name first in member_key") {
  Source s = make_source(Format::kJson, "/Time Series (Daily)", {"date"});
  s.member_key = "date";
  PageResult r = extract(s, R"j({"Meta Data":{"2. Symbol":"IBM"},"Time Series (Daily)":{
      "2024-01-02": {"1. open": "162.8300", "4. close": "163.1400", "5. volume": "4250"},
      "2023-12-29": {"1. open": "162.6000", "4. close": "163.1400", "5. volume": "2914"}}})j");
  REQUIRE(r.ok());
  CHECK(
      r->lines ==
      line(
          R"("2024-01-02")",
          R"({"date":"2024-01-02","1. open":"162.8300","4. close":"163.1400","5. volume":"4250"})") +
          line(
              R"("2023-12-29")",
              R"({"date":"2023-12-29","1. open":"162.6000","4. close":"163.1400","5. volume":"2914"})"));
  CHECK(r->found == 2);
}

TEST_CASE("records: NDJSON, one object a line, blank lines and CRLF allowed") {
  Source s = make_source(Format::kNdjson, "", {"id"});
  PageResult r = extract(s, "{\"id\":1, \"a\" : \"x\"}\r\n\n   \n{\"id\":2}\n{\"id\":3}");
  REQUIRE(r.ok());
  CHECK(r->lines ==
        line("1", R"({"id":1,"a":"x"})") + line("2", R"({"id":2})") + line("3", R"({"id":3})"));
  CHECK(r->found == 3);
  CHECK(lines(s, "").empty());
}

TEST_CASE("records: CSV rows become objects of strings named by the header") {
  Source s = make_source(Format::kCsv, "", {"Date"});
  CHECK(lines(s,
              "\xEF\xBB\xBF"
              "Date,Open,Close\r\n2024-01-02,162.83,163.14\r\n2024-01-03,163.1,162\r\n") ==
        line(R"("2024-01-02")", R"({"Date":"2024-01-02","Open":"162.83","Close":"163.14"})") +
            line(R"("2024-01-03")", R"({"Date":"2024-01-03","Open":"163.1","Close":"162"})"));
  CHECK(lines(s, "Date,Name\n1,\"Smith, \"\"J\"\"\nline two\"\n") ==
        line(R"("1")", R"({"Date":"1","Name":"Smith, \"J\"\nline two"})"));
  CHECK(lines(s, "").empty());
  CHECK(lines(s, "Date,Open\n").empty());
}

TEST_CASE("records: CSV columns replace the header's names") {
  Source s = make_source(Format::kCsv, "", {"day"});
  s.columns = {"day", "price"};
  CHECK(lines(s, "Date,Open\n2024-01-02,1.5\n") ==
        line(R"("2024-01-02")", R"({"day":"2024-01-02","price":"1.5"})"));
}

TEST_CASE("records: a CSV row with another number of fields is skipped, naming its line") {
  Source s = make_source(Format::kCsv, "", {"a"});
  PageResult r = extract(s, "a,b\n1,2\n\"x\ny\"\n3,4\n5,6,7\n");
  REQUIRE(r.ok());
  CHECK(r->lines ==
        line(R"("1")", R"({"a":"1","b":"2"})") + line(R"("3")", R"({"a":"3","b":"4"})"));
  CHECK(r->found == 4);
  CHECK(r->skipped == std::vector<std::string>{"record 2 (line 3): 1 fields for 2 columns",
                                               "record 4 (line 6): 3 fields for 2 columns"});
}

TEST_CASE("records: keys by JSON pointer into the record") {
  Source s = make_source(Format::kJson, "/data",
                         {"/meta/symbol", "/t", "/meta/tags/1", "/a~1b", "/meta/obj"});
  CHECK(
      lines(
          s,
          R"({"data":[{"t":5,"a/b":"s","meta":{"obj":{"x": [1, 2]},"symbol":"X","tags":["p","q"]}}]})") ==
      line(R"("X",5,"q","s",{"x":[1,2]})",
           R"({"t":5,"a/b":"s","meta":{"obj":{"x":[1,2]},"symbol":"X","tags":["p","q"]}})"));
}

TEST_CASE("records: a key field named with escapes in the body still matches") {
  Source s = make_source(Format::kJson, "", {"T"});
  CHECK(lines(s, R"([{"\u0054":"A"}])") == line(R"("A")", R"({"\u0054":"A"})"));
}

TEST_CASE("records: a record missing a key field, or with it null, is skipped with a message") {
  Source s = make_source(Format::kJson, "/results", {"T", "/m/s"});
  PageResult r =
      extract(s, R"({"results":[{"T":"A","m":{"s":1}},{"m":{"s":1}},{"T":null,"m":{"s":1}},
                                           {"T":"B","m":{}},{"T":"C","m":{"s":null}},{"T":"D","m":5}]})");
  REQUIRE(r.ok());
  CHECK(r->lines == line(R"("A",1)", R"({"T":"A","m":{"s":1}})"));
  CHECK(r->found == 6);
  CHECK(r->written == 1);
  CHECK(r->skipped == std::vector<std::string>{R"(record 2: no key field "T")",
                                               R"(record 3: key field "T" is null)",
                                               R"(record 4: no key field "/m/s")",
                                               R"(record 5: key field "/m/s" is null)",
                                               R"(record 6: no key field "/m/s")"});
}

TEST_CASE("records: json_link next is absent when missing, null or empty") {
  Source s = make_source(Format::kJson, "/r", {"id"});
  s.paginate.kind = PageKind::kJsonLink;
  s.paginate.next = "/links/next";
  CHECK(extract(s, R"({"r":[],"links":{"next":"http://h/p2"}})").value().next == "http://h/p2");
  CHECK_FALSE(extract(s, R"({"r":[],"links":{"next":null}})").value().next);
  CHECK_FALSE(extract(s, R"({"r":[],"links":{"next":""}})").value().next);
  CHECK_FALSE(extract(s, R"({"r":[],"links":{}})").value().next);
  CHECK_FALSE(extract(s, R"({"r":[]})").value().next);
  CHECK(error(s, R"({"r":[],"links":{"next":7}})") ==
        R"(next page link at "/links/next" is a number, not a string)");
}

TEST_CASE("records: cursor next is a string's content or a number's digits") {
  Source s = make_source(Format::kJson, "/r", {"id"});
  s.paginate.kind = PageKind::kCursor;
  s.paginate.cursor = "/cursor";
  CHECK(extract(s, R"({"r":[],"cursor":"a\/b=="})").value().next == "a/b==");
  CHECK(extract(s, R"({"r":[],"cursor": 123456789012345678901234567890 })").value().next ==
        "123456789012345678901234567890");
  CHECK_FALSE(extract(s, R"({"r":[],"cursor":null})").value().next);
  CHECK_FALSE(extract(s, R"({"r":[],"cursor":""})").value().next);
  CHECK_FALSE(extract(s, R"({"r":[]})").value().next);
  CHECK(error(s, R"({"r":[],"cursor":true})") ==
        R"(cursor at "/cursor" is a boolean, not a string or a number)");
}

TEST_CASE("records: invalid and truncated JSON are data errors") {
  Source s = make_source(Format::kJson, "/results", {"T"});
  CHECK(error(s, "") == "invalid JSON: Empty: no JSON found");
  CHECK(error(s, "not json") ==
        "invalid JSON: Problem while parsing an atom starting with the letter 'n'");
  CHECK(error(s, "null") == R"(no records at "/results")");
  const std::string early =
      "invalid JSON: JSON document ended early in the middle of an object or array.";
  CHECK(error(s, R"({"results":[{"T":"A"},)") == early);
  CHECK(error(s, R"({"results":[{"T":"A"},{"T":"B")") == early);
  CHECK(error(s, R"({"results":[{"T":"A"}]} x)") == early);
  CHECK(error(s, R"({"results":[{"T":"A" "v":1}]})") ==
        "invalid JSON: The JSON document has an improper structure: missing or superfluous "
        "commas, braces, missing keys, etc.");
  CHECK(error(s, R"({"results":[{"T":"A","v":tru}]})") ==
        "invalid JSON: Problem while parsing an atom starting with the letter 't'");
  CHECK(error(s, R"({"results":[{"T":"A","v":01}]})") ==
        "invalid JSON: Problem while parsing a number");
  CHECK(error(s, R"({"results":[{"T":"A","v":[1,-]}]})") ==
        "invalid JSON: Problem while parsing a number");
  CHECK(error(s, R"({"results":[{"T":"A\q"}]})") == "invalid JSON: Problem while parsing a string");
  CHECK(error(s, R"({"results":[{"T\u12":"A"}]})") ==
        "invalid JSON: Problem while parsing a string");
  CHECK(error(s, "{\"results\":[{\"T\":\"\xff\"}]}") ==
        "invalid JSON: The input is not valid UTF-8");
  CHECK(error(s, "{\"results\":[{\"T\":\"a\x01\"}]}") ==
        "invalid JSON: Within strings, some characters must be escaped, we found unescaped "
        "characters");
}

TEST_CASE("records: nesting deeper than the parser allows is a data error") {
  Source s = make_source(Format::kJson, "", {"T"});
  const std::string deep = std::string(1100, '[') + std::string(1100, ']');
  CHECK(error(s, R"([{"T":"A","x":)" + deep + "}]") ==
        "invalid JSON: The JSON document was too deep (too many nested objects and arrays)");
  // A body that is only nesting is reported as that, not as a record of the wrong type.
  CHECK(error(s, std::string(100000, '[')) ==
        R"(records at "": record 1 is nested deeper than 1024 levels)");
  // Counted as offpeak-load counts the record in its line: one level for the line's object.
  CHECK(error(s, "[" + std::string(1024, '[') + std::string(1025, ']')) ==
        R"(records at "": record 1 is nested deeper than 1024 levels)");
  CHECK(error(s, "[" + std::string(1023, '[') + std::string(1024, ']')) ==
        R"(records at "": record 1 is an array, not an object)");
  CHECK(error(s, R"([{"T":"A","x":)" + std::string(100000, '[')) ==
        "invalid JSON: The JSON document was too deep (too many nested objects and arrays)");
  CHECK(lines(s, R"([{"T":"A","x":)" + std::string(1000, '[') + std::string(1000, ']') + "}]")
            .size() > 2000);
}

TEST_CASE("records: nesting counts where the record stands in its line, as offpeak-load reads it") {
  Source s = make_source(Format::kJson, "", {"T"});
  const auto nested = [](int arrays) {
    return std::string(arrays, '[') + "1" + std::string(arrays, ']');
  };
  const auto load = [](std::string text) {
    text.pop_back();  // the newline
    offpeak::LineParser parser;
    offpeak::NdjsonRecord record;
    const auto parsed = parser.parse({text, 1, true, false}, record);
    return parsed ? "" : parsed.error().message;
  };
  // {"record":{"x":[[...1...]]}}: the 1 inside 1021 arrays is the 1024th level of the line.
  const std::string deepest = R"({"T":"A","x":)" + nested(1021) + "}";
  CHECK(load(lines(s, "[" + deepest + "]")) == "");
  const std::string deeper = R"({"T":"A","x":)" + nested(1022) + "}";
  CHECK(error(s, "[" + deeper + "]") ==
        "invalid JSON: The JSON document was too deep (too many nested objects and arrays)");
  CHECK(load(line(R"("A")", deeper)) == "nested deeper than 1024 levels");
  Source ndjson = make_source(Format::kNdjson, "", {"T"});
  CHECK(load(lines(ndjson, deepest)) == "");
  CHECK(error(ndjson, deeper) ==
        "line 1: invalid JSON: The JSON document was too deep (too many nested objects and "
        "arrays)");
}

TEST_CASE("records: a missing pointer target or a wrong shape is a data error naming the pointer") {
  Source s = make_source(Format::kJson, "/results", {"T"});
  CHECK(error(s, R"({"status":"OK"})") == R"(no records at "/results")");
  CHECK(error(s, R"([1,2])") == R"(no records at "/results")");
  CHECK(error(s, R"({"results":"none"})") ==
        R"(records at "/results": expected an array, found a string)");
  CHECK(error(s, R"({"results":null})") ==
        R"(records at "/results": expected an array, found null)");
  CHECK(
      error(s, R"({"results":{"a":{}}})") ==
      R"(records at "/results": expected an array, found an object (member_key reads its members as records))");
  CHECK(error(s, R"({"results":[{"T":"A"},7]})") ==
        R"(records at "/results": record 2 is a number, not an object)");
  s.columns = {"T"};
  CHECK(error(s, R"({"results":[["A"],{"T":"B"}]})") ==
        R"(records at "/results": record 2 is an object, not an array)");
  s.columns.clear();
  s.member_key = "date";
  CHECK(error(s, R"({"results":{"2024-01-02":{},"2024-01-03":[1]}})") ==
        R"(records at "/results": member "2024-01-03" is an array, not an object)");
  CHECK(error(make_source(Format::kJson, "results", {"T"}), "[]") ==
        R"(invalid JSON pointer "results")");
  CHECK(error(make_source(Format::kJson, "", {"T"}), "7") ==
        R"(records at "": expected an array, found a number)");
}

TEST_CASE("records: an NDJSON line that is not an object is a data error naming the line") {
  Source s = make_source(Format::kNdjson, "", {"id"});
  CHECK(error(s, "{\"id\":1}\n[1]\n") == "line 2: expected a JSON object, found an array");
  CHECK(error(s, "{\"id\":1}\n\n{\"id\":") ==
        "line 3: invalid JSON: The JSON document has an improper structure: missing or "
        "superfluous commas, braces, missing keys, etc.");
  CHECK(error(s, "{\"id\":1} {\"id\":2}\n") ==
        "line 1: invalid JSON: more than one value on the line");
  CHECK(error(s, "{\"id\":1}\n7\n") == "line 2: expected a JSON object, found a number");
}

TEST_CASE("records: CSV that breaks RFC 4180 or UTF-8 is a data error") {
  Source s = make_source(Format::kCsv, "", {"a"});
  CHECK(error(s, "a,b\n1,x\"y\n") == "invalid CSV: line 2: quote inside an unquoted field");
  CHECK(error(s, "a,b\n1,\"open\n") == "invalid CSV: line 2: quoted field not closed");
  CHECK(error(s, "a,b\n1,\xff\n") == "invalid CSV: not UTF-8");
}

TEST_CASE("records: unicode escapes and raw UTF-8 are kept as written") {
  Source s = make_source(Format::kJson, "", {"T"});
  CHECK(lines(s, R"([{"T":"\u00e9\ud83d\ude00\"\\\/\n","x":"Zürich 東京"}])") ==
        line(R"("\u00e9\ud83d\ude00\"\\\/\n")",
             R"({"T":"\u00e9\ud83d\ude00\"\\\/\n","x":"Zürich 東京"})"));
}

TEST_CASE("records: huge and precise numbers keep their text") {
  Source s = make_source(Format::kJson, "", {"id"});
  CHECK(
      lines(
          s,
          R"([{"id":123456789012345678901234567890,"p":1.000000000000000000001e-400,"n":-0.0}])") ==
      line("123456789012345678901234567890",
           R"({"id":123456789012345678901234567890,"p":1.000000000000000000001e-400,"n":-0.0})"));
}

TEST_CASE("records: region and source are escaped, fetched_at is RFC 3339 UTC") {
  Source s = make_source(Format::kJson, "", {"id"});
  s.name = "we\"ird";
  offpeak::RecordExtractor extractor(s, "x\\y");
  std::string body = R"([{"id":1}])";
  PageResult r = extractor.extract(body, *offpeak::parse_rfc3339("2027-01-02T03:04:05+01:00"));
  REQUIRE(r.ok());
  CHECK(
      r->lines ==
      R"({"region":"x\\y","source":"we\"ird","key":[1],"fetched_at":"2027-01-02T02:04:05Z","record":{"id":1}})"
      "\n");
}

TEST_CASE("records: the extractor is reused across pages and leaves the body as it was") {
  Source s = make_source(Format::kJson, "/r", {"id"});
  offpeak::RecordExtractor extractor(s, "xnys");
  for (int i = 0; i < 3; ++i) {
    std::string body = R"({"r":[{"id":)" + std::to_string(i) + "}]}";
    const std::string copy = body;
    PageResult r = extractor.extract(body, kAt);
    REQUIRE(r.ok());
    CHECK(r->lines == line(std::to_string(i), R"({"id":)" + std::to_string(i) + "}"));
    CHECK(body == copy);
  }
  std::string broken = "{";
  CHECK_FALSE(extractor.extract(broken, kAt).ok());
  CHECK(broken == "{");
  std::string good = R"({"r":[{"id":9}]})";
  CHECK(extractor.extract(good, kAt).value().written == 1);
}

TEST_CASE("records: a colon where a comma belongs after a string is invalid JSON, not a record") {
  // Found by fuzz/records: simdjson, skipping a string followed by ':', took it for a key.
  Source s = make_source(Format::kJson, "/data", {"date"});
  s.member_key = "date";
  CHECK(error(s, R"({"data":{"2026-12-01":{"open":"150.62":"151.04","close":"150.61"}}})") ==
        "invalid JSON: The JSON document has an improper structure: missing or superfluous "
        "commas, braces, missing keys, etc.");
}

TEST_CASE("records: include_from_parent's values end each record, keep their type, serve as keys") {
  Source s = make_source(Format::kJson, "/results", {"/_list_symbol", "t", "/_list_meta/id"});
  s.from = "list";
  s.include_from_parent = {"symbol", "meta"};
  const std::vector<std::string> parent{R"("BF B")", R"({"id":7})"};
  offpeak::RecordExtractor extractor(s, "xnys");
  std::string body = R"({"results":[{"t":1},{}]})";
  PageResult r = extractor.extract(body, kAt, parent);
  REQUIRE(r.ok());
  CHECK(r->lines ==
        line(R"("BF B",1,7)", R"({"t":1,"_list_symbol":"BF B","_list_meta":{"id":7}})"));
  CHECK(r->skipped == std::vector<std::string>{R"(record 2: no key field "t")"});

  // Rows named by columns, and CSV, get them the same way.
  Source rows = make_source(Format::kJson, "", {"_list_meta_id", "t"});
  rows.columns = {"t", "c"};
  rows.from = "list";
  rows.include_from_parent = {"meta.id"};
  offpeak::RecordExtractor row_extractor(rows, "xnys");
  const std::vector<std::string> id{"7"};
  body = "[[1,2]]";
  r = row_extractor.extract(body, kAt, id);
  REQUIRE(r.ok());
  CHECK(r->lines == line("7,1", R"({"t":1,"c":2,"_list_meta_id":7})"));
  Source csv = make_source(Format::kCsv, "", {"_list_meta_id", "t"});
  csv.from = "list";
  csv.include_from_parent = {"meta.id"};
  offpeak::RecordExtractor csv_extractor(csv, "xnys");
  body = "t\n1\n";
  r = csv_extractor.extract(body, kAt, id);
  REQUIRE(r.ok());
  CHECK(r->lines == line(R"(7,"1")", R"({"t":"1","_list_meta_id":7})"));
}

TEST_CASE("records: a record with a field include_from_parent would add is a data error") {
  Source s = make_source(Format::kNdjson, "", {"t"});
  s.from = "list";
  s.include_from_parent = {"symbol"};
  const std::vector<std::string> parent{R"("A")"};
  offpeak::RecordExtractor extractor(s, "xnys");
  std::string body = "{\"t\":1}\n{\"t\":2,\"_list_symbol\":\"B\"}\n";
  PageResult r = extractor.extract(body, kAt, parent);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().exit == offpeak::kExitDataErr);
  CHECK(
      r.error().message ==
      R"(record 2 has a field "_list_symbol" already, the name include_from_parent gives a field of the parent's record)");
  // A column of that name is one too.
  Source csv = make_source(Format::kCsv, "", {"t"});
  csv.from = "list";
  csv.include_from_parent = {"symbol"};
  offpeak::RecordExtractor csv_extractor(csv, "xnys");
  body = "t,_list_symbol\n1,B\n";
  CHECK_FALSE(csv_extractor.extract(body, kAt, parent).ok());
}
